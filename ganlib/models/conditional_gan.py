"""gl.models.ConditionalGAN / ACGAN: class-conditional GANs whose whole loop runs in C.

The label goes to both players. G always reads it (``G(z, y)``, one-hot or a learned
embedding joined to z). D either reads it too — joined to its input (Mirza & Osindero
2014) or projected onto its features (Miyato & Koyama 2018) — or, in the AC-GAN (Odena
et al. 2017), only sees the image and names its class with a K-way head, both players
adding that classification loss to their adversarial one. The adversarial losses come
from the objective catalogue of ``gl.losses``, as in :class:`ganlib.GAN`.

The fakes of a step are drawn with the labels of that step's real batch, so G is
trained on the class frequencies of the data.

Examples
--------
>>> X, y = toy_labelled_mixture()                                   # doctest: +SKIP
>>> cgan = gl.models.ConditionalGAN((2,), num_classes=4, latent_dim=8, hidden=[64, 64], seed=0)
>>> hist = cgan.fit(X, y, steps=2000, batch_size=128, progress=False)      # doctest: +SKIP
>>> S = cgan.sample(400, labels=3)                                   # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import latent as _latent, losses as _losses, ops, optim as _optim
from .._checks import check_bool, check_int, check_optimizer, check_real
from ..checkpoint import _make_optimizer, _rebuilt, _spec_or_none
from ..nn.layers import from_spec, mlp
from ..nn.module import Module
from ..nn.presets import dcgan_discriminator, dcgan_generator
from ..trainer import Data, Phase, Step, Trainer, register_trainer
from .labels import check_labels, labels_for_sample, one_hot

__all__ = ["ConditionalGAN", "ACGAN"]

PRESETS = ("mlp", "dcgan")
_PHASE_SEEDS = {"D": 1, "G": 2}


@register_trainer("ganlib.ConditionalGAN")
class ConditionalGAN(Trainer):
    """A class-conditional GAN: ``G(z, y)`` and a D that reads or predicts the label.

    Parameters
    ----------
    data_shape : tuple of int
        Shape of one sample: ``(d,)`` for rows (preset "mlp") or ``(C, H, W)`` with
        H = W in 28, 32, 64 (preset "dcgan").
    num_classes : int
        K, the number of classes; labels are integers in ``[0, K)``.
    latent_dim : int
        Width of z ~ N(0, I).
    preset : {"mlp", "dcgan"}, optional
        The networks built when G / D are not given (default: "mlp" for rows,
        "dcgan" for images).
    hidden : list of int, optional
        Hidden widths of the "mlp" preset (default [256, 256]).
    width : int, optional
        Channel width of the "dcgan" preset (default 64).
    embed_dim : int, optional
        The label enters the preset networks that read it as a learned embedding of
        this width instead of the one-hot row: G, and D unless it is a projection or
        AC-GAN discriminator (which read no label input).
    projection : bool
        Preset D is a projection discriminator (the label projected onto D's features)
        instead of reading the label with its input.
    acgan : bool
        AC-GAN: D reads only the image and has 1 + K outputs (source logit, K class
        logits); both players add ``aux_weight`` times the cross-entropy of D's class
        head (D on real and fake images, G on its fakes).
    aux_weight : float
        Weight of the auxiliary classification loss (``acgan=True`` only).
    loss : str, Objective or callable
        Adversarial objective from ``gl.losses`` (objectives that need a gradient
        penalty are not supported here).
    d_steps : int
        Discriminator steps per generator step, each on a fresh batch.
    g_opt, d_opt : ganlib.optim optimizer
        Default Adam(2e-4, betas=(0.5, 0.999)) for each.
    G, D : Module, optional
        Networks to use instead of the presets: ``G(z, y_onehot)`` giving rows of
        ``data_shape``; ``D(x, y_onehot) -> (N, 1)``, or ``D(x) -> (N, 1 + K)`` with
        ``acgan=True``. The preset options describe preset networks only, so they are
        refused when both networks are given.
    seed : int
        Seeds the preset initialisation and every random stream of training.

    Examples
    --------
    >>> cgan = gl.models.ConditionalGAN((2,), num_classes=3, latent_dim=4, hidden=[32], seed=0)
    >>> cgan.sample(6, labels=[0, 1, 2, 0, 1, 2]).shape
    (6, 2)
    >>> acgan = gl.models.ConditionalGAN((1, 28, 28), num_classes=10, width=16, acgan=True, seed=0)
    """

    def __init__(self, data_shape: Sequence[int], num_classes: int, latent_dim: int = 100, preset: str | None = None,
                 hidden: Sequence[int] | None = None, width: int | None = None, embed_dim: int | None = None,
                 projection: bool = False, acgan: bool = False, aux_weight: float = 1.0, loss: Any = "nonsaturating",
                 d_steps: int = 1, g_opt: Any = None, d_opt: Any = None, G: Module | None = None,
                 D: Module | None = None, seed: int = 0) -> None:
        what = type(self).__name__
        self.data_shape = _check_shape(what, data_shape)
        self.num_classes = check_int(f"{what}: num_classes", num_classes, 2)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.acgan = check_bool(f"{what}: acgan", acgan)
        projection = check_bool(f"{what}: projection", projection)
        self.aux_weight = check_real(f"{what}: aux_weight", aux_weight, positive=True)
        if aux_weight != 1.0 and not self.acgan:
            raise ValueError(f"{what}: aux_weight weighs AC-GAN's classification loss; pass acgan=True")
        if self.acgan and projection:
            raise ValueError(f"{what}: acgan=True and projection=True are two different discriminators; choose one")
        self.d_steps = check_int(f"{what}: d_steps", d_steps, 1)
        seed = check_int(f"{what}: seed", seed, 0)
        self.loss_spec = loss
        self.objective = _losses.get_objective(loss)
        if self.objective.default_penalty:
            raise ValueError(f"{what}: loss {self.objective.name!r} needs a gradient penalty, which ConditionalGAN "
                             "does not support; use e.g. 'nonsaturating', 'hinge' or 'least_squares'")
        for name, G_or_D in (("G", G), ("D", D)):
            if G_or_D is not None and not isinstance(G_or_D, Module):
                raise TypeError(f"{what}: {name} must be a ganlib Module, got {type(G_or_D).__name__}")
        arch = {"preset": preset, "hidden": hidden, "width": width, "embed_dim": embed_dim,
                "projection": projection or None}
        if G is not None and D is not None and any(v is not None for v in arch.values()):
            given = sorted(k for k, v in arch.items() if v is not None)
            raise ValueError(f"{what}: {given} describe the preset networks, but G and D are both given")
        if D is not None and projection:
            raise ValueError(f"{what}: projection=True builds the preset D, but D is given")
        if embed_dim is not None and G is not None and (D is not None or self.acgan or projection):
            raise ValueError(f"{what}: embed_dim shapes how the preset networks read the label, but no preset "
                             "network built here reads one (G is given, and D is given or reads no label)")
        self.latent = _latent.normal(self.latent_dim)
        rng = np.random.default_rng(seed)
        if G is None or D is None:
            build = _Presets(what, self.data_shape, self.num_classes, self.latent_dim, preset, hidden, width,
                             embed_dim)
            G = G if G is not None else build.generator(int(rng.integers(2**31)))
            D = D if D is not None else build.discriminator(int(rng.integers(2**31)), projection, self.acgan)
        if D.buffer is G.buffer:
            raise ValueError(f"{what}: G and D share a parameter buffer; build them separately")
        self.G, self.D = G, D
        self._check_networks(what)
        g_opt = _optimizer(f"{what}: g_opt", g_opt)
        d_opt = _optimizer(f"{what}: d_opt", d_opt)
        if g_opt is d_opt:
            raise ValueError(f"{what}: g_opt and d_opt must be two optimizer objects")
        self._sampler: tuple[Module, ops.Function] | None = None
        self._checked: tuple | None = None
        phases = [Phase("D", self._d_step, repeats=self.d_steps, redraw=True), Phase("G", self._g_step)]
        clip = None if self.objective.clip is None else {"D": self.objective.clip}
        super().__init__({"D": D, "G": G}, {"D": d_opt, "G": g_opt}, phases, clip=clip, seed=seed)

    # ---- networks ----------------------------------------------------------------------------------
    def _check_networks(self, what: str) -> None:
        """G must give rows of data_shape and D one logit (1 + K for AC-GAN) per row: traced, nothing runs."""
        k = self.num_classes
        tr = ops.Trace()
        with ops.tracing(tr):   # two rows: batch norm in training mode needs more than one
            y = tr.input((2, k))
            try:
                fake = self.G(self.latent.sample(2), y)
            except (TypeError, ValueError) as e:
                raise ValueError(f"{what}: G must take (z (N, {self.latent_dim}), labels one-hot (N, {k})): {e}") \
                    from None
            if tuple(fake.shape[1:]) != self.data_shape:
                raise ValueError(f"{what}: G produces rows of shape {tuple(fake.shape[1:])}, not data_shape "
                                 f"{self.data_shape}")
            try:
                out = self.D(fake) if self.acgan else self.D(fake, y)
            except (TypeError, ValueError) as e:
                takes = "x" if self.acgan else f"(x, labels one-hot (N, {k}))"
                raise ValueError(f"{what}: D must take {takes}: {e}") from None
        want = (2, 1 + k) if self.acgan else (2, 1)
        if tuple(out.shape) != want:
            raise ValueError(f"{what}: D must return shape (N, {want[1]})"
                             + (" (source logit, then K class logits)" if self.acgan else "")
                             + f", got (N, {', '.join(map(str, out.shape[1:]))})")

    # ---- phases -----------------------------------------------------------------------------------
    def _heads(self, x: ops.Tensor, y: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor | None]:
        """(source logit (N, 1), class logits (N, K) or None) of D on x with labels y."""
        if not self.acgan:
            return self.D(x, y), None
        out = self.D(x)
        return ops.slice(out, 0, 1), ops.slice(out, 1, 1 + self.num_classes)

    def _d_step(self, b: Any) -> Step:
        x, y = b.data.x, b.data.y
        fake = self.G(self.latent.sample(x.shape[0]), y)
        real_src, real_cls = self._heads(x, y)
        fake_src, fake_cls = self._heads(fake, y)
        d_loss = self.objective.d_loss(real_src, fake_src)
        if not self.acgan:
            return Step(minimize={"D": d_loss}, log={"d_loss": d_loss})
        d_class = ops.softmax_cross_entropy(real_cls, y) + ops.softmax_cross_entropy(fake_cls, y)
        return Step(minimize={"D": d_loss + self.aux_weight * d_class}, log={"d_loss": d_loss, "d_class": d_class})

    def _g_step(self, b: Any) -> Step:
        x, y = b.data.x, b.data.y
        fake = self.G(self.latent.sample(x.shape[0]), y)
        fake_src, fake_cls = self._heads(fake, y)
        real_src = self._heads(x, y)[0] if self.objective.needs_real_for_g else None
        g_loss = self.objective.g_loss(fake_src, real_src)
        if not self.acgan:
            return Step(minimize={"G": g_loss}, log={"g_loss": g_loss})
        g_class = ops.softmax_cross_entropy(fake_cls, y)
        return Step(minimize={"G": g_loss + self.aux_weight * g_class}, log={"g_loss": g_loss, "g_class": g_class})

    def _phase_seed(self, k: int) -> int:
        return self.seed * 8 + _PHASE_SEEDS[self.phases[k].name]

    def _stream_seed(self, k: int) -> int:
        return self.seed * 8 + 3

    # ---- data ---------------------------------------------------------------------------------------
    def _rows(self, x: Any, what: str) -> np.ndarray:
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: data must be a numeric array, got dtype {arr.dtype}")
        if arr.ndim != len(self.data_shape) + 1 or tuple(arr.shape[1:]) != self.data_shape or arr.shape[0] == 0:
            raise ValueError(f"{what}: data must have shape (n, {', '.join(map(str, self.data_shape))}) with "
                             f"n >= 1, got {arr.shape}")
        arr = np.ascontiguousarray(arr, np.float32)
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: the data holds NaN or inf")
        return arr

    def _fit_data(self, x: Any, y: Any) -> Data:
        """The stream ``fit`` trains on, checked once per pair of arrays (a later fit on the same
        arrays reuses the converted columns, and so the compiled phases)."""
        if self._checked is not None and self._checked[0] is x and self._checked[1] is y:
            return self._checked[2]
        what = f"{type(self).__name__}.fit"
        rows = self._rows(x, what)
        labels = check_labels(y, rows.shape[0], self.num_classes, what, every_class=True)
        data = Data(x=rows, y=labels, num_classes=self.num_classes)
        self._checked = (x, y, data)
        return data

    # ---- training -----------------------------------------------------------------------------------
    def fit(self, x: Any, y: Any = None, steps: int = 1000, batch_size: int = 64, log_every: int = 100,
            callbacks: Iterable[Callable] = (), progress: bool = True) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps on samples ``x`` with class labels ``y``; the loop runs in C.

        Parameters
        ----------
        x : ndarray (n, *data_shape)
        y : ndarray of int (n,)
            Class labels in ``[0, num_classes)``; every class must occur.
        steps : int
            Generator steps (each after ``d_steps`` discriminator steps).
        batch_size, log_every, callbacks, progress
            As :meth:`ganlib.Trainer.fit`.

        Returns
        -------
        dict of ndarray
            ``step``, ``d_loss``, ``g_loss`` (and ``d_class``, ``g_class`` for AC-GAN),
            gradient norms ``D_grad_norm``, ``G_grad_norm``.

        Raises
        ------
        ValueError, TypeError
            Labels missing, of the wrong dtype, shape or length, out of range, or a
            class absent; checked before anything is trained.

        Examples
        --------
        >>> hist = cgan.fit(X, y, steps=2000, batch_size=128, progress=False)    # doctest: +SKIP
        """
        data = self._fit_data(x, y)
        return Trainer.fit(self, {"data": data}, steps, batch_size, log_every, callbacks, progress)

    # ---- using the model ----------------------------------------------------------------------------
    def sample(self, n: int, labels: Any = None) -> np.ndarray:
        """``n`` samples G(z, y), z drawn in C from the model's own sampling stream.

        Parameters
        ----------
        n : int
        labels : int or array of int (n,), optional
            The class of every sample (one int: all of that class); default: the
            classes in turn, ``0, 1, ..., K-1, 0, ...``.

        Returns
        -------
        ndarray (n, *data_shape)

        Notes
        -----
        A read: batch norm layers of G in training mode use the statistics of these n
        samples without updating their running statistics (as ``GAN.sample``).

        Examples
        --------
        >>> S = cgan.sample(100, labels=3)                           # doctest: +SKIP
        """
        what = f"{type(self).__name__}.sample"
        n = check_int(f"{what}: n", n, 1)
        y = labels_for_sample(labels, n, self.num_classes, what)
        G = self.G
        if self._sampler is None or self._sampler[0] is not G:
            fn = ops.Function(lambda yy: G(self.latent.sample(yy.shape[0]), yy), seed=self.seed * 8 + 4,
                              update_state=False)
            fn.__name__ = what
            self._sampler = (G, fn)
        with G.buffer.in_use(what):
            return self._sampler[1](one_hot(y, self.num_classes))

    def generate(self, z: Any, labels: Any) -> np.ndarray:
        """G(z, y) for given latents ``z`` (n, latent_dim) and labels (an int or n ints)."""
        what = f"{type(self).__name__}.generate"
        z = np.asarray(z)
        if z.dtype.kind not in "fiu" or z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] == 0:
            raise ValueError(f"{what}: z must be a numeric array of shape (n, {self.latent_dim}), got "
                             f"{z.dtype} {z.shape}")
        y = labels_for_sample(labels, z.shape[0], self.num_classes, what, required=True)
        return self.G._read(np.ascontiguousarray(z, np.float32), one_hot(y, self.num_classes))

    def discriminate(self, x: Any, labels: Any = None) -> np.ndarray:
        """D's raw outputs: one logit per row ``(n, 1)`` given the labels, or for AC-GAN
        ``(n, 1 + K)`` (source logit, class logits; no labels)."""
        what = f"{type(self).__name__}.discriminate"
        rows = self._rows(x, what)
        if self.acgan:
            if labels is not None:
                raise ValueError(f"{what}: an AC-GAN discriminator reads no labels (it predicts them)")
            return self.D._read(rows)
        y = labels_for_sample(labels, rows.shape[0], self.num_classes, what, required=True)
        return self.D._read(rows, one_hot(y, self.num_classes))

    def classify(self, x: Any) -> np.ndarray:
        """AC-GAN: the class D's auxiliary head gives each row of ``x`` (ints, shape (n,))."""
        if not self.acgan:
            raise ValueError(f"{type(self).__name__}.classify: only an AC-GAN discriminator (acgan=True) has a "
                             "class head")
        return np.argmax(self.discriminate(x)[:, 1:], axis=1)

    def clear_cache(self) -> None:
        """Drop every compiled program kept for use outside ``fit``; ``fit``'s own are kept."""
        super().clear_cache()
        if self._sampler is not None:
            self._sampler[1].clear_cache()

    # ---- checkpoints --------------------------------------------------------------------------------
    def _config(self) -> dict:
        return {"data_shape": list(self.data_shape), "num_classes": self.num_classes, "latent_dim": self.latent_dim,
                "acgan": self.acgan, "aux_weight": self.aux_weight,
                "loss": self.loss_spec if isinstance(self.loss_spec, str) else None, "d_steps": self.d_steps,
                "seed": self.seed, "G": _spec_or_none(self.G), "D": _spec_or_none(self.D),
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()}}

    def _after_load(self) -> None:
        self._sampler = None

    @classmethod
    def _from_config(cls, path: str, cfg: dict, G: Module | None = None, D: Module | None = None,
                     loss: Any = None) -> "ConditionalGAN":
        """Rebuild from the saved configuration; custom networks or a custom loss are passed in."""
        opts = cfg["optimizers"]
        return cls(tuple(cfg["data_shape"]), cfg["num_classes"], latent_dim=cfg["latent_dim"],
                   acgan=cfg["acgan"], aux_weight=cfg["aux_weight"],
                   loss=_rebuilt(path, cfg, loss, "loss", lambda s: s), d_steps=cfg["d_steps"],
                   g_opt=_make_optimizer(opts["G"]), d_opt=_make_optimizer(opts["D"]),
                   G=_rebuilt(path, cfg, G, "G", from_spec), D=_rebuilt(path, cfg, D, "D", from_spec),
                   seed=cfg["seed"])


