"""ganlib.metrics.images: classifier score, Fréchet distance, KID, class diversity (TECHNIQUES.md §F)."""
import math
import os

import numpy as np
import pytest

import ganlib.metrics as metrics
from ganlib.metrics import (batched, class_diversity, classifier_score, frechet_distance, kernel_distance,
                            renyi_entropy)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get("GANLIB_TEST_MNIST") or os.path.join(os.path.dirname(ROOT), "shared", "data",
                                                                "mnist")


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def correlated(rng, n, d, shift=0.0, scale=1.0):
    a = rng.normal(size=(d, d)) / math.sqrt(d)
    return rng.normal(size=(n, d)) @ (scale * a + np.eye(d)) + shift


# ============================================================================= batched

def test_batched_chunks_and_checks():
    seen = []

    def f(b):
        seen.append(len(b))
        return b.reshape(len(b), -1).sum(1, keepdims=True)

    x = np.arange(1200 * 4, dtype=np.float32).reshape(1200, 1, 2, 2)
    out = batched(f, x, batch_size=500)
    assert seen == [500, 500, 200]
    np.testing.assert_array_equal(out, x.reshape(1200, -1).sum(1, keepdims=True))
    with pytest.raises(ValueError, match="one row per sample"):
        batched(lambda b: b[:1], x)
    with pytest.raises(ValueError, match="at least one sample"):
        batched(f, np.zeros((0, 3)))
    with pytest.raises(TypeError):
        batched(3, x)
    with pytest.raises(ValueError):
        batched(f, x, batch_size=0)


# ============================================================================= classifier score

def is_reference(p, splits):
    """The Inception Score formula, term by term in float64."""
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(0)
        kls = []
        for row in part:
            kls.append(sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(row, py) if pi > 0))
        scores.append(math.exp(np.mean(kls)))
    return float(np.mean(scores)), float(np.std(scores))


def test_classifier_score_matches_reference():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(10, 0.3), size=1003)
    p[0, :] = 0.0
    p[0, 3] = 1.0                                   # exact zeros: 0 log 0 = 0
    for splits in (1, 7, 10):
        m, s = classifier_score(p, splits=splits)
        rm, rs = is_reference(p, splits)
        assert rel(m, rm) <= 1e-6 and abs(s - rs) <= 1e-6 * rm


def test_classifier_score_extremes():
    confident = np.eye(10)[np.arange(1000) % 10]
    m, s = classifier_score(confident, splits=10)
    assert abs(m - 10.0) < 1e-9 and s < 1e-9
    m, s = classifier_score(np.tile(np.eye(10)[3], (500, 1)))
    assert m == 1.0 and s == 0.0
    m, s = classifier_score(np.tile(np.full(10, 0.1), (500, 1)))
    assert abs(m - 1.0) < 1e-12
    # nearly confident, uniformly spread: close to (but below) 10
    soft = 0.99 * confident + 0.001
    assert 9.0 < classifier_score(soft)[0] < 10.0


