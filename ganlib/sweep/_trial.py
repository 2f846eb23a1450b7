"""The trial function: checked on the driver, shipped to workers as bytes.

A trial must be a plain function defined at the top level of a module (a
script, a notebook or an installed package), so that a worker process can
run it: it builds its ganlib objects itself, nothing of the C core crosses
processes. It is shipped by reference (``module.name``) when its module can be
imported by the workers, and by value (cloudpickle) when it lives in
``__main__`` (a notebook or a script run directly).

Examples
--------
>>> def trial(seed):
...     return {"x": seed}
>>> sorted(describe(trial)), len(describe(trial)["code"])
(['code', 'name'], 16)
"""
from __future__ import annotations

import hashlib
import inspect
import marshal
import pickle
import sys
import types
from typing import Any, Callable

__all__ = ["check_trial", "describe", "serialise"]


def check_trial(trial: Any) -> None:
    """TypeError unless ``trial`` is a top-level function that pickles by reference."""
    if isinstance(trial, types.BuiltinFunctionType) or not isinstance(trial, types.FunctionType):
        raise TypeError(f"sweep: trial must be a plain function defined at the top level of a module "
                        f"(def trial(**config) -> dict), got {type(trial).__name__} {trial!r}")
    qual = trial.__qualname__
    if "<lambda>" in qual or "<locals>" in qual:
        what = "a lambda" if "<lambda>" in qual else "a function defined inside another function"
        raise TypeError(f"sweep: trial {qual!r} is {what}, which worker processes cannot receive; define it with "
                        f"def at the top level of a module, script or notebook cell")
    try:
        pickle.dumps(trial)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise TypeError(f"sweep: trial {trial.__module__}.{qual} cannot be pickled ({e}); define it with def at the "
                        "top level of a module, script or notebook cell") from None


def _fingerprint(trial: Callable) -> str:
    try:
        text = inspect.getsource(trial).encode()
    except (OSError, TypeError):
        code = trial.__code__
        text = marshal.dumps(code.co_code) + repr(code.co_consts).encode() + repr(code.co_names).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def describe(trial: Callable) -> dict:
    """``{"name": "module.qualname", "code": <16 hex digits of its source>}``: the identity of a sweep."""
    return {"name": f"{trial.__module__}.{trial.__qualname__}", "code": _fingerprint(trial)}


def serialise(trial: Callable) -> bytes:
    """The bytes a worker unpickles to get the trial (by value for ``__main__`` functions)."""
    if trial.__module__ == "__main__":
        try:
            import cloudpickle
        except ImportError:
            main = sys.modules.get("__main__")
            if getattr(main, "__file__", None) is None:
                raise TypeError(f"sweep: trial {trial.__qualname__} is defined interactively (a notebook or REPL); "
                                "worker processes can only receive it with cloudpickle installed "
                                "(pip install cloudpickle), or define it in an importable module") from None
            return pickle.dumps(trial)
        return cloudpickle.dumps(trial)
    return pickle.dumps(trial)
