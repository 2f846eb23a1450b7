"""gl.models.ACAI: the adversarially constrained autoencoder interpolation (Berthelot et al. 2019).

An autoencoder whose decoded interpolations are pushed to look like data: a critic
``d`` learns to predict the mixing coefficient α from a decoded mix of two codes, and
the autoencoder learns to make it answer 0 (TECHNIQUES.md §D).

Each step runs two phases on the same batch ``x`` (shape ``(b, ...)``):

* ``"AE"`` (encoder and decoder): ``z = E(x)``; each row is paired with the row before
  it (``ops.roll(z, 1)``, a cyclic shift of the batch); ``α = 0.5 − |U − 0.5|`` per
  row, ``U ~ U(0, 1)``, so α lies in [0, 0.5]; ``x̂_α = Dec(α z + (1 − α) roll(z, 1))``;
  the loss is ``MSE(Dec(z), x) + λ · mean(d(x̂_α)²)``.
* ``"critic"`` (``d``): ``mean((d(x̂_α) − α)²) + mean(d(γ x + (1 − γ) x̂)²)`` with
  ``x̂ = Dec(z)``, on the values the AE phase kept (``Step(keep=...)``): the same α, the
  same decoded mixes and reconstructions, computed before the AE phase's update. The
  critic is thus trained exactly as in the reference implementation, where both
  updates come from one forward pass; keeping the values (rather than recomputing
  them) saves a second encoder / decoder pass and any question of replaying the
  random draws.

The critic's output is averaged over every axis but the batch (the reference critic
averages its feature map), so any network ending in ``(b, k)`` or ``(b, C, H, W)``
serves.

Examples
--------
>>> X = gl.datasets.lines(20_000, seed=1)                                  # doctest: +SKIP
>>> acai = gl.models.ACAI((1, 32, 32), latent_dim=256, preset="conv", seed=0)   # doctest: +SKIP
>>> hist = acai.fit(X, steps=20_000, batch_size=64)                        # doctest: +SKIP
>>> gl.metrics.interpolation_scores(acai, seed=2)                          # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import ops
from .._checks import check_int, check_range, check_real
from ..nn import ae_presets
from ..nn.module import Module
from ..optim import Optimizer
from ..trainer import Phase, Step, register_trainer
from ._base import LatentModel, as_given
from .autoencoder import build_pair, input_shape_of, missing, preset_options


def critic_score(out: ops.Tensor) -> ops.Tensor:
    """A critic's output ``(b, ...)`` as one number per row ``(b,)``: the mean over the other axes."""
    if out.ndim == 1:
        return out
    n = out.shape[0]
    return ops.mean(ops.reshape(out, (n, -1)), axis=1)


def preset_critic(preset: str, input_shape: tuple, hidden: Any, width: int | None, seed: int) -> Module:
    """The default critic: the preset encoder with one output per image."""
    if preset == "conv":
        return ae_presets.conv_encoder(input_shape, 1, width, seed=seed)
    return ae_presets.mlp_encoder(input_shape, 1, hidden, seed=seed)


