"""Issue #20 item 2: one argument policy for every public constructor and fit.

* integers: Python and NumPy integers are accepted; bools, floats and strings are a
  wrong kind (TypeError -- ganlib's ArgumentTypeError, which is also a ValueError for
  code written when some of these were ValueErrors);
* reals (weights, rates, decays): finite and in range (ValueError), numbers only (TypeError);
* optimizers are objects, never names (TypeError saying what to pass).

Each row of TABLE: (id, call, argument, good NumPy value, [(bad value, exception, message), ...]).
``call(**{argument: value})`` builds the object or runs the function with that one argument
changed; the good value must be accepted, every bad one refused with that exception and a
message matching the fragment (which names the argument).
"""
import math

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops
from ganlib._checks import ArgumentTypeError
from ganlib.classifier import MnistClassifier, mnist_convnet, train_classifier

T, V = TypeError, ValueError
NAN, INF = float("nan"), float("inf")
I = np.int64


def int_bads(name, low=1):
    """What every int argument refuses: a float, a bool, a string, and a value below its minimum."""
    return [(2.5, T, f"{name} must be an int, got float"), (2.0, T, f"{name} must be an int"),
            (True, T, f"{name} must be an int, got bool"), ("3", T, f"{name} must be an int, got str"),
            (low - 1, V, f"{name}.*>= ?{low}")]


def real_bads(name):
    """What every real argument refuses: NaN, inf, a string, a bool."""
    return [(NAN, V, f"{name}.*(finite|in )"), (INF, V, f"{name}.*(finite|in )"),
            ("10", T, f"{name} must be a real number"), (True, T, f"{name} must be a real number")]


# ---- builders --------------------------------------------------------------------------------

def lin(**kw):
    return gl.nn.Linear(**{"in_features": 2, "out_features": 3, **kw})


def conv(**kw):
    return gl.nn.Conv2d(**{"in_ch": 1, "out_ch": 2, "kernel_size": 3, **kw})


def convt(**kw):
    return gl.nn.ConvTranspose2d(**{"in_ch": 2, "out_ch": 1, "kernel_size": 4, "stride": 2, **kw})


def mlp(**kw):
    return gl.nn.mlp(**{"in_features": 2, "hidden": [4], "out_features": 1, **kw})


def small(seed=0):
    return gl.nn.mlp(2, [8], 2, seed=seed), gl.nn.mlp(2, [8], 1, seed=seed + 1)


def gan(**kw):
    G, D = small()
    return gl.GAN(G, kw.pop("D", D), **kw)


RING = gl.datasets.ring(256, seed=0)


def gan_fit(**kw):
    return gan().fit(RING, **{"steps": 1, "batch_size": 32, "progress": False, **kw})


def _phase(b):
    return gl.Step(minimize={"net": ops.mean(ops.square(b.modules.net(b.data.x) - b.data.x))})


def trainer(**kw):
    net = gl.nn.mlp(2, [4], 2, seed=0)
    phase = gl.Phase("fit", _phase, **kw.pop("phase", {}))
    return gl.Trainer({"net": net}, {"net": gl.optim.Adam(1e-3)}, [phase], **kw)


def trainer_fit(**kw):
    return trainer().fit(gl.Data(x=RING), **{"steps": 1, "batch_size": 32, "progress": False, **kw})


def sum_axis(axis):
    return gl.function(lambda x: ops.sum(x, axis=axis))(np.ones((2, 3), np.float32))


def mean_axis(axis):
    return gl.function(lambda x: ops.mean(x, axis=axis))(np.ones((2, 3), np.float32))


BLOBS = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32), np.arange(64) % 3


def train_clf(**kw):
    x, y = BLOBS
    return train_classifier(gl.nn.mlp(4, [8], 3, seed=0), x, y, **{"steps": 2, "batch_size": 16,
                                                                    "progress": False, **kw})


PROBE = np.random.default_rng(1).standard_normal((40, 3)), np.arange(40) % 2


