"""gl.models.RealNVP: a Real NVP normalising flow (Dinh et al. 2017) trained by maximum likelihood.

A flow ``f`` maps data ``x`` to codes ``z = f(x)`` with a standard normal prior, and the
change of variables gives the exact log-density
``log p(x) = log N(f(x); 0, I) + log|det ∂f/∂x|``.

Vectors (2-D toy data, ...) are modelled as they are. Images are 8-bit pixels: training
dequantises them, ``v = x + u`` with ``u ~ U(0, 1)`` per pixel, and the flow runs on the
logit of ``α + (1 − 2α) v / 256``; the log-determinants of both maps are counted, so every
density (``log_prob``, ``bits_per_dim``) is one over ``v`` in the pixel space ``[0, 256)^D``,
the space in which the literature reports bits/dim.

Examples
--------
>>> X = gl.datasets.ring(n=4000, seed=0)
>>> flow = gl.models.RealNVP((2,), seed=0)
>>> hist = flow.fit(X, steps=200, batch_size=100, progress=False)
>>> flow.log_prob(X[:3]).shape
(3,)

On MNIST, with raw pixel values 0..255::

    X, _ = gl.datasets.mnist(split="train", scale=None)
    nvp = gl.models.RealNVP((1, 28, 28), seed=0)
    nvp.fit(X, steps=2000, batch_size=64)
    Xt, _ = gl.datasets.mnist(split="test", scale=None)
    nvp.bits_per_dim(Xt)
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .. import ops
from .._checks import check_choice, check_int, check_range, check_real
from ..checkpoint import _make_optimizer
from ..nn.ae_presets import _hidden as hidden_widths
from ..nn.conv import Conv2d
from ..nn.flows import AffineCoupling, RealNVPFlow, Squeeze
from ..nn.layers import ReLU, Sequential, from_spec, mlp
from ..nn.module import Module
from ..optim import Adam, Optimizer
from ..streams import Data
from ..trainer import Phase, Step, Trainer, register_trainer
from ._base import READ_BATCH
from .autoencoder import input_shape_of

PRESETS = ("mlp", "conv")
OBJECTIVES = ("mle",)
_LOG_2PI = math.log(2.0 * math.pi)
_LOG_256 = math.log(256.0)


# ----------------------------------------------------------------------------- presets
def mlp_flow(dims: int, couplings: int = 6, hidden: Sequence[int] = (64, 64), seed: int = 0) -> RealNVPFlow:
    """Couplings with alternating masks, each conditioned by an MLP (the 2-D preset).

    Examples
    --------
    >>> gl.models.realnvp.mlp_flow(2, couplings=4, hidden=[32]).dims
    2
    """
    rng = np.random.default_rng(seed)
    layers = [AffineCoupling((dims,), "alternate", i % 2, mlp(dims, list(hidden), 2 * dims,
                                                               seed=int(rng.integers(2**31))))
              for i in range(couplings)]
    return RealNVPFlow(layers)


def _conv_net(c_in: int, c_out: int, width: int, rng: np.random.Generator) -> Sequential:
    """3×3 → 1×1 → 3×3 convolutions with ReLUs, size preserved (the coupling network of the conv preset)."""
    seed = lambda: int(rng.integers(2**31))  # noqa: E731
    return Sequential(Conv2d(c_in, width, 3, padding=1, seed=seed()), ReLU(),
                      Conv2d(width, width, 1, seed=seed()), ReLU(),
                      Conv2d(width, c_out, 3, padding=1, seed=seed()))


def conv_flow(shape: Sequence[int], couplings: int = 3, width: int = 32, seed: int = 0) -> RealNVPFlow:
    """The image preset: ``couplings`` checkerboard couplings, a squeeze, ``couplings`` channel
    couplings, then ``couplings`` checkerboard couplings at the squeezed size (Real NVP's
    scale block, without factoring out and without batch norm, to stay small on a CPU).

    Examples
    --------
    >>> gl.models.realnvp.conv_flow((1, 28, 28), couplings=1, width=8).dims
    784
    """
    c, h, w = (int(d) for d in shape)
    if h % 2 or w % 2:
        raise ValueError(f"conv_flow: the squeeze halves height and width; they must be even, got {h}x{w}")
    rng = np.random.default_rng(seed)
    layers: list[Module] = [AffineCoupling((c, h, w), "checkerboard", i % 2, _conv_net(c, 2 * c, width, rng))
                            for i in range(couplings)]
    layers.append(Squeeze(c))
    sq = (4 * c, h // 2, w // 2)
    layers += [AffineCoupling(sq, "channel", i % 2, _conv_net(2 * c, 4 * c, width, rng)) for i in range(couplings)]
    layers += [AffineCoupling(sq, "checkerboard", i % 2, _conv_net(4 * c, 8 * c, width, rng))
               for i in range(couplings)]
    return RealNVPFlow(layers)


# ----------------------------------------------------------------------------- the model
@register_trainer("ganlib.RealNVP")
class RealNVP(Trainer):
    """A Real NVP flow with exact likelihood, trained by maximum likelihood in C.

    Parameters
    ----------
    input_shape : tuple
        ``(features,)`` for vectors, ``(channels, height, width)`` for 8-bit images (pixel
        values 0..255, as ``gl.datasets.mnist(scale=None)`` gives them).
    preset : {"mlp", "conv"}, optional
        The flow when ``flow`` is not given: MLP couplings with alternating masks (vectors,
        the default for them) or conv couplings checkerboard → squeeze → channel →
        checkerboard (images, the default for them).
    couplings : int, optional
        Coupling layers of the MLP preset (default 6), or per stage of the conv preset
        (default 3).
    hidden : sequence of int
        Hidden widths of each MLP coupling network.
    width : int
        Channels of each conv coupling network.
    alpha : float
        The logit transform's α in ``logit(α + (1 − 2α) v / 256)`` (images only; Real NVP
        uses 0.05 on CIFAR-10, 1e-6 is usual for MNIST), in [0, 0.5).
    flow : RealNVPFlow, optional
        Your own flow over rows of ``input_shape``.
    lr : float
        Adam's learning rate when ``optimizers`` does not give one.
    optimizers : dict, optional
        ``{"flow": gl.optim....}``.
    seed : int
        Seeds the initialisation, the dequantisation noise and sampling.

    Examples
    --------
    >>> nvp = gl.models.RealNVP((2,), couplings=4, hidden=[32], seed=0)
    >>> z, logdet = nvp.forward(np.zeros((2, 2), np.float32))
    >>> np.allclose(nvp.inverse(z), 0.0, atol=1e-6)
    True
    """

    _what = "RealNVP"

    def __init__(self, input_shape: Any = (2,), *, preset: str | None = None, couplings: int | None = None,
                 hidden: Sequence[int] = (64, 64), width: int = 32, alpha: float = 0.05,
                 flow: RealNVPFlow | None = None, lr: float = 1e-3,
                 optimizers: Mapping[str, Optimizer] | None = None, seed: int = 0) -> None:
        what = self._what
        shape = input_shape_of(input_shape, what)
        if len(shape) == 2:
            raise ValueError(f"{what}: input_shape must be (features,) or (channels, height, width), got {shape}")
        self.input_shape = shape
        self.pixels = len(shape) == 3
        self.preset = check_choice(f"{what}: preset", preset if preset is not None else
                                   ("conv" if self.pixels else "mlp"), PRESETS)
        if (self.preset == "conv") != self.pixels:
            raise ValueError(f"{what}: preset {self.preset!r} is for {'images' if self.preset == 'conv' else 'vectors'}"
                             f", got input_shape {shape}")
        default_couplings = 3 if self.pixels else 6
        self.couplings = check_int(f"{what}: couplings", default_couplings if couplings is None else couplings, 1)
        self.hidden = hidden_widths(hidden, what)
        self.width = check_int(f"{what}: width", width, 1)
        self.alpha = check_range(f"{what}: alpha", alpha, 0.0, 0.5, high_open=True)
        self.lr = check_real(f"{what}: lr", lr, positive=True)
        self.seed = check_int(f"{what}: seed", seed, 0)
        if flow is None:
            flow = (conv_flow(shape, self.couplings, self.width, self.seed) if self.pixels else
                    mlp_flow(shape[0], self.couplings, self.hidden, self.seed))
        elif not isinstance(flow, RealNVPFlow):
            raise TypeError(f"{what}: flow must be a gl.nn.RealNVPFlow, got {type(flow).__name__}")
        if flow.input_shape != shape:
            raise ValueError(f"{what}: the flow takes rows of {flow.input_shape}, input_shape is {shape}")
        opts = dict(optimizers or {})
        for name in opts:
            if name != "flow":
                raise ValueError(f"{what}: optimizers names '{name}'; the only module is 'flow'")
        opts.setdefault("flow", Adam(self.lr))
        self._checked: tuple | None = None
        self._reads: dict[str, ops.Function] = {}
        Trainer.__init__(self, {"flow": flow}, opts, [Phase("mle", self._mle_step)], seed=self.seed)

    @property
    def flow(self) -> RealNVPFlow:
        return self.modules["flow"]

    @property
    def dims(self) -> int:
        """Dimensions of one row (the D of bits/dim)."""
        return int(np.prod(self.input_shape))

    # ---- the density, symbolically ---------------------------------------------------------------
    def _to_flow_space(self, v: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor | None]:
        """Pixels v in [0, 256) -> logit(α + (1 − 2α) v / 256) and log|det| per row (None for vectors)."""
        if not self.pixels:
            return v, None
        a = self.alpha
        y = v * ((1.0 - 2.0 * a) / 256.0) + a
        log_y, log_1my = ops.log(y), ops.log(1.0 - y)
        jac = (log_y + log_1my) * -1.0 + (math.log(1.0 - 2.0 * a) - _LOG_256)
        return log_y - log_1my, ops.sum(ops.reshape(jac, (v.shape[0], -1)), axis=1)

    def _from_flow_space(self, l: ops.Tensor) -> ops.Tensor:
        if not self.pixels:
            return l
        return (ops.sigmoid(l) - self.alpha) * (256.0 / (1.0 - 2.0 * self.alpha))

    def _forward_sym(self, x: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
        """Data -> (z (n, D), log|det ∂z/∂x| (n,)), preprocessing included."""
        l, pre = self._to_flow_space(x)
        z, logdet = self.flow(l)
        return z, logdet if pre is None else logdet + pre

    def _log_prob_sym(self, x: ops.Tensor) -> ops.Tensor:
        z, logdet = self._forward_sym(x)
        return ops.sum(ops.square(z), axis=1) * -0.5 + (logdet - 0.5 * self.dims * _LOG_2PI)

    def _mle_step(self, b: Any) -> Step:
        x = b.data.x
        if self.pixels:
            x = x + ops.rand(x.shape)                  # uniform dequantisation, fresh every step
        nll = ops.mean(-self._log_prob_sym(x))
        bpd = nll * (1.0 / (self.dims * math.log(2.0)))
        return Step(minimize={"flow": nll}, log={"nll": nll, "bits_per_dim": bpd})

    # ---- data checks -------------------------------------------------------------------------------
    def _rows(self, x: Any, what: str) -> np.ndarray:
        """``x`` as float32 rows of ``input_shape`` (flat rows of the same size are reshaped), finite."""
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: data must be a numeric array, got dtype {arr.dtype}")
        if arr.ndim >= 1 and arr.shape[0] == 0:
            raise ValueError(f"{what}: data is empty (0 rows)")
        shape = self.input_shape
        if arr.ndim == len(shape) + 1 and tuple(arr.shape[1:]) == shape:
            pass
        elif arr.ndim == 2 and arr.shape[1] == self.dims:
            arr = arr.reshape((arr.shape[0], *shape))
        else:
            raise ValueError(f"{what}: data rows must have shape {shape} (or be flat rows of {self.dims}), "
                             f"got an array of shape {arr.shape}")
        arr = np.ascontiguousarray(arr, np.float32)
        bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
        if bad.any():
            raise ValueError(f"{what}: row {int(np.argmax(bad))} of the data holds NaN or inf")
        return arr

    def _pixels(self, x: Any, what: str) -> np.ndarray:
        """8-bit images: whole numbers in [0, 255]."""
        arr = self._rows(x, what)
        if self.pixels and (arr.min() < 0 or arr.max() > 255 or not np.array_equal(arr, np.round(arr))):
            raise ValueError(f"{what}: this RealNVP models 8-bit images: pixels must be whole numbers in [0, 255], "
                             f"got values in [{arr.min():g}, {arr.max():g}]"
                             + ("" if np.array_equal(arr, np.round(arr)) else " that are not whole numbers")
                             + "; load MNIST with gl.datasets.mnist(scale=None)")
        return arr

    def _points(self, x: Any, what: str) -> np.ndarray:
        """Points of the density's space: for images, dequantised pixels in [0, 256)."""
        arr = self._rows(x, what)
        if self.pixels and (arr.min() < 0 or arr.max() >= 256):
            raise ValueError(f"{what}: the density is over dequantised pixels in [0, 256), got values in "
                             f"[{arr.min():g}, {arr.max():g}]")
        return arr

    def _codes(self, z: Any, what: str) -> np.ndarray:
        arr = np.asarray(z)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: codes must be a numeric array, got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[1] != self.dims or arr.shape[0] == 0:
            raise ValueError(f"{what}: codes must have shape (n, {self.dims}) with n >= 1, got {arr.shape}")
        arr = np.ascontiguousarray(arr, np.float32)
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: codes hold NaN or inf")
        return arr

    # ---- training ------------------------------------------------------------------------------------
    def fit(self, x: Any, steps: int = 1000, batch_size: int = 64, objective: str = "mle", log_every: int = 100,
            callbacks: Iterable[Callable] = (), progress: bool = True) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps by maximum likelihood; the loop runs in C.

        Parameters
        ----------
        x : ndarray (n, *input_shape)
            Training data; images as 8-bit pixel values (whole numbers in [0, 255]),
            dequantised afresh every step.
        steps, batch_size, log_every, callbacks, progress
            As :meth:`ganlib.Trainer.fit`.
        objective : {"mle"}
            Maximum likelihood (the only objective so far).

        Returns
        -------
        dict of ndarray
            ``step``, ``nll`` (nats per row), ``bits_per_dim``, ``flow_grad_norm``.

        Examples
        --------
        >>> hist = nvp.fit(X, steps=500, batch_size=100)        # doctest: +SKIP
        """
        what = f"{self._what}.fit"
        if objective not in OBJECTIVES:
            raise ValueError(f"{what}: objective {objective!r} is not implemented; supported objectives: "
                             f"{list(OBJECTIVES)}")
        data = self._fit_data(x, what)
        return Trainer.fit(self, {"data": data}, steps, batch_size, log_every, callbacks, progress)

    def _fit_data(self, x: Any, what: str) -> Data:
        """The stream ``fit`` trains on; the checks run once per array."""
        if self._checked is not None and self._checked[0] is x:
            return self._checked[1]
        data = Data(x=self._pixels(x, what))
        self._checked = (x, data)
        return data

    # ---- reading (traced programs, run in C) ---------------------------------------------------------
    def _read(self, name: str, build: Callable[[], ops.Function], *arrays: np.ndarray) -> Any:
        fn = self._reads.get(name)
        if fn is None:
            fn = self._reads[name] = build()
            fn.__name__ = f"{self._what}.{name}"
        with self.flow.buffer.in_use(f"{self._what}.{name}"):
            return fn(*arrays)

    def _batched(self, name: str, build: Callable[[], ops.Function], rows: np.ndarray) -> list:
        return [self._read(name, build, rows[i:i + READ_BATCH]) for i in range(0, rows.shape[0], READ_BATCH)]

    def log_prob(self, x: Any) -> np.ndarray:
        """Exact log-density of each row, in nats (float64 array ``(n,)``).

        For images the points are dequantised pixels ``v`` in ``[0, 256)`` and the density is
        the one over that space (logit transform and scaling counted).

        Examples
        --------
        >>> lp = nvp.log_prob(X_test)                              # doctest: +SKIP
        """
        rows = self._points(x, f"{self._what}.log_prob")
        build = lambda: ops.Function(self._log_prob_sym, training=False, update_state=False)  # noqa: E731
        return np.concatenate(self._batched("log_prob", build, rows)).astype(np.float64)

    def forward(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(z (n, D), log|det ∂z/∂x| (n,))``: data to codes, with the log-determinant of the whole
        map (for images: scaling, logit and flow)."""
        rows = self._points(x, f"{self._what}.forward")
        build = lambda: ops.Function(self._forward_sym, training=False, update_state=False)  # noqa: E731
        parts = self._batched("forward", build, rows)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def inverse(self, z: Any) -> np.ndarray:
        """Rows of ``input_shape`` from codes ``z (n, D)``: ``inverse(forward(x)[0]) == x``."""
        codes = self._codes(z, f"{self._what}.inverse")
        build = lambda: ops.Function(lambda t: self._from_flow_space(self.flow.inverse(t)),  # noqa: E731
                                     training=False, update_state=False)
        return np.concatenate(self._batched("inverse", build, codes))

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` draws ``inverse(z)``, ``z ~ N(0, I)`` (images: dequantised pixel values, in
        (0, 256) up to the logit's α margin).

        ``seed`` makes the draw reproducible; by default each call draws afresh.
        """
        what = f"{self._what}.sample"
        n = check_int(f"{what}: n", n, 1)
        rng = self._sample_rng if seed is None else np.random.default_rng(check_int(f"{what}: seed", seed, 0))
        return self.inverse(rng.standard_normal((n, self.dims)).astype(np.float32))

    @property
    def _sample_rng(self) -> np.random.Generator:
        rng = getattr(self, "_rng_", None)
        if rng is None:
            rng = self._rng_ = np.random.default_rng(self.seed * 64 + 63)
        return rng

    def bits_per_dim(self, x: Any, seed: int = 0) -> float:
        """Mean negative log-likelihood in bits per dimension, ``−log p / (D ln 2)``.

        Images (8-bit pixels) are dequantised with one uniform draw per pixel (seeded, drawn in
        C), and the density is the one over ``[0, 256)^D``: the number the literature reports.
        For vectors it is the continuous density's NLL per dimension in bits.

        Examples
        --------
        >>> nvp.bits_per_dim(X_test)                                # doctest: +SKIP
        """
        what = f"{self._what}.bits_per_dim"
        rows = self._pixels(x, what)
        seed = check_int(f"{what}: seed", seed, 0)

        def nll(v: ops.Tensor) -> ops.Tensor:
            if self.pixels:
                v = v + ops.rand(v.shape)
            return -self._log_prob_sym(v)

        fn = ops.Function(nll, seed=seed, training=False, update_state=False)
        fn.__name__ = what
        with self.flow.buffer.in_use(what):
            total = sum(float(fn(rows[i:i + READ_BATCH]).astype(np.float64).sum())
                        for i in range(0, rows.shape[0], READ_BATCH))
        return total / (rows.shape[0] * self.dims * math.log(2.0))

    def clear_cache(self) -> None:
        """Drop the compiled programs kept for reading (and ``fit``'s)."""
        super().clear_cache()
        for fn in self._reads.values():
            fn.clear_cache()

    # ---- checkpoints -------------------------------------------------------------------------------
    def _options(self) -> dict:
        return {"input_shape": list(self.input_shape), "preset": self.preset, "couplings": self.couplings,
                "hidden": self.hidden, "width": self.width, "alpha": self.alpha, "lr": self.lr, "seed": self.seed}

    def _config(self) -> dict:
        return {"options": self._options(), "flow": self.flow.spec(),
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()}}

    @classmethod
    def _from_config(cls, path: str, config: dict, **overrides: Any) -> "RealNVP":
        if overrides:
            raise TypeError(f"gl.load: unexpected arguments {sorted(overrides)} for a RealNVP")
        kwargs = dict(config["options"])
        kwargs["flow"] = from_spec(config["flow"])
        kwargs["optimizers"] = {n: _make_optimizer(o) for n, o in config["optimizers"].items()}
        return cls(**kwargs)
