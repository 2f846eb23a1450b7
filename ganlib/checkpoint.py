"""Checkpoints of trainers: the ``ganlib.Trainer/1`` safetensors format and ``gl.load``.

Keys: ``<module>/<param or buffer>`` (PyTorch state_dict names), ``ema/<module>/...``,
``optimizer/<module>/state``, ``running_average/<module>``, ``kept/<name>``,
``sampler/perm`` (one stream) or ``sampler/<stream>/perm``; the metadata holds the
format, the trainer's class (so ``gl.load`` can rebuild it), its configuration and
the numbers of the state (step, optimizer counters and learning rates, sampler
positions and RNGs, each phase program's RNG) as JSON. A restore checks the whole
file before it writes anything, and rolls back if a write still fails.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable, Mapping

import numpy as np

from . import optim as _optim
from .io.safetensors import load_safetensors, save_safetensors
from .nn.module import Module

__all__ = ["FORMAT", "load", "register_trainer", "save_trainer", "restore_trainer", "apply_state", "trainer_state"]

FORMAT = "ganlib.Trainer/1"
# counters beyond this lose integer precision in the optimizers' float64 bias corrections
_MAX_T = 2 ** 53

_TRAINER_CLASSES: dict[str, type] = {}


def register_trainer(name: str) -> Callable[[type], type]:
    """Class decorator: ``gl.load`` rebuilds checkpoints of this class through its ``_from_config``."""
    def deco(cls: type) -> type:
        cls._class_name = name
        _TRAINER_CLASSES[name] = cls
        return cls
    return deco


def _spec_or_none(m: Module) -> Any:
    try:
        return m.spec()
    except NotImplementedError:
        return None


def _rebuilt(path: str, cfg: Mapping[str, Any], given: Any, key: str, build: Callable[[Any], Any]) -> Any:
    """The part ``key`` of a saved model: ``given`` if passed, else rebuilt from ``cfg[key]``
    (None there means it was custom and cannot be rebuilt)."""
    if given is not None:
        return given
    if cfg.get(key) is None:
        raise ValueError(f"gl.load: {path} cannot rebuild '{key}' (it was custom); pass {key}=...")
    return build(cfg[key])


def _make_optimizer(o: Mapping[str, Any]) -> _optim.Optimizer:
    classes = {"sgd": _optim.SGD, "adam": _optim.Adam, "adamw": _optim.AdamW, "rmsprop": _optim.RMSProp}
    if not isinstance(o, Mapping) or o.get("kind") not in classes or not isinstance(o.get("config"), Mapping):
        raise ValueError(f"not an optimizer description: {o!r}")
    return classes[o["kind"]](**o["config"])


def _sampler_key(name: str, nstreams: int) -> str:
    return "sampler/perm" if nstreams == 1 else f"sampler/{name}/perm"


def trainer_state(tr: Any) -> tuple[dict[str, np.ndarray], dict]:
    """Every tensor and every number a bit-exact resume needs."""
    tensors: dict[str, np.ndarray] = {}
    for name, m in tr.modules.items():
        for k, v in m.state_dict().items():
            tensors[f"{name}/{k}"] = v
    for name, m in tr._averaged.items():
        for k, v in m.state_dict().items():
            tensors[f"ema/{name}/{k}"] = v
    state: dict[str, Any] = {"step": tr.step, "optimizers": {}, "running_average": {}, "streams": [],
                             "programs": {}}
    for name, opt in tr.optimizers.items():
        sd = opt.state_dict()
        tensors[f"optimizer/{name}/state"] = sd["state"]
        state["optimizers"][name] = {"t": int(sd["t"]), "lr": float(opt.lr)}
    for name, (avg, count) in tr._running.items():
        tensors[f"running_average/{name}"] = avg.copy()
        state["running_average"][name] = int(count[0])
    for name, buf in tr._kept.items():
        tensors[f"kept/{name}"] = buf.copy()
    if tr._setup is not None:
        fit, streams = tr._setup["fit"], tr._setup["streams"]
        for k, s in enumerate(streams):
            pos, epoch, rseed, rcount, perm = fit.get_sampler(k)
            tensors[_sampler_key(s.name, len(streams))] = perm
            state["streams"].append({"name": s.name, "pos": int(pos), "epoch": int(epoch),
                                     "rng": [int(rseed), int(rcount)], "rows": s.n, "batch": s.batch})
        for ph, p in zip(tr._setup["phases"], tr.phases):
            state["programs"][p.name] = [int(v) for v in ph["program"].rng_state]
    elif tr._pending is not None:
        pend = tr._pending
        for st in pend["streams"]:
            tensors[_sampler_key(st["name"], len(pend["streams"]))] = st["perm"]
            state["streams"].append({k: v for k, v in st.items() if k != "perm"})
        state["programs"] = dict(pend["programs"])
    return tensors, state


def save_trainer(tr: Any, path: str) -> None:
    """``Trainer.save``: refuses non-finite values (load would refuse them), writes atomically."""
    tensors, state = trainer_state(tr)
    for k, v in tensors.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise ValueError(f"{type(tr).__name__}.save: '{k}' holds NaN or inf values; a checkpoint must be "
                             "loadable, so nothing was written")
    meta = {"format": FORMAT, "class": tr._class_name, "config": json.dumps(tr._config()),
            "state": json.dumps(state)}
    save_safetensors(path, tensors, meta)


def _snapshot(tr: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Copies of everything load_state writes, to roll a failed load back."""
    arrays: list[np.ndarray] = []
    for m in list(tr.modules.values()) + list(tr._averaged.values()):
        arrays += [m.buffer.data] + [v for _, v in m.named_buffers()]
    for avg, count in tr._running.values():
        arrays += [avg, count]
    arrays += list(tr._kept.values())
    snap = [(a, a.copy()) for a in {id(a): a for a in arrays}.values()]
    return snap


