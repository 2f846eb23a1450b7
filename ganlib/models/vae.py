"""gl.models.VAE and ConditionalVAE: variational autoencoders trained in C, with the
importance-weighted log-likelihood estimate (Burda et al. 2016).

The encoder outputs ``2 * latent_dim`` values per row: the posterior mean μ, then
log σ². Training minimises the negative ELBO
``E_q[−log p(x|z)] + β · KL(N(μ, σ²) ‖ N(0, I))`` with the KL in closed form and one
reparameterised sample ``z = μ + σ·ε``.

Examples
--------
>>> X, _ = gl.datasets.mnist(split="train", scale=(0, 1))                 # doctest: +SKIP
>>> vae = gl.models.VAE((1, 28, 28), latent_dim=50, binarize=True, seed=0)  # doctest: +SKIP
>>> hist = vae.fit(X, steps=20_000, batch_size=100)                          # doctest: +SKIP
>>> Xt, _ = gl.datasets.mnist(split="test", scale=(0, 1), limit=1000)       # doctest: +SKIP
>>> ll = vae.log_likelihood(Xt, k=5000)                                     # doctest: +SKIP
>>> ll.nll, ll.bits_per_dim                                                 # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from .. import ops
from .._checks import check_bool, check_choice, check_int, check_real
from ..nn.module import Module
from ..optim import Optimizer
from ..trainer import Phase, Step, register_trainer
from ._base import LatentModel, as_given, eval_modes, refuse_unused, sigmoid
from .autoencoder import bernoulli_nll, build_pair, flat_sum, input_shape_of, missing, preset_options

DECODERS = ("bernoulli", "gaussian")
_LOG_2PI = math.log(2.0 * math.pi)
# rows of z per likelihood program run: k samples of one example, or several examples' samples
_LL_ROWS = 5000


@dataclass(frozen=True)
class LogLikelihood:
    """An importance-weighted log-likelihood estimate.

    Attributes
    ----------
    per_example : ndarray (n,), float64
        log p(x_i) in nats.
    k : int
        Importance samples per example.
    dims : int
        Dimensions of one example (for bits/dim).
    """

    per_example: np.ndarray
    k: int
    dims: int

    @property
    def mean(self) -> float:
        """Mean log-likelihood in nats (negative)."""
        return float(self.per_example.mean())

    @property
    def nll(self) -> float:
        """Mean negative log-likelihood in nats."""
        return -self.mean

    @property
    def bits_per_dim(self) -> float:
        """Mean negative log-likelihood in bits per dimension: nll / (dims · ln 2)."""
        return self.nll / (self.dims * math.log(2.0))


def batch_halves(t: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
    """Rows ``[0, b//2)`` and ``[b//2, 2 (b//2))`` of a batch, flattened: ``(b//2, features)`` each."""
    n = t.shape[0]
    h = n // 2
    flat = ops.reshape(t, (1, -1))            # row-major: the first h rows are the first h*w values
    w = flat.shape[1] // n
    return (ops.reshape(ops.slice(flat, 0, h * w), (h, w)),
            ops.reshape(ops.slice(flat, h * w, 2 * h * w), (h, w)))


def lipschitz_penalty(x: ops.Tensor, codes: ops.Tensor, what: str) -> ops.Tensor:
    """``Σᵢ ‖f(lᵢ) − f(l_{i+b/2})‖² / ‖lᵢ − l_{i+b/2}‖²`` over the ``b // 2`` pairs of a batch:
    ``x`` the images ``l`` the encoder saw, ``codes`` their encodings ``f(l)``."""
    if x.shape[0] < 2:
        raise ValueError(f"{what}: lipschitz= pairs rows i and i + b/2 of each batch; it needs batch_size >= 2, "
                         f"got {x.shape[0]}")
    l1, l2 = batch_halves(x)
    f1, f2 = batch_halves(codes)
    omega = ops.sum(ops.square(f1 - f2), axis=1) / (ops.sum(ops.square(l1 - l2), axis=1) + 1e-12)
    return ops.sum(omega)


@register_trainer("ganlib.VAE")
class VAE(LatentModel):
    """A variational autoencoder.

    Parameters
    ----------
    input_shape : tuple
        Shape of one data row, e.g. ``(1, 28, 28)``.
    latent_dim : int
        Width of z.
    preset : {"mlp", "conv"}, optional
        Encoder / decoder pair when ``E`` and ``Dec`` are not given (default "mlp"; the
        encoder outputs ``2 * latent_dim``).
    hidden, width : as :class:`Autoencoder`, optional
        MLP hidden widths (default [500, 500]: 784-500-500-50, the classic VAE) / conv
        width (default 32); each refused with the other preset, and all three preset
        options when ``E`` and ``Dec`` are both given.
    E, Dec : Module, optional
        Your own encoder ``x -> (μ, log σ²)`` (``2 * latent_dim`` wide) and decoder; a
        conditional model calls ``E(x, y)`` and ``Dec(z, y)`` with one-hot ``y``.
    decoder : {"bernoulli", "gaussian"}
        p(x|z): Bernoulli with logits (data in [0, 1]), or Gaussian with mean
        ``Dec(z)`` and fixed variance ``variance`` (the loss is then the squared
        error over 2·variance plus its constant).
    variance : float, optional
        η of the Gaussian decoder (default 1); refused with the Bernoulli decoder.
    beta : float
        Weight of the KL term (β-VAE; 1 is the ELBO).
    kl_warmup : int
        Steps over which the KL weight grows linearly from 0 to ``beta`` (0: none);
        the counter lives in the trainer, so it survives checkpoints.
    binarize : bool
        Dynamically binarised data: every step draws x ~ Bernoulli(pixel intensity)
        inside the C program (Bernoulli decoder only).
    conditional : bool
        The label goes to encoder and decoder (``fit(x, y)``, ``sample(n, labels)``).
    num_classes : int, optional
        Classes of a conditional model (default 10); refused when not conditional.
    lipschitz : float
        Weight λ of the Lipschitz-encoding penalty (Manoj 2018; 30 in the lecture, 0: off)
        ``λ Σᵢ ω(lᵢ, l_{i+b/2})`` over the ``b // 2`` pairs of rows ``i`` and
        ``i + b // 2`` of each batch, with ``ω(l₁, l₂) = ‖f(l₁) − f(l₂)‖² / ‖l₁ − l₂‖²``,
        ``l`` an image of the batch (as the encoder sees it) and ``f`` the encoder (its
        mean μ, the deterministic part of the code): it penalises encodings that lie far
        apart relative to their images. The lecture adds this sum to the negative ELBO
        *summed* over the batch (its VAE is the PyTorch-examples one, ``reduction="sum"``);
        this VAE minimises the batch *mean*, so the penalty enters divided by the batch
        size ``b``: ``mean(−ELBO) + (λ / b) Σᵢ ω`` is the lecture's objective over ``b``, and
        λ keeps the lecture's meaning whatever the batch size (Adam does not see the
        factor). A pair of identical images adds 0 (the denominator carries 1e-12).
        Logged as ``lipschitz`` (the unweighted sum Σᵢ ω).
    encoder_clip : float, optional
        Clamp every encoder weight to ``[−c, c]`` after each update (0.3 in the lecture),
        which bounds the encoder's Lipschitz constant; None: no clipping.
    lr, optimizers, seed
        As :class:`Autoencoder` (``lr`` default 1e-3).

    Examples
    --------
    The Lipschitz-encoding VAE of the lecture (λ = 30, weights clipped to [−0.3, 0.3]):

    >>> reg = gl.models.VAE((1, 28, 28), 16, hidden=[64], lipschitz=30.0, encoder_clip=0.3)
    >>> reg.lipschitz, reg.encoder_clip
    (30.0, 0.3)
    """

    _what = "VAE"

    def __init__(self, input_shape: Any = (1, 28, 28), latent_dim: int = 50, *, preset: str | None = None,
                 hidden: Any = None, width: int | None = None, E: Module | None = None, Dec: Module | None = None,
                 decoder: str = "bernoulli", variance: float | None = None, beta: float = 1.0, kl_warmup: int = 0,
                 binarize: bool = False, conditional: bool = False, num_classes: int | None = None,
                 lipschitz: float = 0.0, encoder_clip: float | None = None, lr: float | None = None,
                 optimizers: Mapping[str, Optimizer] | None = None, seed: int = 0) -> None:
        what = self._what
        self.input_shape = input_shape_of(input_shape, what)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.decoder = check_choice(f"{what}: decoder", decoder, DECODERS)
        self.variance = check_real(f"{what}: variance", 1.0 if variance is None else variance, positive=True)
        if self.decoder != "gaussian":
            refuse_unused(what, f"variance is the Gaussian decoder's; decoder={self.decoder!r}", variance=variance)
        self.beta = check_real(f"{what}: beta", beta, nonnegative=True)
        self.kl_warmup = check_int(f"{what}: kl_warmup", kl_warmup, 0)
        self.binarize = check_bool(f"{what}: binarize", binarize)
        if self.binarize and self.decoder != "bernoulli":
            raise ValueError(f"{what}: binarize=True draws binary data for a Bernoulli decoder; got "
                             f"decoder={self.decoder!r}")
        self._unit_interval = self.decoder == "bernoulli"
        self.conditional = check_bool(f"{what}: conditional", conditional)
        self._needs_labels = self.conditional
        self.num_classes = check_int(f"{what}: num_classes", 10 if num_classes is None else num_classes, 1)
        if not self.conditional:
            refuse_unused(what, "only a conditional model (conditional=True) reads labels", num_classes=num_classes)
        self.lipschitz = check_real(f"{what}: lipschitz", lipschitz, nonnegative=True)
        self.encoder_clip = (None if encoder_clip is None else
                             check_real(f"{what}: encoder_clip", encoder_clip, positive=True))
        opts = preset_options(what, preset, hidden, width, building=missing(E=E, Dec=Dec),
                              given_networks="E and Dec are both given", default_hidden=(500, 500))
        self.preset, self.hidden, self.width = opts.preset, opts.hidden, opts.width
        seed = check_int(f"{what}: seed", seed, 0)
        extra = self.num_classes if self.conditional else 0
        if E is None or Dec is None:
            pe, pd = build_pair(self.preset, self.input_shape, 2 * self.latent_dim, self.latent_dim, self.hidden,
                                self.width, seed, enc_extra=extra, dec_extra=extra, what=what)
        E = self._module(E, "E", lambda: pe)
        Dec = self._module(Dec, "Dec", lambda: pd)
        self.lr = self._rate("lr", lr, 1e-3, ("E", "Dec"), optimizers)
        # checkpoints keep the options as given
        self._given = {**opts.given, "variance": as_given(variance, self.variance),
                       "num_classes": as_given(num_classes, self.num_classes), "lr": as_given(lr, self.lr)}
        clip = None if self.encoder_clip is None else {"E": self.encoder_clip}
        self._init_model({"E": E, "Dec": Dec}, self.lr, optimizers, ("E", "Dec"), seed, clip=clip)

    def _encoder_takes_labels(self) -> bool:
        return self.conditional

    def _decoder_takes_labels(self) -> bool:
        return self.conditional

    # ---- the model, symbolically ----------------------------------------------------------------
    def _posterior(self, x: ops.Tensor, y: ops.Tensor | None) -> tuple[ops.Tensor, ops.Tensor]:
        h = self.E(x) if y is None else self.E(x, y)
        d = self.latent_dim
        if h.shape != (x.shape[0], 2 * d):
            raise ValueError(f"{self._what}: the encoder must output (n, 2 * latent_dim) = (n, {2 * d}) "
                             f"(μ then log σ²), got {h.shape}")
        return ops.slice(h, 0, d), ops.slice(h, d, 2 * d)

    def _neg_log_px(self, out: ops.Tensor, x: ops.Tensor) -> ops.Tensor:
        """−log p(x|z) per row."""
        if out.shape != x.shape:
            raise ValueError(f"{self._what}: the decoder outputs {out.shape} for data of shape {x.shape}")
        if self.decoder == "bernoulli":
            return bernoulli_nll(out, x)
        dims = int(np.prod(x.shape[1:]))
        return flat_sum(ops.square(out - x)) * (0.5 / self.variance) + 0.5 * dims * math.log(2 * math.pi *
                                                                                            self.variance)

    def _decode_sym(self, z: ops.Tensor, y: ops.Tensor | None) -> ops.Tensor:
        return self.Dec(z) if y is None else self.Dec(z, y)

    def _phases(self) -> list[Phase]:
        return [Phase("VAE", self._step)]

    def _step(self, b: Any) -> Step:
        x = b.data.x
        if self.binarize:
            x = ops.bernoulli(x)
        y = b.data.y if self.conditional else None
        mu, logvar = self._posterior(x, y)
        eps = ops.randn(mu.shape)
        z = mu + ops.exp(logvar * 0.5) * eps
        rec = ops.mean(self._neg_log_px(self._decode_sym(z, y), x))
        kl = ops.mean(ops.sum(ops.square(mu) + ops.exp(logvar) - logvar - 1.0, axis=1)) * 0.5
        log = {"recon": rec, "kl": kl, "neg_elbo": rec + kl}
        keep = {}
        if self.kl_warmup:
            t = b.state("kl_step")
            weight = ops.clip(t * (1.0 / self.kl_warmup), 0.0, 1.0) * self.beta
            keep["kl_step"] = t + 1.0
            log["kl_weight"] = weight
            loss = rec + weight * kl
        else:
            loss = rec + kl * self.beta if self.beta != 1.0 else rec + kl
        if self.lipschitz:
            penalty = lipschitz_penalty(x, mu, self._what)
            log["lipschitz"] = penalty
            loss = loss + penalty * (self.lipschitz / x.shape[0])     # the lecture's batch-summed objective / b
        return Step(minimize={"E": loss, "Dec": loss}, log=log, keep=keep)

    # ---- reading -----------------------------------------------------------------------------------
    def _encode_rows(self, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        h = self._infer("E", x) if y is None else self._infer("E", x, y)
        return np.ascontiguousarray(h[:, :self.latent_dim])

    def encode_distribution(self, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The posterior's mean μ and log-variance log σ², each ``(n, latent_dim)``."""
        rows, yy = self._inputs(x, y, "VAE.encode_distribution")
        read = (lambda r, l=None: self._infer("E", r) if l is None else self._infer("E", r, l))
        h = self._batched(read, rows) if yy is None else self._batched(read, rows, yy)
        return np.ascontiguousarray(h[:, :self.latent_dim]), np.ascontiguousarray(h[:, self.latent_dim:])

    def _decode_rows(self, z: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        out = self._infer("Dec", z) if y is None else self._infer("Dec", z, y)
        return sigmoid(out) if self.decoder == "bernoulli" else out

    # ---- likelihood ---------------------------------------------------------------------------------
    def _log_weights_fn(self, m: int, k: int, seed: int) -> Any:
        """A program: m examples -> (m,) logsumexp over k importance samples of log p(x, z) − log q(z|x)."""
        d = self.latent_dim

        def rep(t: ops.Tensor) -> ops.Tensor:   # (m, w) -> (m * k, w), each row k times
            w = t.shape[1]
            return ops.reshape(ops.broadcast_to(ops.reshape(t, (m, 1, w)), (m, k, w)), (m * k, w))

        def fn(x: ops.Tensor, *y: ops.Tensor) -> ops.Tensor:
            with eval_modes(self.E, self.Dec):
                return log_weights(x, y[0] if y else None)

        def log_weights(x: ops.Tensor, yy: ops.Tensor | None) -> ops.Tensor:
            mu, logvar = self._posterior(x, yy)
            eps = ops.randn((m * k, d))
            z = rep(mu) + ops.exp(rep(logvar) * 0.5) * eps
            flat = ops.reshape(x, (m, -1))
            out = self._decode_sym(z, rep(yy) if yy is not None else None)
            xr = ops.reshape(rep(flat), out.shape)
            log_px = -self._neg_log_px(out, xr)
            log_pz = ops.sum(ops.square(z), axis=1) * -0.5 - 0.5 * d * _LOG_2PI
            log_qz = (ops.sum(ops.square(eps), axis=1) + ops.sum(rep(logvar), axis=1)) * -0.5 - 0.5 * d * _LOG_2PI
            return ops.logsumexp(ops.reshape(log_px + log_pz - log_qz, (m, k)), axis=1)
        return ops.Function(fn, seed=seed, training=False, update_state=False)

    def log_likelihood(self, x: Any, k: int = 5000, y: Any = None, binarize: bool | None = None,
                       seed: int = 0) -> LogLikelihood:
        """The importance-weighted estimate log (1/k) Σᵢ p(x, zᵢ) / q(zᵢ|x), zᵢ ~ q(z|x).

        A lower bound on log p(x) that tightens as k grows (Burda et al. 2016; k = 5000
        is the literature's test protocol). The log-weights of every example are
        computed in C, in batches of at most 5000 samples, and reduced with a
        log-sum-exp that accumulates in float64; batches combine in float64.

        Parameters
        ----------
        x : ndarray (n, *input_shape)
        k : int
            Importance samples per example (>= 1; k = 1 is the ELBO's estimate).
        y : ndarray of int, optional
            Labels of a conditional model (then the estimate is of log p(x | y)).
        binarize : bool, optional
            Draw x ~ Bernoulli(x) once (seeded by ``seed``) before estimating, as the
            test set of dynamically binarised MNIST is drawn; default: the model's
            ``binarize``. Binary data is used as it is.
        seed : int
            Seeds the binarisation and the importance samples.

        Returns
        -------
        LogLikelihood
            ``.per_example`` (nats), ``.nll``, ``.bits_per_dim``.

        Examples
        --------
        >>> ll = vae.log_likelihood(X_test[:100], k=5000)              # doctest: +SKIP
        >>> round(ll.nll, 1), round(ll.bits_per_dim, 3)                 # doctest: +SKIP
        """
        what = "VAE.log_likelihood"
        k = check_int(f"{what}: k", k, 1)
        seed = check_int(f"{what}: seed", seed, 0)
        binarize = self.binarize if binarize is None else check_bool(f"{what}: binarize", binarize)
        if binarize and self.decoder != "bernoulli":
            raise ValueError(f"{what}: binarize=True needs the Bernoulli decoder")
        rows, yy = self._inputs(x, y, what)
        n = rows.shape[0]
        if binarize:
            rng = np.random.default_rng(seed)
            rows = (rng.random(rows.shape, dtype=np.float32) < rows).astype(np.float32)
        kk = min(k, _LL_ROWS)
        m = max(1, min(n, _LL_ROWS // kk))
        total = np.full(n, -np.inf)
        fns: dict[tuple, Any] = {}
        with self._reading():
            for r in range(0, k, kk):
                kr = min(kk, k - r)
                for i in range(0, n, m):
                    mi = min(m, n - i)
                    fn = fns.get((mi, kr))
                    if fn is None:
                        fn = fns[(mi, kr)] = self._log_weights_fn(mi, kr, seed * 4 + len(fns))
                    args = (rows[i:i + mi],) if yy is None else (rows[i:i + mi], yy[i:i + mi])
                    part = np.asarray(fn(*args), np.float64)
                    total[i:i + mi] = np.logaddexp(total[i:i + mi], part)
        for fn in fns.values():
            fn.clear_cache()
        return LogLikelihood(total - math.log(k), k, int(np.prod(self.input_shape)))

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Hold the networks' buffers: no other thread may run or train them meanwhile."""
        with contextlib.ExitStack() as stack:
            for buf in {id(m.buffer): m.buffer for m in (self.E, self.Dec)}.values():
                stack.enter_context(buf.in_use("VAE.log_likelihood"))
            yield

    def _options(self) -> dict:
        return {"input_shape": list(self.input_shape), "latent_dim": self.latent_dim, **self._given,
                "decoder": self.decoder, "beta": self.beta, "kl_warmup": self.kl_warmup, "binarize": self.binarize,
                "conditional": self.conditional, "lipschitz": self.lipschitz, "encoder_clip": self.encoder_clip,
                "seed": self.seed}


@register_trainer("ganlib.ConditionalVAE")
class ConditionalVAE(VAE):
    """A VAE whose encoder and decoder both take the class label: ``VAE(conditional=True)``.

    Examples
    --------
    >>> cvae = gl.models.ConditionalVAE((1, 28, 28), latent_dim=16, num_classes=10)  # doctest: +SKIP
    >>> cvae.fit(X, y, steps=5000)                                                    # doctest: +SKIP
    >>> digits = cvae.sample(10, labels=np.arange(10))                                # doctest: +SKIP
    """

    _what = "ConditionalVAE"

    def __init__(self, input_shape: Any = (1, 28, 28), latent_dim: int = 50, **kwargs: Any) -> None:
        kwargs.setdefault("conditional", True)
        if not kwargs["conditional"]:
            raise ValueError("ConditionalVAE: conditional must be True (use gl.models.VAE otherwise)")
        super().__init__(input_shape, latent_dim, **kwargs)
