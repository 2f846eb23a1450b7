"""gl.models.VQVAE: the vector-quantised autoencoder (van den Oord et al. 2017).

The encoder's output ``z`` ``(n, latent_dim)`` is cut into ``latent_dim / code_dim``
vectors of width ``code_dim`` (the "positions" of the code, like the cells of a
VQ-VAE's latent map); each is replaced by its nearest vector of a codebook of
``num_codes`` entries. Per step (one phase, ``"VQ"``):

* ``onehot = argmin(stop_gradient(‖zᵢ − e_k‖²))``, ``q = onehot @ codebook``
  (the look-up: no gradient into the distances, the codebook's own gradient);
* the decoder sees ``z + stop_gradient(q − z)``: the quantised value forward, the
  decoder's gradient passed straight through to the encoder;
* loss = reconstruction + ``mean((sg(z) − q)²)`` (codebook) +
  ``β · mean((z − sg(q))²)`` (commitment, β = 0.25), means over every element.

With ``ema=`` the codebook is not trained by gradient: it is the exponential moving
average of the encoder outputs assigned to each code (van den Oord et al., appendix;
Razavi et al. 2019), kept in the trainer's state (``b.state`` / ``Step(keep=...)``):
counts ``N ← γ N + (1 − γ) nₖ`` and sums ``m ← γ m + (1 − γ) Σ zᵢ``, then
``e_k = m_k / Ñ_k`` with the Laplace-smoothed counts
``Ñ = (N + ε) / (Σ N + K ε) · Σ N`` (ε = 1e-5). N starts at 1 and m at the initial
codebook, so a code that is never chosen keeps its place instead of collapsing to 0.
``restart_dead=T`` (EMA only) moves every code unused for T consecutive steps onto a
randomly chosen encoder output of the current batch (its count reset to 1); the
restarts are logged as ``restarted``.

Examples
--------
>>> X, _ = gl.datasets.mnist(split="train", scale=(0, 1), limit=10_000)        # doctest: +SKIP
>>> vq = gl.models.VQVAE((1, 28, 28), latent_dim=64, num_codes=256, code_dim=8, ema=True,
...                      restart_dead=200, seed=0)                            # doctest: +SKIP
>>> hist = vq.fit(X, steps=5000, batch_size=100)                               # doctest: +SKIP
>>> vq.codebook_usage(X[:2000])                                               # doctest: +SKIP
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .. import ops
from .._checks import check_choice, check_int, check_real
from ..nn.layers import _rng, register_spec
from ..nn.module import Module
from ..optim import Optimizer
from ..trainer import Phase, Step, register_trainer
from ._base import LatentModel, as_given, sigmoid
from .autoencoder import RECONSTRUCTIONS, build_pair, input_shape_of, missing, preset_options, reconstruction_error

EMA_EPSILON = 1e-5      # ε of the Laplace smoothing of the EMA counts
EMA_DEFAULT = 0.99      # the decay of ema=True


def _uniform_codes(w: np.ndarray, rng: np.random.Generator) -> None:
    """U(−√(3/D), √(3/D)): unit variance per coordinate (Sonnet's VQ-VAE initialisation)."""
    bound = math.sqrt(3.0 / w.shape[1])
    w[...] = rng.uniform(-bound, bound, size=w.shape)


class Codebook(Module):
    """``num_codes`` code vectors of width ``dim``: one parameter ``weight`` ``(num_codes, dim)``.

    Its own module, so it gets its own optimizer in a :class:`VQVAE`. Called on rows
    ``(n, dim)`` it returns each row's nearest code (the look-up, with the codebook's
    gradient and none into the rows).

    Parameters
    ----------
    num_codes, dim : int
    seed : int, optional
        Seeds the initialisation ``U(−√(3/dim), √(3/dim))``.

    Examples
    --------
    >>> cb = gl.models.vqvae.Codebook(4, 2, seed=0)
    >>> q = cb(np.zeros((3, 2), np.float32))
    >>> bool((q == cb.param("weight")[np.argmin((cb.param("weight") ** 2).sum(1))]).all())
    True
    """

    def __init__(self, num_codes: int, dim: int, seed: int | None = None) -> None:
        super().__init__()
        self.num_codes = check_int("Codebook: num_codes", num_codes, 1)
        self.dim = check_int("Codebook: dim", dim, 1)
        self.add_param("weight", (self.num_codes, self.dim), _uniform_codes, _rng(seed, "Codebook: seed"))

    def spec(self) -> dict:
        return {"type": "Codebook", "num_codes": self.num_codes, "dim": self.dim}

    def forward(self, z: ops.Tensor) -> ops.Tensor:
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise ValueError(f"Codebook({self.num_codes}, {self.dim}): expected rows of shape (n, {self.dim}), "
                             f"got {z.shape}")
        return nearest_codes(z, self.p("weight"))[1]

    def __repr__(self) -> str:
        return f"Codebook({self.num_codes}, {self.dim})"


register_spec("Codebook", lambda d: Codebook(d["num_codes"], d["dim"], seed=0))


def nearest_codes(z: ops.Tensor, codebook: ops.Tensor) -> tuple[ops.Tensor, ops.Tensor]:
    """``(onehot, q)``: the one-hot rows of each row's nearest code (squared distance) and
    the codes themselves, ``q = onehot @ codebook`` (gradient to the codebook only)."""
    zs, cs = ops.stop_gradient(z), ops.stop_gradient(codebook)
    k = codebook.shape[0]
    dist = (ops.sumsq_rows(zs, keepdims=True) - 2.0 * ops.matmul(zs, cs, trans_b=True)
            + ops.reshape(ops.sumsq_rows(cs), (1, k)))
    onehot = ops.argmin(ops.stop_gradient(dist))
    return onehot, ops.matmul(onehot, codebook)


def nearest_rows(z: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Index of the nearest codebook row of each row of ``z`` (NumPy, float64 distances)."""
    z64, c64 = z.astype(np.float64), codebook.astype(np.float64)
    dist = (z64 ** 2).sum(axis=1)[:, None] - 2.0 * z64 @ c64.T + (c64 ** 2).sum(axis=1)[None, :]
    return np.argmin(dist, axis=1)


@register_trainer("ganlib.VQVAE")
class VQVAE(LatentModel):
    """A VQ-VAE: an autoencoder whose code is quantised to a learned codebook.

    Parameters
    ----------
    input_shape : tuple
        Shape of one data row, e.g. ``(1, 28, 28)``.
    latent_dim : int
        Width of the encoder's output, a multiple of ``code_dim``.
    num_codes : int
        K, the codebook size.
    code_dim : int
        D, the width of one code vector; the code has ``latent_dim / code_dim`` of them,
        all looked up in the one codebook.
    preset, hidden, width, E, Dec : as :class:`Autoencoder`
        The encoder outputs ``(n, latent_dim)``; the decoder takes the quantised code.
    codebook : Codebook, optional
        Your own codebook module (gradient-trained codebook only).
    reconstruction : {"mse", "bernoulli"}
        As :class:`Autoencoder`.
    beta : float
        β, the weight of the commitment loss (0.25 in the paper).
    ema : bool or float
        False: the codebook is a :class:`Codebook` module trained by its own optimizer on
        the codebook loss. True (decay 0.99) or a decay in (0, 1): the codebook is the
        exponential moving average described in the module docstring, held in the
        trainer's state (and checkpoints); the loss then has no codebook term.
    restart_dead : int
        With ``ema``: codes unused for this many consecutive steps are moved onto random
        encoder outputs of the batch (0: never). A gradient-trained codebook is written
        by its optimizer only, so it refuses this option.
    lr, optimizers, seed
        As :class:`Autoencoder` (the codebook module is ``"codebook"``, seeded ``seed + 2``;
        ``lr`` default 1e-3, refused when ``optimizers`` gives every module's optimizer).

    Notes
    -----
    ``encode`` returns the quantised code (flattened: ``(n, latent_dim)``), the input of
    linear probes; ``encode(x, quantized=False)`` the encoder's own output. ``decode``
    quantises any code before decoding, and ``interpolate`` mixes the encoder's own
    outputs (as the ACAI reference implementation does), so each decoded step is
    quantised. ``sample`` decodes codes drawn uniformly from the codebook at every
    position: the VQ-VAE's training prior (a PixelCNN prior is not part of this model).

    Examples
    --------
    >>> X = np.random.default_rng(0).random((256, 1, 8, 8)).astype(np.float32)
    >>> vq = gl.models.VQVAE((1, 8, 8), latent_dim=8, num_codes=16, code_dim=2, hidden=[32], ema=True, seed=0)
    >>> hist = vq.fit(X, steps=20, batch_size=32, progress=False)
    >>> vq.encode(X[:3]).shape, vq.code_indices(X[:3]).shape
    ((3, 8), (3, 4))
    >>> 0.0 < vq.codebook_usage(X) <= 1.0
    True
    """

    _what = "VQVAE"

    def __init__(self, input_shape: Any = (1, 28, 28), latent_dim: int = 64, *, num_codes: int = 256,
                 code_dim: int = 8, preset: str | None = None, hidden: Any = None, width: int | None = None,
                 E: Module | None = None, Dec: Module | None = None, codebook: Module | None = None,
                 reconstruction: str = "mse", beta: float = 0.25, ema: bool | float = False, restart_dead: int = 0,
                 lr: float | None = None, optimizers: Mapping[str, Optimizer] | None = None, seed: int = 0) -> None:
        what = self._what
        self.input_shape = input_shape_of(input_shape, what)
        self.latent_dim = check_int(f"{what}: latent_dim", latent_dim, 1)
        self.num_codes = check_int(f"{what}: num_codes", num_codes, 1)
        self.code_dim = check_int(f"{what}: code_dim", code_dim, 1)
        if self.latent_dim % self.code_dim:
            raise ValueError(f"{what}: latent_dim ({self.latent_dim}) must be a multiple of code_dim "
                             f"({self.code_dim}): the code is latent_dim / code_dim vectors of width code_dim")
        self.positions = self.latent_dim // self.code_dim
        self.num_classes = 0
        self.reconstruction = check_choice(f"{what}: reconstruction", reconstruction, RECONSTRUCTIONS)
        self._unit_interval = self.reconstruction == "bernoulli"
        self.beta = check_real(f"{what}: beta", beta, nonnegative=True)
        if isinstance(ema, (bool, np.bool_)):
            self.ema: float | None = EMA_DEFAULT if ema else None
        else:
            self.ema = check_real(f"{what}: ema", ema)
            if not 0.0 < self.ema < 1.0:
                raise ValueError(f"{what}: ema must be True, False or a decay in (0, 1), got {ema!r}")
        self.restart_dead = check_int(f"{what}: restart_dead", restart_dead, 0)
        if self.restart_dead and self.ema is None:
            raise ValueError(f"{what}: restart_dead= needs ema=True: a gradient-trained codebook is a module "
                             "parameter that only its optimizer writes, so its rows cannot be re-initialised "
                             "inside the training program")
        if codebook is not None and self.ema is not None:
            raise ValueError(f"{what}: an EMA codebook (ema=...) lives in the trainer's state, not in a module; "
                             "pass codebook= only with ema=False")
        opts = preset_options(what, preset, hidden, width, building=missing(E=E, Dec=Dec),
                              given_networks="E and Dec are both given")
        self.preset, self.hidden, self.width = opts.preset, opts.hidden, opts.width
        seed = check_int(f"{what}: seed", seed, 0)
        if E is None or Dec is None:
            pe, pd = build_pair(self.preset, self.input_shape, self.latent_dim, self.latent_dim, self.hidden,
                                self.width, seed, what=what)
        modules = {"E": self._module(E, "E", lambda: pe), "Dec": self._module(Dec, "Dec", lambda: pd)}
        if self.ema is None:
            cb = self._module(codebook, "codebook", lambda: Codebook(self.num_codes, self.code_dim, seed=seed + 2))
            if not isinstance(cb, Codebook) or (cb.num_codes, cb.dim) != (self.num_codes, self.code_dim):
                raise ValueError(f"{what}: codebook must be a gl.models.vqvae.Codebook({self.num_codes}, "
                                 f"{self.code_dim}), got {cb!r}")
            modules["codebook"] = cb
        self.lr = self._rate("lr", lr, 1e-3, tuple(modules), optimizers)
        self._given = {**opts.given, "lr": as_given(lr, self.lr)}     # checkpoints keep the options as given
        self._init_model(modules, self.lr, optimizers, tuple(modules), seed)
        if self.ema is not None:
            init = np.empty((self.num_codes, self.code_dim), np.float32)
            _uniform_codes(init, np.random.default_rng(seed + 2))
            self._kept.update(vq_codebook=init, vq_sum=init.copy(),
                              vq_count=np.ones(self.num_codes, np.float32))
            if self.restart_dead:
                self._kept["vq_idle"] = np.zeros(self.num_codes, np.float32)

    # ---- the phase ------------------------------------------------------------------------------
    def _phases(self) -> list[Phase]:
        return [Phase("VQ", self._step)]

    def _step(self, b: Any) -> Step:
        x = b.data.x
        n = x.shape[0]
        k, dim = self.num_codes, self.code_dim
        z = self.E(x)
        if z.shape != (n, self.latent_dim):
            raise ValueError(f"{self._what}: the encoder must output (n, latent_dim) = (n, {self.latent_dim}), "
                             f"got {z.shape}")
        rows = ops.reshape(z, (n * self.positions, dim))
        codes = self.modules["codebook"].p("weight") if self.ema is None else b.state("vq_codebook", (k, dim))
        onehot, q = nearest_codes(rows, codes)
        st = ops.reshape(rows + ops.stop_gradient(q - rows), (n, self.latent_dim))
        recon = reconstruction_error(self.Dec(st), x, self.reconstruction)
        commitment = ops.mean(ops.square(rows - ops.stop_gradient(q)))
        counts = ops.sum(onehot, axis=0)
        log = {"recon": recon, "commitment": commitment,
               "batch_usage": ops.sum(ops.clip(counts, 0.0, 1.0)) * (1.0 / k)}
        loss = recon + commitment * self.beta
        keep: dict[str, ops.Tensor] = {}
        if self.ema is None:
            cb_loss = ops.mean(ops.square(ops.stop_gradient(rows) - q))
            log["codebook"] = cb_loss
            loss = loss + cb_loss
            minimize = {"E": loss, "Dec": loss, "codebook": loss}
        else:
            keep = self._ema_update(b, onehot, counts, ops.stop_gradient(rows), log)
            minimize = {"E": loss, "Dec": loss}
        return Step(minimize=minimize, log=log, keep=keep)

    def _ema_update(self, b: Any, onehot: ops.Tensor, counts: ops.Tensor, rows: ops.Tensor,
                    log: dict) -> dict[str, ops.Tensor]:
        k, dim, g = self.num_codes, self.code_dim, self.ema
        count = b.state("vq_count", (k,), 1.0) * g + counts * (1.0 - g)
        total = b.state("vq_sum", (k, dim)) * g + ops.matmul(onehot, rows, trans_a=True) * (1.0 - g)
        n = ops.sum(count)
        smoothed = (count + EMA_EPSILON) / (n + k * EMA_EPSILON) * n
        codes = total / ops.reshape(smoothed, (k, 1))
        if self.restart_dead:
            idle = (b.state("vq_idle", (k,)) + 1.0) * (1.0 - ops.clip(counts, 0.0, 1.0))
            dead = ops.clip(idle - (self.restart_dead - 1.0), 0.0, 1.0)        # idle counts are whole numbers
            fresh = ops.matmul(ops.rand_onehot(k, rows.shape[0]), rows)        # a random batch row per code
            dead_col = ops.reshape(dead, (k, 1))
            codes = dead_col * fresh + (1.0 - dead_col) * codes
            total = dead_col * fresh + (1.0 - dead_col) * total
            count = dead + (1.0 - dead) * count
            log["restarted"] = ops.sum(dead)
            return {"vq_count": count, "vq_sum": total, "vq_codebook": codes, "vq_idle": idle * (1.0 - dead)}
        return {"vq_count": count, "vq_sum": total, "vq_codebook": codes}

    # ---- reading ------------------------------------------------------------------------------------
    @property
    def codebook(self) -> np.ndarray:
        """A copy of the codebook ``(num_codes, code_dim)``."""
        if self.ema is None:
            return self.modules["codebook"].param("weight").copy()
        return self._kept["vq_codebook"].copy()

    def _quantize(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(indices (n, positions), quantised code (n, latent_dim))``."""
        codes = self.codebook
        idx = nearest_rows(z.reshape(-1, self.code_dim), codes).reshape(z.shape[0], self.positions)
        return idx, np.ascontiguousarray(codes[idx].reshape(z.shape[0], self.latent_dim))

    def _encode_rows(self, x: np.ndarray) -> np.ndarray:
        return self._quantize(self._infer("E", x))[1]

    def encode(self, x: Any, y: Any = None, quantized: bool = True) -> np.ndarray:
        """The quantised code of ``x`` ``(n, latent_dim)`` (its code vectors, flattened);
        ``quantized=False``: the encoder's own output."""
        if quantized:
            return super().encode(x, y)
        rows, _ = self._inputs(x, y, f"{self._what}.encode")
        return self._batched(lambda r: self._infer("E", r), rows)

    def code_indices(self, x: Any) -> np.ndarray:
        """The codebook index at every position of the code of ``x``: int64 ``(n, latent_dim / code_dim)``."""
        z = self.encode(x, quantized=False)
        return self._quantize(z)[0].astype(np.int64)

    def codebook_usage(self, x: Any) -> float:
        """The fraction of the ``num_codes`` codes chosen at least once when ``x`` is encoded, in [0, 1].

        Examples
        --------
        >>> vq.codebook_usage(X_test)                                  # doctest: +SKIP
        0.83
        """
        return float(np.unique(self.code_indices(x)).size / self.num_codes)

    def _decode_rows(self, z: np.ndarray) -> np.ndarray:
        out = self._infer("Dec", self._quantize(z)[1])
        return sigmoid(out) if self.reconstruction == "bernoulli" else out

    def interpolate(self, x1: Any, x2: Any, steps: int = 16, y1: Any = None, y2: Any = None) -> np.ndarray:
        """Decoded linear interpolations between the encoder outputs (before quantisation) of
        paired rows of ``x1`` and ``x2``: ``(n, steps, *input_shape)``, each step quantised
        by ``decode``."""
        what = f"{self._what}.interpolate"
        steps = check_int(f"{what}: steps", steps, 2)
        if y1 is not None or y2 is not None:
            raise ValueError(f"{what}: a VQVAE's networks take no labels; drop y1= / y2=")
        z1, z2 = self.encode(x1, quantized=False), self.encode(x2, quantized=False)
        if z1.shape != z2.shape:
            raise ValueError(f"{what}: x1 and x2 must have the same number of rows, got {z1.shape[0]} and "
                             f"{z2.shape[0]}")
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
        z = ((1 - t) * z1[:, None, :] + t * z2[:, None, :]).reshape(-1, z1.shape[1])
        return self.decode(z).reshape((z1.shape[0], steps, *self.input_shape))

    def _prior(self, n: int, rng: np.random.Generator, labels: np.ndarray | None) -> np.ndarray:
        idx = rng.integers(self.num_codes, size=(n, self.positions))
        return np.ascontiguousarray(self.codebook[idx].reshape(n, self.latent_dim))

    def _options(self) -> dict:
        return {"input_shape": list(self.input_shape), "latent_dim": self.latent_dim, "num_codes": self.num_codes,
                "code_dim": self.code_dim, **self._given, "reconstruction": self.reconstruction, "beta": self.beta,
                "ema": False if self.ema is None else self.ema, "restart_dead": self.restart_dead, "seed": self.seed}