@register_trainer("ganlib.ACGAN")
class ACGAN(ConditionalGAN):
    """The AC-GAN (Odena et al. 2017): ``ConditionalGAN(..., acgan=True)``.

    D reads only the image and has 1 + K outputs (source logit, then K class logits);
    both players add the auxiliary classification loss. Takes every argument of
    :class:`ConditionalGAN` except ``projection``, which is another discriminator.

    Examples
    --------
    >>> acgan = gl.models.ACGAN((2,), num_classes=3, latent_dim=4, hidden=[32], seed=0)
    >>> acgan.acgan, acgan.discriminate(np.zeros((2, 2), np.float32)).shape
    (True, (2, 4))
    """

    def __init__(self, data_shape: Sequence[int], num_classes: int, acgan: bool = True, **kwargs: Any) -> None:
        if acgan is not True:
            raise TypeError("ACGAN: acgan=True is implied; use gl.models.ConditionalGAN for the other discriminators")
        super().__init__(data_shape, num_classes, acgan=True, **kwargs)


# ---- helpers ---------------------------------------------------------------------------------------------
def _check_shape(what: str, shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) not in (1, 3):
        raise ValueError(f"{what}: data_shape must be (d,) or (C, H, W), got {shape!r}")
    return tuple(check_int(f"{what}: data_shape[{k}]", d, 1) for k, d in enumerate(shape))


