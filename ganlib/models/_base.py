"""What every latent-variable model of gl.models shares: data checks, batched reads of its
networks, encode / decode / reconstruct / interpolate / sample, fit over one stream, and
checkpoints that rebuild the model from its options.

A model class is a :class:`~ganlib.trainer.Trainer`: it builds its modules and phase
functions and passes them to the trainer, which runs every step in C.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from .. import ops
from .._checks import check_int, check_real
from ..checkpoint import _make_optimizer, _spec_or_none
from ..nn.layers import from_spec
from ..nn.module import Module
from ..optim import Adam, Optimizer
from ..trainer import Data, Trainer

READ_BATCH = 1000   # rows per forward program outside fit: two programs (full chunk, remainder) at most

# set while gl.load rebuilds a model: its checkpoint gives back every module and optimizer, so options
# that only shape default networks or optimizers are restored as saved (older checkpoints stored their
# defaults even where nothing read them), not refused
_RESTORING: contextvars.ContextVar[bool] = contextvars.ContextVar("ganlib_models_restoring", default=False)


def refuse_unused(what: str, why: str, **options: Any) -> None:
    """Refuse the ``options`` that were given (not None) although nothing would read them.

    Parameters
    ----------
    what : str
        The model, as error messages name it.
    why : str
        Why they would have no effect (ends the message).
    **options
        Argument name -> value as the caller received it (None: not given).

    Raises
    ------
    ValueError
        Naming every given option and ``why``; never while ``gl.load`` rebuilds a model.
    """
    given = [f"{name}={value!r}" for name, value in options.items() if value is not None]
    if given and not _RESTORING.get():
        raise ValueError(f"{what}: {', '.join(given)} would have no effect: {why}")


def as_given(value: Any, checked: Any) -> Any:
    """For checkpoints: None where an option was not given, else its checked value (plain
    Python numbers, which the checkpoint's JSON can hold, where NumPy scalars were passed)."""
    return None if value is None else checked


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings (float32 in, float32 out)."""
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@contextlib.contextmanager
def eval_modes(*modules: Module) -> Iterator[None]:
    """Every submodule in eval mode while a forward pass is traced (batch norm reads its
    running statistics, dropout is off), without touching the modules' compiled caches."""
    saved = [(m, m.training) for mod in modules for m in mod._modules()]
    for m, _ in saved:
        m.training = False
    try:
        yield
    finally:
        for m, mode in saved:
            m.training = mode


class LatentModel(Trainer):
    """Base of the autoencoder family: modules ``E`` (encoder) and ``Dec`` (decoder), plus others.

    Subclasses set ``self.input_shape``, ``self.latent_dim``, ``self.num_classes`` and
    implement ``_phases()``, ``_encode_rows`` and ``_decode_rows``; ``_options()``
    lists their constructor arguments for checkpoints.
    """

    _what = "model"
    _needs_labels = False          # fit refuses data without labels
    _unit_interval = False         # data must lie in [0, 1] (Bernoulli likelihoods)

    def _init_model(self, modules: Mapping[str, Module], lr: float, optimizers: Mapping[str, Optimizer] | None,
                    trained: Iterable[str], seed: int, betas: tuple = (0.9, 0.999),
                    clip: Mapping[str, float] | None = None) -> None:
        opts = dict(optimizers or {})
        for name in opts:   # "module" or "module@phase" (checked further by the Trainer)
            if not isinstance(name, str) or name.partition("@")[0] not in modules:
                raise ValueError(f"{self._what}: optimizers names '{name}', which is not one of its modules "
                                 f"{list(modules)}")
        for name in trained:
            opts.setdefault(name, Adam(lr, betas=betas))
        self._checked: tuple | None = None
        self._readers: dict[str, tuple[Module, ops.Function]] = {}
        Trainer.__init__(self, modules, opts, self._phases(), clip=clip, seed=seed)

    # ---- modules -------------------------------------------------------------------------------
    @property
    def E(self) -> Module:
        return self.modules["E"]

    @property
    def Dec(self) -> Module:
        return self.modules["Dec"]

    def _rate(self, name: str, value: float | None, default: float, serves: Iterable[str],
              optimizers: Mapping[str, Optimizer] | None) -> float:
        """Learning rate ``name`` of the default Adam of the optimizer keys ``serves`` (default ``default``).

        Refused when given while ``optimizers`` gives every one of those keys: no default
        Adam would be built to read it.
        """
        rate = check_real(f"{self._what}: {name}", default if value is None else value, positive=True)
        keys = tuple(serves)
        if value is not None and all(k in dict(optimizers or {}) for k in keys):
            refuse_unused(self._what, f"it sets the default Adam of {', '.join(map(repr, keys))}, and optimizers= "
                          "gives every one of them", **{name: value})
        return rate

    def _module(self, given: Module | None, name: str, build: Callable[[], Module]) -> Module:
        if given is None:
            return build()
        if not isinstance(given, Module):
            raise TypeError(f"{self._what}: {name} must be a ganlib Module, got {type(given).__name__}")
        return given

    # ---- data -----------------------------------------------------------------------------------
    def _rows(self, x: Any, what: str) -> np.ndarray:
        """``x`` as float32 rows of ``input_shape`` (flat rows of the same size are reshaped)."""
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: data must be a numeric array, got dtype {arr.dtype}")
        shape = self.input_shape
        if arr.ndim >= 1 and arr.shape[0] == 0:
            raise ValueError(f"{what}: data is empty (0 rows)")
        if arr.ndim == len(shape) + 1 and tuple(arr.shape[1:]) == shape:
            pass
        elif arr.ndim == 2 and arr.shape[1] == int(np.prod(shape)):
            arr = arr.reshape((arr.shape[0], *shape))
        else:
            raise ValueError(f"{what}: data rows must have shape {shape} (or be flat rows of "
                             f"{int(np.prod(shape))}), got an array of shape {arr.shape}")
        arr = np.ascontiguousarray(arr, np.float32)
        return arr

    def _check_values(self, arr: np.ndarray, what: str) -> None:
        if not np.isfinite(arr).all():
            bad = int(np.argmax((~np.isfinite(arr.reshape(arr.shape[0], -1))).any(axis=1)))
            raise ValueError(f"{what}: row {bad} of the data holds NaN or inf")
        if self._unit_interval and (arr.min() < 0.0 or arr.max() > 1.0):
            raise ValueError(f"{what}: a Bernoulli likelihood needs data in [0, 1] (pixel intensities), got values "
                             f"in [{arr.min():g}, {arr.max():g}]; load MNIST with gl.datasets.mnist(scale=(0, 1))")

    def _labels(self, y: Any, n: int, what: str, allow_unlabelled: bool = False) -> np.ndarray:
        if y is None:
            raise ValueError(f"{what}: this {self._what} needs class labels (y=...)")
        arr = np.asarray(y)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"{what}: labels must be a 1-D integer array, got dtype {arr.dtype} and shape {arr.shape}")
        if arr.shape[0] != n:
            raise ValueError(f"{what}: {arr.shape[0]} labels for {n} rows of data")
        low = -1 if allow_unlabelled else 0
        if n and (arr.min() < low or arr.max() >= self.num_classes):
            allowed = f"[0, {self.num_classes})" + (" or -1 (unlabelled)" if allow_unlabelled else "")
            raise ValueError(f"{what}: labels must lie in {allowed}, got values in [{arr.min()}, {arr.max()}]")
        return arr.astype(np.int64)

    def _one_hot(self, y: np.ndarray, k: int | None = None) -> np.ndarray:
        k = self.num_classes if k is None else k
        out = np.zeros((y.shape[0], k), np.float32)
        out[np.arange(y.shape[0]), y] = 1.0
        return out

    def _fit_data(self, x: Any, y: Any) -> Data:
        """The stream ``fit`` trains on; the checks run once per pair of arrays."""
        key = (id(x), id(y))
        if self._checked is not None and self._checked[0] == key and self._checked[1] is x and self._checked[2] is y:
            return self._checked[3]
        what = f"{type(self).__name__}.fit"
        rows = self._rows(x, what)
        self._check_values(rows, what)
        cols: dict[str, np.ndarray] = {"x": rows}
        classes: dict[str, int] = {}
        if self._needs_labels or y is not None:
            labels = self._stream_labels(y, rows.shape[0], what)
            if labels is not None:
                cols["y"], classes["y"] = labels
        data = Data(num_classes=classes, **cols)
        self._checked = (key, x, y, data)
        return data

    def _stream_labels(self, y: Any, n: int, what: str) -> tuple[np.ndarray, int] | None:
        """Labels as the stream's ``y`` column and its class count; None: not used."""
        if not self._needs_labels:
            raise ValueError(f"{what}: this {self._what} takes no labels (it is not conditional)")
        return self._labels(y, n, what), self.num_classes

    # ---- training --------------------------------------------------------------------------------
    def fit(self, x: Any, y: Any = None, steps: int = 1000, batch_size: int = 100, log_every: int = 100,
            callbacks: Iterable[Callable] = (), progress: bool = True) -> dict[str, np.ndarray]:
        """Train for ``steps`` steps on images ``x`` (and labels ``y``); the loop runs in C.

        Parameters
        ----------
        x : ndarray (n, *input_shape)
            Training data (flat rows of the same size are accepted).
        y : ndarray of int (n,), optional
            Class labels, for the models that use them.
        steps, batch_size, log_every, callbacks, progress
            As :meth:`ganlib.Trainer.fit`; batches are drawn without replacement
            and reshuffled every epoch.

        Returns
        -------
        dict of ndarray
            The history: ``step`` and one column per logged value.
        """
        data = self._fit_data(x, y)
        return Trainer.fit(self, {"data": data}, steps, batch_size, log_every, callbacks, progress)

    # ---- reading the networks ----------------------------------------------------------------------
    def _infer(self, name: str, *arrays: np.ndarray) -> np.ndarray:
        """Module ``name`` on arrays in inference mode (as after ``eval()`` in PyTorch: batch norm
        with its running statistics, no dropout), whatever mode the module is in for training."""
        module = self.modules[name]
        hit = self._readers.get(name)
        if hit is None or hit[0] is not module:
            def forward(*xs: ops.Tensor) -> ops.Tensor:
                with eval_modes(module):
                    return module.forward(*xs)
            fn = ops.Function(forward, training=False, update_state=False)
            fn.__name__ = f"{type(self).__name__}.{name}"
            hit = self._readers[name] = (module, fn)
        with module.buffer.in_use(f"{type(self).__name__} (module {name})"):
            return hit[1](*arrays)

    def clear_cache(self) -> None:
        """Drop every compiled program kept for use outside ``fit`` (forward programs of the
        modules and of ``encode`` / ``decode`` / ``sample``); ``fit``'s own are kept."""
        super().clear_cache()
        for _, fn in self._readers.values():
            fn.clear_cache()

    @staticmethod
    def _batched(fn: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
        n = arrays[0].shape[0]
        if n <= READ_BATCH:
            return fn(*arrays)
        return np.concatenate([fn(*(a[i:i + READ_BATCH] for a in arrays)) for i in range(0, n, READ_BATCH)])

    def _codes(self, z: Any, what: str, width: int | None = None) -> np.ndarray:
        width = self.latent_dim if width is None else width
        arr = np.asarray(z)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: codes must be a numeric array, got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[1] != width or arr.shape[0] == 0:
            raise ValueError(f"{what}: codes must have shape (n, {width}) with n >= 1, got {arr.shape}")
        arr = np.ascontiguousarray(arr, np.float32)
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: codes hold NaN or inf")
        return arr

    def _inputs(self, x: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray | None]:
        rows = self._rows(x, what)
        self._check_values(rows, what)
        if not self._encoder_takes_labels():
            if y is not None:
                raise ValueError(f"{what}: this {self._what}'s encoder takes no labels; drop y=")
            return rows, None
        return rows, self._one_hot(self._labels(y, rows.shape[0], what))

    def _encoder_takes_labels(self) -> bool:
        return False

    def _decoder_takes_labels(self) -> bool:
        return False

    def _prior_takes_labels(self) -> bool:
        """Whether ``sample``'s labels pick the prior's codes (not only the decoder's input)."""
        return False

    def encode(self, x: Any, y: Any = None) -> np.ndarray:
        """Codes of ``x`` ``(n, latent_dim)`` (a VAE's posterior means); labels ``y`` for
        conditional encoders.

        Examples
        --------
        >>> Z = model.encode(X_test)                                   # doctest: +SKIP
        """
        rows, yy = self._inputs(x, y, f"{type(self).__name__}.encode")
        return self._batched(self._encode_rows, rows) if yy is None else self._batched(self._encode_rows, rows, yy)

    def decode(self, z: Any, y: Any = None) -> np.ndarray:
        """Images ``(n, *input_shape)`` for codes ``z`` (the decoder's mean: probabilities
        for a Bernoulli likelihood); labels ``y`` for decoders that take them."""
        what = f"{type(self).__name__}.decode"
        codes = self._codes(z, what)
        if self._decoder_takes_labels():
            yy = self._one_hot(self._labels(y, codes.shape[0], what))
            return self._batched(self._decode_rows, codes, yy)
        if y is not None:
            raise ValueError(f"{what}: this {self._what}'s decoder takes no labels")
        return self._batched(self._decode_rows, codes)

    def reconstruct(self, x: Any, y: Any = None) -> np.ndarray:
        """``decode(encode(x))``: the reconstruction of ``x`` (labels ``y`` for the networks that take them)."""
        if y is not None and not (self._encoder_takes_labels() or self._decoder_takes_labels()):
            raise ValueError(f"{type(self).__name__}.reconstruct: this {self._what}'s networks take no labels; "
                             "drop y=")
        z = self.encode(x, y if self._encoder_takes_labels() else None)
        return self.decode(z, y if self._decoder_takes_labels() else None)

    def interpolate(self, x1: Any, x2: Any, steps: int = 16, y1: Any = None, y2: Any = None) -> np.ndarray:
        """Decoded linear interpolations between the codes of paired rows of ``x1`` and ``x2``.

        Returns ``(n, steps, *input_shape)``: row i goes from ``x1[i]``'s code (first
        image) to ``x2[i]``'s (last image). An encoder that takes labels reads ``y1``
        and ``y2`` (default ``y1``); a decoder that takes them, ``y1``.

        Examples
        --------
        >>> strip = model.interpolate(X[:8], X[8:16], steps=16)       # doctest: +SKIP
        """
        what = f"{type(self).__name__}.interpolate"
        steps = check_int(f"{what}: steps", steps, 2)
        enc, dec = self._encoder_takes_labels(), self._decoder_takes_labels()
        if (y1 is not None and not (enc or dec)) or (y2 is not None and not enc):
            raise ValueError(f"{what}: this {self._what}'s " + ("decoder reads y1 only (one label per row); drop y2="
                             if dec else "networks take no labels; drop y1= / y2="))
        z1 = self.encode(x1, y1 if enc else None)
        z2 = self.encode(x2, (y2 if y2 is not None else y1) if enc else None)
        if z1.shape != z2.shape:
            raise ValueError(f"{what}: x1 and x2 must have the same number of rows, got {z1.shape[0]} and "
                             f"{z2.shape[0]}")
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
        z = ((1 - t) * z1[:, None, :] + t * z2[:, None, :]).reshape(-1, z1.shape[1])
        labels = None
        if self._decoder_takes_labels():
            labels = np.repeat(self._labels(y1, z1.shape[0], what), steps)
        out = self.decode(z, labels)
        return out.reshape((z1.shape[0], steps, *self.input_shape))

    def _prior(self, n: int, rng: np.random.Generator, labels: np.ndarray | None) -> np.ndarray:
        return rng.standard_normal((n, self.latent_dim)).astype(np.float32)

    def sample(self, n: int, labels: Any = None, seed: int | None = None) -> np.ndarray:
        """``n`` images decoded from codes drawn from the prior (labels for decoders that take them).

        ``seed`` makes the draw reproducible; by default each call draws afresh from
        the model's own sampling stream.
        """
        what = f"{type(self).__name__}.sample"
        n = check_int(f"{what}: n", n, 1)
        rng = self._sample_rng if seed is None else np.random.default_rng(check_int(f"{what}: seed", seed, 0))
        if labels is not None and not (self._decoder_takes_labels() or self._prior_takes_labels()):
            raise ValueError(f"{what}: this {self._what} samples without labels (neither its prior nor its decoder "
                             "reads them); drop labels=")
        y = None if labels is None else self._labels(labels, n, what)
        z = self._prior(n, rng, y)
        return self.decode(z, y if self._decoder_takes_labels() else None)

    # ---- checkpoints -----------------------------------------------------------------------------------
    def _options(self) -> dict:
        raise NotImplementedError

    def _config(self) -> dict:
        return {"options": self._options(), "modules": {n: _spec_or_none(m) for n, m in self.modules.items()},
                "optimizers": {n: {"kind": o.kind, "config": o.config} for n, o in self.optimizers.items()}}

    @classmethod
    def _from_config(cls, path: str, config: dict, **overrides: Any) -> "LatentModel":
        kwargs = dict(config["options"])
        for name, spec in config["modules"].items():
            if overrides.get(name) is not None:
                kwargs[name] = overrides.pop(name)
            elif spec is None:
                raise ValueError(f"gl.load: module '{name}' was custom and cannot be rebuilt from {path}; "
                                 f"pass {name}=...")
            else:
                kwargs[name] = from_spec(spec)
        kwargs["optimizers"] = {n: _make_optimizer(o) for n, o in config["optimizers"].items()}
        if overrides:
            raise TypeError(f"gl.load: unexpected arguments {sorted(overrides)} for a {cls.__name__}")
        token = _RESTORING.set(True)
        try:
            return cls(**kwargs)
        finally:
            _RESTORING.reset(token)