def test_classifier_score_with_classifier_and_logits():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(777, 5))
    w = rng.normal(size=(5, 6))
    calls = []

    def logits(b):
        calls.append(len(b))
        return b @ w                                # negative values: soft-maxed

    z = x @ w
    probs = np.exp(z - z.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    want = is_reference(probs, 10)
    got = classifier_score(x, classifier=logits, splits=10, batch_size=100)
    assert max(calls) == 100 and sum(calls) == 777
    assert rel(got[0], want[0]) <= 1e-6
    assert rel(classifier_score(z)[0], want[0]) <= 1e-6                  # 2-D logits directly
    assert rel(classifier_score(probs.astype(np.float32))[0], want[0]) <= 1e-5   # float32 probs
    # non-negative rows that do not sum to 1 are logits too (documented rule)
    e = np.exp(z)
    soft_e = np.exp(e - e.max(1, keepdims=True))
    soft_e /= soft_e.sum(1, keepdims=True)
    assert rel(classifier_score(x, classifier=lambda b: np.exp(b @ w))[0], is_reference(soft_e, 10)[0]) <= 1e-6


def test_classifier_score_default_classifier(monkeypatch):
    images = np.zeros((20, 1, 28, 28), np.float32)
    monkeypatch.delattr(metrics, "default_mnist_classifier", raising=False)
    with pytest.raises(ValueError, match=r"no default classifier available yet; pass classifier=\.\.\."):
        classifier_score(images)
    with pytest.raises(ValueError, match="no default classifier"):
        class_diversity(images)
    onehot = np.eye(10)[np.arange(20) % 10]
    monkeypatch.setattr(metrics, "default_mnist_classifier",
                        lambda: (lambda b: onehot[:len(b)] if len(b) == 20 else None), raising=False)
    assert abs(classifier_score(images, splits=1)[0] - 10.0) < 1e-9
    assert class_diversity(images)["classes_present"] == 10


def test_classifier_score_bad_input():
    with pytest.raises(ValueError, match="splits"):
        classifier_score(np.eye(3), splits=4)
    with pytest.raises(ValueError, match="finite"):
        classifier_score(np.array([[0.5, np.nan], [0.5, 0.5]]), splits=1)
    with pytest.raises(ValueError):
        classifier_score(np.ones(5), classifier=lambda b: b)             # 1-D output
    with pytest.raises(ValueError):
        classifier_score(np.eye(3), splits=0)


# ============================================================================= Fréchet distance

def fid_reference(x, y):
    linalg = pytest.importorskip("scipy.linalg")
    mu1, mu2 = x.mean(0), y.mean(0)
    c1, c2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(c1 @ c2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n1,n2,d", [(2000, 1500, 16), (300, 400, 64), (65, 80, 64)])
def test_frechet_matches_scipy(n1, n2, d):
    rng = np.random.default_rng(d + n1)
    x = correlated(rng, n1, d)
    y = correlated(rng, n2, d, shift=0.3, scale=1.5)
    want = fid_reference(x, y)
    assert rel(frechet_distance(x, y), want) <= 1e-6
    assert rel(frechet_distance(y, x), want) <= 1e-6
    assert rel(frechet_distance(x.astype(np.float32), y.astype(np.float32)),
               fid_reference(x.astype(np.float32).astype(np.float64),
                             y.astype(np.float32).astype(np.float64))) <= 1e-6


def test_frechet_with_feature_function():
    rng = np.random.default_rng(5)
    imgs_a = rng.normal(size=(600, 1, 4, 4))
    imgs_b = rng.normal(size=(500, 1, 4, 4)) * 1.3 + 0.2
    proj = rng.normal(size=(16, 8))

    def feat(b):
        return b.reshape(len(b), -1) @ proj

    want = fid_reference(feat(imgs_a), feat(imgs_b))
    assert rel(frechet_distance(imgs_a, imgs_b, features=feat, batch_size=128), want) <= 1e-6


def test_frechet_fewer_samples_than_dimensions_is_exact_and_finite():
    rng = np.random.default_rng(7)
    d, D = 10, 300
    x = correlated(rng, 60, d)
    y = correlated(rng, 45, d, shift=0.5, scale=2.0)
    want = fid_reference(x, y)                      # well-posed in 10-D
    q, _ = np.linalg.qr(rng.normal(size=(D, d)))    # isometric embedding into 300-D
    xe, ye = x @ q.T + 1.0, y @ q.T + 1.0           # 60 and 45 samples in 300 dimensions
    got = frechet_distance(xe, ye)
    assert math.isfinite(got) and rel(got, want) <= 1e-6
    # n > d but a singular (rank-10) covariance in 40-D: the eigendecomposition path
    q40, _ = np.linalg.qr(rng.normal(size=(40, d)))
    assert rel(frechet_distance(x @ q40.T - 2.0, y @ q40.T - 2.0), want) <= 1e-6
    # one set with n <= d and the other with n > d
    ye_big = correlated(rng, 500, d, shift=0.5, scale=2.0)
    assert rel(frechet_distance(xe, ye_big @ q.T + 1.0), fid_reference(x, ye_big)) <= 1e-6
    # tiny, rank-deficient, degenerate cases: finite, never NaN, >= 0
    for a, b in [(rng.normal(size=(2, 784)), rng.normal(size=(3, 784))),
                 (np.ones((5, 50)), np.zeros((7, 50))),
                 (rng.normal(size=(20, 784)) * 1e-8, rng.normal(size=(20, 784)) * 1e8)]:
        v = frechet_distance(a, b)
        assert math.isfinite(v) and v >= 0.0
    assert frechet_distance(np.ones((5, 50)), np.zeros((7, 50))) == pytest.approx(50.0, rel=1e-12)
    x = rng.normal(size=(30, 100))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


def test_frechet_two_halves_of_mnist_vs_noise():
    from ganlib.datasets import mnist
    try:
        x, _ = mnist(MNIST_DIR, split="test")
    except FileNotFoundError:
        pytest.skip(f"MNIST not found in {MNIST_DIR} (set GANLIB_TEST_MNIST)")
    flat = x.reshape(len(x), -1).astype(np.float64)
    proj = np.random.default_rng(0).normal(size=(784, 64)) / 28.0     # fixed random projection
    noise = np.random.default_rng(1).uniform(-1, 1, size=(5000, 784))
    same = frechet_distance(flat[:5000] @ proj, flat[5000:] @ proj)
    diff = frechet_distance(flat[:5000] @ proj, noise @ proj)
    assert same > 0 and diff / same > 20, (same, diff)
    # also on raw pixels: 784-D features, fewer samples than dimensions
    raw_same = frechet_distance(flat[:400], flat[5000:5400])
    raw_diff = frechet_distance(flat[:400], noise[:400])
    assert math.isfinite(raw_same) and raw_diff / raw_same > 5, (raw_same, raw_diff)


def test_frechet_bad_input():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(x[:, 0], x[:, 0])
    with pytest.raises(ValueError, match="same width"):
        frechet_distance(x, x[:, :2])
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(x[:1], x)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="1 of 10 rows"):
        frechet_distance(x, bad)
    with pytest.raises(TypeError):
        frechet_distance(x, [["a", "b", "c"]] * 3)
    with pytest.raises(ValueError, match="features"):
        frechet_distance(x, x, features=lambda b: b[:, 0])            # 1-D features


# ============================================================================= kernel distance

def kid_reference(x, y, subsets, subset_size, degree=3, gamma=None, coef0=1.0, seed=0):
    d = x.shape[1]
    g = 1.0 / d if gamma is None else gamma
    m = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    k = lambda a, b: (g * float(np.dot(a, b)) + coef0) ** degree
    vals = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        sxx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j)
        syy = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j)
        sxy = sum(k(a[i], b[j]) for i in range(m) for j in range(m))
        vals.append(sxx / (m * (m - 1)) + syy / (m * (m - 1)) - 2 * sxy / (m * m))
    return float(np.mean(vals)), float(np.std(vals))


