"""Supervised classifiers trained in C, and the shipped MNIST classifier behind the image metrics.

:func:`train_classifier` is a one-phase :class:`~ganlib.trainer.Trainer`: one
softmax cross-entropy step over a stream whose images and labels are two aligned
columns (the labels one-hot, converted once), traced into a compiled C program
and run by the C loop; Python is only called back every ``log_every`` steps
(progress bar, Ctrl-C).

:class:`MnistClassifier` / :func:`default_mnist_classifier` load the small
convnet shipped as ``ganlib/data/mnist_classifier.safetensors`` (trained by
``python -m ganlib.tools.train_mnist_classifier``).  It is the classifier that
``ganlib.metrics.classifier_score`` and ``class_diversity`` use with
``classifier=None``, and its ``.features`` (penultimate activations) give a
Fréchet distance for MNIST-like images.

Examples
--------
>>> import ganlib as gl
>>> from ganlib.classifier import train_classifier, evaluate, default_mnist_classifier
>>> x, y = gl.datasets.mnist(split="train", limit=2000)            # doctest: +SKIP
>>> net = gl.nn.mlp(784, [128], 10, seed=0)                          # doctest: +SKIP
>>> hist = train_classifier(net, x, y, steps=300, progress=False)    # doctest: +SKIP
>>> evaluate(net, x, y) > 0.9                                        # doctest: +SKIP
True
>>> clf = default_mnist_classifier()                                 # doctest: +SKIP
>>> clf(x[:5]).shape, clf.features(x[:5]).shape                      # doctest: +SKIP
((5, 10), (5, 128))
"""
from __future__ import annotations

import json
import os
import threading
from typing import Any, Optional

import numpy as np

from . import ops, optim as _optim
from ._checks import check_int, check_optimizer, check_range, check_real
from .io.safetensors import load_safetensors, save_safetensors
from .nn.conv import Conv2d, Flatten, MaxPool2d
from .nn.layers import Dropout, Linear, ReLU, Sequential, from_spec, register_spec
from .nn.module import Module
from .trainer import Data, Phase, Step, Trainer

__all__ = ["train_classifier", "evaluate", "predict_logits", "mnist_convnet", "save_classifier",
           "load_classifier", "MnistClassifier", "default_mnist_classifier", "DEFAULT_WEIGHTS",
           "HISTORY_COLUMNS"]

#: Where the shipped MNIST classifier weights live (inside the installed package).
DEFAULT_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist_classifier.safetensors")
#: Columns recorded per step by :func:`train_classifier` (besides ``step``).
HISTORY_COLUMNS = ("loss", "accuracy")
FORMAT = "ganlib.classifier/1"


# The shipped weights file names its layers by the types of the private copies that
# earlier versions kept here; they are gl.nn's layers with the same parameters.
register_spec("ganlib.classifier.Conv2d", lambda d: Conv2d(d["in"], d["out"], d["k"], d.get("stride", 1),
                                                           d.get("padding", 0), seed=0))
register_spec("ganlib.classifier.MaxPool2d", lambda d: MaxPool2d(d["k"]))
register_spec("ganlib.classifier.Flatten", lambda d: Flatten())


def mnist_convnet(num_classes: int = 10, dropout: float = 0.25, seed: int = 0) -> Sequential:
    """The shipped classifier's architecture, for (N, 1, 28, 28) inputs.

    conv 1->32 3x3 pad 1, ReLU, maxpool 2, conv 32->64 3x3 pad 1, ReLU, maxpool 2,
    flatten, Linear 3136->128, ReLU, Dropout, Linear 128->``num_classes``.
    """
    num_classes = check_int("mnist_convnet: num_classes", num_classes, 2)
    dropout = check_range("mnist_convnet: dropout", dropout, 0.0, 1.0, high_open=True)
    rng = np.random.default_rng(check_int("mnist_convnet: seed", seed, 0))
    s = [int(v) for v in rng.integers(2**31, size=4)]
    layers: list[Module] = [Conv2d(1, 32, 3, padding=1, seed=s[0]), ReLU(), MaxPool2d(2),
                            Conv2d(32, 64, 3, padding=1, seed=s[1]), ReLU(), MaxPool2d(2),
                            Flatten(), Linear(64 * 7 * 7, 128, seed=s[2]), ReLU()]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Linear(128, num_classes, seed=s[3]))
    return Sequential(*layers)