@register_trainer("ganlib.ACAI")
class ACAI(LatentModel):
    """An autoencoder with an adversarially constrained interpolation regulariser.

    Parameters
    ----------
    input_shape : tuple
        Shape of one data row, e.g. ``(1, 32, 32)``.
    latent_dim : int
        Width of the code.
    preset : {"mlp", "conv"}, optional
        Encoder / decoder pair (and default critic) when they are not given, as
        :class:`Autoencoder` (default "mlp"; conv: 28 x 28 or 32 x 32 images).
    hidden, width : as :class:`Autoencoder`, optional
        MLP hidden widths (default [512, 256]) / channels of the first conv stage
        (default 32), also of the default critic; each refused with the other preset,
        and all three preset options when ``E``, ``Dec`` and ``d`` are all given.
    E, Dec : Module, optional
        Your own encoder ``(n, *input_shape) -> (n, latent_dim)`` and decoder back.
    d : Module, optional
        Your own critic on images; its output is averaged to one number per image.
        Default: the preset encoder with one output (a conv or MLP discriminator).
    lam : float
        λ, the weight of the autoencoder's term ``mean(d(x̂_α)²)`` (0.5 in the paper).
    gamma : float
        γ in [0, 1], how much of the data goes into the critic's second input
        ``γ x + (1 − γ) x̂`` (0.2 in the paper).
    lr : float, optional
        Adam learning rate of every default optimizer (default 1e-3; the paper uses one
        for both the autoencoder and the critic); refused when ``optimizers`` gives all three.
    optimizers : dict, optional
        ``{"E": ..., "Dec": ..., "d": ...}`` replacing the default Adam.
    seed : int
        Seeds the presets (E: ``seed``, Dec: ``seed + 1``, d: ``seed + 2``) and every
        random stream of training.

    Notes
    -----
    The reconstruction loss is the squared error (mean over pixels), as in the paper;
    ``decode`` returns the decoder's output as it is.

    Examples
    --------
    >>> X = np.random.default_rng(0).random((256, 1, 8, 8)).astype(np.float32)
    >>> acai = gl.models.ACAI((1, 8, 8), 4, hidden=[32], seed=0)
    >>> hist = acai.fit(X, steps=20, batch_size=32, progress=False)
    >>> sorted(k for k in hist if not k.endswith("grad_norm"))
    ['ae_critic', 'critic_mix', 'critic_real', 'recon', 'step']
    >>> acai.interpolate(X[:2], X[2:4], steps=5).shape
    (2, 5, 1, 8, 8)
    """

    _what = "ACAI"

    def __init__(self, input_shape: Any = (1, 32, 32), latent_dim: int = 32, *, preset: str | None = None,
                 hidden: Any = None, width: int | None = None, E: Module | None = None, Dec: Module | None = None,
                 d: Module | None = None, lam: float = 0.5, gamma: float = 0.2, lr: float | None = None,
                 optimizers: Mapping[str, Optimizer] | None = None, seed: int = 0) -> None:
        what = self._what
        self.input_shape = input_shape_of(input_shape, what)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.num_classes = 0
        self.lam = check_real(f"{what}: lam", lam, nonnegative=True)
        self.gamma = check_range(f"{what}: gamma", gamma, 0.0, 1.0)
        opts = preset_options(what, preset, hidden, width, building=missing(E=E, Dec=Dec, d=d),
                              given_networks="E, Dec and d are all given")
        self.preset, self.hidden, self.width = opts.preset, opts.hidden, opts.width
        seed = check_int(f"{what}: seed", seed, 0)
        if E is None or Dec is None:
            pe, pd = build_pair(self.preset, self.input_shape, self.latent_dim, self.latent_dim, self.hidden,
                                self.width, seed, what=what)
        E = self._module(E, "E", lambda: pe)
        Dec = self._module(Dec, "Dec", lambda: pd)
        d = self._module(d, "d", lambda: preset_critic(self.preset, self.input_shape, self.hidden, self.width,
                                                       seed + 2))
        self.lr = self._rate("lr", lr, 1e-3, ("E", "Dec", "d"), optimizers)
        self._given = {**opts.given, "lr": as_given(lr, self.lr)}     # checkpoints keep the options as given
        self._init_model({"E": E, "Dec": Dec, "d": d}, self.lr, optimizers, ("E", "Dec", "d"), seed)

    @property
    def critic(self) -> Module:
        """The critic ``d``."""
        return self.modules["d"]

    # ---- the phases -----------------------------------------------------------------------------
    def _phases(self) -> list[Phase]:
        return [Phase("AE", self._ae), Phase("critic", self._critic)]

    def _ae(self, b: Any) -> Step:
        x = b.data.x
        n = x.shape[0]
        if n < 2:
            raise ValueError(f"{self._what}: mixes the codes of two rows of a batch; it needs batch_size >= 2")
        z = self.E(x)
        if z.shape != (n, self.latent_dim):
            raise ValueError(f"{self._what}: the encoder must output (n, latent_dim) = (n, {self.latent_dim}), "
                             f"got {z.shape}")
        alpha = 0.5 - ops.abs(ops.rand((n, 1)) - 0.5)
        rec, mix = self.Dec.on_batches(z, alpha * z + (1.0 - alpha) * ops.roll(z, 1))
        if rec.shape != x.shape:
            raise ValueError(f"{self._what}: the decoder outputs {rec.shape} for data of shape {x.shape}")
        recon = ops.mean(ops.square(rec - x))
        adv = ops.mean(ops.square(critic_score(self.critic(mix))))
        loss = recon + adv * self.lam
        blend = x * self.gamma + rec * (1.0 - self.gamma)
        return Step(minimize={"E": loss, "Dec": loss}, log={"recon": recon, "ae_critic": adv},
                    keep={"acai_mix": ops.stop_gradient(mix), "acai_alpha": ops.reshape(alpha, (n,)),
                          "acai_blend": ops.stop_gradient(blend)})

    def _critic(self, b: Any) -> Step:
        mix, alpha, blend = b.kept.acai_mix, b.kept.acai_alpha, b.kept.acai_blend
        on_mix, on_real = (critic_score(out) for out in self.critic.on_batches(mix, blend))
        on_mix = ops.mean(ops.square(on_mix - alpha))
        on_real = ops.mean(ops.square(on_real))
        return Step(minimize={"d": on_mix + on_real}, log={"critic_mix": on_mix, "critic_real": on_real})

    # ---- reading ------------------------------------------------------------------------------------
    def _encode_rows(self, x: np.ndarray) -> np.ndarray:
        return self._infer("E", x)

    def _decode_rows(self, z: np.ndarray) -> np.ndarray:
        return self._infer("Dec", z)

    def critique(self, x: Any) -> np.ndarray:
        """The critic's estimate of α for images ``x``, ``(n,)`` (0 for data-like images,
        up to 0.5 for mixes it sees through).

        Examples
        --------
        >>> acai.critique(acai.interpolate(X[:4], X[4:8], steps=3)[:, 1])    # doctest: +SKIP
        """
        rows, _ = self._inputs(x, None, f"{self._what}.critique")
        out = self._batched(lambda r: self._infer("d", r), rows)
        return out.reshape(out.shape[0], -1).mean(axis=1)

    def _options(self) -> dict:
        return {"input_shape": list(self.input_shape), "latent_dim": self.latent_dim, **self._given,
                "lam": self.lam, "gamma": self.gamma, "seed": self.seed}