def test_kid_matches_direct_formula():
    rng = np.random.default_rng(2)
    x = correlated(rng, 70, 5)
    y = correlated(rng, 50, 5, shift=0.4)
    for kw in ({}, {"degree": 2, "gamma": 0.7, "coef0": 0.5, "seed": 3}):
        got = kernel_distance(x, y, subsets=4, subset_size=25, **kw)
        want = kid_reference(x, y, 4, 25, **kw)
        assert rel(got[0], want[0]) <= 1e-6 and abs(got[1] - want[1]) <= 1e-6 * abs(want[0])
    # subset size capped at the sample counts (m = 50)
    got = kernel_distance(x, y, subsets=2, subset_size=10 ** 6)
    want = kid_reference(x, y, 2, 50)
    assert rel(got[0], want[0]) <= 1e-6


def test_kid_same_vs_shifted_and_features():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same, _ = kernel_distance(a, b, subsets=20, subset_size=300)
    shifted, _ = kernel_distance(a, b + 1.0, subsets=20, subset_size=300)
    assert abs(same) < 0.05 and shifted > 20 * max(abs(same), 1e-3)
    via_features = kernel_distance(a.reshape(600, 2, 4), b.reshape(600, 2, 4), features=lambda t: t.reshape(len(t), -1),
                                   subsets=3, subset_size=100, seed=9)
    assert via_features == kernel_distance(a, b, subsets=3, subset_size=100, seed=9)
    with pytest.raises(ValueError, match="same width"):
        kernel_distance(a, b[:, :3])
    with pytest.raises(ValueError, match="gamma"):
        kernel_distance(a, b, gamma=0.0)
    with pytest.raises(ValueError, match="subset_size"):
        kernel_distance(a, b, subset_size=1)


