"""gl.models.CycleGAN (Zhu et al. 2017): unpaired translation between two image domains.

Two generators, ``G: A -> B`` and ``F: B -> A``, and two discriminators, ``DA`` (real A
against F's fakes) and ``DB`` (real B against G's fakes), trained on two unpaired data
streams ``A`` and ``B``. Each step runs two phases in C:

* ``G`` -- G and F minimise ``E(DB(G(a)) - 1)^2 + E(DA(F(b)) - 1)^2`` (least squares)
  ``+ λ (E|F(G(a)) - a| + E|G(F(b)) - b|)`` (cycle consistency, λ = 10)
  ``+ λ_id (E|G(b) - b| + E|F(a) - a|)`` (identity, λ_id = 0.5 λ by default; 0 turns it off);
  the fakes are kept for the next phase.
* ``D`` -- the fakes pass through a history pool per domain (50 images, see
  :mod:`ganlib.models.history_pool`); DA and DB minimise
  ``1/2 E(D(real) - 1)^2 + 1/2 E D(pooled fake)^2``.

Both phases see the same batches of A and B. The pools are trainer state, saved in
checkpoints. Networks default to :func:`ganlib.nn.resnet_generator` and
:func:`ganlib.nn.patch_discriminator` (instance norm, residual blocks); images are
expected in [-1, 1] (the generators end in tanh).

Examples
--------
>>> XA, yA, XB, yB = gl.datasets.mnist_domains("invert", seed=0)       # doctest: +SKIP
>>> cyc = gl.models.CycleGAN((1, 28, 28), seed=0)
>>> hist = cyc.fit(XA, XB, steps=2000, batch_size=16, progress=False)  # doctest: +SKIP
>>> cyc.translate(np.zeros((2, 1, 28, 28), np.float32), "A->B").shape
(2, 1, 28, 28)
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import losses as _losses, ops, optim as _optim
from .._checks import check_int, check_optimizer, check_real
from ..checkpoint import _make_optimizer, _spec_or_none
from ..nn.cyclegan_presets import patch_discriminator, resnet_generator
from ..nn.layers import from_spec
from ..nn.module import Module
from ..trainer import Data, Phase, Step, Trainer, register_trainer
from .history_pool import history_pool

__all__ = ["CycleGAN"]

DIRECTIONS = ("A->B", "B->A")
_READ = 500   # rows per forward program in translate


@register_trainer("ganlib.CycleGAN")
class CycleGAN(Trainer):
    """Two generators and two least-squares discriminators with cycle and identity losses.

    Parameters
    ----------
    shape_a : (C, H, W)
        Images of domain A.
    shape_b : (C, H, W), optional
        Images of domain B (default: ``shape_a``). The preset generators keep the
        image size, so H and W must be those of A; channel counts may differ (then the
        identity loss, which feeds B images to G, is not defined and must be 0).
    width, n_down, n_blocks : int, optional
        The preset generators (:func:`ganlib.nn.resnet_generator`; default 16, 2, 3);
        refused when G and F are both given.
    d_width : int, optional
        The preset discriminators (:func:`ganlib.nn.patch_discriminator`; default 16);
        refused when DA and DB are both given.
    cycle_weight : float
        λ, the weight of each cycle-consistency L1 term (10 in the paper).
    identity_weight : float
        Weight of the identity terms relative to λ (0.5 in the paper, so 5 by
        default); 0 drops them.
    pool_size : int
        Generated images kept per domain for the discriminators (50 in the paper);
        0 shows the discriminators this step's fakes only.
    lr : float, optional
        Adam learning rate (default 2e-4, betas 0.5, 0.999) of the networks that
        ``optimizers`` does not cover; refused when it covers all four.
    optimizers : dict, optional
        ``{"G": ..., "F": ..., "DA": ..., "DB": ...}``: ganlib optimizers replacing the default Adam.
    G, F, DA, DB : Module, optional
        Networks replacing the presets: ``G`` maps A images to B images, ``F`` B to A,
        ``DA`` / ``DB`` map images of their domain to logits ``(N, k)`` (one per patch).
    seed : int
        Seeds the presets' initialisation and every random stream of training.

    Examples
    --------
    >>> cyc = gl.models.CycleGAN((1, 28, 28), width=8, n_blocks=1, seed=0)
    >>> sorted(cyc.modules)
    ['DA', 'DB', 'F', 'G']
    """

    def __init__(self, shape_a: Sequence[int], shape_b: Sequence[int] | None = None, width: int | None = None,
                 n_down: int | None = None, n_blocks: int | None = None, d_width: int | None = None,
                 cycle_weight: float = 10.0, identity_weight: float = 0.5, pool_size: int = 50,
                 lr: float | None = None,
                 optimizers: dict | None = None, G: Module | None = None, F: Module | None = None,
                 DA: Module | None = None, DB: Module | None = None, seed: int = 0) -> None:
        what = type(self).__name__
        self.shape_a = _image_shape(what, "shape_a", shape_a)
        self.shape_b = self.shape_a if shape_b is None else _image_shape(what, "shape_b", shape_b)
        self.cycle_weight = check_real(f"{what}: cycle_weight", cycle_weight, positive=True)
        self.identity_weight = check_real(f"{what}: identity_weight", identity_weight)
        if self.identity_weight < 0:
            raise ValueError(f"{what}: identity_weight must be >= 0, got {identity_weight}")
        if self.identity_weight > 0 and self.shape_a[0] != self.shape_b[0]:
            raise ValueError(f"{what}: the identity loss feeds B images to G (A -> B) and A images to F, so the "
                             f"domains need the same channel count, got {self.shape_a} and {self.shape_b}; "
                             "pass identity_weight=0")
        self.pool_size = check_int(f"{what}: pool_size", pool_size, 0)
        # options of networks or optimizers that are all given would be ignored: refused instead
        for opts_of, names, given_all in ((("width", width), ("n_down", n_down), ("n_blocks", n_blocks)),
                                          "G and F", G is not None and F is not None), \
                                         ((("d_width", d_width),), "DA and DB", DA is not None and DB is not None), \
                                         ((("lr", lr),), "optimizers for all four networks",
                                          optimizers is not None and set(optimizers) >= {"G", "F", "DA", "DB"}):
            set_ = [k for k, v in opts_of if v is not None]
            if given_all and set_:
                raise ValueError(f"{what}: {set_} would not be used, since {names} are given")
        lr = 2e-4 if lr is None else check_real(f"{what}: lr", lr, positive=True)
        seed = check_int(f"{what}: seed", seed, 0)
        given = {"G": G, "F": F, "DA": DA, "DB": DB}
        for name, m in given.items():
            if m is not None and not isinstance(m, Module):
                raise TypeError(f"{what}: {name} must be a ganlib Module, got {type(m).__name__}")
        if (G is None or F is None) and self.shape_a[1:] != self.shape_b[1:]:
            raise ValueError(f"{what}: the preset generators keep the image size, so they cannot map {self.shape_a} "
                             f"images to {self.shape_b}; give both domains the same height and width (resize), or "
                             "pass your own G and F")
        rng = np.random.default_rng(seed)
        seeds = [int(rng.integers(2**31)) for _ in range(4)]
        arch = dict(width=16 if width is None else width, n_down=2 if n_down is None else n_down,
                    n_blocks=3 if n_blocks is None else n_blocks)
        d_width = 16 if d_width is None else d_width
        nets = {
            "G": G if G is not None else resnet_generator(self.shape_a, self.shape_b[0], seed=seeds[0], **arch),
            "F": F if F is not None else resnet_generator(self.shape_b, self.shape_a[0], seed=seeds[1], **arch),
            "DA": DA if DA is not None else patch_discriminator(self.shape_a, d_width, seed=seeds[2]),
            "DB": DB if DB is not None else patch_discriminator(self.shape_b, d_width, seed=seeds[3]),
        }
        if len({id(m.buffer) for m in nets.values()}) != 4:
            raise ValueError(f"{what}: G, F, DA and DB must be four separately built networks")
        self._check_networks(what, nets)
        opts = dict(optimizers or {})
        for name in opts:
            if name not in nets:
                raise ValueError(f"{what}: optimizers names '{name}', which is not one of G, F, DA, DB")
        for name in nets:
            opts[name] = (_optim.Adam(lr, betas=(0.5, 0.999)) if name not in opts else
                          check_optimizer(f"{what}: optimizers[{name!r}]", opts[name], "gl.optim.Adam(2e-4)"))
        self.lr = lr
        self.least_squares = _losses.get_objective("least_squares")
        self._checked: tuple | None = None
        phases = [Phase("G", self._g_step), Phase("D", self._d_step)]
        super().__init__(nets, opts, phases, seed=seed)

    # ---- networks ----------------------------------------------------------------------------------
    @property
    def G(self) -> Module:
        """The generator A -> B."""
        return self.modules["G"]

    @property
    def F(self) -> Module:
        """The generator B -> A."""
        return self.modules["F"]

    def _check_networks(self, what: str, nets: dict) -> None:
        """Generators map each domain's images to the other's, discriminators give (N, k): traced, nothing runs."""
        tr = ops.Trace()
        with ops.tracing(tr):
            for gen, src, dst, d in (("G", self.shape_a, self.shape_b, "DB"), ("F", self.shape_b, self.shape_a, "DA")):
                try:
                    out = nets[gen](tr.input((2, *src)))
                except (TypeError, ValueError) as e:
                    raise ValueError(f"{what}: {gen} cannot take images of shape {src}: {e}") from None
                if tuple(out.shape[1:]) != dst:
                    raise ValueError(f"{what}: {gen} maps {src} images to {tuple(out.shape[1:])}, not to the other "
                                     f"domain's {dst}")
                try:
                    logits = nets[d](out)
                except (TypeError, ValueError) as e:
                    raise ValueError(f"{what}: {d} cannot take images of shape {dst}: {e}") from None
                if logits.ndim != 2 or logits.shape[0] != 2:
                    raise ValueError(f"{what}: {d} must return logits (N, k), got shape (N, "
                                     f"{', '.join(map(str, logits.shape[1:]))})")

    # ---- phases ----------------------------------------------------------------------------------
    def _g_step(self, b: Any) -> Step:
        a, bb = b.A.x, b.B.x
        G, F, DA, DB = (b.modules[k] for k in ("G", "F", "DA", "DB"))
        with_identity = self.identity_weight > 0
        # F(B) first, so that G's three inputs (A, F(B) for the cycle, B for the identity) run as one batch
        fake_a = F(bb)
        fake_b, cycle_b, *same_b = G.on_batches(a, fake_a, *([bb] if with_identity else []))
        cycle_a, *same_a = F.on_batches(fake_b, *([a] if with_identity else []))
        ls = self.least_squares
        # the paper's generator loss is E(D - 1)^2: twice the objective's 1/2 E(D - 1)^2
        adv = ops.scale(ls.g_loss(DB(fake_b)) + ls.g_loss(DA(fake_a)), 2.0)
        cycle = ops.mean(ops.abs(cycle_a - a)) + ops.mean(ops.abs(cycle_b - bb))
        total = adv + ops.scale(cycle, self.cycle_weight)
        log = {"g_adv": adv, "cycle": cycle}
        if with_identity:
            ident = ops.mean(ops.abs(same_b[0] - bb)) + ops.mean(ops.abs(same_a[0] - a))
            total = total + ops.scale(ident, self.cycle_weight * self.identity_weight)
            log["identity"] = ident
        return Step(minimize={"G": total, "F": total}, log=log, keep={"fake_a": fake_a, "fake_b": fake_b})

    def _d_step(self, b: Any) -> Step:
        DA, DB = b.modules.DA, b.modules.DB
        fake_a, fake_b, keep = b.kept.fake_a, b.kept.fake_b, {}
        if self.pool_size:
            fake_a, keep_a = history_pool(b, "pool_a", fake_a, self.pool_size)
            fake_b, keep_b = history_pool(b, "pool_b", fake_b, self.pool_size)
            keep = {**keep_a, **keep_b}
        ls = self.least_squares
        d_a = ls.d_loss(*DA.on_batches(b.A.x, fake_a))
        d_b = ls.d_loss(*DB.on_batches(b.B.x, fake_b))
        return Step(minimize={"DA": d_a, "DB": d_b}, log={"d_a": d_a, "d_b": d_b}, keep=keep)

    # ---- data -----------------------------------------------------------------------------------------
    def _images(self, x: Any, domain: str, what: str) -> np.ndarray:
        shape = self.shape_a if domain == "A" else self.shape_b
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: domain {domain} images must be a numeric array, got dtype {arr.dtype}")
        if arr.ndim != 4 or tuple(arr.shape[1:]) != shape:
            raise ValueError(f"{what}: domain {domain} images must have shape (n, {', '.join(map(str, shape))}), "
                             f"got {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"{what}: domain {domain} holds no images (0 rows)")
        arr = np.ascontiguousarray(arr, np.float32)
        if not np.isfinite(arr).all():
            bad = int(np.argmax(~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)))
            raise ValueError(f"{what}: domain {domain} image {bad} holds NaN or inf")
        return arr

    def _streams(self, xa: Any, xb: Any) -> dict[str, Data]:
        """The two streams, checked once per pair of arrays (a later fit on the same arrays
        reuses the converted data, and so the compiled phases)."""
        if self._checked is not None and self._checked[0] is xa and self._checked[1] is xb:
            return self._checked[2]
        what = f"{type(self).__name__}.fit"
        data = {"A": Data(x=self._images(xa, "A", what)), "B": Data(x=self._images(xb, "B", what))}
        self._checked = (xa, xb, data)
        return data

    # ---- training ---------------------------------------------------------------------------------------
    def fit(self, xa: Any, xb: Any, steps: int = 1000, batch_size: int = 16, log_every: int = 100,
            callbacks: Iterable[Callable] = (), progress: bool = True) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps on unpaired images ``xa`` of domain A and ``xb`` of domain B.

        Parameters
        ----------
        xa : ndarray (n_a, *shape_a)
        xb : ndarray (n_b, *shape_b)
            Any numbers of rows; batches of each are drawn independently.
        steps : int
        batch_size : int
            Images of each domain per step (at most ``pool_size`` when a pool is used).
        log_every, callbacks, progress
            As :meth:`ganlib.Trainer.fit`.

        Returns
        -------
        dict of ndarray
            ``step``, ``g_adv``, ``cycle``, ``identity`` (when used), ``d_a``, ``d_b``
            and gradient norms.

        Raises
        ------
        ValueError, TypeError
            Wrong shapes or dtype, empty or non-finite data, a batch larger than the
            pool; checked before anything is trained.

        Examples
        --------
        >>> hist = cyc.fit(XA, XB, steps=1000, batch_size=16, progress=False)   # doctest: +SKIP
        """
        what = f"{type(self).__name__}.fit"
        data = self._streams(xa, xb)
        batch_size = check_int(f"{what}: batch_size", batch_size, 1)
        if self.pool_size and batch_size > self.pool_size:
            raise ValueError(f"{what}: batch_size {batch_size} is larger than the history pool ({self.pool_size} "
                             "images); use a smaller batch or a larger pool_size")
        return Trainer.fit(self, data, steps, batch_size, log_every, callbacks, progress)

    # ---- using the model -------------------------------------------------------------------------------
    def translate(self, x: Any, direction: str = "A->B") -> np.ndarray:
        """Images of one domain translated to the other: ``G(x)`` for "A->B", ``F(x)`` for "B->A".

        Parameters
        ----------
        x : ndarray (n, *shape of the source domain)
        direction : {"A->B", "B->A"}

        Returns
        -------
        ndarray (n, *shape of the target domain)

        Examples
        --------
        >>> cyc = gl.models.CycleGAN((1, 28, 28), width=8, n_blocks=1, seed=0)
        >>> cyc.translate(np.zeros((3, 1, 28, 28), np.float32), "B->A").shape
        (3, 1, 28, 28)
        """
        what = f"{type(self).__name__}.translate"
        if direction not in DIRECTIONS:
            raise ValueError(f"{what}: direction must be one of {DIRECTIONS}, got {direction!r}")
        src = direction[0]
        rows = self._images(x, src, what)
        net = self.G if src == "A" else self.F
        return np.concatenate([net._read(rows[i:i + _READ]) for i in range(0, rows.shape[0], _READ)])

    def cycle(self, x: Any, domain: str = "A") -> np.ndarray:
        """The round trip ``F(G(x))`` for A images (``G(F(x))`` for "B"): ~x after training.

        Examples
        --------
        >>> cyc = gl.models.CycleGAN((1, 28, 28), width=8, n_blocks=1, seed=0)
        >>> cyc.cycle(np.zeros((1, 1, 28, 28), np.float32), "A").shape
        (1, 1, 28, 28)
        """
        if domain not in ("A", "B"):
            raise ValueError(f"{type(self).__name__}.cycle: domain must be 'A' or 'B', got {domain!r}")
        there, back = ("A->B", "B->A") if domain == "A" else ("B->A", "A->B")
        return self.translate(self.translate(x, there), back)

    def pool(self, domain: str) -> np.ndarray:
        """A copy of the history pool of generated ``domain`` images that the discriminator of
        that domain draws from (only the filled part; empty before training or without a pool)."""
        if domain not in ("A", "B"):
            raise ValueError(f"{type(self).__name__}.pool: domain must be 'A' or 'B', got {domain!r}")
        shape = self.shape_a if domain == "A" else self.shape_b
        key = "pool_" + domain.lower()
        if key not in self._kept:
            return np.zeros((0, *shape), np.float32)
        n = int(self._kept[key + "_count"].reshape(-1)[0])
        return self._kept[key][:n].reshape((n, *shape)).copy()

    # ---- checkpoints ---------------------------------------------------------------------------------
    def _config(self) -> dict:
        return {"shape_a": list(self.shape_a), "shape_b": list(self.shape_b), "cycle_weight": self.cycle_weight,
                "identity_weight": self.identity_weight, "pool_size": self.pool_size, "lr": self.lr,
                "seed": self.seed, "modules": {n: _spec_or_none(m) for n, m in self.modules.items()},
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()}}

    @classmethod
    def _from_config(cls, path: str, cfg: dict, **nets: Module) -> "CycleGAN":
        """Rebuild from the saved configuration; custom networks are passed in (``G=...``)."""
        unknown = sorted(set(nets) - {"G", "F", "DA", "DB"})
        if unknown:
            raise TypeError(f"gl.load: unexpected arguments {unknown} for a CycleGAN")
        mods = {}
        for name, spec in cfg["modules"].items():
            if nets.get(name) is not None:
                mods[name] = nets[name]
            elif spec is None:
                raise ValueError(f"gl.load: {path} cannot rebuild '{name}' (it was custom); pass {name}=...")
            else:
                mods[name] = from_spec(spec)
        return cls(tuple(cfg["shape_a"]), tuple(cfg["shape_b"]), cycle_weight=cfg["cycle_weight"],
                   identity_weight=cfg["identity_weight"], pool_size=cfg["pool_size"],
                   optimizers={n: _make_optimizer(o) for n, o in cfg["optimizers"].items()}, seed=cfg["seed"],
                   **mods)


def _image_shape(what: str, name: str, shape: Any) -> tuple[int, int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"{what}: {name} must be an image shape (C, H, W), got {shape!r}")
    return tuple(check_int(f"{what}: {name}[{k}]", d, 1) for k, d in enumerate(shape))