def restore_trainer(tr: Any, path: str) -> None:
    """``Trainer.load_state``: check the whole file, then write (see apply_state)."""
    tensors, meta = load_safetensors(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} checkpoint (format {meta.get('format')!r})")
    try:
        state = json.loads(meta["state"])
        apply_state(tr, path, tensors, state)
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: damaged {FORMAT} checkpoint ({type(e).__name__}: {e})") from None


def apply_state(tr: Any, path: str, tensors: dict[str, np.ndarray], state: dict) -> None:
    def fail(msg: str) -> None:
        raise ValueError(f"{path}: {msg}")

    if not isinstance(state, dict):
        fail("its state is not a JSON object")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= _MAX_T:
        fail(f"step must be an int in [0, 2**53], got {step!r}")
    # 1. check everything
    subs: dict[str, tuple[Module, dict]] = {}
    for prefix, group in (("", tr.modules), ("ema/", tr._averaged)):
        for name, m in group.items():
            sub = {k[len(prefix) + len(name) + 1:]: v for k, v in tensors.items()
                   if k.startswith(f"{prefix}{name}/")}
            own = {k: v for k, v, _ in m._named_state()}
            missing = sorted(set(own) - set(sub))
            extra = sorted(set(sub) - set(own))
            if missing or extra:
                fail(f"module '{prefix}{name}' does not match: missing {missing[:5]}, unexpected {extra[:5]}")
            for k, v in sub.items():
                if v.shape != own[k].shape:
                    fail(f"'{prefix}{name}/{k}' has shape {v.shape}, the module has {own[k].shape}")
                if v.dtype.kind != "f" or not np.all(np.isfinite(v)):
                    fail(f"'{prefix}{name}/{k}' must hold finite floats")
            subs[prefix + name] = (m, sub)
    opts = state["optimizers"]
    if set(opts) != set(tr.optimizers):
        fail(f"optimizers {sorted(opts)} do not match this trainer's {sorted(tr.optimizers)}")
    for name, opt in tr.optimizers.items():
        st, o = tensors.get(f"optimizer/{name}/state"), opts[name]
        if st is None or st.shape != opt._c.state.shape or st.dtype.kind != "f" or not np.all(np.isfinite(st)):
            fail(f"the state of optimizer '{name}' is missing, of another size, or not finite")
        t = o["t"]
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= _MAX_T:
            fail(f"optimizer '{name}': step count must be an int in [0, 2**53], got {t!r}")
        if not isinstance(o["lr"], (int, float)) or not math.isfinite(o["lr"]) or o["lr"] < 0:
            fail(f"optimizer '{name}': bad learning rate {o['lr']!r}")
    runs = state["running_average"]
    if set(runs) != set(tr._running):
        fail(f"running averages {sorted(runs)} do not match this trainer's {sorted(tr._running)}")
    for name, (avg, _) in tr._running.items():
        v = tensors.get(f"running_average/{name}")
        c = runs[name]
        if v is None or v.shape != avg.shape or not np.all(np.isfinite(v)):
            fail(f"running average of '{name}' is missing, of another size, or not finite")
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= _MAX_T:
            fail(f"running average count of '{name}' must be an int in [0, 2**53], got {c!r}")
    kept = {k[5:]: v for k, v in tensors.items() if k.startswith("kept/")}
    for name, v in kept.items():
        if v.dtype.kind != "f" or not np.all(np.isfinite(v)):
            fail(f"kept value '{name}' must hold finite floats")
    streams = state["streams"]
    pend_streams = []
    for st in streams:
        name = st["name"]
        perm = tensors.get(_sampler_key(name, len(streams)))
        ok = perm is not None and perm.dtype.kind in "iu" and perm.shape == (st["rows"],)
        ints = [st[k] for k in ("pos", "epoch", "rows", "batch")] + list(st["rng"])
        ok = ok and len(st["rng"]) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                               for v in ints)
        ok = ok and st["rng"][0] < 2 ** 64 and st["rng"][1] < 2 ** 64 and st["pos"] <= st["rows"]
        ok = ok and np.array_equal(np.sort(perm.astype(np.int64)), np.arange(st["rows"]))
        if not ok:
            fail(f"the sampler state of stream '{name}' is damaged")
        pend_streams.append({**st, "perm": perm.astype(np.int64)})
    programs = state["programs"]
    for pname, rs in programs.items():
        if (not isinstance(rs, list) or len(rs) != 2 or
                not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 64 for v in rs)):
            fail(f"the RNG state of phase '{pname}' is damaged")
    # 2. write everything (rolled back if anything still fails)
    snap = _snapshot(tr)
    opt_before = [(o, o.state_dict()) for o in tr.optimizers.values()]
    try:
        for m, sub in subs.values():
            m.load_state_dict(sub)
        for name, opt in tr.optimizers.items():
            sd = opt.state_dict()
            sd.update(t=opts[name]["t"], state=tensors[f"optimizer/{name}/state"])
            sd["config"] = dict(sd["config"], lr=float(opts[name]["lr"]))
            opt.load_state_dict(sd)
        for name, (avg, count) in tr._running.items():
            avg[...] = tensors[f"running_average/{name}"]
            count[0] = runs[name]
        for name, v in kept.items():
            tr._kept[name] = np.array(v, np.float32)
    except Exception:
        for a, copy in snap:
            a[...] = copy
        for o, sd in opt_before:
            o.load_state_dict(sd)
        raise
    tr.step = step
    tr._setup = None
    tr._pending = {"streams": pend_streams, "programs": programs} if pend_streams or programs else None
    tr._after_load()