def _optimizer(what: str, opt: Any) -> Any:
    if opt is None:
        return _optim.Adam(2e-4, betas=(0.5, 0.999))
    return check_optimizer(what, opt, "gl.optim.Adam(2e-4, betas=(0.5, 0.999))")


class _Presets:
    """The preset networks of a ConditionalGAN: "mlp" for rows, "dcgan" for images."""

    def __init__(self, what: str, shape: tuple, k: int, latent: int, preset: Any, hidden: Any, width: Any,
                 embed_dim: Any) -> None:
        if preset is None:
            preset = "mlp" if len(shape) == 1 else "dcgan"
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ValueError(f"{what}: preset must be one of {PRESETS}, got {preset!r}")
        if preset == "mlp" and len(shape) != 1:
            raise ValueError(f"{what}: preset 'mlp' takes rows, data_shape (d,); got {shape} (use preset='dcgan' "
                             "for images, or flatten them)")
        if preset == "dcgan" and len(shape) != 3:
            raise ValueError(f"{what}: preset 'dcgan' takes images, data_shape (C, H, W); got {shape}")
        if preset == "mlp" and width is not None:
            raise ValueError(f"{what}: width is the 'dcgan' preset's channel width; the 'mlp' preset takes hidden=")
        if preset == "dcgan" and hidden is not None:
            raise ValueError(f"{what}: hidden is the 'mlp' preset's widths; the 'dcgan' preset takes width=")
        self.preset, self.shape, self.k, self.latent, self.embed_dim = preset, shape, k, latent, embed_dim
        self.hidden = [256, 256] if hidden is None else hidden
        self.width = 64 if width is None else width

    def generator(self, seed: int) -> Module:
        if self.preset == "mlp":
            return mlp(self.latent, self.hidden, self.shape[0], num_classes=self.k, embed_dim=self.embed_dim,
                       seed=seed)
        return dcgan_generator(self.latent, self.shape, self.width, seed=seed, num_classes=self.k,
                               embed_dim=self.embed_dim)

    def discriminator(self, seed: int, projection: bool, acgan: bool) -> Module:
        conditioning = "classifier" if acgan else ("projection" if projection else "concat")
        embed = self.embed_dim if conditioning == "concat" else None   # otherwise the label is no D input
        if self.preset == "mlp":
            return mlp(self.shape[0], self.hidden, 1, act="leaky_relu", seed=seed, num_classes=self.k,
                       embed_dim=embed, conditioning=conditioning)
        return dcgan_discriminator(self.shape, self.width, seed=seed, num_classes=self.k, embed_dim=embed,
                                   conditioning=conditioning)
