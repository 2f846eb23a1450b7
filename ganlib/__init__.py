"""ganlib: deep generative models with a C core.

Examples
--------
>>> import ganlib as gl
>>> gl.show_config()
"""
from __future__ import annotations

import atexit

from . import _C
from ._errors import GanlibError
from ._checks import check_int
from . import ops, nn, optim, datasets, metrics, losses, latent, io, demos
from .ops import Tensor, function, grad
from .train import compile_step
from .nn.init import manual_seed
from .trainer import Trainer, Phase, Step, Data, load
from .gan import GAN
from . import models
from .sweep import sweep

__version__ = "0.1.0"

atexit.register(_C._release_pool)  # join the worker threads at exit (see gl_py_module.c)

__all__ = ["GanlibError", "ops", "nn", "optim", "datasets", "metrics", "losses", "latent", "io", "demos", "models", "GAN", "sweep", "Trainer", "Phase", "Step", "Data", "load", "Tensor", "function", "grad", "compile_step",
           "set_num_threads", "get_num_threads", "show_config", "manual_seed", "__version__"]


def set_num_threads(n: int) -> None:
    """Threads for the library's own pool and for OpenBLAS (they are never nested).

    ``n`` is a Python or NumPy int >= 1; a bool or a float is refused
    (``ArgumentTypeError``, a TypeError that is also a ValueError).
    """
    _C.set_num_threads(check_int("set_num_threads: n", n, 1))


def get_num_threads() -> int:
    """The thread count set by :func:`set_num_threads`."""
    return _C.get_num_threads()


def show_config() -> None:
    """Print the BLAS library and version, the thread count and the compiler flags."""
    cfg = _C.config()
    print(f"ganlib {__version__}")
    print(f"  BLAS:      {cfg['blas']} (from {cfg['blas_wheel']})")
    print(f"  BLAS core: {cfg['blas_corename']}")
    print(f"  threads:   {cfg['num_threads']}")
    print(f"  compiler:  {cfg['compiler']}")
    print(f"  cflags:    {cfg['cflags']}")