def load(path: str, **overrides: Any) -> Any:
    """Rebuild a trainer (``gl.Trainer``, ``gl.GAN``, ...) saved with ``save`` and restore its state.

    Parameters
    ----------
    path : str
        A ``ganlib.Trainer/1`` checkpoint (or a ``ganlib.GAN/1`` file of earlier versions).
    **overrides
        Parts that cannot be stored: a plain Trainer needs ``phases=[...]`` (the same
        names); modules without a ``spec`` are passed as ``modules={name: module}``;
        model classes take their constructor's custom parts (e.g. ``G=``, ``loss=``).

    Examples
    --------
    >>> gan.save("ring.safetensors"); gan2 = gl.load("ring.safetensors")   # doctest: +SKIP
    """
    tensors, meta = load_safetensors(path)
    fmt = meta.get("format")
    if fmt == "ganlib.GAN/1":
        from .gan import _load_gan_v1
        return _load_gan_v1(path, tensors, meta, **overrides)
    if fmt != FORMAT:
        raise ValueError(f"{path}: not a ganlib checkpoint (format {fmt!r})")
    cls = _TRAINER_CLASSES.get(meta.get("class", ""))
    if cls is None:
        raise ValueError(f"{path}: unknown trainer class {meta.get('class')!r} (known: {sorted(_TRAINER_CLASSES)})")
    try:
        config = json.loads(meta["config"])
        if not isinstance(config, dict):
            raise TypeError("config is not a JSON object")
        obj = cls._from_config(path, config, **overrides)
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError, json.JSONDecodeError) as e:
        if isinstance(e, TypeError) and str(e).startswith("gl.load"):
            raise
        raise ValueError(f"{path}: damaged {FORMAT} checkpoint config ({type(e).__name__}: {e})") from None
    obj.load_state(path)
    return obj