def probe(**kw):
    x, y = PROBE
    return gl.metrics.linear_probe(x, y, x, y, **{"steps": 10, **kw})


def radius(**kw):
    return gl.metrics.class_radius(lambda z: z, lambda x: (x[:, 0] > 0).astype(np.int64), 2,
                                   **{"n": 20, "bisection_steps": 2, **kw})


def mbd(**kw):
    return gl.nn.MinibatchDiscrimination(**{"in_features": 3, "B": 4, "C": 2, **kw})


def cgan(**kw):
    return gl.models.ConditionalGAN(**{"data_shape": (2,), "num_classes": 3, "latent_dim": 3, "hidden": [4], **kw})


TABLE = [
    # ---- gl.nn ----
    ("Linear", lin, "in_features", I(2), int_bads("in_features")),
    ("Linear", lin, "out_features", I(3), int_bads("out_features")),
    ("Linear", lin, "seed", I(5), int_bads("seed", 0)),
    ("Linear", lin, "bias", np.False_, [("no", T, "bias must be a bool")]),
    ("Conv2d", conv, "in_ch", I(1), int_bads("in_ch")),
    ("Conv2d", conv, "kernel_size", I(3), int_bads("kernel_size")),
    ("Conv2d", conv, "stride", I(2), int_bads("stride")),
    ("Conv2d", conv, "padding", I(1), int_bads("padding", 0)),
    ("ConvTranspose2d", convt, "output_padding", I(1), int_bads("output_padding", 0)),
    ("MaxPool2d", lambda **kw: gl.nn.MaxPool2d(**{"kernel_size": 2, **kw}), "kernel_size", I(2), int_bads("kernel_size")),
    ("AvgPool2d", lambda **kw: gl.nn.AvgPool2d(**{"kernel_size": 2, **kw}), "stride", I(1), int_bads("stride")),
    ("Upsample", lambda **kw: gl.nn.Upsample(**kw), "scale", I(2), int_bads("scale")),
    ("Dropout", lambda **kw: gl.nn.Dropout(**kw), "p", np.float32(0.25),
     real_bads("p") + [(1.0, V, r"p must be in \[0, 1\)"), (-0.1, V, r"p must be in \[0, 1\)")]),
    ("LeakyReLU", lambda **kw: gl.nn.LeakyReLU(**kw), "slope", np.float64(0.1), real_bads("slope")),
    ("BatchNorm", lambda **kw: gl.nn.BatchNorm(**{"num_features": 3, **kw}), "num_features", I(3),
     int_bads("num_features")),
    ("BatchNorm", lambda **kw: gl.nn.BatchNorm(**{"num_features": 3, **kw}), "eps", np.float32(1e-3),
     real_bads("eps") + [(0.0, V, "eps must be > 0")]),
    ("BatchNorm", lambda **kw: gl.nn.BatchNorm(**{"num_features": 3, **kw}), "momentum", np.float32(0.5),
     real_bads("momentum") + [(1.5, V, r"momentum must be in \[0, 1\]")]),
    ("LayerNorm", lambda **kw: gl.nn.LayerNorm(**{"normalized_shape": 3, **kw}), "normalized_shape", I(3),
     int_bads("normalized_shape")),
    ("LayerNorm", lambda **kw: gl.nn.LayerNorm(**{"normalized_shape": 3, **kw}), "eps", np.float64(1e-4),
     real_bads("eps")),
    ("VirtualBatchNorm", lambda **kw: gl.nn.VirtualBatchNorm(**{"num_features": 3, **kw}), "num_features", I(3),
     int_bads("num_features")),
    ("mlp", mlp, "in_features", I(2), int_bads("in_features")),
    ("mlp", mlp, "hidden", [I(4), I(5)], [([4.5], T, r"hidden\[0\] must be an int"), ([4, True], T, r"hidden\[1\]"),
                                          ("4", T, "hidden must be an int or a list"), ([0], V, r"hidden\[0\]")]),
    ("mlp", mlp, "seed", I(3), int_bads("seed", 0)),
    ("dcgan_generator", lambda **kw: gl.nn.dcgan_generator(**{"latent": 8, "width": 4, **kw}), "latent", I(8),
     int_bads("latent")),
    ("dcgan_generator", lambda **kw: gl.nn.dcgan_generator(**{"latent": 8, "width": 4, **kw}), "width", I(4),
     int_bads("width")),
    ("dcgan_discriminator", lambda **kw: gl.nn.dcgan_discriminator(**{"width": 4, **kw}), "image_shape",
     (I(1), I(28), I(28)), [((1.0, 28, 28), T, r"image_shape\[0\] must be an int"), ((1, 28), V, "image_shape")]),
    ("MinibatchDiscrimination", mbd, "B", I(4), int_bads("B")),
    ("MinibatchDiscrimination", mbd, "C", I(2), int_bads("C")),
    ("MinibatchDiscrimination", mbd, "std", np.float32(0.1), real_bads("std") + [(0.0, V, "std must be > 0")]),
    ("mlp", lambda **kw: mlp(**{"num_classes": 3, **kw}), "embed_dim", I(4), int_bads("embed_dim")),
    ("mlp", mlp, "num_classes", I(3), int_bads("num_classes")),
    ("dcgan_generator", lambda **kw: gl.nn.dcgan_generator(**{"latent": 8, "width": 4, **kw}), "num_classes", I(3),
     int_bads("num_classes")),
    ("dcgan_discriminator", lambda **kw: gl.nn.dcgan_discriminator(**{"width": 4, "num_classes": 3, **kw}),
     "conditioning", "projection", [("aux", V, "conditioning must be one of"), (1, V, "conditioning must be one of")]),
    ("ConditionalGAN", cgan, "num_classes", I(3), int_bads("num_classes", 2)),
    ("ConditionalGAN", cgan, "latent_dim", I(3), int_bads("latent_dim")),
    ("ConditionalGAN", cgan, "d_steps", I(2), int_bads("d_steps")),
    ("ConditionalGAN", cgan, "seed", I(2), int_bads("seed", 0)),
    ("ConditionalGAN", lambda **kw: cgan(**{"acgan": True, **kw}), "aux_weight", np.float32(0.5),
     real_bads("aux_weight") + [(0.0, V, "aux_weight must be > 0")]),
    ("ConditionalGAN", cgan, "acgan", np.True_, [("yes", T, "acgan must be a bool")]),
    ("ConditionalGAN", cgan, "g_opt", gl.optim.Adam(1e-3), [("adam", T, "g_opt must be a ganlib.optim")]),
    ("manual_seed", lambda **kw: gl.manual_seed(**kw), "seed", I(0), int_bads("seed", 0)),
    # ---- gl.latent ----
    ("latent.normal", lambda **kw: gl.latent.normal(**{"dim": 2, **kw}), "dim", I(2), int_bads("latent dimension")),
    ("latent.normal", lambda **kw: gl.latent.normal(**{"dim": 2, **kw}), "std", np.float32(2.0),
     real_bads("std") + [(0.0, V, "std must be > 0")]),
    ("latent.uniform", lambda **kw: gl.latent.uniform(**{"dim": 2, **kw}), "low", np.float64(-2.0), real_bads("low")),
    ("latent.fixed", lambda **kw: gl.latent.fixed(**kw), "vectors", np.ones((3, 2)),
     [([[1e300, 0.0]], V, "finite"), ([["a"]], T, "numeric")]),
    # ---- gl.GAN ----
    ("GAN", gan, "d_steps", I(2), int_bads("d_steps")),
    ("GAN", gan, "g_steps", I(2), int_bads("g_steps")),
    ("GAN", gan, "unroll", I(1), int_bads("unroll", 0)),
    ("GAN", gan, "seed", I(4), int_bads("seed", 0)),
    ("GAN", lambda **kw: gan(loss="wgan-gp", **kw), "penalty_weight", np.float32(5.0),
     real_bads("penalty_weight") + [(-10, V, "penalty_weight must be >= 0")]),
    ("GAN", gan, "label_smoothing", np.float64(0.1),
     real_bads("label_smoothing") + [(1.0, V, r"label_smoothing must be in \[0, 1\)")]),
    ("GAN", gan, "g_ema", np.float32(0.99), real_bads("g_ema") + [(1.5, V, r"g_ema must be in \(0, 1\)")]),
    ("GAN", gan, "historical_averaging", np.float64(0.1),
     real_bads("historical_averaging") + [(-1.0, V, "historical_averaging must be >= 0")]),
    ("GAN", gan, "clip", np.float32(0.05), real_bads("clip") + [(0.0, V, "clip must be > 0")]),
    ("GAN", gan, "update", "simultaneous", [("sideways", V, "update must be one of"), (1, V, "update must be one of")]),
    ("GAN", gan, "feature_matching", np.True_, [("yes", T, "feature_matching must be a bool")]),
    ("GAN", gan, "g_opt", gl.optim.Adam(1e-3),
     [("adam", T, r"g_opt must be a ganlib.optim optimizer object such as gl.optim.Adam\(.*got the str 'adam'"),
      (1e-3, T, "g_opt must be a ganlib.optim optimizer")]),
    ("GAN", gan, "d_opt", gl.optim.SGD(0.01), [("sgd", T, r"d_opt .*pass gl.optim.SGD\(\.\.\.\)")]),
    ("GAN", gan, "D", gl.nn.mlp(2, [8], 1, seed=1),
     [(gl.nn.mlp(2, [8], 2, seed=1), V, r"D must return one logit .* \(N, 2\), 2 values per row")]),
    ("GAN.fit", gan_fit, "steps", I(1), int_bads("steps", 0)),
    ("GAN.fit", gan_fit, "batch_size", I(32), int_bads("batch_size")),
    ("GAN.fit", gan_fit, "log_every", I(1), int_bads("log_every")),
    ("GAN.fit", gan_fit, "progress", np.False_, [("no", T, "progress must be a bool")]),
    ("GAN.sample", lambda **kw: gan().sample(**kw), "n", I(3), int_bads("n")),
    # ---- gl.Trainer, gl.Phase, gl.Data ----
    ("Trainer", trainer, "seed", I(2), int_bads("seed", 0)),
    ("Trainer", trainer, "clip", {"net": np.float32(0.5)},
     [({"net": INF}, V, "clip.*finite"), ({"net": "1"}, T, "must be a real number"), ({"net": -1}, V, "> 0")]),
    ("Trainer", trainer, "ema", {"net": np.float64(0.9)}, [({"net": 1.0}, V, r"must be in \(0, 1\)"),
                                                           ({"net": NAN}, V, "finite")]),
    ("Trainer", trainer, "grad_norms", np.True_, [("yes", T, "grad_norms must be a bool")]),
    ("Trainer", trainer, "running_average", ["net"], [("net", T, "running_average must be a list")]),
    ("Phase", lambda **kw: trainer(phase=kw), "repeats", I(2), int_bads("repeats")),
    ("Data", lambda **kw: gl.Data(x=RING, **kw), "batch_size", I(8), int_bads("batch_size")),
    ("Data", lambda **kw: gl.Data(x=RING, **kw), "num_classes", I(3), int_bads("num_classes")),
    ("Trainer.fit", trainer_fit, "steps", I(1), int_bads("steps", 0)),
    ("Trainer.fit", trainer_fit, "batch_size", I(16), int_bads("batch_size")),
    ("Trainer.fit", trainer_fit, "log_every", I(5), int_bads("log_every")),
    ("Trainer.fit", trainer_fit, "callbacks", [lambda *a: None], [(print, T, "callbacks must be an iterable")]),
    # ---- gl.optim ----
    ("Adam", lambda **kw: gl.optim.Adam(**kw), "lr", np.float32(1e-3),
     real_bads("lr") + [(-1.0, V, "lr must be a finite number >= 0")]),
    ("Adam", lambda **kw: gl.optim.Adam(**kw), "betas", (np.float32(0.5), np.float64(0.9)),
     [((0.5, NAN), V, r"beta2\) must be in \[0, 1\)"), ((1.0, 0.9), V, "beta1"), (0.9, T, "betas must be a pair")]),
    ("Adam", lambda **kw: gl.optim.Adam(**kw), "amsgrad", np.True_, [("yes", T, "amsgrad must be a bool")]),
    ("SGD", lambda **kw: gl.optim.SGD(**kw), "momentum", np.float64(0.9), real_bads("momentum")),
    ("RMSProp", lambda **kw: gl.optim.RMSProp(**kw), "alpha", np.float32(0.9),
     real_bads("alpha") + [(2.0, V, r"alpha must be in \[0, 1\]")]),
    ("EMA", lambda **kw: gl.optim.EMA(**kw), "decay", np.float32(0.9),
     [(NAN, V, "decay must be in"), (1.5, V, "decay must be in"), ("0.9", T, "decay must be a real number")]),
    # ---- threads, ops, compiled functions ----
    ("set_num_threads", lambda **kw: gl.set_num_threads(**kw), "n", I(1), int_bads("n")),
    ("ops.sum", lambda **kw: sum_axis(**kw), "axis", I(1),
     [(1.0, T, "axis.* must be an int"), (True, T, "must be an int"), ((0, 1.5), T, "axis must be an int"),
      (I(2), V, "axis 2 is out of range")]),
    ("ops.mean", lambda **kw: mean_axis(**kw), "axis", (I(0), I(1)), [(0.0, T, "must be an int")]),
    ("function", lambda **kw: gl.function(lambda x: x, **kw), "seed", I(7), int_bads("seed", 0)),
    ("function", lambda **kw: gl.function(lambda x: x, **kw), "cache_size", I(2), int_bads("cache_size")),
    # ---- datasets ----
    ("ring", lambda **kw: gl.datasets.ring(**{"n": 10, **kw}), "n", I(10), int_bads("n")),
    ("ring", lambda **kw: gl.datasets.ring(**{"n": 10, **kw}), "seed", I(3),
     [(1.5, T, "seed must be an int"), (True, T, "seed must be an int"), (-1, V, "seed must be >= 0")]),
    ("ring", lambda **kw: gl.datasets.ring(**{"n": 10, **kw}), "radius", np.float32(2.0),
     real_bads("radius") + [(1e300, V, "finite as float32")]),
    ("grid", lambda **kw: gl.datasets.grid(**{"n": 10, **kw}), "side", I(3), int_bads("side")),
    ("gaussian_mixture", lambda **kw: gl.datasets.gaussian_mixture(**{"n": 5, "centers": [[0.0, 0.0]], "std": 1.0, **kw}),
     "centers", np.zeros((2, 3), np.float32), [([[1e300, 0.0]], V, "centers must be finite as float32"),
                                              ([[NAN, 0.0]], V, "centers must be finite")]),
    ("swiss_roll", lambda **kw: gl.datasets.swiss_roll(**{"n": 10, **kw}), "noise", np.float64(0.1),
     real_bads("noise") + [(1e300, V, "finite as float32")]),
    ("lines", lambda **kw: gl.datasets.lines(**{"n": 2, **kw}), "seed", I(1), [(0.5, T, "seed must be an int")]),
    ("lines", lambda **kw: gl.datasets.lines(**{"n": 2, **kw}), "size", I(8), int_bads("size", 4)),
    # ---- classifier ----
    ("train_classifier", train_clf, "batch_size", I(16), int_bads("batch_size")),
    ("train_classifier", train_clf, "steps", I(2), int_bads("steps", 0)),
    ("train_classifier", train_clf, "seed", I(1), int_bads("seed", 0)),
    ("train_classifier", lambda **kw: train_clf(steps=None, **kw), "epochs", np.float32(0.5),
     [(NAN, V, "epochs must be finite"), (0, V, "epochs must be a positive number"), ("1", T, "epochs")]),
    ("train_classifier", train_clf, "optimizer", gl.optim.SGD(0.1), [("adam", T, "optimizer must be a ganlib.optim")]),
    ("mnist_convnet", lambda **kw: mnist_convnet(**kw), "num_classes", I(10), int_bads("num_classes", 2)),
    ("mnist_convnet", lambda **kw: mnist_convnet(**kw), "dropout", np.float32(0.5), real_bads("dropout")),
    ("MnistClassifier", lambda **kw: MnistClassifier(**kw), "batch_size", I(100), int_bads("batch_size")),
    # ---- metrics ----
    ("kernel_distance", lambda **kw: gl.metrics.kernel_distance(np.eye(4), np.eye(4), **kw), "subsets", I(2),
     int_bads("subsets")),
    ("kernel_distance", lambda **kw: gl.metrics.kernel_distance(np.eye(4), np.eye(4), **kw), "gamma",
     np.float32(0.5), real_bads("gamma")),
    ("classifier_score", lambda **kw: gl.metrics.classifier_score(np.eye(4), **kw), "splits", I(2),
     int_bads("splits")),
    ("linear_probe", probe, "steps", I(5), int_bads("steps")),
    ("linear_probe", lambda **kw: probe(steps=None, **kw), "epochs", np.float32(0.5),
     real_bads("epochs") + [(0.0, V, "epochs must be > 0")]),
    ("linear_probe", probe, "batch_size", I(8), int_bads("batch_size")),
    ("linear_probe", probe, "seed", I(3), int_bads("seed", 0)),
    ("linear_probe", probe, "l2", np.float32(1e-3), real_bads("l2") + [(-1.0, V, "l2 must be >= 0")]),
    ("linear_probe", probe, "lr", np.float64(0.1), real_bads("lr") + [(0.0, V, "lr must be > 0")]),
    ("clustering_accuracy", lambda **kw: gl.metrics.clustering_accuracy([0, 1], [1, 0], **kw), "mapping",
     "many-to-one", [("hungarian", V, "mapping must be one of"), (1, V, "mapping must be one of")]),
    ("class_radius", radius, "n", I(10), int_bads("n", 2)),
    ("class_radius", radius, "bisection_steps", I(3), int_bads("bisection_steps", 0)),
    ("class_radius", radius, "neighbors", I(2), int_bads("neighbors")),
    ("class_radius", radius, "batch_size", I(7), int_bads("batch_size")),
    ("class_radius", radius, "seed", I(4), int_bads("seed", 0)),
    ("class_radius", radius, "details", np.True_, [("yes", T, "details must be a bool")]),
]

