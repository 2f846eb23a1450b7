"""ganlib.classifier: train_classifier (the C fit loop), evaluate / predict_logits, and the
shipped MNIST classifier behind ganlib.metrics (classifier score, Fréchet distance)."""
import os
import signal
import threading

import numpy as np
import pytest

import ganlib as gl
from ganlib import metrics
from ganlib.classifier import (DEFAULT_WEIGHTS, MnistClassifier, default_mnist_classifier, evaluate,
                               load_classifier, predict_logits, save_classifier, train_classifier)
from ganlib.datasets import mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get("GANLIB_TEST_MNIST") or os.path.join(os.path.dirname(ROOT), "shared", "data",
                                                                "mnist")
NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]
have_mnist = all(os.path.isfile(os.path.join(MNIST_DIR, n + ".gz")) or os.path.isfile(os.path.join(MNIST_DIR, n))
                 for n in NAMES)
needs_mnist = pytest.mark.skipif(not have_mnist, reason=f"MNIST files not found in {MNIST_DIR} "
                                 "(set GANLIB_TEST_MNIST)")


@pytest.fixture(scope="module", autouse=True)
def _threads():
    old = gl.get_num_threads()
    gl.set_num_threads(2)
    yield
    gl.set_num_threads(old)


@pytest.fixture(scope="module")
def small():
    x, y = mnist(MNIST_DIR, split="train", limit=2000)
    return x, y


@pytest.fixture(scope="module")
def test_set():
    return mnist(MNIST_DIR, split="test")


@pytest.fixture(scope="module")
def clf():
    return default_mnist_classifier()


def blobs(n=600, k=3, seed=0):
    """Separable Gaussian blobs in 4-D: (x, labels)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, size=(k, 4))
    y = rng.integers(0, k, size=n)
    return (centers[y] + rng.normal(0, 0.5, size=(n, 4))).astype(np.float32), y


# ----------------------------------------------------------------------------- training
@needs_mnist
def test_mlp_learns_small_mnist_subset(small):
    x, y = small
    net = gl.nn.mlp(784, [128], 10, seed=0)
    flat = x.reshape(len(x), -1)
    hist = train_classifier(net, flat, y, steps=300, batch_size=64, progress=False, seed=0)
    assert set(hist) == {"step", "loss", "accuracy"}
    assert len(hist["step"]) == 300 and hist["step"][0] == 1 and hist["step"][-1] == 300
    assert np.all(np.isfinite(hist["loss"])) and np.all((hist["accuracy"] >= 0) & (hist["accuracy"] <= 1))
    assert hist["loss"][-20:].mean() < 0.5 * hist["loss"][:20].mean()
    assert hist["accuracy"][-50:].mean() > hist["accuracy"][:10].mean()
    assert evaluate(net, flat, y) > 0.9
    assert net.training  # evaluate restores the mode


@needs_mnist
def test_images_are_reshaped_in_the_program(small):
    """(n, 1, 28, 28) rows are flattened into the fit data and reshaped back for a conv net."""
    x, y = small
    net = gl.nn.Sequential(gl.nn.Conv2d(1, 8, 3, stride=2, padding=1, seed=0), gl.nn.ReLU(),
                           gl.nn.Flatten(), gl.nn.Linear(8 * 14 * 14, 10, seed=1))
    hist = train_classifier(net, x[:512], y[:512], epochs=3, batch_size=64, progress=False)
    assert len(hist["step"]) == 3 * (512 // 64)
    assert hist["loss"][-4:].mean() < hist["loss"][:4].mean()
    logits = predict_logits(net, x[:700], batch_size=300)   # chunks 300, 300, 100
    assert logits.shape == (700, 10)
    np.testing.assert_allclose(logits[:5], predict_logits(net, x[:5]), rtol=1e-4, atol=1e-4)


def test_batch_accuracy_and_loss_match_numpy():
    """The recorded loss / accuracy of a step equal NumPy's on the batch the loop drew."""
    x, y = blobs()
    net = gl.nn.mlp(4, [16], 3, seed=2)
    w0 = net.buffer.data.copy()
    hist = train_classifier(net, x, y, steps=1, batch_size=len(x), optimizer=gl.optim.SGD(0.0), progress=False)
    np.testing.assert_array_equal(net.buffer.data, w0)  # lr 0: nothing moved
    logits = predict_logits(net, x).astype(np.float64)
    lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    loss = np.mean(lse - logits[np.arange(len(y)), y])
    acc = np.mean(np.argmax(logits, 1) == y)
    np.testing.assert_allclose(hist["loss"][0], loss, rtol=1e-5)
    np.testing.assert_allclose(hist["accuracy"][0], acc, atol=1e-6)


def test_blobs_reach_perfect_accuracy_and_seed_is_deterministic():
    x, y = blobs()
    nets = [gl.nn.mlp(4, [16], 3, seed=0) for _ in range(2)]
    hs = [train_classifier(n, x, y, epochs=20, batch_size=32, progress=False, seed=5) for n in nets]
    np.testing.assert_array_equal(hs[0]["loss"], hs[1]["loss"])
    np.testing.assert_array_equal(nets[0].buffer.data, nets[1].buffer.data)
    assert evaluate(nets[0], x, y) > 0.98


def test_nan_loss_raises_floating_point_error():
    x, y = blobs()
    net = gl.nn.mlp(4, [16], 3, seed=0)
    net.buffer.data[0] = np.nan
    with pytest.raises(FloatingPointError, match="step 0: classifier loss is nan"):
        train_classifier(net, x, y, steps=10, progress=False)


