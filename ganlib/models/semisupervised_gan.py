"""gl.models.SemiSupervisedGAN: the K-class discriminator of Salimans et al. (2016), §5.

D is a classifier with K logits l. Its "real" probability is D(x) = Z / (Z + 1) with
Z = sum_k exp l_k, so the fake class is an implicit (K+1)-th logit fixed at 0. D
minimises the cross-entropy over the K classes on a **labelled** stream plus the
GAN loss ``-E log D(x) - E log(1 - D(G(z)))`` on an **unlabelled** stream, both
written stably with logsumexp / softplus; G minimises feature matching
``||E f(x) - E f(G(z))||^2`` on an intermediate layer f of D.

Examples
--------
>>> X, y = gl.datasets.mnist(scale=(0, 1)); X = X.reshape(len(X), -1)   # doctest: +SKIP
>>> idx = gl.models.balanced_subset(y, per_class=10, seed=0)             # doctest: +SKIP
>>> ssgan = gl.models.SemiSupervisedGAN(784, num_classes=10, seed=0)      # doctest: +SKIP
>>> hist = ssgan.fit(X[idx], y[idx], X, steps=1000, progress=False)      # doctest: +SKIP
>>> ssgan.accuracy(X_test, y_test)                                       # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import latent as _latent, ops, optim as _optim
from .._checks import check_bool, check_int, check_optimizer, check_real
from ..checkpoint import _make_optimizer, _spec_or_none
from ..losses import feature_matching
from ..nn.layers import Linear, Sequential, from_spec
from ..nn.module import Module
from ..nn.noise import WeightNormLinear
from ..trainer import Data, Phase, Step, Trainer, register_trainer
from ._base import READ_BATCH, eval_modes
from .labels import check_labels
from .semisupervised_parts import G_OUTPUTS, _preset_d, _preset_g, balanced_subset, labelled_loss, unlabelled_loss

__all__ = ["SemiSupervisedGAN", "balanced_subset", "labelled_loss", "unlabelled_loss"]


# ---- the model ----------------------------------------------------------------------------------------
@register_trainer("ganlib.SemiSupervisedGAN")
class SemiSupervisedGAN(Trainer):
    """Semi-supervised GAN (Salimans et al. 2016): a K-class D, G trained by feature matching.

    Parameters
    ----------
    data_dim : int
        Width of a row (784 for MNIST; images are flattened by ``fit`` and the reads).
    num_classes : int
        K, the classes of the labelled stream.
    latent_dim : int
        Width of z ~ U[0, 1) (the authors' noise).
    d_hidden : list of int, optional
        Hidden widths of the preset D (default the paper's [1000, 500, 250, 250, 250]).
    g_hidden : list of int, optional
        Hidden widths of the preset G (default [500, 500]; Linear, batch norm, softplus).
    input_noise, hidden_noise : float, optional
        Std of the Gaussian noise the preset D adds to its input (default 0.3) and to
        every hidden layer's output (default 0.5), while training; 0 for none.
    weight_norm : bool, optional
        Weight-normalised dense layers in the preset D and G's output layer (default True).
    g_output : {"sigmoid", "tanh", "linear"}, optional
        Output activation of the preset G (default "sigmoid"); data must lie in its
        range ([0, 1] or [-1, 1]).
    features : int, optional
        f(x), the features G matches: the output of D's first ``features`` layers
        (D must be a ``gl.nn.Sequential``). Default: the preset D's last hidden
        layer before its noise; for a given D, every layer before its last dense layer.
    unlabelled_weight : float
        Weight of the unlabelled loss in D's loss (default 0.5: the authors' code weighs
        both GAN terms by 0.5).
    data_init : bool, optional
        Before the first step, set every ``WeightNormLinear`` of D so that its outputs on
        500 unlabelled rows have mean 0 and std ``init_scale`` (the authors' data-dependent
        initialisation; see :meth:`init_from_data`). Default: True when D has such layers
        (the preset); True for a D without them is refused.
    g_opt, d_opt : ganlib.optim optimizer
        Default Adam(3e-3, betas=(0.5, 0.999)) each, as the paper (no learning-rate decay).
    ema : float, optional
        Keep an exponential moving average of D's weights with this decay (e.g. 0.999) and
        classify with it (``logits``, ``predict``, ``accuracy``): the authors test with an
        average of D's weights. Default None: classify with the trained D.
    G, D : Module, optional
        ``G(z) -> (N, data_dim)`` and a Sequential ``D(x) -> (N, K)`` instead of the
        presets; the preset options are refused for a given network.
    seed : int
        Seeds the preset initialisation and every random stream of training.

    Examples
    --------
    >>> ss = gl.models.SemiSupervisedGAN(2, num_classes=2, latent_dim=4, d_hidden=[32, 32], g_hidden=[32],
    ...                                 g_output="linear", seed=0)
    >>> ss.predict(np.zeros((3, 2), np.float32)).shape
    (3,)
    """

    def __init__(self, data_dim: int, num_classes: int, latent_dim: int = 100,
                 d_hidden: Sequence[int] | None = None, g_hidden: Sequence[int] | None = None,
                 input_noise: float | None = None, hidden_noise: float | None = None,
                 weight_norm: bool | None = None, g_output: str | None = None, features: int | None = None,
                 unlabelled_weight: float = 0.5, data_init: bool | None = None, g_opt: Any = None,
                 d_opt: Any = None, ema: float | None = None,
                 G: Module | None = None, D: Module | None = None, seed: int = 0) -> None:
        what = type(self).__name__
        self.data_dim = check_int(f"{what}: data_dim", data_dim, 1)
        self.num_classes = check_int(f"{what}: num_classes", num_classes, 2)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.unlabelled_weight = check_real(f"{what}: unlabelled_weight", unlabelled_weight, positive=True)
        ema = None if ema is None else Trainer._check_decay(f"{what}: ema", ema)
        seed = check_int(f"{what}: seed", seed, 0)
        for name, net in (("G", G), ("D", D)):
            if net is not None and not isinstance(net, Module):
                raise TypeError(f"{what}: {name} must be a ganlib Module, got {type(net).__name__}")
        d_opts = {"d_hidden": d_hidden, "input_noise": input_noise, "hidden_noise": hidden_noise}
        g_opts = {"g_hidden": g_hidden, "g_output": g_output}
        for name, net, opts in (("D", D, d_opts), ("G", G, g_opts)):
            given = sorted(k for k, v in opts.items() if v is not None)
            if net is not None and given:
                raise ValueError(f"{what}: {given} describe the preset {name}, but {name} is given")
        if G is not None and D is not None and weight_norm is not None:
            raise ValueError(f"{what}: weight_norm describes the preset networks, but G and D are both given")
        wn = True if weight_norm is None else check_bool(f"{what}: weight_norm", weight_norm)
        self.latent = _latent.uniform(self.latent_dim, 0.0, 1.0)
        rng = np.random.default_rng(seed)
        self._data_range: tuple | None = None
        if G is None:
            g_output = "sigmoid" if g_output is None else g_output
            if not isinstance(g_output, str) or g_output not in G_OUTPUTS:
                raise ValueError(f"{what}: g_output must be one of {sorted(G_OUTPUTS)}, got {g_output!r}")
            self._data_range = G_OUTPUTS[g_output][1]
            G = _preset_g(what, self.latent_dim, self.data_dim, g_hidden, g_output, wn, int(rng.integers(2**31)))
        default_features = None
        if D is None:
            D, default_features = _preset_d(what, self.data_dim, self.num_classes, d_hidden, input_noise,
                                            hidden_noise, wn, int(rng.integers(2**31)))
        if not isinstance(D, Sequential):
            raise TypeError(f"{what}: D must be a gl.nn.Sequential (feature matching reads one of its layers), "
                            f"got {type(D).__name__}")
        if D.buffer is G.buffer:
            raise ValueError(f"{what}: G and D share a parameter buffer; build them separately")
        self.features = self._check_features(what, D, features, default_features)
        self.G, self.D = G, D
        self._check_networks(what)
        g_opt, d_opt = _optimizer(f"{what}: g_opt", g_opt), _optimizer(f"{what}: d_opt", d_opt)
        if g_opt is d_opt:
            raise ValueError(f"{what}: g_opt and d_opt must be two optimizer objects")
        has_wn = any(isinstance(D[i], WeightNormLinear) for i in range(len(D)))
        if data_init is None:
            data_init = has_wn
        elif check_bool(f"{what}: data_init", data_init) and not has_wn:
            raise ValueError(f"{what}: data_init=True initialises D's WeightNormLinear layers, but D has none")
        self.data_init = bool(data_init)
        self._checked: tuple | None = None
        self._initialised = False
        self._read_rows = 100    # a row-coupling D (minibatch discrimination) classifies in batches of this size
        self._readers: dict[str, tuple[Module, ops.Function]] = {}
        # G gets an unlabelled batch of its own, as in the authors' code
        phases = [Phase("D", self._d_step), Phase("G", self._g_step, redraw=["unlabelled"])]
        super().__init__({"D": D, "G": G}, {"D": d_opt, "G": g_opt}, phases, seed=seed,
                         ema=None if ema is None else {"D": ema})

    # ---- networks -------------------------------------------------------------------------------------
    @staticmethod
    def _check_features(what: str, D: Sequential, features: Any, default: int | None) -> int:
        n = len(D)
        if features is None:
            if default is not None:
                return default
            dense = [i for i in range(n) if isinstance(D[i], (Linear, WeightNormLinear))]
            if len(dense) < 2:
                raise ValueError(f"{what}: D has fewer than two dense layers, so no default feature layer; "
                                 "pass features=<number of leading layers>")
            return dense[-1]
        features = check_int(f"{what}: features", features, 1)
        if features >= n:
            raise ValueError(f"{what}: features={features} must leave at least one of D's {n} layers after it")
        return features

    def _check_networks(self, what: str) -> None:
        """G must give rows of data_dim and D K logits per row: traced, nothing runs."""
        tr = ops.Trace()
        with ops.tracing(tr):
            try:
                fake = self.G(self.latent.sample(2))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{what}: G must take z of shape (N, {self.latent_dim}): {e}") from None
            if tuple(fake.shape) != (2, self.data_dim):
                raise ValueError(f"{what}: G produces shape (N, {', '.join(map(str, fake.shape[1:]))}), "
                                 f"not (N, {self.data_dim})")
            try:
                feats, out = self._forward(fake)
            except (TypeError, ValueError) as e:
                raise ValueError(f"{what}: D must take rows (N, {self.data_dim}): {e}") from None
        if tuple(out.shape) != (2, self.num_classes):
            raise ValueError(f"{what}: D must return K = {self.num_classes} logits, shape (N, {self.num_classes}), "
                             f"got (N, {', '.join(map(str, out.shape[1:]))})")

    def _forward(self, x: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
        """(features f(x), logits l(x)) in one pass of D (one draw of its noise)."""
        t, feats = x, x
        for i in range(len(self.D)):
            t = self.D[i](t)
            if i + 1 == self.features:
                feats = t
        return feats, t

    # ---- phases ----------------------------------------------------------------------------------------
    def _d_step(self, b: Any) -> Step:
        xu = b.unlabelled.x
        fake = ops.stop_gradient(self.G(self.latent.sample(xu.shape[0])))
        on_lab, on_unl, on_fake = self.D.on_batches(b.labelled.x, xu, fake)
        lab = labelled_loss(on_lab, b.labelled.y)
        unl = unlabelled_loss(on_unl, on_fake)
        return Step(minimize={"D": lab + self.unlabelled_weight * unl}, log={"lab_loss": lab, "unl_loss": unl})

    def _g_step(self, b: Any) -> Step:
        xu = b.unlabelled.x
        f_real = ops.stop_gradient(self._forward(xu)[0])
        f_fake = self._forward(self.G(self.latent.sample(xu.shape[0])))[0]
        fm = feature_matching(f_real, f_fake)
        return Step(minimize={"G": fm}, log={"g_loss": fm})

    # ---- data ---------------------------------------------------------------------------------------------
    def _rows(self, x: Any, what: str, name: str = "data") -> np.ndarray:
        arr = np.asarray(x)
        if arr.dtype.kind == "b" or arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: {name} must be a numeric array, got dtype {arr.dtype}")
        if arr.ndim < 2 or arr.shape[0] == 0 or int(np.prod(arr.shape[1:])) != self.data_dim:
            raise ValueError(f"{what}: {name} must have n >= 1 rows of {self.data_dim} values (or images of that "
                             f"size), got shape {arr.shape}")
        arr = np.ascontiguousarray(arr.reshape(arr.shape[0], self.data_dim), np.float32)
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: {name} holds NaN or inf")
        return arr

    def _fit_data(self, xl: Any, yl: Any, xu: Any, batch: int, lab_batch: int | None) -> dict[str, Data]:
        """The two streams ``fit`` trains on, checked once per triple of arrays (a later fit on the same
        arrays reuses the converted columns, and so the compiled phases)."""
        c = self._checked
        if c is not None and c[0] is xl and c[1] is yl and c[2] is xu and c[3] == (batch, lab_batch):
            return c[4]
        what = f"{type(self).__name__}.fit"
        rows_l = self._rows(xl, what, "x_labelled")
        labels = check_labels(yl, rows_l.shape[0], self.num_classes, what, every_class=True)
        rows_u = self._rows(xu, what, "x_unlabelled")
        if self._data_range is not None:
            lo, hi = self._data_range
            for name, rows in (("x_labelled", rows_l), ("x_unlabelled", rows_u)):
                if rows.min() < lo or rows.max() > hi:
                    raise ValueError(f"{what}: the preset G's output lies in [{lo:g}, {hi:g}], but {name} has values "
                                     f"in [{rows.min():g}, {rows.max():g}] (rescale the data, or pick g_output)")
        size = min(batch, rows_l.shape[0]) if lab_batch is None else lab_batch
        for name, b, n in (("labelled_batch_size", size, rows_l.shape[0]), ("batch_size", batch, rows_u.shape[0])):
            if b > n:   # refused here, before data_init could touch D
                raise ValueError(f"{what}: {name} {b} is larger than the {n} rows it is drawn from")
        data = {"labelled": Data(x=rows_l, y=labels, num_classes=self.num_classes, batch_size=size),
                "unlabelled": Data(x=rows_u, batch_size=batch)}
        self._checked = (xl, yl, xu, (batch, lab_batch), data)
        return data

    # ---- training -----------------------------------------------------------------------------------------
    def fit(self, x_labelled: Any, y_labelled: Any, x_unlabelled: Any, steps: int = 1000, batch_size: int = 100,
            labelled_batch_size: int | None = None, log_every: int = 100, callbacks: Iterable[Callable] = (),
            progress: bool = True) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps (a D step, then a G step); the loop runs in C.

        With ``data_init`` on, the first fit of an untrained model (step 0) first runs
        :meth:`init_from_data` on the unlabelled rows.

        Parameters
        ----------
        x_labelled : ndarray (n_l, data_dim) or images of that size
        y_labelled : ndarray of int (n_l,)
            Labels in ``[0, num_classes)``; every class must occur.
        x_unlabelled : ndarray (n_u, data_dim)
            The unlabelled stream (the whole training set, labels unused, as the paper).
        steps : int
        batch_size : int
            Unlabelled rows per draw (D's real batch, and the number of fakes).
        labelled_batch_size : int, optional
            Labelled rows per draw (default ``min(batch_size, n_l)``); batches are drawn
            without replacement and reshuffled every epoch of each stream.
        log_every, callbacks, progress
            As :meth:`ganlib.Trainer.fit`.

        Returns
        -------
        dict of ndarray
            ``step``, ``lab_loss``, ``unl_loss``, ``g_loss`` (feature matching), and the
            gradient norms ``D_grad_norm``, ``G_grad_norm``.

        Raises
        ------
        ValueError, TypeError
            Labels missing, of the wrong dtype, shape or length, out of range, a class
            absent, data of the wrong width, non-finite or outside the preset G's range;
            checked before anything is trained.

        Examples
        --------
        >>> hist = ss.fit(X[idx], y[idx], X, steps=1000, progress=False)     # doctest: +SKIP
        """
        what = f"{type(self).__name__}.fit"
        if y_labelled is None:
            raise ValueError(f"{what}: y_labelled is required, one integer in [0, {self.num_classes}) per labelled row")
        batch_size = check_int(f"{what}: batch_size", batch_size, 1)
        if labelled_batch_size is not None:
            labelled_batch_size = check_int(f"{what}: labelled_batch_size", labelled_batch_size, 1)
        data = self._fit_data(x_labelled, y_labelled, x_unlabelled, batch_size, labelled_batch_size)
        self._read_rows = batch_size
        if self.data_init and self.step == 0 and not self._initialised:
            self.init_from_data(data["unlabelled"].columns["x"])
        return Trainer.fit(self, data, steps, batch_size, log_every, callbacks, progress)

    def init_from_data(self, x: Any, rows: int = 500, seed: int | None = None) -> None:
        """Data-dependent initialisation of D's weight-normalised layers (Salimans & Kingma 2016).

        Runs ``rows`` rows of ``x`` (drawn with ``seed``, default the model's) through D layer
        by layer (noise on, as in training); at each ``WeightNormLinear`` it sets
        ``g = init_scale / std(t)`` and ``b = -mean(t) g``, with ``t = x v / ||v||`` the
        unscaled outputs, so that layer's outputs start with mean 0 and std ``init_scale``.
        ``fit`` calls it once before the first step when ``data_init`` is on.

        Examples
        --------
        >>> ss.init_from_data(X_unlabelled)                                # doctest: +SKIP
        """
        what = f"{type(self).__name__}.init_from_data"
        arr = self._rows(x, what, "x")
        rows = check_int(f"{what}: rows", rows, 2)
        rng = np.random.default_rng(self.seed if seed is None else check_int(f"{what}: seed", seed, 0))
        h = arr[np.sort(rng.choice(arr.shape[0], min(rows, arr.shape[0]), replace=False))]
        for i in range(len(self.D)):
            layer = self.D[i]
            if isinstance(layer, WeightNormLinear):
                v = layer.param("v").astype(np.float64)
                t = h.astype(np.float64) @ (v / np.linalg.norm(v, axis=1, keepdims=True)).T
                g = layer.init_scale / np.sqrt(t.var(axis=0) + 1e-6)
                layer.scale[:] = g
                if layer.has_bias:
                    layer.param("bias")[:] = -t.mean(axis=0) * g
            h = np.asarray(layer._read(h))   # this layer's training-mode output, no running statistics moved
        if self.ema is not None:   # the average starts from the initialised D (and its fixed scales)
            self.averaged("D").load_state_dict(self.D.state_dict())
        self._initialised = True

    @property
    def ema(self) -> float | None:
        """The decay of D's weight average (``ema=``), or None when D classifies itself."""
        return self._ema_of.get("D")

    # ---- using the model ------------------------------------------------------------------------------------
    def _read(self, name: str, build: Callable[[Module], ops.Function], rows: np.ndarray) -> np.ndarray:
        module = self.averaged(name) if name == "D" and self.ema is not None else self.modules[name]
        hit = self._readers.get(name)
        if hit is None or hit[0] is not module:
            hit = self._readers[name] = (module, build(module))
        # a D whose rows see each other (minibatch discrimination) reads batches of the size it was trained
        # on: its features sum over the batch, so a 1000-row read would put them on another scale
        chunk = self._read_rows if name == "D" and module.mixes_rows() else READ_BATCH
        with module.buffer.in_use(f"{type(self).__name__} (module {name})"):
            if rows.shape[0] <= chunk:
                return hit[1](rows)
            return np.concatenate([hit[1](rows[i:i + chunk]) for i in range(0, rows.shape[0], chunk)])

    def logits(self, x: Any) -> np.ndarray:
        """D's K class logits ``(n, K)`` in eval mode (no noise; batch norm with running statistics);
        with ``ema`` those of D's averaged weights. A D whose rows see each other (minibatch
        discrimination) reads x in consecutive batches of the last ``fit``'s ``batch_size``
        (default 100), the size its features were trained on.

        Examples
        --------
        >>> ss.logits(X_test).shape                                          # doctest: +SKIP
        (10000, 10)
        """
        rows = self._rows(x, f"{type(self).__name__}.logits", "x")

        def build(D: Module) -> ops.Function:
            def forward(t: ops.Tensor) -> ops.Tensor:
                with eval_modes(D):
                    return D.forward(t)
            fn = ops.Function(forward, training=False, update_state=False)
            fn.__name__ = f"{type(self).__name__}.logits"
            return fn
        return self._read("D", build, rows)

    def predict(self, x: Any) -> np.ndarray:
        """The class D gives each row: ``argmax_k l_k(x)`` (ints, shape (n,)), in eval mode."""
        return np.argmax(self.logits(x), axis=1)

    def accuracy(self, x: Any, y: Any) -> float:
        """Fraction of rows of ``x`` whose predicted class is ``y`` (test error = 1 - accuracy).

        Examples
        --------
        >>> 1 - ss.accuracy(X_test, y_test)                                  # doctest: +SKIP
        """
        what = f"{type(self).__name__}.accuracy"
        rows = self._rows(x, what, "x")
        labels = check_labels(y, rows.shape[0], self.num_classes, what)
        return float(np.mean(self.predict(rows) == labels))

    def sample(self, n: int) -> np.ndarray:
        """``n`` rows G(z), z drawn in C from the model's own sampling stream.

        A read: G's batch norm in training mode uses these n samples' statistics without
        updating its running statistics (as ``GAN.sample``).

        Examples
        --------
        >>> ss.sample(100).shape                                             # doctest: +SKIP
        (100, 784)
        """
        what = f"{type(self).__name__}.sample"
        n = check_int(f"{what}: n", n, 1)

        def build(G: Module) -> ops.Function:
            # one Function for every n: n is the batch of a dummy input the program does not read
            fn = ops.Function(lambda rows: G(self.latent.sample(rows.shape[0])), seed=self.seed * 8 + 4,
                              update_state=False)
            fn.__name__ = what
            return fn
        hit = self._readers.get("G")
        if hit is None or hit[0] is not self.G:
            hit = self._readers["G"] = (self.G, build(self.G))
        with self.G.buffer.in_use(f"{what} (its generator)"):
            return hit[1](np.empty((n, 1), np.float32))

    def clear_cache(self) -> None:
        """Drop every compiled program kept for use outside ``fit``; ``fit``'s own are kept."""
        super().clear_cache()
        for _, fn in self._readers.values():
            fn.clear_cache()

    # ---- checkpoints ----------------------------------------------------------------------------------------
    def _config(self) -> dict:
        return {"data_dim": self.data_dim, "num_classes": self.num_classes, "latent_dim": self.latent_dim,
                "features": self.features, "unlabelled_weight": self.unlabelled_weight,
                "data_init": self.data_init, "ema": self.ema,
                "data_range": None if self._data_range is None else list(self._data_range), "seed": self.seed,
                "read_rows": self._read_rows,
                "G": _spec_or_none(self.G), "D": _spec_or_none(self.D),
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()}}

    def _after_load(self) -> None:
        self._readers = {}

    @classmethod
    def _from_config(cls, path: str, cfg: dict, G: Module | None = None,
                     D: Module | None = None) -> "SemiSupervisedGAN":
        """Rebuild from the saved configuration; custom networks are passed in."""
        nets = {}
        for key, given in (("G", G), ("D", D)):
            if given is None and cfg.get(key) is None:
                raise ValueError(f"gl.load: {path} cannot rebuild '{key}' (it was custom); pass {key}=...")
            nets[key] = given if given is not None else from_spec(cfg[key])
        opts = cfg["optimizers"]
        obj = cls(cfg["data_dim"], cfg["num_classes"], latent_dim=cfg["latent_dim"], features=cfg["features"],
                  unlabelled_weight=cfg["unlabelled_weight"], data_init=cfg["data_init"], ema=cfg.get("ema"),
                  g_opt=_make_optimizer(opts["G"]), d_opt=_make_optimizer(opts["D"]), G=nets["G"], D=nets["D"],
                  seed=cfg["seed"])
        obj._data_range = None if cfg["data_range"] is None else tuple(cfg["data_range"])
        obj._read_rows = int(cfg.get("read_rows", 100))
        return obj


def _optimizer(what: str, opt: Any) -> Any:
    if opt is None:
        return _optim.Adam(3e-3, betas=(0.5, 0.999))
    return check_optimizer(what, opt, "gl.optim.Adam(3e-3, betas=(0.5, 0.999))")
