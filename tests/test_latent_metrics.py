"""Latent-space metrics: linear probe (trained in C) against a float64 Newton solution, clustering
accuracy and its Hungarian matching against SciPy, the class radius on a case with a known answer,
and the class-radius bound's formula."""
import math

import numpy as np
import pytest

import ganlib as gl
from ganlib import metrics
from ganlib.metrics.latent import _linear_sum_assignment


# ---- linear probe ------------------------------------------------------------------------------

def newton_logreg(x, y, k, l2, iters=100):
    """argmin_W,b mean CE(x W^T + b, y) + l2 ||W||^2 in float64: damped Newton to convergence."""
    n, d = x.shape
    xa = np.hstack([x, np.ones((n, 1))])
    Y = np.eye(k)[y]
    th = np.zeros((k, d + 1))
    reg = np.full((k, d + 1), 2.0 * l2)
    reg[:, -1] = 0.0                                   # the bias is not penalised

    def objective(t):
        z = xa @ t.T
        z = z - z.max(1, keepdims=True)
        return np.mean(np.log(np.exp(z).sum(1)) - (Y * z).sum(1)) + l2 * (t[:, :-1] ** 2).sum()

    for _ in range(iters):
        z = xa @ th.T
        P = np.exp(z - z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        g = (P - Y).T @ xa / n + reg * th
        if np.abs(g).max() < 1e-12:
            break
        H = np.zeros((k * (d + 1), k * (d + 1)))
        for a in range(k):
            for b in range(k):
                w = P[:, a] * ((a == b) - P[:, b])
                H[a * (d + 1):(a + 1) * (d + 1), b * (d + 1):(b + 1) * (d + 1)] = (xa * w[:, None]).T @ xa / n
        H += np.diag(reg.ravel())
        step = np.linalg.lstsq(H, g.ravel(), rcond=None)[0].reshape(k, d + 1)   # softmax's shift: singular
        t, f0 = 1.0, objective(th)
        while objective(th - t * step) > f0 - 1e-4 * t * (g * step).sum() and t > 1e-12:
            t *= 0.5
        th = th - t * step
    assert np.abs(g).max() < 1e-8, "the reference did not converge"
    return th


def blobs(seed, n, m, d, k, sep, scale=True):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * sep
    y = rng.integers(0, k, n + m)
    x = centers[y] + rng.normal(size=(n + m, d))
    if scale:   # features on very different scales and offsets: the probe standardises them
        x = x * rng.uniform(0.5, 50.0, d) + rng.normal(size=d) * 20.0
    return x[:n], y[:n], x[n:], y[n:]


def reference_accuracy(xtr, ytr, xte, yte, l2):
    m, s = xtr.mean(0), xtr.std(0)
    k = int(max(ytr.max(), yte.max())) + 1
    th = newton_logreg((xtr - m) / s, ytr, k, l2)
    logits = np.hstack([(xte - m) / s, np.ones((len(xte), 1))]) @ th.T
    return float(np.mean(np.argmax(logits, 1) == yte))


@pytest.mark.parametrize("seed, n, m, d, k, sep, l2", [
    (0, 600, 300, 5, 3, 1.0, 1e-4),
    (1, 2000, 1000, 8, 10, 1.5, 1e-4),
    (2, 800, 400, 12, 4, 0.6, 1e-2),
    (3, 300, 200, 3, 2, 3.0, 0.0),
])
def test_linear_probe_matches_a_float64_newton_solution(seed, n, m, d, k, sep, l2):
    xtr, ytr, xte, yte = blobs(seed, n, m, d, k, sep)
    want = reference_accuracy(xtr, ytr, xte, yte, l2)
    got = metrics.linear_probe(xtr.astype(np.float32), ytr, xte.astype(np.float32), yte, l2=l2)
    assert isinstance(got, float)
    assert abs(got - want) * m <= 1.0 + 1e-9, (got, want)
    assert want > 1.0 / k + 0.1            # the data are informative: the check is not trivial


def test_linear_probe_defaults_beat_a_short_run_and_are_deterministic():
    xtr, ytr, xte, yte = blobs(4, 2000, 1000, 8, 10, 1.5)
    want = reference_accuracy(xtr, ytr, xte, yte, 1e-4)
    a = metrics.linear_probe(xtr, ytr, xte, yte)
    assert abs(a - want) * 1000 <= 1.0
    assert metrics.linear_probe(xtr, ytr, xte, yte) == a
    # a few steps are far from converged: the default length matters
    short = metrics.linear_probe(xtr, ytr, xte, yte, steps=5)
    assert short < want - 0.05
    # epochs count passes over the codes: 2000 // 256 = 7 steps per epoch
    assert metrics.linear_probe(xtr, ytr, xte, yte, epochs=5 / 7) == short


def test_linear_probe_perfect_and_chance_cases():
    rng = np.random.default_rng(5)
    y = np.arange(600) % 3
    sep = rng.normal(size=(600, 4)) * 0.1 + 5.0 * np.eye(3, 4)[y]
    assert metrics.linear_probe(sep[:400], y[:400], sep[400:], y[400:]) == 1.0
    noise = rng.normal(size=(3000, 4))
    acc = metrics.linear_probe(noise[:2000], y.repeat(5)[:2000], noise[2000:], y.repeat(5)[2000:])
    assert abs(acc - 1 / 3) < 0.06          # no information: chance (1000 test points, sd 0.015)


def test_linear_probe_handles_constant_features_and_unseen_test_labels():
    xtr, ytr, xte, yte = blobs(6, 500, 200, 4, 3, 2.0, scale=False)
    xtr = np.hstack([xtr, np.full((500, 1), 7.0)])        # std 0: only centred
    xte = np.hstack([xte, np.full((200, 1), 7.0)])
    yte = yte.copy()
    yte[:10] = 5                                          # a class never seen in training: always wrong
    acc = metrics.linear_probe(xtr, ytr, xte, yte)
    assert 0.5 < acc <= 190 / 200


def test_linear_probe_class_ids_only_name_classes():
    """Large, sparse label values give the same probe as 0..K-1 (no (n, max label) one-hot table)."""
    xtr, ytr, xte, yte = blobs(7, 400, 200, 4, 3, 1.0)
    ids = np.array([5, 77, 10 ** 9])          # increasing: the same classes 0, 1, 2
    a = metrics.linear_probe(xtr, ytr, xte, yte, steps=300)
    assert metrics.linear_probe(xtr, ids[ytr], xte, ids[yte], steps=300) == a


def test_linear_probe_bad_inputs():
    x, y = np.zeros((10, 3)), np.arange(10) % 2
    lp = metrics.linear_probe
    with pytest.raises(ValueError, match=r"train_codes must be a 2-D array \(n codes, d features\)"):
        lp(np.zeros(10), y, x, y)
    with pytest.raises(ValueError, match="test_codes have 2 features, train_codes 3"):
        lp(x, y, np.zeros((10, 2)), y)
    with pytest.raises(ValueError, match="train_labels has 9 labels for 10 rows"):
        lp(x, y[:9], x, y)
    with pytest.raises(ValueError, match="test_labels has 11 labels for 10 rows"):
        lp(x, y, x, np.arange(11) % 2)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"train_codes must be finite: 1 of 10 rows contain NaN or inf \(first: row 3\)"):
        lp(bad, y, x, y)
    with pytest.raises(ValueError, match="test_codes must be finite"):
        lp(x, y, np.where(np.isnan(bad), np.inf, x), y)
    with pytest.raises(ValueError, match="train_labels must be >= 0, got -1 at index 0"):
        lp(x, y - 1, x, y)
    with pytest.raises(ValueError, match=r"train_labels must hold integer labels, got 0.5 at index 0"):
        lp(x, y + 0.5, x, y)
    with pytest.raises(TypeError, match="train_labels must hold integer labels, got dtype bool"):
        lp(x, y.astype(bool), x, y)
    with pytest.raises(ValueError, match="train_labels hold a single class"):
        lp(x, np.zeros(10, int), x, y)
    with pytest.raises(TypeError, match="train_codes must be a numeric array"):
        lp([["a", "b"]], y, x, y)
    with pytest.raises(ValueError, match="give steps or epochs, not both"):
        lp(x, y, x, y, steps=10, epochs=1.0)
    with pytest.raises(ValueError, match="overflow float32 after standardisation"):
        lp(np.arange(30.0).reshape(10, 3), y, np.full((10, 3), 1e300), y)