def test_ctrl_c_stops_with_a_valid_partial_history(sigint_raises):
    x, y = blobs(4000)
    net = gl.nn.mlp(4, [64, 64], 3, seed=0)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        hist = train_classifier(net, x, y, steps=10_000_000, batch_size=32, log_every=1000, progress=False)
    finally:
        timer.cancel()
    n = len(hist["step"])
    assert 0 < n < 10_000_000
    np.testing.assert_array_equal(hist["step"], np.arange(1, n + 1))
    assert len(hist["loss"]) == len(hist["accuracy"]) == n
    assert np.all(np.isfinite(hist["loss"])) and np.all(np.isfinite(hist["accuracy"]))
    assert np.all(np.isfinite(net.buffer.data))
    assert evaluate(net, x, y) > 0.9   # the model is usable after the interrupt


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(labels=np.array([0, 1, 3] * 200)), ValueError, r"labels must be in \[0, 3\).*got 3 at index 2"),
    (dict(labels=-np.ones(600, int)), ValueError, r"labels must be in \[0, 3\)"),
    (dict(labels=np.zeros(599, int)), ValueError, r"labels must have shape \(600,\)"),
    (dict(labels=np.full(600, 0.5)), ValueError, "labels must be integers"),
    (dict(labels=np.array(["a"] * 600)), TypeError, "labels must be integer"),
    (dict(batch_size=601), ValueError, "batch_size 601 is larger than the data"),
    (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
    (dict(steps=-1), ValueError, "steps must be"),
    (dict(steps=5, epochs=1), ValueError, "steps or epochs, not both"),
    (dict(epochs=0), ValueError, "epochs must be a positive number"),
    (dict(images=np.zeros((600, 5), np.float32)), ValueError, r"does not accept inputs of shape \(batch, 5\)"),
    (dict(images=np.zeros((600,), np.float32)), ValueError, r"images must have shape \(n, ...\)"),
    (dict(nan=True), ValueError, r"1 rows with NaN or inf values \(first: row 7\)"),
    (dict(model="net"), TypeError, "model must be a ganlib Module"),
    (dict(optimizer="adam"), TypeError, "optimizer must be a ganlib.optim optimizer"),
])
def test_bad_inputs_raise_clear_errors(kwargs, exc, match):
    x, y = blobs()
    if kwargs.pop("nan", False):
        x = x.copy()
        x[7, 2] = np.nan
    args = dict(model=gl.nn.mlp(4, [8], 3, seed=0), images=x, labels=y, progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        train_classifier(**args)


def test_model_with_one_output_is_refused():
    x, y = blobs()
    with pytest.raises(ValueError, match="num_classes >= 2"):
        train_classifier(gl.nn.mlp(4, [8], 1, seed=0), x, y, progress=False)


def test_save_and_load_round_trip(tmp_path):
    x, y = blobs()
    net = gl.nn.mlp(4, [8], 3, seed=0)
    train_classifier(net, x, y, steps=20, progress=False)
    p = str(tmp_path / "c.safetensors")
    save_classifier(p, net, {"note": "hi"})
    twin, meta = load_classifier(p)
    assert meta == {"note": "hi"} and not twin.training
    np.testing.assert_allclose(predict_logits(twin, x), predict_logits(net, x), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- shipped classifier
def test_shipped_weights_exist_and_are_the_metrics_default():
    assert os.path.isfile(DEFAULT_WEIGHTS), DEFAULT_WEIGHTS
    assert metrics.default_mnist_classifier() is default_mnist_classifier()
    assert metrics.MnistClassifier is MnistClassifier
    clf = default_mnist_classifier()
    assert clf is default_mnist_classifier()  # loaded once
    assert clf.info["test_accuracy"] >= 0.99
    assert not clf.model.training
    with pytest.raises(ValueError, match=r"expects images of shape \(N, 1, 28, 28\)"):
        clf(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        clf(np.full((2, 1, 28, 28), np.nan, np.float32))


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_mnist_classifier"):
        MnistClassifier(str(tmp_path / "none.safetensors"))


@needs_mnist
def test_shipped_classifier_test_accuracy(clf, test_set):
    x, y = test_set
    probs = clf(x)
    assert probs.shape == (10000, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    acc = float(np.mean(np.argmax(probs, 1) == y))
    assert acc >= 0.99, acc
    # other input layouts give the same answer
    np.testing.assert_allclose(clf.logits(x[:50].reshape(50, 784)), clf.logits(x[:50]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(clf.predict(x[:50].reshape(50, 28, 28)), np.argmax(probs[:50], 1))


@needs_mnist
def test_classifier_score_with_default_classifier(test_set):
    x, y = test_set
    mean, std = metrics.classifier_score(x)   # classifier=None -> the shipped one
    assert mean >= 9.5 and std < 0.3, (mean, std)
    div = metrics.class_diversity(x[:2000])   # likewise
    assert div["num_classes"] == 10 and div["classes_present"] == 10
    np.testing.assert_allclose(div["counts"], np.bincount(y[:2000], minlength=10), atol=30)


@needs_mnist
def test_frechet_distance_on_classifier_features(clf, test_set):
    x, _ = test_set
    f = clf.features(x)   # one pass; frechet_distance then takes the feature matrices
    assert f.shape == (10000, 128) and f.dtype == np.float32 and np.all(f >= 0)   # after the last ReLU
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(x))
    a, b = f[perm[:5000]], f[perm[5000:]]
    noise = rng.uniform(-1, 1, size=(2000, 1, 28, 28)).astype(np.float32)
    same = metrics.frechet_distance(a, b)
    far = metrics.frechet_distance(a, clf.features(noise))
    assert 0 <= same < 20 and far > 100 * same, (same, far)
    # through the feature callable (images in, chunked by frechet_distance)
    via = metrics.frechet_distance(x[perm[:300]], noise[:300], features=clf.features, batch_size=128)
    assert via > 100 * same, (via, same)