# ----------------------------------------------------------------------------- validation
def _int_at_least(name: str, value: Any, low: int) -> int:
    """The shared int check (kind), with this module's wording of the range ("an int >= 1")."""
    value = check_int(name, value)
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}")
    return value


def _check_images(where: str, images: Any, finite: bool = True) -> np.ndarray:
    x = images if isinstance(images, np.ndarray) else np.asarray(images)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{where}: images must be a numeric array, got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"{where}: images must have shape (n, ...) with n >= 1, got {x.shape}")
    if x.ndim > 4:
        raise ValueError(f"{where}: images have at most 4 dimensions (n, C, H, W), got shape {x.shape}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not finite:
        return x
    bad = ~np.isfinite(x.reshape(x.shape[0], -1)).all(axis=1)
    if bad.any():
        raise ValueError(f"{where}: images has {int(bad.sum())} rows with NaN or inf values "
                         f"(first: row {int(np.argmax(bad))})")
    return x


def _check_labels(where: str, labels: Any, n: int, num_classes: int) -> np.ndarray:
    y = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{where}: labels must have shape ({n},) (one per image), got {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(f"{where}: labels must be integers (class indices), got non-integer values")
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{where}: labels must be integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{where}: labels must be in [0, {num_classes}) (the model has {num_classes} outputs), "
                         f"got {int(y[k])} at index {k} ({int(bad.sum())} out of range)")
    return y


def _output_width(where: str, model: Module, sample_shape: tuple) -> int:
    tr = ops.Trace()
    try:
        with ops.tracing(tr):
            out = model(tr.input((1, *sample_shape)))
    except ValueError as e:
        raise ValueError(f"{where}: the model does not accept inputs of shape (batch, "
                         f"{', '.join(map(str, sample_shape))}): {e}") from None
    if out.ndim != 2 or out.shape[1] < 2:
        raise ValueError(f"{where}: the model must return logits of shape (batch, num_classes >= 2), "
                         f"got {out.shape}")
    return int(out.shape[1])


# ----------------------------------------------------------------------------- training
def train_classifier(model: Module, images: Any, labels: Any, steps: Optional[int] = None,
                     epochs: Optional[float] = None, batch_size: int = 128, optimizer: Any = None,
                     log_every: int = 100, progress: bool = True, seed: int = 0) -> dict[str, np.ndarray]:
    """Train ``model`` to classify ``images`` by softmax cross-entropy; the loop runs in C.

    Parameters
    ----------
    model : Module
        Maps a batch of images ``(batch, *images.shape[1:])`` to logits ``(batch, K)``.
    images : ndarray (n, ...)
        Training inputs (finite), e.g. MNIST ``(n, 1, 28, 28)`` in [-1, 1].
    labels : ndarray (n,)
        Integer classes in ``[0, K)``.
    steps, epochs : int / float, optional
        Length of training: ``steps`` optimizer steps, or ``epochs`` passes over the
        data (``epochs * (n // batch_size)`` steps). Give at most one; default 1 epoch.
    batch_size : int
        Rows per step, drawn without replacement and reshuffled every epoch (the
        partial last batch of an epoch is dropped).
    optimizer : ganlib.optim optimizer, optional
        Default ``Adam(1e-3)``. It is (re)bound to the model's parameter buffer.
    log_every : int
        Python is called back (progress bar, Ctrl-C check) every this many steps.
    progress : bool
        Show a tqdm progress bar when tqdm is installed.
    seed : int
        Seeds batch order and dropout.

    Returns
    -------
    dict of ndarray
        ``step`` (1-based), ``loss`` and ``accuracy`` (of each step's batch, before
        its update), one row per step done -- fewer than asked if interrupted by
        Ctrl-C, which stops at a step boundary with the model valid.

    Raises
    ------
    FloatingPointError
        The loss became NaN/inf (message names the step); the parameters are those
        before that step.
    ValueError, TypeError
        Bad shapes, labels out of range, NaN inputs, ``batch_size`` > n, ...
    """
    where = "train_classifier"
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be a ganlib Module, got {type(model).__name__}")
    x = _check_images(where, images, finite=False)   # the C loop refuses NaN rows when it takes the data
    n = int(x.shape[0])
    sample_shape = tuple(int(d) for d in x.shape[1:])
    batch_size = _int_at_least(f"{where}: batch_size", batch_size, 1)
    log_every = _int_at_least(f"{where}: log_every", log_every, 1)
    seed = _int_at_least(f"{where}: seed", seed, 0)
    if steps is not None and epochs is not None:
        raise ValueError(f"{where}: give steps or epochs, not both")
    if steps is None:
        epochs = 1.0 if epochs is None else check_real(f"{where}: epochs", epochs)
        if not epochs > 0:
            raise ValueError(f"{where}: epochs must be a positive number, got {epochs!r}")
        steps = max(1, int(round(float(epochs) * (n // batch_size))))
    else:
        steps = _int_at_least(f"{where}: steps", steps, 0)
    k = _output_width(where, model, sample_shape)
    y = _check_labels(where, labels, n, k)
    if optimizer is None:
        optimizer = _optim.Adam(1e-3)
    check_optimizer(f"{where}: optimizer", optimizer)
    model.train()
    try:
        trainer = _ClassifierTrainer(model, optimizer, int(seed))
        return trainer.fit({"data": Data(x=x, y=y, num_classes=k)}, int(steps), batch_size, int(log_every),
                           progress=progress)
    finally:
        model._forward_cache = {}


def _classify(b: Any) -> Step:
    """Softmax cross-entropy of the model's logits, and the batch accuracy (before the update)."""
    logits, onehot = b.modules.model(b.data.x), b.data.y
    loss = ops.softmax_cross_entropy(logits, onehot)
    # a row is right when no logit exceeds the true class's logit
    true_logit = ops.sum(ops.mul(onehot, logits), axis=1, keepdims=True)
    beaten = ops.sum(ops.sign(ops.relu(ops.sub(logits, true_logit))), axis=1)
    acc = ops.scale(ops.mean(ops.clip(beaten, 0.0, 1.0)), -1.0, 1.0)
    return Step(minimize={"model": loss}, log={"loss": loss, "accuracy": acc})


class _ClassifierTrainer(Trainer):
    """train_classifier's trainer: its seeds and message names are those it always had."""

    def __init__(self, model: Module, optimizer: Any, seed: int) -> None:
        super().__init__({"model": model}, {"model": optimizer}, [Phase("classify", _classify)],
                         grad_norms=False, seed=seed)

    def _phase_seed(self, k: int) -> int:
        return self.seed * 4 + 1

    def _stream_seed(self, k: int) -> int:
        return self.seed * 4 + 2

    def _check_label(self, phase: str, value: str) -> str:
        return {"loss": "classifier loss"}.get(value, value)


# ----------------------------------------------------------------------------- inference
def predict_logits(model: Module, images: Any, batch_size: int = 500) -> np.ndarray:
    """The model's outputs (logits) for ``images``, in eval mode, in chunks run in C.

    The model is switched to eval mode (dropout off) for the call and restored after.

    Returns
    -------
    ndarray (n, K) float32
    """
    where = "predict_logits"
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be a ganlib Module, got {type(model).__name__}")
    batch_size = _int_at_least(f"{where}: batch_size", batch_size, 1)
    x = _check_images(where, images)
    was_training = model.training
    if was_training:
        model.eval()
    try:
        outs = [np.asarray(model(x[i:i + batch_size]), np.float32) for i in range(0, x.shape[0], batch_size)]
    finally:
        if was_training:
            model.train()
    out = np.concatenate(outs, axis=0)
    if out.ndim != 2:
        raise ValueError(f"{where}: the model must return (batch, K) logits, got shape {out.shape[1:]} per batch")
    return out


def evaluate(model: Module, images: Any, labels: Any, batch_size: int = 500) -> float:
    """Accuracy (fraction of argmax logits equal to the labels) of ``model`` on ``images``."""
    logits = predict_logits(model, images, batch_size)
    y = _check_labels("evaluate", labels, logits.shape[0], logits.shape[1])
    return float(np.mean(np.argmax(logits, axis=1) == y))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


# ----------------------------------------------------------------------------- save / load
def save_classifier(path: str, model: Module, metadata: Optional[dict[str, Any]] = None) -> None:
    """Write ``model``'s weights and architecture spec to a safetensors file (atomically).

    ``metadata`` values are stored as JSON strings next to ``format`` and ``spec``.
    """
    meta = {"format": FORMAT, "spec": json.dumps(model.spec())}
    for key, v in (metadata or {}).items():
        meta[str(key)] = json.dumps(v)
    save_safetensors(path, model.state_dict(), meta)


def load_classifier(path: str) -> tuple[Module, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_classifier`: (model in eval mode, metadata)."""
    tensors, meta = load_safetensors(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a ganlib classifier file (format {meta.get('format')!r})")
    model = from_spec(json.loads(meta["spec"]))
    model.load_state_dict(tensors)
    model.eval()
    extra = {k: json.loads(v) for k, v in meta.items() if k not in ("format", "spec")}
    return model, extra


class MnistClassifier:
    """A trained MNIST classifier: callable on images in [-1, 1], returning class probabilities.

    Parameters
    ----------
    path : str, optional
        Weights file written by :func:`save_classifier` (default: the shipped
        ``ganlib/data/mnist_classifier.safetensors``).
    batch_size : int
        Chunk size of the compiled forward passes.

    Notes
    -----
    Inputs may be ``(N, 1, 28, 28)``, ``(N, 28, 28)`` or ``(N, 784)`` with pixels in
    [-1, 1] (``gl.datasets.mnist``'s default scale, and a tanh generator's range).
    """

    def __init__(self, path: Optional[str] = None, batch_size: int = 500) -> None:
        path = DEFAULT_WEIGHTS if path is None else path
        if not os.path.isfile(path):
            raise FileNotFoundError(f"MnistClassifier: weights file not found: {path} (train one with "
                                    "`python -m ganlib.tools.train_mnist_classifier`)")
        self.path = path
        self.model, self.info = load_classifier(path)
        if not isinstance(self.model, Sequential) or len(self.model) < 2:
            raise ValueError(f"{path}: expected a Sequential classifier, got {type(self.model).__name__}")
        self.batch_size = check_int("MnistClassifier: batch_size", batch_size, 1)
        self.input_shape = tuple(self.info.get("input_shape", (1, 28, 28)))
        layers = list(self.model._children.values())
        self._features_fn = ops.Function(lambda x: _run(layers[:-1], x), training=False)
        self._lock = threading.Lock()

    @property
    def num_classes(self) -> int:
        return int(self.model[len(self.model) - 1].out_features)

    def _inputs(self, images: Any) -> np.ndarray:
        x = images if isinstance(images, np.ndarray) else np.asarray(images)
        if x.ndim >= 1 and x.shape[0] > 0 and int(np.prod(x.shape[1:])) == int(np.prod(self.input_shape)):
            x = x.reshape((x.shape[0], *self.input_shape))
        else:
            raise ValueError(f"MnistClassifier: expects images of shape (N, {', '.join(map(str, self.input_shape))})"
                             f" (or (N, 28, 28) / (N, 784)), got {x.shape}")
        return _check_images("MnistClassifier", x)

    def _chunks(self, fn: Any, x: np.ndarray) -> np.ndarray:
        b = self.batch_size
        with self._lock:  # one compiled program must not run from two threads at once
            return np.concatenate([np.asarray(fn(x[i:i + b])) for i in range(0, x.shape[0], b)], axis=0)

    def logits(self, images: Any) -> np.ndarray:
        """Class logits, shape (N, 10)."""
        return self._chunks(self.model, self._inputs(images))

    def __call__(self, images: Any) -> np.ndarray:
        """Class probabilities p(y|x), shape (N, 10), rows summing to 1."""
        return _softmax(self.logits(images))

    def predict(self, images: Any) -> np.ndarray:
        """Predicted classes (int64), shape (N,)."""
        return np.argmax(self.logits(images), axis=1).astype(np.int64)

    def features(self, images: Any) -> np.ndarray:
        """Penultimate-layer activations (after the last hidden ReLU), shape (N, 128)."""
        return self._chunks(self._features_fn, self._inputs(images))

    def __repr__(self) -> str:
        acc = self.info.get("test_accuracy")
        return f"MnistClassifier({self.path!r}, test_accuracy={acc})"


def _run(layers: list[Module], x: ops.Tensor) -> ops.Tensor:
    for layer in layers:
        x = layer(x)
    return x


_default: dict[str, MnistClassifier] = {}
_default_lock = threading.Lock()


def default_mnist_classifier() -> MnistClassifier:
    """The shipped MNIST classifier (loaded once, then shared)."""
    with _default_lock:
        clf = _default.get("clf")
        if clf is None:
            clf = _default["clf"] = MnistClassifier()
        return clf