# ---- clustering accuracy ------------------------------------------------------------------------

def test_hungarian_matches_scipy():
    scipy_opt = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    for t in range(300):
        n, m = (int(v) for v in rng.integers(1, 13, 2))
        kind = t % 3
        cost = (rng.normal(size=(n, m)) if kind == 0 else
                rng.integers(0, 4, (n, m)).astype(float) if kind == 1 else   # many ties
                rng.uniform(-1e6, 1e6, (n, m)))
        r1, c1 = scipy_opt.linear_sum_assignment(cost)
        r2, c2 = _linear_sum_assignment(cost)
        assert len(r2) == min(n, m) and len(set(r2.tolist())) == len(r2) and len(set(c2.tolist())) == len(c2)
        assert np.all(np.diff(r2) > 0)
        np.testing.assert_allclose(cost[r2, c2].sum(), cost[r1, c1].sum(), rtol=1e-12, atol=1e-9)
    cost = rng.normal(size=(60, 80))
    r1, c1 = scipy_opt.linear_sum_assignment(cost)
    r2, c2 = _linear_sum_assignment(cost)
    np.testing.assert_allclose(cost[r2, c2].sum(), cost[r1, c1].sum(), rtol=1e-12)


def test_hungarian_small_known_case():
    cost = np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    rows, cols = _linear_sum_assignment(cost)
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == [1, 0, 2]    # 1 + 2 + 2 = 5
    with pytest.raises(ValueError, match="cost must be finite"):
        _linear_sum_assignment(np.array([[1.0, np.nan]]))