GOOD = [pytest.param(call, arg, good, id=f"{name}-{arg}") for name, call, arg, good, _ in TABLE]
BAD = [pytest.param(call, arg, bad, exc, match, id=f"{name}-{arg}-{bad!r:.30}")
       for name, call, arg, _, bads in TABLE for bad, exc, match in bads]


@pytest.mark.parametrize("call, arg, good", GOOD)
def test_numpy_values_are_accepted(call, arg, good):
    call(**{arg: good})


@pytest.mark.parametrize("call, arg, bad, exc, match", BAD)
def test_bad_values_are_refused(call, arg, bad, exc, match):
    with pytest.raises(exc, match=match):
        call(**{arg: bad})


def test_wrong_kinds_are_type_errors_that_older_code_can_still_catch_as_value_errors():
    with pytest.raises(ArgumentTypeError) as e:
        gl.nn.Linear(2.7, 3)
    assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)
    for call in (lambda: gl.nn.Linear(True, 3), lambda: gl.nn.mlp(2, [4.5], 1), lambda: gl.nn.Linear(2, 3, seed=1.5),
                 lambda: gl.GAN(*small(), seed=1.5), lambda: gl.set_num_threads(True)):
        with pytest.raises(TypeError):
            call()


def test_penalty_none_string_works_like_none():
    G, D = small()
    a = gl.GAN(G, D, loss="wgan-gp", penalty="none", seed=0)
    assert a.penalty is None and a.penalty_spec is None
    with pytest.raises(ValueError, match="penalty_weight was given but there is no penalty"):
        gl.GAN(*small(), loss="wgan-gp", penalty="None", penalty_weight=3.0)
    # like None, it allows batch norm in training mode in the critic
    Dbn = gl.nn.Sequential(gl.nn.Linear(2, 8), gl.nn.BatchNorm(8), gl.nn.Linear(8, 1))
    gl.GAN(gl.nn.mlp(2, [8], 2, seed=0), Dbn, loss="wgan-gp", penalty="none", seed=0)
    h = a.fit(RING, steps=2, batch_size=32, progress=False)
    assert np.all(h["penalty"] == 0) or np.all(np.isnan(h["penalty"]))


