"""gl.GAN: adversarial training whose whole loop runs in C.

A GAN is a :class:`~ganlib.trainer.Trainer` with two modules (G, D) and two
phases: the discriminator step (repeated ``d_steps`` times, a fresh batch each
time) and the generator step, traced once per batch size into compiled C
programs (losses, penalties, unrolled updates and gradients as graph nodes).

Examples
--------
>>> X = gl.datasets.ring(n=20_000, seed=0)
>>> G, D = gl.nn.mlp(2, [128, 128], 2, seed=0), gl.nn.mlp(2, [128, 128], 1, seed=1)
>>> gan = gl.GAN(G, D, latent=gl.latent.normal(2), loss="nonsaturating", seed=0)
>>> hist = gan.fit(X, steps=2000, batch_size=256, progress=False)
>>> S = gan.sample(2500)
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable

import numpy as np

from . import latent as _latent, losses as _losses, ops, optim as _optim
from ._checks import check_bool, check_choice, check_int, check_optimizer, check_range, check_real
from .nn.layers import from_spec
from .nn.module import Module
from .checkpoint import _rebuilt
from .trainer import Data, Phase, Step, Trainer, _make_optimizer, _spec_or_none, register_trainer

__all__ = ["GAN", "HISTORY_COLUMNS"]

HISTORY_COLUMNS = ("d_loss", "g_loss", "penalty", "d_grad_norm", "g_grad_norm")
_COL = {name: k for k, name in enumerate(HISTORY_COLUMNS)}
UPDATES = ("alternating", "simultaneous")
#: compiled read functions (sample / generate / discriminate, per module and mode) a GAN keeps;
#: each keeps up to ``ops.CACHE_SIZE`` programs (one per batch size)
SAMPLERS = 4


def _first_in_features(m: Module) -> int | None:
    for sub in m._modules():
        if hasattr(sub, "in_features"):
            return int(sub.in_features)
    return None


# the names the C loop's non-finite messages use for the GAN's checked values
_CHECK_LABELS = {"d_loss": "D loss", "penalty": "gradient penalty", "g_loss": "G loss", "D loss": "D total loss",
                 "G loss": "G total loss"}
# history column <- trainer column
_FROM_TRAINER = {"d_grad_norm": "D_grad_norm", "g_grad_norm": "G_grad_norm"}
_PHASE_SEEDS = {"D": 1, "G": 2, "DG": 1}


@register_trainer("ganlib.GAN")
class GAN(Trainer):
    """A generator G and a discriminator/critic D trained adversarially in C.

    Parameters
    ----------
    G, D : Module
        Generator (latent -> data) and discriminator (data -> one logit per row).
        ``D`` may be None only for ``loss="mmd"`` (generative moment matching).
    latent : Latent, optional
        ``gl.latent.normal(k)``, ``uniform(k)`` or ``custom(fn, k)``; default
        ``normal`` of G's input width.
    loss : str, Objective or callable
        A name from ``gl.losses`` ("nonsaturating", "minimax", "least_squares", "hinge",
        "wasserstein", "wgan-gp", "dragan", "ns-gp", scoring rules, f-GAN names, "mmd"),
        or ``fn(real_logits, fake_logits) -> (d_loss, g_loss)`` written with ``gl.ops``.
    penalty : {"default", None, "wgan-gp", "dragan"} or callable
        Gradient penalty added to D's loss; "default" takes the objective's own
        (e.g. wgan-gp for loss="wgan-gp"). A callable gets ``(D, x_real, x_fake)``.
    penalty_weight : float, optional
        λ of the penalty (default: the objective's, usually 10).
    d_steps, g_steps : int
        Discriminator steps per generator step (n_critic) and generator steps per step.
    update : {"alternating", "simultaneous"}
        Simultaneous: both players step from the same point (one program).
    unroll : int
        Unrolled GAN: G's loss is taken against D advanced ``unroll`` SGD steps
        (learning rate of ``d_opt``), differentiating through those steps.
    unroll_first_order : bool
        Treat the unrolled D parameters as constants (no gradient through the steps).
    g_opt, d_opt : ganlib.optim optimizer
        Default Adam(1e-4, betas=(0.5, 0.999)) for both.
    label_smoothing : float, optional
        One-sided label smoothing: real targets become ``1 - label_smoothing``.
    g_ema : float, optional
        Keep an exponential moving average of G's weights with this decay; ``sample``
        and ``generate`` use it by default.
    historical_averaging : float
        Weight of ‖θ − mean of past θ‖² added to each player's loss.
    clip : float, optional
        Clip D's weights to [-clip, clip] after each update (default: the objective's,
        0.01 for "wasserstein").
    feature_matching : bool
        Generator minimises ‖E f(x) − E f(G(z))‖² over D's penultimate features.
    pack : int
        PacGAN packing (Lin et al. 2018): D judges ``pack`` samples at once, real ones
        together and generated ones together, concatenated along the first feature
        axis (rows ``(n, d)`` become ``(n / pack, pack·d)``; images ``(n, C, H, W)``
        become ``(n / pack, pack·C, H, W)``). D must take that input (e.g.
        ``mlp(2 * pack, ...)``) and ``batch_size`` must be a multiple of ``pack``:
        D sees ``batch_size / pack`` packed inputs per step. Default 1 (no packing).
    seed : int
        Seeds every random stream of training (latents, batches, penalties).
    """

    def __init__(self, G: Module, D: Module | None = None, latent: Any = None, loss: Any = "nonsaturating",
                 penalty: Any = "default", penalty_weight: float | None = None, d_steps: int = 1,
                 g_steps: int = 1, update: str = "alternating", unroll: int = 0, unroll_first_order: bool = False,
                 g_opt: Any = None, d_opt: Any = None, label_smoothing: float | None = None,
                 g_ema: float | None = None, historical_averaging: float = 0.0, clip: float | None = None,
                 feature_matching: bool = False, pack: int = 1, seed: int = 0) -> None:
        if not isinstance(G, Module):
            raise TypeError(f"GAN: G must be a ganlib Module, got {type(G).__name__}")
        self.mmd = isinstance(loss, str) and loss.lower() == "mmd"
        if D is None and not self.mmd:
            raise ValueError("GAN: a discriminator D is required (only loss='mmd' trains without one)")
        if D is not None and not isinstance(D, Module):
            raise TypeError(f"GAN: D must be a ganlib Module, got {type(D).__name__}")
        if D is not None and D.buffer is G.buffer:
            raise ValueError("GAN: G and D share a parameter buffer; build them separately")
        self.G, self.D = G, (None if self.mmd else D)
        if latent is None:
            k = _first_in_features(G)
            if k is None:
                raise ValueError("GAN: cannot infer the latent size from G; pass latent=gl.latent.normal(k)")
            latent = _latent.normal(k)
        if not isinstance(latent, _latent.Latent):
            raise TypeError("GAN: latent must be gl.latent.normal(k), uniform(k) or custom(fn, k)")
        self.latent = latent
        self.loss_spec = loss
        self.objective = None if self.mmd else _losses.get_objective(loss)
        d_steps = check_int("GAN: d_steps", d_steps, 1)
        g_steps = check_int("GAN: g_steps", g_steps, 1)
        unroll = check_int("GAN: unroll", unroll, 0)
        update = check_choice("GAN: update", update, UPDATES)
        unroll_first_order = check_bool("GAN: unroll_first_order", unroll_first_order)
        feature_matching = check_bool("GAN: feature_matching", feature_matching)
        if update == "simultaneous" and (d_steps != 1 or g_steps != 1 or unroll):
            raise ValueError("GAN: simultaneous updates take d_steps=g_steps=1 and no unrolling")
        if self.mmd and (unroll or feature_matching or update != "alternating"):
            raise ValueError("GAN: loss='mmd' has no discriminator: no unroll, feature matching or simultaneous update")
        self.d_steps, self.g_steps, self.update, self.unroll = d_steps, g_steps, update, unroll
        self.unroll_first_order = unroll_first_order
        self.feature_matching = feature_matching
        if penalty == "default":
            penalty = None if self.mmd else self.objective.default_penalty
        if isinstance(penalty, str) and penalty.strip().lower() == "none":
            penalty = None   # "none" is None: no penalty, and no weight for it
        if penalty is None and penalty_weight is not None:
            raise ValueError("GAN: penalty_weight was given but there is no penalty (penalty=None)")
        if unroll_first_order and not unroll:
            raise ValueError("GAN: unroll_first_order=True needs unroll >= 1")
        if penalty_weight is not None:
            penalty_weight = check_real("GAN: penalty_weight", penalty_weight, nonnegative=True)
        if label_smoothing is not None:
            label_smoothing = check_range("GAN: label_smoothing", label_smoothing, 0.0, 1.0, high_open=True)
        if clip is not None:
            clip = check_real("GAN: clip", clip, positive=True)
        if g_ema is not None:
            g_ema = check_range("GAN: g_ema", g_ema, 0.0, 1.0, low_open=True, high_open=True)
        historical_averaging = check_real("GAN: historical_averaging", historical_averaging, nonnegative=True)
        seed = check_int("GAN: seed", seed, 0)
        if g_opt is not None:
            check_optimizer("GAN: g_opt", g_opt, "gl.optim.Adam(1e-4, betas=(0.5, 0.999))")
        if d_opt is not None:
            if self.D is None:
                raise ValueError("GAN: d_opt was given but loss='mmd' trains no discriminator")
            check_optimizer("GAN: d_opt", d_opt, "gl.optim.Adam(1e-4, betas=(0.5, 0.999))")
        self.penalty_spec = penalty
        self.penalty = _losses.get_penalty(penalty) if penalty is not None else None
        if self.penalty is not None and self.D is not None and any(
                type(m).__name__ == "BatchNorm" and m.training for m in self.D._modules()):
            raise ValueError("GAN: a gradient penalty differentiates D's gradient again, but batch norm in "
                             "training mode is first-order only; use norm='layer' (or no norm) in the "
                             "critic, or penalty=None")
        if penalty_weight is None:
            penalty_weight = self.objective.default_penalty_weight if (self.objective and penalty is not None
                                                                         and self.objective.default_penalty) else 10.0
        self.penalty_weight = float(penalty_weight)
        self.label_smoothing = label_smoothing
        self.real_target = 1.0 - (label_smoothing or 0.0)
        if clip is None and self.objective is not None:
            clip = self.objective.clip
        self.clip = clip
        self.g_ema = g_ema
        self.historical_averaging = historical_averaging
        self.g_opt = g_opt if g_opt is not None else _optim.Adam(1e-4, betas=(0.5, 0.999))
        self.d_opt = None if self.D is None else (d_opt if d_opt is not None else _optim.Adam(1e-4, betas=(0.5, 0.999)))
        if self.d_opt is not None and self.d_opt is self.g_opt:
            raise ValueError("GAN: g_opt and d_opt must be two optimizer objects")
        self.pack = check_int("GAN: pack", pack, 1)
        if self.pack > 1 and self.D is None:
            raise ValueError("GAN: pack > 1 packs the discriminator's inputs, but loss='mmd' has no discriminator")
        self._samplers = ops.LRUCache(SAMPLERS)   # (what, module, modes) -> Function, see sample
        self._out_shape = self._generator_output_shape()
        if self.pack > 1:
            self._check_packed_D()
        else:
            self._check_discriminator()
        modules = {"G": self.G} if self.D is None else {"D": self.D, "G": self.G}
        optimizers = {"G": self.g_opt} if self.D is None else {"D": self.d_opt, "G": self.g_opt}
        super().__init__(modules, optimizers, self._phase_list(), clip=None if clip is None else {"D": clip},
                         ema=None if g_ema is None else {"G": g_ema},
                         running_average=list(modules) if self.historical_averaging > 0 else (), seed=seed)
        self._hist = self._running   # name -> (mean of past parameters, count), read by the penalty term

    @property
    def G_ema(self) -> Module | None:
        """The exponential moving average of G (``g_ema=decay``), or None."""
        return self._averaged.get("G")

    # ---- shapes ---------------------------------------------------------------
    def _generator_output_shape(self) -> tuple:
        tr = ops.Trace()
        with ops.tracing(tr):   # two rows: batch norm over (N, C) in training mode needs more than one
            out = self.G(self.latent.sample(2))
        return tuple(out.shape[1:])

    def _check_discriminator(self) -> None:
        """D must give one value per row of G's output (traced on two rows, nothing runs).

        A D that cannot take G's rows as they are is left to ``fit`` to judge (its
        inputs there may be arranged otherwise); one that takes them and returns
        several values per row is refused here.
        """
        if self.D is None:
            return
        tr = ops.Trace()
        try:
            with ops.tracing(tr):
                out = self.D(tr.input((2, *self._out_shape)))
        except (ValueError, TypeError):
            return
        shape = tuple(out.shape)
        if len(shape) < 1 or shape[0] != 2 or int(np.prod(shape[1:])) != 1:
            got = "(N, " + ", ".join(map(str, shape[1:])) + ")" if len(shape) > 1 else str(shape)
            raise ValueError(f"GAN: D must return one logit (critic value) per row, shape (N, 1); for G's rows "
                             f"of shape {self._out_shape} it returns {got}, {int(np.prod(shape[1:]))} values "
                             f"per row (e.g. gl.nn.mlp(..., out_features=1))")

    def _packed_shape(self, n: int) -> tuple:
        first, rest = self._out_shape[0], self._out_shape[1:]
        return (n // self.pack, self.pack * first, *rest)

    def _check_packed_D(self) -> None:
        shape = self._packed_shape(self.pack)
        tr = ops.Trace()
        try:
            with ops.tracing(tr):
                out = self.D(ops.zeros(shape))
        except (ValueError, TypeError) as e:
            raise ValueError(f"GAN: pack={self.pack} feeds D inputs of shape {shape[1:]} ({self.pack} samples of G's "
                             f"output {self._out_shape} concatenated along the first axis), which D does not take: "
                             f"{e}") from None
        if tuple(out.shape) != (1, 1):
            raise ValueError(f"GAN: D must give one output per packed input, got shape {tuple(out.shape)} for "
                             f"input {shape}")

    def _packed(self, t: ops.Tensor) -> ops.Tensor:
        """PacGAN: ``pack`` consecutive samples side by side, one D input per group."""
        if self.pack == 1:
            return t
        return ops.reshape(t, self._packed_shape(t.shape[0]))

    # ---- graph building -----------------------------------------------------------
    def _hist_term(self, tr: ops.Trace, name: str, module: Module) -> ops.Tensor | None:
        if self.historical_averaging <= 0:
            return None
        avg, _ = self._hist[name]
        term = None
        for m, _, off, shape in module._slots():
            d = ops.square(tr.param(m.buffer.data, off, shape) - tr.param(avg, off, shape))
            s = ops.sum(d)
            term = s if term is None else term + s
        return term * self.historical_averaging

    def _d_losses(self, D_call: Callable, x: ops.Tensor, fake: ops.Tensor) -> ops.Tensor:
        return self.objective.d_loss(D_call(self._packed(x)), D_call(self._packed(fake)), self.real_target)

    def _g_loss(self, tr: ops.Trace, x: ops.Tensor | None, fake: ops.Tensor) -> ops.Tensor:
        if self.mmd:
            return _losses.mmd2(ops.flatten(x) if x.ndim > 2 else x, ops.flatten(fake) if fake.ndim > 2 else fake)
        D_call: Callable = self.D
        if self.unroll:
            theta = self.D.param_tensors(tr)
            lr = float(self.d_opt.lr)
            for _ in range(self.unroll):
                call = (lambda th: (lambda v: self.D.call_with(th, v)))(theta)
                grads = ops.grad(self._d_losses(call, x, fake), theta)
                theta = [t - lr * g for t, g in zip(theta, grads)]
            if self.unroll_first_order:
                theta = [ops.stop_gradient(t) for t in theta]
            D_call = (lambda th: (lambda v: self.D.call_with(th, v)))(theta)
        if self.feature_matching:
            return _losses.feature_matching(_losses.penultimate(self.D, self._packed(x)),
                                            _losses.penultimate(self.D, self._packed(fake)))
        real = D_call(self._packed(x)) if (x is not None and self.objective.needs_real_for_g) else None
        return self.objective.g_loss(D_call(self._packed(fake)), real)

    def _g_needs_data(self) -> bool:
        return bool(self.mmd or self.unroll or self.feature_matching or self.objective.needs_real_for_g)

    # ---- phases ---------------------------------------------------------------------------
    def _phase_list(self) -> list[Phase]:
        if self.update == "simultaneous":
            return [Phase("DG", self._simultaneous_step, redraw=True)]
        phases = [] if self.D is None else [Phase("D", self._d_step, repeats=self.d_steps, redraw=True)]
        # the generator reuses the critic's last batch; without a critic (MMD) it draws its own
        return phases + [Phase("G", self._g_step, repeats=self.g_steps, redraw=self.D is None)]

    def _fake(self, b: Any) -> tuple[ops.Tensor, ops.Tensor]:
        x = b.data.x
        return x, self.G(self.latent.sample(x.shape[0]))

    def _d_step(self, b: Any) -> Step:
        tr = ops.current_trace()
        x, fake = self._fake(b)
        d_loss = self._d_losses(self.D, x, fake)
        pen = (self.penalty(self.D, self._packed(x), self._packed(fake)) * self.penalty_weight if self.penalty
               else ops.zeros(()))
        total = d_loss + pen if self.penalty else d_loss
        h = self._hist_term(tr, "D", self.D)
        total = total + h if h is not None else total
        return Step(minimize={"D": total}, log={"d_loss": d_loss, "penalty": pen})

    def _g_step(self, b: Any) -> Step:
        tr = ops.current_trace()
        x = b.data.x if self._g_needs_data() else None
        fake = self.G(self.latent.sample(b.data.batch_size))
        g_loss = self._g_loss(tr, x, fake)
        h = self._hist_term(tr, "G", self.G)
        return Step(minimize={"G": g_loss + h if h is not None else g_loss}, log={"g_loss": g_loss})

    def _simultaneous_step(self, b: Any) -> Step:
        tr = ops.current_trace()
        x, fake = self._fake(b)
        x, fake = self._packed(x), self._packed(fake)
        lr, lf = self.D(x), self.D(fake)
        d_loss = self.objective.d_loss(lr, lf, self.real_target)
        pen = self.penalty(self.D, x, fake) * self.penalty_weight if self.penalty else ops.zeros(())
        d_total = d_loss + pen if self.penalty else d_loss
        g_loss = self.objective.g_loss(lf, lr if self.objective.needs_real_for_g else None)
        g_total = g_loss
        hd, hg = self._hist_term(tr, "D", self.D), self._hist_term(tr, "G", self.G)
        d_total = d_total + hd if hd is not None else d_total
        g_total = g_total + hg if hg is not None else g_total
        return Step(minimize={"D": d_total, "G": g_total}, log={"d_loss": d_loss, "penalty": pen, "g_loss": g_loss})

    # the trainer's hooks: the GAN keeps the seeds and message names it always had
    def _phase_seed(self, k: int) -> int:
        return self.seed * 8 + _PHASE_SEEDS[self.phases[k].name]

    def _stream_seed(self, k: int) -> int:
        return self.seed * 8 + 3

    def _check_label(self, phase: str, value: str) -> str:
        return _CHECK_LABELS.get(value, value)

    # ---- data -----------------------------------------------------------------------
    def _check_data(self, data: Any) -> np.ndarray:
        if not isinstance(data, np.ndarray):
            data = np.asarray(data)
        if data.dtype.kind not in "fiu":
            raise TypeError(f"GAN.fit: data must be a numeric array, got dtype {data.dtype}")
        if data.ndim < 2 or data.shape[0] == 0:
            raise ValueError(f"GAN.fit: data must have shape (n, ...) with n >= 1 rows, got {data.shape}")
        if tuple(data.shape[1:]) != self._out_shape:
            raise ValueError(f"GAN.fit: data rows have shape {tuple(data.shape[1:])}, but G produces "
                             f"{self._out_shape}")
        if data.dtype.kind == "f":
            return data
        # integer pixels are data here, not class labels; converted once per array, so that fitting
        # the same array again finds the trainer's setup instead of tracing anew
        last = getattr(self, "_int_data", None)
        if last is None or last[0] is not data:
            last = self._int_data = (data, data.astype(np.float32))
        return last[1]

    # ---- training -----------------------------------------------------------------------
    def fit(self, data: Any, steps: int, batch_size: int = 256, log_every: int = 100,
            callbacks: Iterable[Callable] = (), progress: bool = True) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps; the loop runs in C.

        Parameters
        ----------
        data : ndarray (n, ...)
            Training data; rows must have G's output shape. Batches are drawn in C
            without replacement, reshuffled every epoch.
        steps : int
            Generator steps (each preceded by ``d_steps`` discriminator steps).
        batch_size : int
        log_every : int
            Python is called back (progress bar, callbacks) every this many steps.
        callbacks : iterable of callables
            ``cb(gan, step, logs)`` with ``logs`` the last history row as a dict.
        progress : bool
            Show a tqdm progress bar when tqdm is installed.

        Returns
        -------
        dict of ndarray
            ``step`` and one array per column of :data:`HISTORY_COLUMNS`, one row per step
            done (fewer than ``steps`` if interrupted with Ctrl-C).

        Raises
        ------
        FloatingPointError
            A loss or gradient became NaN/inf; the message names the step and the
            quantity, and the parameters are those before that step.
        """
        steps = check_int("GAN.fit: steps", steps, 0)
        batch_size = check_int("GAN.fit: batch_size", batch_size, 1)
        log_every = check_int("GAN.fit: log_every", log_every, 1)
        if batch_size % self.pack:
            raise ValueError(f"GAN.fit: batch_size ({batch_size}) must be a multiple of pack ({self.pack})")
        data = self._check_data(data)
        hist = super().fit({"data": Data(x=data)}, steps, batch_size, log_every, callbacks, progress)
        out = {"step": hist["step"]}
        for c in HISTORY_COLUMNS:
            col = hist.get(_FROM_TRAINER.get(c, c))
            out[c] = col if col is not None else np.full(len(hist["step"]), np.nan, np.float32)
        return out

    def last_batch(self) -> np.ndarray:
        """A copy of the batch of real data the last step's discriminator saw, shaped as G's output."""
        return super().last_batch("data", "x")

    # ---- using the model -----------------------------------------------------------------
    def _gen_module(self, ema: bool | None) -> Module:
        if ema is not None:
            ema = check_bool("GAN: ema", ema)
        if ema is None:
            ema = self.G_ema is not None
        if ema and self.G_ema is None:
            raise ValueError("GAN: this GAN keeps no EMA generator (pass g_ema=decay)")
        return self.G_ema if ema else self.G

    def _modes(self, m: Module) -> tuple:
        return tuple(sub.training for sub in m._modules())

    def sample(self, n: int, ema: bool | None = None) -> np.ndarray:
        """``n`` samples G(z), z drawn from the latent in C (a seeded stream of its own).

        Uses the EMA generator when the GAN keeps one (``ema=False`` for the raw G).

        Sampling reads the model and never changes it: batch norm layers of G in
        training mode (the default, and G's mode during ``fit``) normalise with the
        statistics of these ``n`` samples, as ``G(z)`` does in PyTorch's ``train()``
        mode, but their running statistics are left as they are (so the next
        checkpoint is the same); after ``G.eval()`` they use the running statistics,
        as in PyTorch's ``eval()`` mode. Dropout follows the same modes.

        The programs compiled for the last few values of ``n`` are kept (see
        :meth:`clear_cache`); the latent stream goes on across values of ``n``.

        Examples
        --------
        >>> S = gan.sample(2500)                    # doctest: +SKIP
        """
        n = check_int("GAN.sample: n", n, 1)
        G = self._gen_module(ema)
        key = ("sample", id(G), id(G.buffer), self._modes(G))
        fn = self._samplers.get(key)
        if fn is None:
            # one Function for every n: n is the batch of a dummy input the program does not read
            fn = ops.Function(lambda rows: G(self.latent.sample(rows.shape[0])), seed=self.seed * 8 + 4,
                              update_state=False)
            fn.__name__ = "GAN.sample"
            self._samplers.put(key, fn)
        with G.buffer.in_use("GAN.sample (its generator)"):
            return fn(np.empty((n, 1), np.float32))

    def generate(self, z: Any, ema: bool | None = None) -> np.ndarray:
        """G(z) for given latents ``z`` of shape (n, latent dim).

        A read, like :meth:`sample`: batch norm in training mode uses the batch's
        statistics and leaves the running statistics unchanged; in eval mode it
        uses the running statistics.
        """
        z = np.asarray(z)
        if z.ndim != 2 or z.shape[1] != self.latent.dim:
            raise ValueError(f"GAN.generate: z must have shape (n, {self.latent.dim}), got {z.shape}")
        return self._gen_module(ema)._read(z)

    def discriminate(self, x: Any) -> np.ndarray:
        """D's raw outputs (logits / critic values) for ``x``.

        Scoring reads the model and never changes it: batch norm layers of D in
        training mode normalise with the statistics of ``x`` (PyTorch's ``train()``
        mode) without updating their running statistics; after ``D.eval()`` they use
        the running statistics (PyTorch's ``eval()`` mode).

        With ``pack=m``, consecutive groups of ``m`` rows are packed into one D input,
        so ``len(x)`` must be a multiple of ``m`` and there are ``len(x) / m`` outputs.
        """
        if self.D is None:
            raise ValueError("GAN.discriminate: this GAN has no discriminator (loss='mmd')")
        x = np.asarray(x)
        if tuple(x.shape[1:]) != self._out_shape:
            raise ValueError(f"GAN.discriminate: rows must have shape {self._out_shape}, got {tuple(x.shape[1:])}")
        if x.shape[0] % self.pack:
            raise ValueError(f"GAN.discriminate: {x.shape[0]} rows cannot be packed in groups of pack={self.pack}")
        return self.D._read(np.ascontiguousarray(x).reshape(self._packed_shape(x.shape[0])))

    def clear_cache(self) -> None:
        """Drop every compiled program kept for use outside ``fit`` (the modules' forward
        programs and those of :meth:`sample`, :meth:`generate`, :meth:`discriminate`);
        their C arenas are freed. The sampling stream goes on where it stood.

        Examples
        --------
        >>> gan.clear_cache()                       # doctest: +SKIP
        """
        super().clear_cache()
        for fn in self._samplers.values():
            fn.clear_cache()

    # ---- checkpoints -------------------------------------------------------------------------
    def _config(self) -> dict:
        def spec(m: Module | None) -> Any:
            return None if m is None else _spec_or_none(m)
        return {"loss": self.loss_spec if isinstance(self.loss_spec, str) else None,
                "penalty": self.penalty_spec if isinstance(self.penalty_spec, (str, type(None))) else "custom",
                "penalty_weight": self.penalty_weight if self.penalty is not None else None, "d_steps": self.d_steps, "g_steps": self.g_steps,
                "update": self.update, "unroll": self.unroll, "unroll_first_order": self.unroll_first_order,
                "label_smoothing": self.label_smoothing, "g_ema": self.g_ema,
                "historical_averaging": self.historical_averaging, "clip": self.clip,
                "feature_matching": self.feature_matching, "pack": self.pack, "seed": self.seed,
                "latent": self.latent.spec(), "G": spec(self.G), "D": spec(self.D),
                "g_opt": {"kind": self.g_opt.kind, "config": self.g_opt.config},
                "d_opt": None if self.d_opt is None else {"kind": self.d_opt.kind, "config": self.d_opt.config}}

    def _after_load(self) -> None:
        self._samplers.clear()

    @classmethod
    def _from_config(cls, path: str, cfg: dict, G: Module | None = None, D: Module | None = None,
                     latent: Any = None, loss: Any = None, penalty: Any = None) -> "GAN":
        """Rebuild a GAN from its saved configuration; custom parts are passed in."""
        G = _rebuilt(path, cfg, G, "G", from_spec)
        is_mmd = cfg.get("loss") == "mmd"
        D = None if is_mmd else _rebuilt(path, cfg, D, "D", from_spec)
        latent = _rebuilt(path, cfg, latent, "latent", _latent.from_spec)
        loss = _rebuilt(path, cfg, loss, "loss", lambda s: s)
        if penalty is None:
            penalty = cfg["penalty"]
            if penalty == "custom":
                raise ValueError(f"gl.load: {path} used a custom penalty; pass penalty=...")
        weight = cfg["penalty_weight"] if penalty is not None else None
        return cls(G, D, latent=latent, loss=loss, penalty=penalty, penalty_weight=weight,
                   d_steps=cfg["d_steps"], g_steps=cfg["g_steps"], update=cfg["update"], unroll=cfg["unroll"],
                   unroll_first_order=cfg["unroll_first_order"], g_opt=_make_optimizer(cfg["g_opt"]),
                   d_opt=None if cfg["d_opt"] is None else _make_optimizer(cfg["d_opt"]),
                   label_smoothing=cfg["label_smoothing"], g_ema=cfg["g_ema"],
                   historical_averaging=cfg["historical_averaging"], clip=cfg["clip"],
                   feature_matching=cfg["feature_matching"], pack=cfg.get("pack", 1), seed=cfg["seed"])


