"""gl.models.AAE: adversarial autoencoders (Makhzani et al. 2016) with the lectures' priors.

Every step runs three phases in C over one batch: **recon** (encoder and decoder
minimise the reconstruction error), **disc** (a discriminator on codes tells prior
samples from encoder codes) and **gen** (the encoder fools it). Variants:

* ``prior="gaussian"``: N(0, I) in any dimension;
* ``prior="mixture"``: a mixture of ``components`` 2-D Gaussians on a circle;
* ``prior="label_mixture"``: the same mixture, and a labelled example's code is
  pushed to its class's component: the code discriminator sees ``(z, one-hot y)``,
  prior samples drawn from the component of the same label (label −1 = unlabelled:
  an extra "no label" slot, prior from the whole mixture);
* ``clusters=K``: unsupervised clustering, the encoder outputs K cluster logits
  (softmax) and a Gaussian style code, each with its own discriminator (a
  categorical prior for the first, N(0, I) for the second); the decoder takes both;
* ``supervised=True``: the label goes to the decoder, so the code learns style
  (``decode(z, y)`` draws a style x digit grid).

Examples
--------
>>> X, y = gl.datasets.mnist(split="train", scale=(0, 1))                   # doctest: +SKIP
>>> aae = gl.models.AAE((1, 28, 28), latent_dim=2, prior="mixture", seed=0)  # doctest: +SKIP
>>> hist = aae.fit(X, steps=10_000)                                            # doctest: +SKIP
>>> gl.plot.latent_scatter(aae.encode(Xt), yt)                                 # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import ops
from .._checks import check_bool, check_choice, check_int, check_real
from ..losses import get_objective
from ..nn.layers import Sequential, mlp
from ..nn.norm import BatchNorm
from ..nn.module import Module
from ..optim import Adam, Optimizer
from ..trainer import Phase, Step, register_trainer
from ._base import LatentModel, as_given, refuse_unused, sigmoid, softmax
from .autoencoder import RECONSTRUCTIONS, build_pair, input_shape_of, missing, preset_options, reconstruction_error

PRIORS = ("gaussian", "mixture", "label_mixture")


def mixture_layout(components: int, radius: float, radial_std: float, tangential_std: float) -> tuple:
    """Means on a circle and each component's two scaled axes (radial, tangential), float32."""
    theta = 2 * np.pi * np.arange(components) / components
    radial = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    tangential = np.stack([-np.sin(theta), np.cos(theta)], axis=1)
    return ((radius * radial).astype(np.float32), (radial_std * radial).astype(np.float32),
            (tangential_std * tangential).astype(np.float32))