# ============================================================================= class diversity

def test_class_diversity_known_label_sets():
    r = class_diversity(np.arange(1000) % 10)
    assert r["num_classes"] == 10 and r["classes_present"] == 10 and r["num_samples"] == 1000
    np.testing.assert_allclose(r["p"], 0.1)
    assert r["collision_probability"] == pytest.approx(0.1, rel=1e-12)
    for key in ("H1", "H2", "Hinf"):
        assert r[key] == pytest.approx(math.log(10), rel=1e-12)

    r = class_diversity(np.full(50, 7), num_classes=10)
    assert r["counts"].tolist() == [0] * 7 + [50, 0, 0] and r["classes_present"] == 1
    assert r["collision_probability"] == 1.0 and r["H1"] == 0.0 and r["H2"] == 0.0 and r["Hinf"] == 0.0

    r = class_diversity([0, 0, 0, 1], num_classes=3)
    assert r["p"].tolist() == [0.75, 0.25, 0.0] and r["counts"].dtype == np.int64
    assert r["collision_probability"] == pytest.approx(0.625)
    assert r["H1"] == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert r["H2"] == pytest.approx(-math.log(0.625))
    assert r["Hinf"] == pytest.approx(-math.log(0.75))
    assert r["H1"] >= r["H2"] >= r["Hinf"]


def test_class_diversity_from_scores_and_classifier():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, size=300)
    probs = np.eye(5)[labels] * 0.9 + 0.02
    a = class_diversity(labels, num_classes=5)
    b = class_diversity(probs)
    c = class_diversity(labels.astype(np.float64), num_classes=5)
    d = class_diversity(rng.normal(size=(300, 3)), classifier=lambda t: probs[:len(t)] if len(t) == 300 else None,
                        batch_size=1000)
    for r in (b, c, d):
        np.testing.assert_array_equal(r["counts"], a["counts"])
        assert r["H1"] == a["H1"]
    with pytest.raises(ValueError, match="out of range"):
        class_diversity([0, 5], num_classes=5)
    with pytest.raises(ValueError, match=">= 0"):
        class_diversity([-1, 2])
    with pytest.raises(TypeError, match="integer"):
        class_diversity([0.5, 1.0])
    with pytest.raises(ValueError, match="at least one"):
        class_diversity(np.array([], dtype=np.int64))


def test_renyi_entropy():
    p = np.array([0.5, 0.25, 0.125, 0.125, 0.0])
    h = [renyi_entropy(p, a) for a in (0, 0.5, 1, 2, 5, np.inf)]
    assert h[0] == pytest.approx(math.log(4))
    assert h[2] == pytest.approx(-(p[:4] * np.log(p[:4])).sum())
    assert h[3] == pytest.approx(-math.log((p ** 2).sum()))
    assert h[5] == pytest.approx(math.log(2))
    assert all(h[i] >= h[i + 1] for i in range(len(h) - 1))
    assert renyi_entropy(p, 1 + 1e-7) == pytest.approx(h[2], rel=1e-5)
    assert renyi_entropy([2, 2], 2) == pytest.approx(math.log(2))      # normalised
    with pytest.raises(ValueError):
        renyi_entropy([0, 0], 2)
    with pytest.raises(ValueError):
        renyi_entropy([1, 1], -1)