def _load_gan_v1(path: str, tensors: dict[str, np.ndarray], meta: dict[str, str], **overrides: Any) -> GAN:
    """Load a ``ganlib.GAN/1`` checkpoint (ganlib before gl.Trainer) as today's GAN, bit for bit."""
    try:
        cfg, old = json.loads(meta["config"]), json.loads(meta["state"])
        gan = GAN._from_config(path, cfg, **overrides)
        renamed = {"g_opt/state": "optimizer/G/state", "d_opt/state": "optimizer/D/state",
                   "hist/G": "running_average/G", "hist/D": "running_average/D"}
        new: dict[str, np.ndarray] = {}
        for k, v in tensors.items():
            if k.startswith("G_ema/"):
                new["ema/G/" + k[len("G_ema/"):]] = v
            elif not k.endswith("_count"):
                new[renamed.get(k, k)] = v
        opts = {"G": cfg["g_opt"], "D": cfg["d_opt"]}
        state = {"step": old["step"],
                 "optimizers": {n: {"t": old["opt_t"][f"{n.lower()}_opt"], "lr": opts[n]["config"]["lr"]}
                                for n in gan.optimizers},
                 "running_average": {n: int(tensors[f"hist/{n}_count"][0]) for n in gan._running},
                 "streams": [], "programs": {}}
        if "sampler" in old:
            pos, epoch, rseed, rcount = old["sampler"]
            state["streams"] = [{"name": "data", "pos": pos, "epoch": epoch, "rng": [rseed, rcount],
                                 "rows": old["rows"], "batch": old["batch"]}]
            state["programs"] = {p.name: list(rs) for p, rs in zip(gan.phases, old["programs"])}
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: damaged ganlib.GAN/1 checkpoint ({type(e).__name__}: {e})") from None
    gan._apply_state(path, new, state)
    return gan