def test_numpy_integers_give_plain_ints_in_saved_configs(tmp_path):
    g = gl.GAN(*small(), d_steps=I(2), seed=I(3), g_ema=np.float32(0.5))
    assert type(g.d_steps) is int and type(g.seed) is int and type(g.g_ema) is float
    path = str(tmp_path / "g.safetensors")
    g.save(path)                       # the JSON config holds plain numbers
    again = gl.load(path)
    assert again.d_steps == 2 and again.seed == 3 and math.isclose(again.g_ema, 0.5)


def test_table_covers_the_named_cases_of_the_issue():
    names = {(name, arg) for name, _, arg, _, _ in TABLE}
    for need in [("Linear", "in_features"), ("mlp", "hidden"), ("GAN", "d_steps"), ("GAN", "seed"),
                 ("set_num_threads", "n"), ("latent.normal", "dim"), ("ops.sum", "axis"),
                 ("GAN", "penalty_weight"), ("GAN", "historical_averaging"), ("GAN", "clip"), ("GAN", "g_opt"),
                 ("GAN", "D")]:
        assert need in names, need


# ---- item 3: finite after the cast to float32 ---------------------------------------------------

def test_load_state_dict_checks_the_float32_values():
    net = gl.nn.mlp(2, [4], 1, seed=0)
    before = net.state_dict()
    sd = {k: v.astype(np.float64) for k, v in before.items()}
    sd["0.weight"][1, 0] = 1e300                      # finite as float64, inf as float32
    with pytest.raises(ValueError, match=r"'0.weight' contains NaN or inf as float32 \(1 values"):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():             # nothing was written
        np.testing.assert_array_equal(v, before[k])
    sd["0.weight"][1, 0] = 3e38                       # the largest float32 is about 3.4e38: loads
    net.load_state_dict(sd)
    assert np.isfinite(net.state_dict()["0.weight"]).all()