@register_trainer("ganlib.AAE")
class AAE(LatentModel):
    """An adversarial autoencoder: a discriminator on codes makes them follow a prior.

    Parameters
    ----------
    input_shape : tuple
        Shape of one data row, e.g. ``(1, 28, 28)``.
    latent_dim : int
        Width of the code (of the style code with ``clusters``).
    prior : {"gaussian", "mixture", "label_mixture"}
        The codes' prior (the mixtures are 2-D: ``latent_dim=2``).
    components : int, optional
        Mixture components (default ``num_classes``).
    radius, radial_std, tangential_std : float, optional
        The mixture's layout: component means on a circle of this radius, each
        component an elongated Gaussian along its radius (defaults 4, 0.5, 0.15).
        ``components`` and these are refused with ``prior="gaussian"`` (and so with
        ``clusters``), which has no mixture.
    clusters : int, optional
        Unsupervised clustering with this many clusters (``prior`` must be "gaussian":
        the style code's prior).
    supervised : bool
        The label goes to the decoder (``fit(x, y)``; ``decode(z, y)``).
    num_classes : int, optional
        Classes of the labels (label_mixture, supervised; default 10), and the default
        ``components`` of the mixture prior; refused where nothing reads it.
    preset, hidden, width, E, Dec : as :class:`Autoencoder`
        ``hidden`` defaults to [512, 512].
        ``E`` outputs ``latent_dim`` (``clusters + latent_dim`` with clusters: the
        logits first); ``Dec`` takes the code (``Dec(z, y)`` when supervised,
        ``Dec(softmax, z)`` with clusters). With ``clusters``, the preset encoder
        ends in batch normalisation of its outputs (without it the cluster head
        collapses into a single cluster early in training); reads (``encode``,
        ``cluster``) use its running statistics.
    Dz, Dy : Module, optional
        Discriminators on codes (``(n, latent_dim [+ num_classes + 1])``) and on cluster
        probabilities (``(n, clusters)``), one logit per row; default MLPs
        ``disc_hidden`` wide.
    disc_hidden : list of int, optional
        Hidden widths of the default discriminators (default [512, 512]); refused when
        every discriminator is given.
    reconstruction : {"mse", "bernoulli"}
    lr, disc_lr : float, optional
        Adam learning rates of the autoencoder (E, Dec) and of the discriminators
        (default 1e-3 each); each refused when ``optimizers`` gives every optimizer it
        would set.
    adversarial_lr : float, optional
        Learning rate of the encoder's own Adam in the gen phase (default ``lr``;
        refused when ``optimizers`` gives ``"E@gen"``).
        As in the paper, the regularisation phase updates the encoder with an
        optimizer of its own (key ``"E@gen"``): with one Adam for both phases the
        reconstruction's gradients (a Bernoulli loss summed over pixels is ~100
        nats) set its step sizes, and the prior's pull barely registers.
    optimizers : dict, optional
        Replace any default optimizer by module name (``"E@gen"``: the encoder's
        in the gen phase).
    seed : int
    """

    _what = "AAE"

    def __init__(self, input_shape: Any = (1, 28, 28), latent_dim: int = 2, *, prior: str = "gaussian",
                 components: int | None = None, radius: float | None = None, radial_std: float | None = None,
                 tangential_std: float | None = None, clusters: int | None = None, supervised: bool = False,
                 num_classes: int | None = None, preset: str | None = None, hidden: Any = None,
                 width: int | None = None, disc_hidden: Any = None, E: Module | None = None,
                 Dec: Module | None = None, Dz: Module | None = None, Dy: Module | None = None,
                 reconstruction: str = "mse", lr: float | None = None, disc_lr: float | None = None,
                 adversarial_lr: float | None = None, optimizers: Mapping[str, Optimizer] | None = None,
                 seed: int = 0) -> None:
        what = self._what
        self.input_shape = input_shape_of(input_shape, what)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.prior = check_choice(f"{what}: prior", prior, PRIORS)
        self.num_classes = check_int(f"{what}: num_classes", 10 if num_classes is None else num_classes, 1)
        self.components = self.num_classes if components is None else check_int(f"{what}: components",
                                                                                 components, 1)
        self.radius = check_real(f"{what}: radius", 4.0 if radius is None else radius, nonnegative=True)
        self.radial_std = check_real(f"{what}: radial_std", 0.5 if radial_std is None else radial_std,
                                     positive=True)
        self.tangential_std = check_real(f"{what}: tangential_std", 0.15 if tangential_std is None
                                         else tangential_std, positive=True)
        self.clusters = None if clusters is None else check_int(f"{what}: clusters", clusters, 2)
        self.supervised = check_bool(f"{what}: supervised", supervised)
        self.reconstruction = check_choice(f"{what}: reconstruction", reconstruction, RECONSTRUCTIONS)
        self._unit_interval = self.reconstruction == "bernoulli"
        if self.prior != "gaussian" and self.latent_dim != 2:
            raise ValueError(f"{what}: the {self.prior} prior is 2-D; pass latent_dim=2")
        if self.clusters is not None and (self.prior != "gaussian" or self.supervised):
            raise ValueError(f"{what}: clusters= (unsupervised clustering) takes the Gaussian style prior and no "
                             "labels; drop prior= / supervised=")
        if self.prior == "label_mixture" and self.components != self.num_classes:
            raise ValueError(f"{what}: the label_mixture prior has one component per class: components "
                             f"({self.components}) must equal num_classes ({self.num_classes})")
        if self.supervised and self.prior == "label_mixture":
            raise ValueError(f"{what}: supervised=True puts the label in the decoder; the label_mixture prior "
                             "puts it in the prior; choose one")
        self._needs_labels = self.supervised or self.prior == "label_mixture"
        if self.prior == "gaussian":
            refuse_unused(what, "they lay out the mixture priors (prior='mixture' or 'label_mixture'); "
                          "prior='gaussian'" + (" (the style prior of clusters=)" if self.clusters else ""),
                          components=components, radius=radius, radial_std=radial_std, tangential_std=tangential_std)
        if not (self._needs_labels or (self.prior == "mixture" and components is None)):
            refuse_unused(what, "it counts the classes of labels (prior='label_mixture', supervised=True) or sets "
                          "the default components of prior='mixture'; this AAE reads no labels"
                          + (" and has no mixture" if self.prior == "gaussian" else " and components is given"),
                          num_classes=num_classes)
        opts = preset_options(what, preset, hidden, width, building=missing(E=E, Dec=Dec),
                              given_networks="E and Dec are both given", default_hidden=(512, 512))
        self.preset, self.hidden, self.width = opts.preset, opts.hidden, opts.width
        discs = {"Dz": Dz, **({"Dy": Dy} if self.clusters else {})}
        if not missing(**discs):
            refuse_unused(what, f"it shapes the default discriminators, and {' and '.join(discs)} "
                          + ("are both" if len(discs) > 1 else "is") + " given", disc_hidden=disc_hidden)
        self.disc_hidden = list(np.atleast_1d((512, 512) if disc_hidden is None else disc_hidden).tolist())
        seed = check_int(f"{what}: seed", seed, 0)
        k = self.clusters or 0
        dec_extra = self.num_classes if self.supervised else 0
        if E is None or Dec is None:
            pe, pd = build_pair(self.preset, self.input_shape, k + self.latent_dim, self.latent_dim, self.hidden,
                                self.width, seed, dec_extra=dec_extra + k, what=what)
        if self.clusters and E is None:
            # batch norm on the encoder's outputs keeps any one cluster's logit from leading for every input:
            # without it the cluster head collapses into one cluster within the first ~50 steps (MNIST, K = 16)
            pe = Sequential(pe, BatchNorm(k + self.latent_dim))
        E = self._module(E, "E", lambda: pe)
        Dec = self._module(Dec, "Dec", lambda: pd)
        dz_in = self.latent_dim + (self.num_classes + 1 if self.prior == "label_mixture" else 0)
        modules = {"E": E, "Dec": Dec,
                   "Dz": self._module(Dz, "Dz", lambda: mlp(dz_in, self.disc_hidden, 1, seed=seed + 2))}
        if self.clusters:
            modules["Dy"] = self._module(Dy, "Dy", lambda: mlp(k, self.disc_hidden, 1, seed=seed + 3))
        elif Dy is not None:
            raise ValueError(f"{what}: Dy (the cluster discriminator) is used with clusters= only")
        given_opts = dict(optimizers or {})
        # lr also sets the encoder's gen-phase Adam unless adversarial_lr or optimizers= does
        lr_serves = ("E", "Dec") + (("E@gen",) if adversarial_lr is None else ())
        self.lr = self._rate("lr", lr, 1e-3, lr_serves, given_opts)
        self.disc_lr = self._rate("disc_lr", disc_lr, 1e-3, [n for n in modules if n not in ("E", "Dec")],
                                  given_opts)
        self.adversarial_lr = self._rate("adversarial_lr", adversarial_lr, self.lr, ("E@gen",), given_opts)
        # checkpoints keep the options as given
        self._given = {**opts.given, "components": as_given(components, self.components),
                       "radius": as_given(radius, self.radius), "radial_std": as_given(radial_std, self.radial_std),
                       "tangential_std": as_given(tangential_std, self.tangential_std),
                       "num_classes": as_given(num_classes, self.num_classes),
                       "disc_hidden": as_given(disc_hidden, self.disc_hidden), "lr": as_given(lr, self.lr),
                       "disc_lr": as_given(disc_lr, self.disc_lr),
                       "adversarial_lr": as_given(adversarial_lr, self.adversarial_lr)}
        self._gan = get_objective("nonsaturating")
        if self.prior != "gaussian":
            self._means, self._ax1, self._ax2 = mixture_layout(self.components, self.radius, self.radial_std,
                                                               self.tangential_std)
        for name in modules:
            if name not in ("E", "Dec"):
                given_opts.setdefault(name, Adam(self.disc_lr))
        given_opts.setdefault("E@gen", Adam(self.adversarial_lr))
        self._init_model(modules, self.lr, given_opts, tuple(modules), seed)

    def _decoder_takes_labels(self) -> bool:
        return self.supervised

    def _prior_takes_labels(self) -> bool:
        return self.prior == "label_mixture"

    def _stream_labels(self, y: Any, n: int, what: str) -> tuple[np.ndarray, int] | None:
        if not self._needs_labels:
            if y is not None:
                raise ValueError(f"{what}: this AAE takes no labels (labels are used by prior='label_mixture' "
                                 "and supervised=True)")
            return None
        if self.prior == "label_mixture":
            labels = self._labels(y, n, what, allow_unlabelled=True)
            return np.where(labels < 0, self.num_classes, labels), self.num_classes + 1
        return self._labels(y, n, what), self.num_classes

    # ---- the phases -----------------------------------------------------------------------------
    def _phases(self) -> list[Phase]:
        return [Phase("recon", self._recon), Phase("disc", self._disc), Phase("gen", self._gen)]

    def _split(self, h: ops.Tensor) -> tuple[ops.Tensor | None, ops.Tensor]:
        """Encoder output -> (cluster probabilities or None, code)."""
        want = (self.clusters or 0) + self.latent_dim
        if h.shape[1:] != (want,):
            raise ValueError(f"AAE: the encoder must output (n, {want}), got {h.shape}")
        if not self.clusters:
            return None, h
        logits = ops.slice(h, 0, self.clusters)
        probs = ops.exp(logits - ops.logsumexp(logits, axis=1, keepdims=True))
        return probs, ops.slice(h, self.clusters, want)

    def _decode_sym(self, probs: ops.Tensor | None, z: ops.Tensor, y: ops.Tensor | None) -> ops.Tensor:
        if probs is not None:
            return self.Dec(probs, z)
        return self.Dec(z, y) if y is not None else self.Dec(z)

    def _recon(self, b: Any) -> Step:
        x = b.data.x
        probs, z = self._split(self.E(x))
        y = b.data.y if self.supervised else None
        loss = reconstruction_error(self._decode_sym(probs, z, y), x, self.reconstruction)
        return Step(minimize={"E": loss, "Dec": loss}, log={"recon": loss})

    def _prior_codes(self, n: int, labels: ops.Tensor | None) -> ops.Tensor:
        """Prior samples in the program; with label_mixture, of the components of ``labels``."""
        if self.prior == "gaussian":
            return ops.randn((n, self.latent_dim))
        k = self.components
        comp = ops.rand_onehot(n, k)
        if labels is not None:   # labelled rows take their own component, unlabelled ones a random one
            comp = ops.slice(labels, 0, k) + ops.slice(labels, k, k + 1) * comp
        e1, e2 = ops.randn((n, 1)), ops.randn((n, 1))
        return (comp @ ops.constant(self._means) + (comp @ ops.constant(self._ax1)) * e1
                + (comp @ ops.constant(self._ax2)) * e2)

    def _dz_input(self, z: ops.Tensor, b: Any) -> ops.Tensor:
        return ops.concat([z, b.data.y], axis=1) if self.prior == "label_mixture" else z

    def _disc(self, b: Any) -> Step:
        x = b.data.x
        probs, z = self._split(self.E(x))
        n = x.shape[0]
        labels = b.data.y if self.prior == "label_mixture" else None
        real = self._dz_input(self._prior_codes(n, labels), b)
        fake = self._dz_input(ops.stop_gradient(z), b)
        dz = self._gan.d_loss(*self.modules["Dz"].on_batches(real, fake))
        minimize, log = {"Dz": dz}, {"dz_loss": dz}
        if self.clusters:
            dy = self._gan.d_loss(*self.modules["Dy"].on_batches(ops.rand_onehot(n, self.clusters),
                                                                  ops.stop_gradient(probs)))
            minimize["Dy"], log["dy_loss"] = dy, dy
        return Step(minimize=minimize, log=log)

    def _gen(self, b: Any) -> Step:
        probs, z = self._split(self.E(b.data.x))
        g = self._gan.g_loss(self.modules["Dz"](self._dz_input(z, b)))
        log = {"gz_loss": g}
        if self.clusters:
            gy = self._gan.g_loss(self.modules["Dy"](probs))
            log["gy_loss"] = gy
            g = g + gy
        return Step(minimize={"E": g}, log=log)

    # ---- reading ------------------------------------------------------------------------------------
    def _encode_rows(self, x: np.ndarray) -> np.ndarray:
        h = self._infer("E", x)
        return np.ascontiguousarray(h[:, self.clusters or 0:])

    def _cluster_split(self, x: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
        """A clustering AAE's read of ``x``: (cluster probabilities ``(n, clusters)``, style codes)."""
        rows, _ = self._inputs(x, None, what)
        h = self._batched(lambda r: self._infer("E", r), rows)
        probs = softmax(h[:, :self.clusters].astype(np.float64)).astype(np.float32)
        return probs, np.ascontiguousarray(h[:, self.clusters:])

    def cluster_probabilities(self, x: Any) -> np.ndarray:
        """``(n, clusters)``: the encoder's softmax over clusters (clustering AAE)."""
        if not self.clusters:
            raise ValueError("AAE.cluster_probabilities: this AAE does not cluster (pass clusters=K)")
        return self._cluster_split(x, "AAE.cluster_probabilities")[0]

    def cluster(self, x: Any) -> np.ndarray:
        """The most probable cluster of each row of ``x`` (int64, in ``[0, clusters)``)."""
        return np.argmax(self.cluster_probabilities(x), axis=1).astype(np.int64)

    def _decode_rows(self, z: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        out = self._infer("Dec", z) if y is None else self._infer("Dec", z, y)
        return sigmoid(out) if self.reconstruction == "bernoulli" else out

    def decode(self, z: Any, y: Any = None, clusters: Any = None) -> np.ndarray:
        """Images for codes ``z``; labels ``y`` when supervised; with clusters=K, the
        cluster of each row (``clusters``, ints) — its one-hot goes with the style code."""
        if not self.clusters:
            if clusters is not None:
                raise ValueError("AAE.decode: clusters= is for a clustering AAE")
            return super().decode(z, y)
        what = "AAE.decode"
        if y is not None:
            raise ValueError(f"{what}: a clustering AAE's decoder reads (cluster, style), no labels; drop y= "
                             "(pass the clusters as clusters=)")
        codes = self._codes(z, what)
        c = np.asarray(clusters) if clusters is not None else None
        if c is None or c.ndim != 1 or c.dtype.kind not in "iu" or c.shape[0] != codes.shape[0]:
            raise ValueError(f"{what}: a clustering AAE decodes (cluster, style) pairs: pass clusters= as "
                             f"{codes.shape[0]} ints")
        if c.min() < 0 or c.max() >= self.clusters:
            raise ValueError(f"{what}: clusters must lie in [0, {self.clusters}), got [{c.min()}, {c.max()}]")
        onehot = self._one_hot(c.astype(np.int64), self.clusters)
        return self._batched(lambda p, zz: self._decode_rows_pair(p, zz), onehot, codes)

    def _decode_rows_pair(self, probs: np.ndarray, z: np.ndarray) -> np.ndarray:
        out = self._infer("Dec", probs, z)
        return sigmoid(out) if self.reconstruction == "bernoulli" else out

    def reconstruct(self, x: Any, y: Any = None) -> np.ndarray:
        if not self.clusters:
            return super().reconstruct(x, y)
        if y is not None:
            raise ValueError("AAE.reconstruct: a clustering AAE reads no labels (its decoder takes the cluster "
                             "probabilities and the style code); drop y=")
        probs, z = self._cluster_split(x, "AAE.reconstruct")
        return self._batched(self._decode_rows_pair, probs, z)

    def _prior(self, n: int, rng: np.random.Generator, labels: np.ndarray | None) -> np.ndarray:
        if self.prior == "gaussian":
            return rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        comp = labels if (labels is not None and self.prior == "label_mixture") else rng.integers(
            self.components, size=n)
        e = rng.standard_normal((n, 2)).astype(np.float32)
        return self._means[comp] + self._ax1[comp] * e[:, :1] + self._ax2[comp] * e[:, 1:]

    def sample(self, n: int, labels: Any = None, seed: int | None = None) -> np.ndarray:
        """``n`` images from the prior: with ``prior="label_mixture"``, ``labels`` pick the
        components; supervised, they go to the decoder; clustering, a uniform cluster each."""
        if self.clusters:
            what = "AAE.sample"
            n = check_int(f"{what}: n", n, 1)
            if labels is not None:
                raise ValueError(f"{what}: a clustering AAE samples without labels")
            rng = self._sample_rng if seed is None else np.random.default_rng(check_int(f"{what}: seed", seed, 0))
            c = rng.integers(self.clusters, size=n)
            return self.decode(rng.standard_normal((n, self.latent_dim)).astype(np.float32), clusters=c)
        if labels is None and self.supervised:
            raise ValueError("AAE.sample: a supervised AAE's decoder takes labels; pass labels=")
        return super().sample(n, labels, seed)

    def prior_samples(self, n: int, labels: Any = None, seed: int = 0) -> np.ndarray:
        """``n`` codes drawn from the prior (for scatter plots beside the encoded data)."""
        what = "AAE.prior_samples"
        n = check_int(f"{what}: n", n, 1)
        y = None if labels is None else self._labels(labels, n, what)
        return self._prior(n, np.random.default_rng(check_int(f"{what}: seed", seed, 0)), y)

    def _options(self) -> dict:
        return {"input_shape": list(self.input_shape), "latent_dim": self.latent_dim, "prior": self.prior,
                "clusters": self.clusters, "supervised": self.supervised, **self._given,
                "reconstruction": self.reconstruction, "seed": self.seed}

