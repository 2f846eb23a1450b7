"""gl.models.AlphaGAN: α-GAN, the auto-encoding GAN of Rosca et al. (2017).

Four networks: an encoder ``E`` (x -> z), a generator ``G`` (z -> x), a data
discriminator ``D`` (the "synthetic likelihood") and a code discriminator ``C`` that
tells prior codes from encoded ones, in place of the VAE's analytic KL
(TECHNIQUES.md §D). Each step runs two phases on the same batch ``x``:

* ``"disc"``: ``D`` and ``C`` minimise the GAN discriminator loss (binary cross-entropy
  on logits): ``D`` calls data real and both reconstructions ``G(E(x))`` and samples
  ``G(z)``, ``z ~ N(0, I)``, fake; ``C`` calls prior draws real and codes ``E(x)`` fake.
* ``"gen"``: as in the paper's Algorithm 1, the encoder and the generator minimise
  their own losses, both with the reconstruction term ``λ · mean|x − G(E(x))|``:

  - ``E``: ``λ · rec + a(C(E(x)))``
  - ``G``: ``λ · rec + a(D(G(E(x)))) + a(D(G(z)))``

  with ``a(l) = −l`` for ``adversarial="ratio"``, the paper's ``−log(D / (1 − D))``
  (the logit is the log density ratio the discriminator estimates), or
  ``a(l) = −log σ(l)`` for ``"nonsaturating"``, the usual generator loss.

The reconstruction term is the mean absolute error per pixel (a Laplace likelihood
whose scale sets λ), averaged over the batch.

Examples
--------
>>> X, _ = gl.datasets.mnist(split="train", scale=(-1, 1), limit=20_000)        # doctest: +SKIP
>>> ag = gl.models.AlphaGAN((1, 28, 28), latent_dim=32, preset="dcgan", seed=0)  # doctest: +SKIP
>>> hist = ag.fit(X, steps=5000, batch_size=64)                                  # doctest: +SKIP
>>> samples = ag.sample(64, seed=0)                                              # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import ops
from .._checks import check_choice, check_int, check_real
from ..nn import ae_presets
from ..nn.layers import Sequential, Tanh, mlp
from ..nn.module import Module
from ..nn.presets import dcgan_discriminator, dcgan_generator
from ..optim import Optimizer
from ..trainer import Phase, Step, register_trainer
from ._base import LatentModel, as_given, refuse_unused
from .autoencoder import input_shape_of, missing, preset_options

PRESETS = ("dcgan", "conv", "mlp")
ADVERSARIAL = ("ratio", "nonsaturating")


def preset_networks(preset: str, shape: tuple, latent: int, hidden: Any, width: int | None,
                    seed: int) -> tuple[Module, Module, Module]:
    """The preset (E, G, D): seeds ``seed``, ``seed + 1``, ``seed + 2``; every G ends in tanh."""
    if preset == "dcgan":
        return (ae_presets.conv_encoder(shape, latent, width, seed=seed),
                dcgan_generator(latent, shape, width, seed=seed + 1),
                dcgan_discriminator(shape, width, seed=seed + 2))
    if preset == "conv":
        return (ae_presets.conv_encoder(shape, latent, width, seed=seed),
                Sequential(ae_presets.conv_decoder(latent, shape, width, seed=seed + 1), Tanh()),
                ae_presets.conv_encoder(shape, 1, width, seed=seed + 2))
    return (ae_presets.mlp_encoder(shape, latent, hidden, seed=seed),
            Sequential(ae_presets.mlp_decoder(latent, shape, hidden, seed=seed + 1), Tanh()),
            ae_presets.mlp_encoder(shape, 1, hidden, act="leaky_relu", seed=seed + 2))


def ends_in_tanh(m: Module) -> bool:
    """Whether the last layer of ``m`` (through nested containers) is a Tanh."""
    while m._children:
        m = list(m._children.values())[-1]
    return isinstance(m, Tanh)


@register_trainer("ganlib.AlphaGAN")
class AlphaGAN(LatentModel):
    """α-GAN: an encoder, a generator, a data discriminator and a code discriminator.

    Parameters
    ----------
    input_shape : tuple
        Shape of one data row, e.g. ``(1, 28, 28)``.
    latent_dim : int
        Width of z; the prior is N(0, I).
    preset : {"dcgan", "conv", "mlp"}, optional
        Networks among E, G, D that are not given (default "dcgan"; refused, like
        ``hidden`` and ``width``, when all three are given): "dcgan": the AE preset conv encoder,
        ``gl.nn.dcgan_generator`` and ``gl.nn.dcgan_discriminator`` (28, 32 or 64 px);
        "conv": the conv AE presets (28 or 32 px) with a tanh output, and the conv
        encoder with one output as D; "mlp": the MLP presets likewise (any shape).
        Every preset generator ends in tanh, so the data must lie in [−1, 1] (checked
        for any generator whose last layer is a Tanh).
    hidden : list of int, optional
        Hidden widths of the MLP preset (default [512, 256]); refused with "dcgan" / "conv".
    width : int, optional
        Channels of the conv presets' first stage (w of DCGAN; default 32); refused with "mlp".
    code_hidden : list of int, optional
        Hidden widths of the code discriminator, an MLP on z (default [750, 750], as the
        paper); refused when ``C`` is given.
    E, G, D, C : Module, optional
        Your own networks: ``E`` images -> ``(n, latent_dim)``, ``G`` back, ``D``
        images -> one logit per image ``(n, 1)``, ``C`` codes -> ``(n, 1)``.
    lam : float
        λ, the weight of the reconstruction term (mean absolute error per pixel).
    adversarial : {"ratio", "nonsaturating"}
        The encoder's and generator's adversarial terms: ``−logit`` (the paper's
        ``−log D / (1 − D)``) or ``−log σ(logit)``.
    lr : float, optional
        Adam learning rate of every default optimizer (default 2e-4, betas (0.5, 0.999),
        as DCGAN); refused when ``optimizers`` gives all four.
    optimizers : dict, optional
        ``{"E": ..., "G": ..., "D": ..., "C": ...}`` replacing the default Adam.
    seed : int
        Seeds the presets (E, G, D: ``seed`` to ``seed + 2``, C: ``seed + 3``) and every
        random stream of training.

    Examples
    --------
    >>> X = np.random.default_rng(0).uniform(-1, 1, (256, 1, 8, 8)).astype(np.float32)
    >>> ag = gl.models.AlphaGAN((1, 8, 8), 4, preset="mlp", hidden=[32], code_hidden=[32], seed=0)
    >>> hist = ag.fit(X, steps=20, batch_size=32, progress=False)
    >>> sorted(k for k in hist if not k.endswith("grad_norm"))
    ['c_loss', 'd_loss', 'e_adversarial', 'g_adversarial', 'recon', 'step']
    >>> ag.sample(3, seed=0).shape, ag.encode(X[:3]).shape
    ((3, 1, 8, 8), (3, 4))
    """

    _what = "AlphaGAN"

    def __init__(self, input_shape: Any = (1, 28, 28), latent_dim: int = 32, *, preset: str | None = None,
                 hidden: Any = None, width: int | None = None, code_hidden: Any = None, E: Module | None = None,
                 G: Module | None = None, D: Module | None = None, C: Module | None = None, lam: float = 10.0,
                 adversarial: str = "ratio", lr: float | None = None,
                 optimizers: Mapping[str, Optimizer] | None = None, seed: int = 0) -> None:
        what = self._what
        self.input_shape = input_shape_of(input_shape, what)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.num_classes = 0
        opts = preset_options(what, preset, hidden, width, building=missing(E=E, G=G, D=D),
                              given_networks="E, G and D are all given", default_preset="dcgan", presets=PRESETS)
        self.preset, self.hidden, self.width = opts.preset, opts.hidden, opts.width
        if C is not None:
            refuse_unused(what, "it shapes the default code discriminator, and C is given", code_hidden=code_hidden)
        self.code_hidden = list(np.atleast_1d((750, 750) if code_hidden is None else code_hidden).tolist())
        self.lam = check_real(f"{what}: lam", lam, nonnegative=True)
        self.adversarial = check_choice(f"{what}: adversarial", adversarial, ADVERSARIAL)
        seed = check_int(f"{what}: seed", seed, 0)
        if E is None or G is None or D is None:
            pe, pg, pd = preset_networks(self.preset, self.input_shape, self.latent_dim, self.hidden, self.width,
                                         seed)
        modules = {"E": self._module(E, "E", lambda: pe), "G": self._module(G, "G", lambda: pg),
                   "D": self._module(D, "D", lambda: pd),
                   "C": self._module(C, "C", lambda: mlp(self.latent_dim, self.code_hidden, 1, act="leaky_relu",
                                                         seed=seed + 3))}
        self._tanh_output = ends_in_tanh(modules["G"])      # then the data must lie in its range
        self.lr = self._rate("lr", lr, 2e-4, tuple(modules), optimizers)
        # checkpoints keep the options as given
        self._given = {**opts.given, "code_hidden": as_given(code_hidden, self.code_hidden),
                       "lr": as_given(lr, self.lr)}
        self._init_model(modules, self.lr, optimizers, tuple(modules), seed, betas=(0.5, 0.999))

    @property
    def Dec(self) -> Module:
        """The generator ``G`` (the decoder of the autoencoder family)."""
        return self.modules["G"]

    @property
    def G(self) -> Module:
        return self.modules["G"]

    def _check_values(self, arr: np.ndarray, what: str) -> None:
        super()._check_values(arr, what)
        if self._tanh_output and (arr.min() < -1.0 or arr.max() > 1.0):
            raise ValueError(f"{what}: the generator ends in tanh, so the data must lie in [-1, 1]; got "
                             f"values in [{arr.min():g}, {arr.max():g}] (load MNIST with "
                             "gl.datasets.mnist(scale=(-1, 1)))")

    # ---- the phases -----------------------------------------------------------------------------
    def _phases(self) -> list[Phase]:
        return [Phase("disc", self._disc), Phase("gen", self._gen)]

    def _code(self, x: ops.Tensor) -> ops.Tensor:
        z = self.modules["E"](x)
        if z.shape != (x.shape[0], self.latent_dim):
            raise ValueError(f"{self._what}: the encoder must output (n, latent_dim) = (n, {self.latent_dim}), "
                             f"got {z.shape}")
        return z

    def _image(self, z: ops.Tensor, like: ops.Tensor) -> ops.Tensor:
        out = self.G(z)
        if out.shape != like.shape:
            raise ValueError(f"{self._what}: the generator outputs {out.shape} for data of shape {like.shape}")
        return out

    def _disc(self, b: Any) -> Step:
        x = b.data.x
        n = x.shape[0]
        D, C = self.modules["D"], self.modules["C"]
        z_hat = ops.stop_gradient(self._code(x))
        z = ops.randn((n, self.latent_dim))
        x_rec = ops.stop_gradient(self._image(z_hat, x))
        x_gen = ops.stop_gradient(self._image(z, x))
        # −log σ(l) = softplus(−l): real; −log(1 − σ(l)) = softplus(l): fake
        d_loss = (ops.mean(ops.softplus(-D(x))) + ops.mean(ops.softplus(D(x_rec)))
                  + ops.mean(ops.softplus(D(x_gen))))
        c_loss = ops.mean(ops.softplus(-C(z))) + ops.mean(ops.softplus(C(z_hat)))
        return Step(minimize={"D": d_loss, "C": c_loss}, log={"d_loss": d_loss, "c_loss": c_loss})

    def _adv(self, logits: ops.Tensor) -> ops.Tensor:
        if self.adversarial == "ratio":
            return -ops.mean(logits)
        return ops.mean(ops.softplus(-logits))

    def _gen(self, b: Any) -> Step:
        x = b.data.x
        n = x.shape[0]
        D, C = self.modules["D"], self.modules["C"]
        z_hat = self._code(x)
        x_rec = self._image(z_hat, x)
        x_gen = self._image(ops.randn((n, self.latent_dim)), x)
        rec = ops.mean(ops.abs(x - x_rec))
        e_adv = self._adv(C(z_hat))
        g_adv = self._adv(D(x_rec)) + self._adv(D(x_gen))
        e_loss = rec * self.lam + e_adv
        g_loss = rec * self.lam + g_adv
        return Step(minimize={"E": e_loss, "G": g_loss},
                    log={"recon": rec, "e_adversarial": e_adv, "g_adversarial": g_adv})

    # ---- reading ------------------------------------------------------------------------------------
    def _encode_rows(self, x: np.ndarray) -> np.ndarray:
        return self._infer("E", x)

    def _decode_rows(self, z: np.ndarray) -> np.ndarray:
        return self._infer("G", z)

    def discriminate(self, x: Any) -> np.ndarray:
        """The data discriminator's logits ``(n,)`` for images ``x`` (positive: judged real)."""
        rows, _ = self._inputs(x, None, f"{self._what}.discriminate")
        return self._batched(lambda r: self._infer("D", r), rows).reshape(rows.shape[0])

    def _options(self) -> dict:
        return {"input_shape": list(self.input_shape), "latent_dim": self.latent_dim, **self._given,
                "lam": self.lam, "adversarial": self.adversarial, "seed": self.seed}
