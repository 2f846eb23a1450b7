"""gl.models.RealNVP: a Real NVP normalising flow (Dinh et al. 2017) trained by maximum likelihood
or as the generator of a WGAN-GP (Danihelka et al. 2017, "Comparison of maximum likelihood and
GAN-based training of Real NVPs").

A flow ``f`` maps data ``x`` to codes ``z = f(x)`` with a standard normal prior, and the
change of variables gives the exact log-density
``log p(x) = log N(f(x); 0, I) + log|det ∂f/∂x|``.

Vectors (2-D toy data, ...) are modelled as they are. Images are 8-bit pixels: training
dequantises them, ``v = x + u`` with ``u ~ U(0, 1)`` per pixel, and the flow runs on the
logit of ``α + (1 − 2α) v / 256``; the log-determinants of both maps are counted, so every
density (``log_prob``, ``bits_per_dim``) is one over ``v`` in the pixel space ``[0, 256)^D``,
the space in which the literature reports bits/dim.

Trained adversarially (``fit(..., objective="wgan-gp")``), the flow is the generator
``z ~ N(0, I) -> inverse -> x`` and a critic judges its samples against the data, in the
critic space: vectors as they are; images as dequantised pixels scaled to ``[0, 1)``,
``(x + u) / 256`` for real data and ``v / 256`` for a generated ``v`` (``z`` mapped back
through the flow and the inverse of the logit map: a point of the same pixel space, which
the logit's α margin widens slightly beyond ``[0, 256)``). The flow stays a bijection with
the same preprocessing, so ``log_prob`` and ``bits_per_dim`` of the adversarially trained
flow are exactly those of its density, comparable with the MLE flow's.

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

The same flow as a WGAN-GP generator (a preset critic, or ``critic=`` any module giving one
value per image)::

    wg = gl.models.RealNVP((1, 28, 28), optimizers={"flow": gl.optim.Adam(1e-4, betas=(0.5, 0.9))}, seed=0)
    wg.fit(X, steps=2000, batch_size=64, objective="wgan-gp", n_critic=5, gp_weight=10)
    wg.bits_per_dim(Xt)              # defined exactly as for the MLE flow, and much worse
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .. import ops
from .._checks import check_choice, check_int, check_range, check_real
from ..checkpoint import _make_optimizer, _spec_or_none
from ..nn.ae_presets import _hidden as hidden_widths
from ..nn.conv import Conv2d, Flatten
from ..nn.flows import AffineCoupling, RealNVPFlow, Squeeze
from ..losses import get_objective, get_penalty
from ..nn.layers import LeakyReLU, Linear, ReLU, Sequential, from_spec, mlp
from ..nn.module import Module
from ..optim import Adam, Optimizer
from ..streams import Data
from ..trainer import Phase, Step, Trainer, register_trainer
from ._base import READ_BATCH
from .autoencoder import input_shape_of

PRESETS = ("mlp", "conv")
OBJECTIVES = ("mle", "wgan-gp")
#: the adversarial options of ``fit`` and their defaults (critic_lr None: the flow optimizer's rate)
WGAN_OPTIONS = {"critic": None, "n_critic": 5, "gp_weight": 10.0, "critic_lr": None}
#: Adam's betas of the critic (the WGAN-GP paper's beta2; beta1 0.5 as in most WGAN-GP code)
CRITIC_BETAS = (0.5, 0.9)
# program seeds by phase name ("mle" keeps the seed it had as the only phase: MLE runs are unchanged)
_PHASE_SEEDS = {"mle": 1, "critic": 2, "gen": 3}
_WGAN = get_objective("wgan-gp")      # critic: E_q[C] - E_p[C]; generator: -E_q[C]
_GP = get_penalty("wgan-gp")          # (||grad C(x_hat)|| - 1)^2 on random interpolates
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


def mlp_critic(dims: int, hidden: Sequence[int] = (128, 128), seed: int = 0) -> Module:
    """The vector preset critic of ``fit(objective="wgan-gp")``: an MLP ``dims -> hidden -> 1``, ReLU.

    Examples
    --------
    >>> gl.models.realnvp.mlp_critic(2, hidden=[16])(np.zeros((3, 2), np.float32)).shape
    (3, 1)
    """
    return mlp(dims, list(hidden), 1, seed=seed)


def conv_critic(shape: Sequence[int], width: int = 32, seed: int = 0) -> Sequential:
    """The image preset critic: ``[Conv2d(4, stride 2, padding 1) -> LeakyReLU(0.2)] x 2`` (channels
    ``width``, ``2 width``; a stage is left out where the map is already 1 pixel high or wide),
    then Flatten -> Linear -> 1. No normalisation: the gradient penalty differentiates the critic's
    input gradient again, which batch norm in training mode does not allow.

    Examples
    --------
    >>> gl.models.realnvp.conv_critic((1, 28, 28), width=8)(np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 1)
    """
    c, h, w = (int(d) for d in shape)
    width = check_int("conv_critic: width", width, 1)
    rng = np.random.default_rng(seed)
    layers: list[Module] = []
    ch_in, ch = c, width
    for _ in range(2):
        if min(h, w) < 2:
            break
        layers += [Conv2d(ch_in, ch, 4, stride=2, padding=1, seed=int(rng.integers(2**31))), LeakyReLU(0.2)]
        h, w = h // 2, w // 2              # (s + 2 - 4) // 2 + 1 for even and odd s alike
        ch_in, ch = ch, 2 * ch
    layers += [Flatten(), Linear(ch_in * h * w, 1, seed=int(rng.integers(2**31)))]
    return Sequential(*layers)


# ----------------------------------------------------------------------------- the model
@register_trainer("ganlib.RealNVP")
class RealNVP(Trainer):
    """A Real NVP flow with exact likelihood, trained in C by maximum likelihood or as the
    generator of a WGAN-GP (see :meth:`fit`).

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
        ``{"flow": gl.optim....}``: the flow's optimizer, whichever objective trains it (as a
        WGAN-GP generator a smaller rate is usual, e.g. ``Adam(1e-4, betas=(0.5, 0.9))``).
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
        self.objective: str | None = None       # fixed by the first fit
        self.wgan: dict | None = None           # n_critic, gp_weight once trained adversarially
        Trainer.__init__(self, {"flow": flow}, opts, [Phase("mle", self._mle_step)], seed=self.seed)

    def _phase_seed(self, k: int) -> int:
        return self.seed * 64 + _PHASE_SEEDS[self.phases[k].name]

    @property
    def flow(self) -> RealNVPFlow:
        return self.modules["flow"]

    @property
    def critic(self) -> Module | None:
        """The WGAN-GP critic (None until a ``fit(objective="wgan-gp")``)."""
        return self.modules.get("critic")

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

    # ---- the adversarial objective -------------------------------------------------------------
    def _critic_real(self, x: ops.Tensor) -> ops.Tensor:
        """A data batch in the critic's space: images dequantised and scaled to [0, 1)."""
        if not self.pixels:
            return x
        return (x + ops.rand(x.shape)) * (1.0 / 256.0)

    def _critic_fake(self, z: ops.Tensor) -> ops.Tensor:
        """Codes ``z`` -> ``inverse(z)`` in the critic's space (images: ``v / 256``)."""
        v = self._from_flow_space(self.flow.inverse(z))
        return v * (1.0 / 256.0) if self.pixels else v

    def _generated(self, n: int) -> ops.Tensor:
        """``n`` draws of the generator, ``z ~ N(0, I)``, in the critic's space."""
        return self._critic_fake(ops.randn((n, self.dims)))

    def _critic_step(self, b: Any) -> Step:
        real = self._critic_real(b.data.x)
        fake = ops.stop_gradient(self._generated(real.shape[0]))   # the critic phase trains the critic only
        loss = _WGAN.d_loss(self.critic(real), self.critic(fake))
        pen = _GP(self.critic, real, fake) * self.wgan["gp_weight"]
        return Step(minimize={"critic": loss + pen}, log={"critic_loss": loss, "penalty": pen})

    def _gen_step(self, b: Any) -> Step:
        loss = _WGAN.g_loss(self.critic(self._generated(b.data.batch_size)))
        # the likelihood the adversarial objective does not see, on the critic's last real batch:
        # the history then holds both measures (logged only; no gradient is taken of it)
        x = b.data.x
        if self.pixels:
            x = x + ops.rand(x.shape)
        nll = ops.mean(-self._log_prob_sym(x))
        bpd = nll * (1.0 / (self.dims * math.log(2.0)))
        return Step(minimize={"flow": loss}, log={"gen_loss": loss, "nll": nll, "bits_per_dim": bpd})

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
            callbacks: Iterable[Callable] = (), progress: bool = True, *, critic: Module | None = None,
            n_critic: int | None = None, gp_weight: float | None = None,
            critic_lr: float | None = None) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps by maximum likelihood or as a WGAN-GP generator; the loop runs in C.

        Parameters
        ----------
        x : ndarray (n, *input_shape)
            Training data; images as 8-bit pixel values (whole numbers in [0, 255]),
            dequantised afresh every step.
        steps, batch_size, log_every, callbacks, progress
            As :meth:`ganlib.Trainer.fit`.
        objective : {"mle", "wgan-gp"}
            ``"mle"``: minimise the exact negative log-likelihood (one phase).
            ``"wgan-gp"``: the flow is the generator ``z ~ N(0, I) -> inverse -> x`` of a
            WGAN-GP (Gulrajani et al. 2017): each step the critic takes ``n_critic`` steps
            (a fresh batch each) on ``E[C(fake)] - E[C(real)] + gp_weight * penalty``, then the
            flow one step on ``-E[C(fake)]`` with the flow's optimizer (the constructor's
            ``lr`` / ``optimizers``: pass a WGAN-GP rate there). The critic sees vectors
            as they are and images as dequantised pixels scaled to ``[0, 1)`` (generated
            images as ``v / 256``, ``v`` the inverse of the logit map), so the flow's density
            and ``bits_per_dim`` keep their exact meaning.
            A model is trained by one objective: the first ``fit`` fixes it, and with it the
            critic and its settings (saved with the model). To train an MLE-trained flow
            adversarially, start a new model from a copy:
            ``gl.models.RealNVP(shape, flow=nvp.flow.clone())``.
        critic : Module, optional
            (wgan-gp) Rows of ``input_shape`` -> one value per row ``(N, 1)``; no batch norm in
            training mode (the penalty differentiates it twice). Default: ``mlp_critic`` (an
            MLP 128-128, vectors) or ``conv_critic`` (two stride-2 convs of width 32, images).
        n_critic : int, optional
            (wgan-gp) Critic steps per flow step (default 5).
        gp_weight : float, optional
            (wgan-gp) λ of the gradient penalty (default 10).
        critic_lr : float, optional
            (wgan-gp) The critic's Adam rate (betas ``CRITIC_BETAS``); default: the flow
            optimizer's rate.

        Returns
        -------
        dict of ndarray
            ``step``, ``nll`` (nats per row), ``bits_per_dim``, ``flow_grad_norm``; with
            ``"wgan-gp"`` also ``critic_loss`` (minus the critic's Wasserstein estimate),
            ``penalty`` (weighted), ``gen_loss``, ``critic_grad_norm``; ``nll`` and
            ``bits_per_dim`` are then those of the critic's last real batch of the step,
            logged only.

        Raises
        ------
        ValueError
            Unknown objective; adversarial options with ``"mle"``; an objective, critic or
            setting other than the model's; a bad option or critic. Nothing changes then.

        Examples
        --------
        >>> hist = nvp.fit(X, steps=500, batch_size=100)        # doctest: +SKIP
        >>> wg = gl.models.RealNVP((2,), lr=1e-4, seed=0)
        >>> hist = wg.fit(X, steps=2000, batch_size=100, objective="wgan-gp", n_critic=5)   # doctest: +SKIP
        """
        what = f"{self._what}.fit"
        if objective not in OBJECTIVES:
            raise ValueError(f"{what}: objective {objective!r} is not implemented; supported objectives: "
                             f"{list(OBJECTIVES)}")
        given = {"critic": critic, "n_critic": n_critic, "gp_weight": gp_weight, "critic_lr": critic_lr}
        if objective == "mle":
            extra = [k for k, v in given.items() if v is not None]
            if extra:
                raise ValueError(f"{what}: {', '.join(extra)} {'is an option' if len(extra) == 1 else 'are options'}"
                                 " of objective='wgan-gp'; maximum likelihood takes none")
        if self.objective is not None and objective != self.objective:
            raise ValueError(f"{what}: this model is trained by objective={self.objective!r} (its first fit fixed "
                             f"it), got objective={objective!r}; to train its flow the other way, start a new model "
                             f"from a copy: gl.models.RealNVP({self.input_shape}, flow=model.flow.clone())")
        settings = self._wgan_settings(given, what) if objective == "wgan-gp" else None
        data = self._fit_data(x, what)
        if self._fitting:   # as Trainer.fit would, but before anything below changes the trainer
            raise RuntimeError(f"{self._what}.fit was called while this model is fitting; fit again after the "
                               "running fit returns")
        if settings is not None and self.wgan is None:
            self._attach(**settings)
        self.objective = objective
        return Trainer.fit(self, {"data": data}, steps, batch_size, log_every, callbacks, progress)

    def _wgan_settings(self, given: dict, what: str) -> dict:
        """The adversarial options, checked; for a model trained adversarially already, they must
        be left out or equal its own (a model keeps its critic and settings)."""
        critic, n_critic, gp_weight, critic_lr = (given[k] for k in ("critic", "n_critic", "gp_weight", "critic_lr"))
        if n_critic is not None:
            n_critic = check_int(f"{what}: n_critic", n_critic, 1)
        if gp_weight is not None:
            gp_weight = check_real(f"{what}: gp_weight", gp_weight, positive=True)
        if critic_lr is not None:
            critic_lr = check_real(f"{what}: critic_lr", critic_lr, positive=True)
        if critic is not None:
            self._check_critic(critic, what)
        if self.wgan is not None:
            own = {"critic": self.critic, "n_critic": self.wgan["n_critic"], "gp_weight": self.wgan["gp_weight"],
                   "critic_lr": self.optimizers["critic"].lr}
            for k, v in (("critic", critic), ("n_critic", n_critic), ("gp_weight", gp_weight),
                         ("critic_lr", critic_lr)):
                if v is not None and not (v is own[k] if k == "critic" else v == own[k]):
                    shown = "another critic" if k == "critic" else f"{k}={v!r}"
                    raise ValueError(f"{what}: this model was trained adversarially with "
                                     f"{'its own critic' if k == 'critic' else f'{k}={own[k]!r}'}; got {shown}. "
                                     "A model keeps its critic and settings (they are saved with it): leave the "
                                     "option out, or start a new model")
            return {}
        if critic is None:
            seed = int(np.random.default_rng((self.seed, 2)).integers(2**31))
            critic = conv_critic(self.input_shape, seed=seed) if self.pixels else mlp_critic(self.dims, seed=seed)
        return {"critic": critic, "n_critic": WGAN_OPTIONS["n_critic"] if n_critic is None else n_critic,
                "gp_weight": WGAN_OPTIONS["gp_weight"] if gp_weight is None else gp_weight,
                "critic_opt": Adam(self.optimizers["flow"].lr if critic_lr is None else critic_lr,
                                   betas=CRITIC_BETAS)}

    def _check_critic(self, critic: Any, what: str) -> None:
        """A critic must take rows of ``input_shape`` and give one value per row (traced, nothing runs)."""
        if not isinstance(critic, Module):
            raise TypeError(f"{what}: critic must be a ganlib Module, got {type(critic).__name__}")
        if critic.buffer is self.flow.buffer:
            raise ValueError(f"{what}: the critic shares the flow's parameter buffer; build it separately")
        if critic.param_range()[1] == 0:
            raise ValueError(f"{what}: the critic has no parameters to train")
        if any(type(m).__name__ == "BatchNorm" and m.training for m in critic._modules()):
            raise ValueError(f"{what}: the gradient penalty differentiates the critic's gradient again, but batch "
                             "norm in training mode is first-order only; use layer norm or no norm in the critic")
        tr = ops.Trace()
        try:
            with ops.tracing(tr):
                out = critic(tr.input((2, *self.input_shape)))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{what}: the critic must take rows of shape {self.input_shape}: {e}") from None
        shape = tuple(out.shape)
        if shape != (2, 1):
            got = "(N" + "".join(f", {d}" for d in shape[1:]) + ")" if shape[:1] == (2,) else str(shape)
            raise ValueError(f"{what}: the critic must return one value per row, shape (N, 1); for rows of shape "
                             f"{self.input_shape} it returns {got}")

    def _attach(self, critic: Module, n_critic: int, gp_weight: float, critic_opt: Optimizer) -> None:
        """Make this an adversarial trainer: modules flow and critic, phases critic (n_critic repeats,
        a fresh batch each) and gen. Only before any training (the objective is fixed by the first fit)."""
        saved = dict(self.__dict__)
        self.wgan = {"n_critic": n_critic, "gp_weight": gp_weight}
        phases = [Phase("critic", self._critic_step, repeats=n_critic, redraw=True), Phase("gen", self._gen_step)]
        try:
            Trainer.__init__(self, {"flow": self.flow, "critic": critic},
                             {"flow": self.optimizers["flow"], "critic": critic_opt}, phases, seed=self.seed)
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        self.step, self._pending = saved["step"], saved["_pending"]

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
        wgan = None
        if self.wgan is not None:
            wgan = dict(self.wgan, critic=_spec_or_none(self.critic))
        return {"options": self._options(), "flow": self.flow.spec(), "objective": self.objective, "wgan": wgan,
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()}}

    @classmethod
    def _from_config(cls, path: str, config: dict, **overrides: Any) -> "RealNVP":
        wgan = config.get("wgan")
        critic = overrides.pop("critic", None)
        if overrides or (critic is not None and wgan is None):
            bad = sorted(overrides) + ([] if critic is None or wgan is not None else ["critic"])
            raise TypeError(f"gl.load: unexpected arguments {bad} for a RealNVP"
                            + ("" if wgan is not None else " (critic= is for adversarially trained ones)"))
        kwargs = dict(config["options"])
        kwargs["flow"] = from_spec(config["flow"])
        opts = {n: _make_optimizer(o) for n, o in config["optimizers"].items()}
        kwargs["optimizers"] = {"flow": opts.pop("flow")}
        obj = cls(**kwargs)
        # checkpoints from before the adversarial objective: a trained model was trained by MLE
        obj.objective = config.get("objective", "mle")
        if wgan is not None:
            if critic is None:
                if wgan["critic"] is None:
                    raise ValueError(f"gl.load: {path} holds a custom critic, which cannot be rebuilt; pass "
                                     "critic=<a module of the same layout>")
                critic = from_spec(wgan["critic"])
            obj._check_critic(critic, "gl.load")
            obj._attach(critic, int(wgan["n_critic"]), float(wgan["gp_weight"]), opts.pop("critic"))
        if opts:
            raise ValueError(f"gl.load: {path} has optimizers {sorted(opts)} that a RealNVP does not use")
        return obj