def brute_force_one_to_one(assign, labels):
    import itertools
    cl, lab = np.unique(assign), np.unique(labels)
    best = 0
    if len(cl) <= len(lab):
        for perm in itertools.permutations(lab, len(cl)):
            best = max(best, sum(np.sum((assign == c) & (labels == l)) for c, l in zip(cl, perm)))
    else:
        for perm in itertools.permutations(cl, len(lab)):
            best = max(best, sum(np.sum((assign == c) & (labels == l)) for c, l in zip(perm, lab)))
    return best / len(assign)


def test_clustering_accuracy_one_to_one_equals_brute_force():
    rng = np.random.default_rng(1)
    for t in range(40):
        k, c = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        labels = rng.integers(0, c, 60)
        assign = np.where(rng.uniform(size=60) < 0.6, (labels * 3 + 1) % max(k, 1), rng.integers(0, k, 60))
        got = metrics.clustering_accuracy(assign, labels)
        assert got == pytest.approx(brute_force_one_to_one(assign, labels), abs=1e-12), (k, c)


def test_clustering_accuracy_known_values_and_mappings():
    ca = metrics.clustering_accuracy
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    # a permutation of the labels is perfect either way
    assert ca((labels + 1) % 3 + 10, labels) == 1.0
    assert ca((labels + 1) % 3 + 10, labels, mapping="many-to-one") == 1.0
    # 5 clusters for 3 classes: one-to-one leaves 2 clusters unmatched (errors), many-to-one does not
    assign = np.array([0, 0, 1, 2, 2, 3, 4, 4, 4])
    assert ca(assign, labels) == pytest.approx(7 / 9)           # 0->0 (2), 2->1 (2), 4->2 (3)
    assert ca(assign, labels, mapping="many-to-one") == 1.0
    # 1 cluster: one-to-one gets the largest class, as many-to-one
    assert ca(np.zeros(9, int), labels) == pytest.approx(1 / 3)
    # fewer clusters than classes: some classes get no cluster
    assert ca([0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(4 / 6)
    # many-to-one >= one-to-one, both in [0, 1]; float labels with integer values are fine
    rng = np.random.default_rng(2)
    a, y = rng.integers(0, 8, 500), rng.integers(0, 4, 500).astype(np.float32)
    o, mo = ca(a, y), ca(a, y, mapping="many-to-one")
    assert 0.0 <= o <= mo <= 1.0


def test_clustering_accuracy_bad_inputs():
    ca = metrics.clustering_accuracy
    with pytest.raises(ValueError, match=r"mapping must be one of \('one-to-one', 'many-to-one'\)"):
        ca([0, 1], [0, 1], mapping="hungarian")
    with pytest.raises(ValueError, match="labels has 3 labels for 2 rows"):
        ca([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="assignments must be a non-empty 1-D array"):
        ca([[0, 1]], [0, 1])
    with pytest.raises(ValueError, match="assignments must be a non-empty 1-D array"):
        ca([], [])
    with pytest.raises(ValueError, match=r"labels must hold integer labels, got nan at index 1"):
        ca([0, 1], [0.0, np.nan])
    with pytest.raises(TypeError, match="must hold integer labels, got dtype <U1"):
        ca(["a", "b"], [0, 1])


# ---- class radius ------------------------------------------------------------------------------

def sign_classifier(x):
    """Class 1 where the first coordinate is positive: the latent space split by z1 = 0."""
    return (x[:, 0] > 0).astype(np.int64)


def test_class_radius_of_a_hyperplane_split_is_e_abs_z1():
    """r(z) = |z1| for the split z1 = 0, so E r = E|z1| = sqrt(2/pi) ~ 0.798 under N(0, I).

    sd of the mean of |z1| over n draws: sqrt((1 - 2/pi) / n) = 0.0135 for n = 2000; the
    nearest-neighbour estimate is an upper bound whose bias in 2-D is ~0.01 at this n.
    """
    n = 2000
    r = metrics.class_radius(lambda z: z, sign_classifier, 2, n)
    assert isinstance(r, float)
    assert abs(r - math.sqrt(2 / math.pi)) < 4 * math.sqrt((1 - 2 / math.pi) / n) + 0.02
    # five other-class neighbours per point: within 0.006 of the mean |z1| of the very same draws
    d = metrics.class_radius(lambda z: z, sign_classifier, 2, n, neighbors=5, details=True)
    assert d["radius"] <= r
    assert 0.0 <= d["radius"] - np.abs(d["latents"][:, 0]).mean() < 0.006


def test_class_radius_distances_are_the_exact_crossings_of_the_segments():
    """Per point: the bisection finds where the segment to the nearest other-class latent crosses
    z1 = 0 (to 2**-steps of its length), which is >= |z1|; with 5 neighbours the mean is within
    0.006 of the sample's own mean |z1|."""
    n, steps = 600, 30
    d = metrics.class_radius(lambda z: z, sign_classifier, 3, n, bisection_steps=steps, seed=3, details=True)
    z, c, dist = d["latents"], d["classes"], d["distances"]
    assert z.shape == (n, 3) and c.shape == dist.shape == (n,)
    np.testing.assert_array_equal(c, z[:, 0] > 0)
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    d2[c[:, None] == c[None, :]] = np.inf
    j = np.argmin(d2, axis=1)
    seg = np.linalg.norm(z[j] - z, axis=1)
    exact = z[:, 0] / (z[:, 0] - z[j, 0]) * seg          # where the segment meets z1 = 0
    assert np.all(dist >= exact - 1e-9)                  # the certified point lies beyond the crossing
    assert np.all(dist - exact <= seg * 2.0 ** -steps + 1e-6)
    assert np.all(dist >= np.abs(z[:, 0]) - 1e-6)
    assert d["radius"] == pytest.approx(dist.mean())
    d5 = metrics.class_radius(lambda z: z, sign_classifier, 3, n, bisection_steps=steps, neighbors=5, seed=3,
                              details=True)
    np.testing.assert_array_equal(d5["latents"], z)
    assert np.all(d5["distances"] <= dist + 1e-6)         # more candidates can only lower the estimate
    true = np.abs(z[:, 0]).mean()
    assert true <= d5["radius"] < d["radius"] and d5["radius"] - true < 0.5 * (d["radius"] - true)


def test_class_radius_details_and_other_latent_sources():
    gen = lambda z: 3.0 * z + 1.0                    # decoded class: 3 z1 + 1 > 0, boundary z1 = -1/3
    probs = lambda x: np.stack([x[:, 0] <= 0, x[:, 0] > 0], 1).astype(np.float32)   # 2-D scores
    d = metrics.class_radius(gen, probs, 2, 1000, details=True)
    assert set(d) == {"radius", "distances", "latents", "classes", "p", "per_class", "bound"}
    assert abs(d["p"][1] - 0.6306) < 0.05                # P(z1 > -1/3)
    assert d["bound"] == pytest.approx(metrics.class_radius_bound(list(d["p"].values())))
    exact = np.abs(d["latents"][:, 0] + 1 / 3).mean()
    assert exact - 1e-6 <= d["radius"] < exact + 0.04
    # a gl.latent distribution is sampled in C; an array of latents is used as given
    r_lat = metrics.class_radius(lambda z: z, sign_classifier, gl.latent.normal(2), 800, seed=1)
    assert abs(r_lat - math.sqrt(2 / math.pi)) < 0.1
    z = np.random.default_rng(0).standard_normal((500, 2))
    r1 = metrics.class_radius(lambda z: z, sign_classifier, z)
    assert r1 == pytest.approx(metrics.class_radius(lambda z: z, sign_classifier, z.astype(np.float32), 500), rel=1e-6)
    # batching does not change anything
    assert metrics.class_radius(lambda z: z, sign_classifier, z, batch_size=7) == r1


def test_class_radius_three_classes():
    """Classes by the angle of z in thirds: r(z) = distance to the nearest of 3 rays."""
    def angle_class(x):
        return (np.floor((np.arctan2(x[:, 1], x[:, 0]) + np.pi) / (2 * np.pi / 3)) % 3).astype(np.int64)
    d = metrics.class_radius(lambda z: z, angle_class, 2, 1500, neighbors=5, details=True, seed=2)
    z = d["latents"]
    rays = np.array([[np.cos(a), np.sin(a)] for a in (-np.pi, -np.pi / 3, np.pi / 3)])
    proj = z @ rays.T                                      # distance to each boundary ray
    dist_ray = np.where(proj > 0, np.abs(z[:, 0:1] * rays[:, 1] - z[:, 1:2] * rays[:, 0]),
                        np.linalg.norm(z, axis=1)[:, None])
    exact = dist_ray.min(1)
    assert set(np.unique(d["classes"]).tolist()) == {0, 1, 2}
    assert np.all(d["distances"] >= exact - 1e-5)
    assert d["radius"] - exact.mean() < 0.03


def test_class_radius_bad_inputs():
    cr = metrics.class_radius
    ident = lambda z: z
    with pytest.raises(ValueError, match="all 100 latents decode to class 0"):
        cr(ident, lambda x: np.zeros(len(x), np.int64), 2, 100)
    with pytest.raises(TypeError, match="generator and classifier must be callables"):
        cr(None, sign_classifier, 2)
    with pytest.raises(TypeError, match="latent must be an int dimension, a gl.latent distribution or an"):
        cr(ident, sign_classifier, 2.0)
    with pytest.raises(ValueError, match="latent dimension must be >= 1"):
        cr(ident, sign_classifier, 0)
    with pytest.raises(ValueError, match="n must be >= 2"):
        cr(ident, sign_classifier, 2, 1)
    with pytest.raises(ValueError, match="n = 10 but 5 latents were given"):
        cr(ident, sign_classifier, np.ones((5, 2)), 10)
    with pytest.raises(ValueError, match="latents must be finite"):
        cr(ident, sign_classifier, np.full((5, 2), np.nan))
    with pytest.raises(ValueError, match="classifier output contains NaN or inf"):
        cr(ident, lambda x: np.full((len(x), 2), np.nan), 2, 10)
    with pytest.raises(ValueError, match="classifier output must be 1-D integer class labels or 2-D"):
        cr(ident, lambda x: x.reshape(len(x), 1, -1), 2, 10)
    with pytest.raises(ValueError, match=r"got shape \(1, 2\)"):
        cr(ident, lambda x: x[:1], 2, 10)
    with pytest.raises(ValueError, match="the classifier returned 1 labels for 10 latents"):
        cr(ident, lambda x: sign_classifier(x)[:1], 2, 10)
    with pytest.raises(ValueError, match=r"the generator returned shape \(1, 2\) for a batch of 10 latents"):
        cr(lambda z: z[:1], sign_classifier, 2, 10)
    with pytest.raises(ValueError, match="bisection_steps must be <= 60"):
        cr(ident, sign_classifier, 2, 10, bisection_steps=61)
    with pytest.raises(TypeError, match="neighbors must be an int"):
        cr(ident, sign_classifier, 2, 10, neighbors=1.5)
    with pytest.raises(TypeError, match="details must be a bool"):
        cr(ident, sign_classifier, 2, 10, details="yes")


# ---- class radius bound ------------------------------------------------------------------------

def g_of(collision):
    h = math.log(1 / collision)
    return math.log(4 * math.pi * h) / math.sqrt(2 * h)


def test_class_radius_bound_values():
    b = metrics.class_radius_bound
    # uniform over K classes: log(4 pi log K) / sqrt(2 log K)
    for k in (2, 10, 1000):
        assert b(np.full(k, 1.0 / k)) == pytest.approx(math.log(4 * math.pi * math.log(k)) / math.sqrt(2 * math.log(k)),
                                                      rel=1e-12)
    assert b(np.full(10, 0.1)) == pytest.approx(1.5680848, abs=1e-7)
    assert b([0.5, 0.5]) == pytest.approx(1.8383667, abs=1e-7)
    p = np.array([0.5, 0.25, 0.125, 0.125, 0.0])
    assert b(p) == pytest.approx(g_of(float(p @ p)), rel=1e-12)         # depends on ||p||^2 only
    # the bound grows as diversity falls (collision probability up), and is smallest for uniform p
    assert b([0.25] * 4) < b([0.4, 0.2, 0.2, 0.2]) < b([0.7, 0.1, 0.1, 0.1])
    # above ||p||^2 = exp(-1/(4 pi)) ~ 0.923 the formula is negative (uninformative), returned as is
    assert b([0.98, 0.02]) < 0.0
    # float32 histograms summing to 1 within rounding are accepted
    q = (np.arange(1, 101) / 5050).astype(np.float32)
    assert b(q) == pytest.approx(g_of(float((q.astype(np.float64) / q.sum(dtype=np.float64)) @
                                            (q.astype(np.float64) / q.sum(dtype=np.float64)))), rel=1e-6)


def test_class_radius_bound_is_above_the_hyperplane_radius():
    """Two balanced classes split by a hyperplane: E r = sqrt(2/pi) ~ 0.80 <= the bound 1.84."""
    assert math.sqrt(2 / math.pi) <= metrics.class_radius_bound([0.5, 0.5])


def test_class_radius_bound_bad_inputs():
    b = metrics.class_radius_bound
    with pytest.raises(ValueError, match=r"p must sum to 1, got 2.0 \(normalise a histogram first\)"):
        b([1.0, 1.0])
    with pytest.raises(ValueError, match="p must be finite and >= 0"):
        b([1.5, -0.5])
    with pytest.raises(ValueError, match="p must be finite and >= 0"):
        b([np.nan, 1.0])
    with pytest.raises(ValueError, match="all its mass on one class"):
        b([0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="p must be a 1-D probability vector"):
        b([[0.5, 0.5]])
    with pytest.raises(TypeError, match="p must be a numeric array"):
        b(["a", "b"])
