"""gl.models.Autoencoder: a deterministic autoencoder (plain, dropout on the code, denoising, linear = PCA).

Examples
--------
>>> X, _ = gl.datasets.mnist(split="train", scale=(0, 1), limit=2000)   # doctest: +SKIP
>>> ae = gl.models.Autoencoder((1, 28, 28), latent_dim=32, seed=0)       # doctest: +SKIP
>>> hist = ae.fit(X, steps=500, progress=False)                           # doctest: +SKIP
>>> ae.reconstruct(X[:8]).shape                                           # doctest: +SKIP
(8, 1, 28, 28)
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple

import numpy as np

from .. import ops
from .._checks import check_choice, check_int, check_range, check_real
from ..nn import ae_presets
from ..nn.module import Module
from ..optim import Optimizer
from ..trainer import Phase, Step, register_trainer
from ._base import LatentModel, as_given, refuse_unused, sigmoid

RECONSTRUCTIONS = ("mse", "bernoulli")
PRESETS = ("mlp", "conv")


def flat_sum(t: ops.Tensor) -> ops.Tensor:
    """Per-row sum over every axis but the first: ``(n, ...) -> (n,)``."""
    return ops.sum(ops.reshape(t, (t.shape[0], -1)), axis=1)


def reconstruction_error(out: ops.Tensor, x: ops.Tensor, kind: str) -> ops.Tensor:
    """The training loss of a reconstruction, a scalar.

    "mse": mean squared error over every pixel; "bernoulli": the negative Bernoulli
    log-likelihood of ``x`` in [0, 1] under logits ``out``, summed over pixels and
    averaged over rows (nats per example).
    """
    if kind == "mse":
        return ops.mean(ops.square(out - x))
    return ops.mean(bernoulli_nll(out, x))


def bernoulli_nll(logits: ops.Tensor, x: ops.Tensor) -> ops.Tensor:
    """−log Bernoulli(x | sigmoid(logits)) per row, written stably: Σ softplus(l) − x·l."""
    return flat_sum(ops.softplus(logits) - x * logits)


class PresetOptions(NamedTuple):
    """The preset options of a model, resolved: the preset, and its ``hidden`` (mlp) or
    ``width`` (the others; the option the preset does not read is None).

    They are resolved even when every network is given, so a model rebuilt by ``gl.load``
    (which gives every network back) reads the same. ``given`` holds them as the caller
    passed them (None: not given), for checkpoints.
    """

    preset: str
    hidden: list[int] | None
    width: int | None
    given: dict[str, Any]


def preset_options(what: str, preset: str | None, hidden: Any, width: int | None, *, building: Iterable[str],
                   given_networks: str, default_preset: str = "mlp", default_hidden: Any = (512, 256),
                   default_width: int = 32, presets: tuple[str, ...] = PRESETS) -> PresetOptions:
    """Check ``preset``, ``hidden`` and ``width`` against the preset networks a model builds.

    ``hidden`` is read by the "mlp" preset only, ``width`` by every other preset; all three
    are refused when no preset network is built.

    Parameters
    ----------
    what : str
        The model, as error messages name it.
    preset, hidden, width
        As the caller received them (None: not given, the default applies).
    building : iterable of str
        The networks the preset builds (those the user did not give); empty: none.
    given_networks : str
        What the message says when no network is built, e.g. ``"E and Dec are both given"``.
    default_preset, default_hidden, default_width
        The model's defaults.
    presets : tuple of str
        The preset names the model knows.

    Returns
    -------
    PresetOptions

    Raises
    ------
    ValueError
        An option given that no network built would read (see :func:`refuse_unused`).
    """
    if width is not None:
        width = check_int(f"{what}: width", width, 1)
    given = {"preset": preset, "hidden": None if hidden is None else list(np.atleast_1d(hidden).tolist()),
             "width": width}
    building = tuple(building)
    if not building:
        refuse_unused(what, f"preset, hidden and width describe the preset networks, and {given_networks}",
                      preset=preset, hidden=hidden, width=width)
    name = check_choice(f"{what}: preset", default_preset if preset is None else preset, presets)
    if name == "mlp":
        refuse_unused(what, "width is for the conv presets; preset='mlp' builds MLPs (hidden=)", width=width)
        return PresetOptions(name, list(np.atleast_1d(default_hidden if hidden is None else hidden).tolist()),
                             None, given)
    refuse_unused(what, f"hidden is for the mlp preset; preset={name!r} builds conv networks (width=)",
                  hidden=hidden)
    return PresetOptions(name, None, check_int(f"{what}: width", default_width if width is None else width, 1),
                         given)


def missing(**networks: Module | None) -> tuple[str, ...]:
    """The names of the networks not given (those a preset builds)."""
    return tuple(name for name, m in networks.items() if m is None)


def build_pair(preset: str, input_shape: tuple, enc_out: int, dec_in: int, hidden: Any, width: int | None,
               seed: int, enc_extra: int = 0, dec_extra: int = 0, what: str = "model") -> tuple[Module, Module]:
    """The preset encoder and decoder (seeds ``seed`` and ``seed + 1``)."""
    preset = check_choice(f"{what}: preset", preset, PRESETS)
    if preset == "mlp":
        return (ae_presets.mlp_encoder(input_shape, enc_out, hidden, extra=enc_extra, seed=seed),
                ae_presets.mlp_decoder(dec_in, input_shape, hidden, extra=dec_extra, seed=seed + 1))
    if enc_extra:
        raise ValueError(f"{what}: the conv preset's encoder takes no labels; use preset='mlp' or pass your own "
                         "E taking (x, y)")
    return (ae_presets.conv_encoder(input_shape, enc_out, width, seed=seed),
            ae_presets.conv_decoder(dec_in, input_shape, width, extra=dec_extra, seed=seed + 1))


def input_shape_of(shape: Any, what: str) -> tuple[int, ...]:
    return ae_presets._shape(shape, what)


@register_trainer("ganlib.Autoencoder")
class Autoencoder(LatentModel):
    """An autoencoder ``x -> E -> z -> Dec -> x̂`` trained in C.

    Parameters
    ----------
    input_shape : tuple
        Shape of one data row, e.g. ``(1, 28, 28)``.
    latent_dim : int
        Width of the code.
    preset : {"mlp", "conv"}, optional
        Encoder / decoder pair when ``E`` and ``Dec`` are not given (default "mlp"; see
        ``gl.nn.mlp_encoder`` and ``gl.nn.conv_encoder``; conv: 28 x 28 or 32 x 32).
        Refused, like ``hidden`` and ``width``, when both networks are given.
    hidden : list of int, optional
        Hidden widths of the MLP preset (default [512, 256]; the decoder mirrors the
        encoder's order). Refused with the conv preset.
    width : int, optional
        Channels of the first conv stage of the conv preset (default 32). Refused with
        the mlp preset.
    E, Dec : Module, optional
        Your own encoder ``(n, *input_shape) -> (n, latent_dim)`` and decoder back.
    reconstruction : {"mse", "bernoulli"}
        Squared error (mean over pixels), or the Bernoulli negative log-likelihood
        of data in [0, 1] (the decoder outputs logits; ``decode`` returns probabilities).
    code_dropout : float
        Dropout probability on the code while training (the dropout autoencoder).
    noise : float
        Std of Gaussian noise added to the input while training, the target staying
        clean (the denoising autoencoder).
    lr : float, optional
        Adam learning rate of the default optimizers (default 1e-3); refused when
        ``optimizers`` gives both.
    optimizers : dict, optional
        ``{"E": ..., "Dec": ...}`` replacing the default Adam.
    seed : int
        Seeds the presets' initialisation and every random stream of training.

    Examples
    --------
    A linear autoencoder with squared error learns the principal subspace (PCA):

    >>> X = np.random.default_rng(0).standard_normal((500, 8)).astype(np.float32)
    >>> pca = gl.models.Autoencoder((8,), 2, E=gl.nn.Linear(8, 2, seed=0), Dec=gl.nn.Linear(2, 8, seed=1))
    >>> hist = pca.fit(X, steps=100, progress=False)
    >>> pca.encode(X).shape
    (500, 2)
    """

    _what = "Autoencoder"

    def __init__(self, input_shape: Any = (1, 28, 28), latent_dim: int = 32, *, preset: str | None = None,
                 hidden: Any = None, width: int | None = None, E: Module | None = None, Dec: Module | None = None,
                 reconstruction: str = "mse", code_dropout: float = 0.0, noise: float = 0.0,
                 lr: float | None = None, optimizers: Mapping[str, Optimizer] | None = None, seed: int = 0) -> None:
        what = self._what
        self.input_shape = input_shape_of(input_shape, what)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.num_classes = 0
        self.reconstruction = check_choice(f"{what}: reconstruction", reconstruction, RECONSTRUCTIONS)
        self._unit_interval = self.reconstruction == "bernoulli"
        self.code_dropout = check_range(f"{what}: code_dropout", code_dropout, 0.0, 1.0, high_open=True)
        self.noise = check_real(f"{what}: noise", noise, nonnegative=True)
        opts = preset_options(what, preset, hidden, width, building=missing(E=E, Dec=Dec),
                              given_networks="E and Dec are both given")
        self.preset, self.hidden, self.width = opts.preset, opts.hidden, opts.width
        seed = check_int(f"{what}: seed", seed, 0)
        if E is None or Dec is None:
            pe, pd = build_pair(self.preset, self.input_shape, self.latent_dim, self.latent_dim, self.hidden,
                                self.width, seed, what=what)
        E = self._module(E, "E", lambda: pe)
        Dec = self._module(Dec, "Dec", lambda: pd)
        self.lr = self._rate("lr", lr, 1e-3, ("E", "Dec"), optimizers)
        self._given = {**opts.given, "lr": as_given(lr, self.lr)}     # checkpoints keep the options as given
        self._init_model({"E": E, "Dec": Dec}, self.lr, optimizers, ("E", "Dec"), seed)

    def _phases(self) -> list[Phase]:
        return [Phase("AE", self._step)]

    def _step(self, b: Any) -> Step:
        x = b.data.x
        inp = x + ops.randn(x.shape, 0.0, self.noise) if self.noise else x
        z = self.E(inp)
        if self.code_dropout:
            z = ops.dropout(z, self.code_dropout, training=True)
        loss = reconstruction_error(self.Dec(z), x, self.reconstruction)
        return Step(minimize={"E": loss, "Dec": loss}, log={"recon": loss})

    def _encode_rows(self, x: np.ndarray) -> np.ndarray:
        return self._infer("E", x)

    def _decode_rows(self, z: np.ndarray) -> np.ndarray:
        out = self._infer("Dec", z)
        return sigmoid(out) if self.reconstruction == "bernoulli" else out

    def _options(self) -> dict:
        return {"input_shape": list(self.input_shape), "latent_dim": self.latent_dim, **self._given,
                "reconstruction": self.reconstruction, "code_dropout": self.code_dropout, "noise": self.noise,
                "seed": self.seed}