def test_datasets_check_the_float32_values():
    with pytest.raises(ValueError, match="centers must be finite as float32"):
        gl.datasets.gaussian_mixture(3, [[1e300, 0.0]], 1.0)
    with pytest.raises(ValueError, match="std must be finite as float32"):
        gl.datasets.gaussian_mixture(3, [[0.0, 0.0]], 1e300)
    with pytest.raises(ValueError, match="samples .* must be finite as float32"):
        gl.datasets.gaussian_mixture(3, [[3e38, 0.0]], 1e38, seed=0)   # each finite, their sum is not
    with pytest.raises(ValueError, match="finite as float32"):
        gl.datasets.ring_centers(8, radius=1e300)
    with pytest.raises(ValueError, match="finite as float32"):
        gl.datasets.grid_centers(5, spacing=1e300)
    with pytest.raises(ValueError, match="latent: vectors must be|finite"):
        gl.latent.fixed([[1e300, 1.0]])


@pytest.mark.parametrize("scale", [(1e300, 1.0), (-1.0, 1e39), (0.0, 1e-50), (1.0, 1.0 + 1e-12)])
def test_mnist_scale_is_checked_as_float32_before_any_file_is_read(tmp_path, scale):
    with pytest.raises(ValueError, match="scale must be two different numbers that are finite as float32"):
        gl.datasets.mnist(root=str(tmp_path), scale=scale)   # no files there: the scale is refused first
