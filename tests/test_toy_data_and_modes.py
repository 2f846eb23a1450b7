"""ganlib.datasets.toy (seeded 2-D data) and ganlib.metrics.mode_coverage (TECHNIQUES.md §F)."""
import math
import tracemalloc

import numpy as np
import pytest

from ganlib.datasets import toy
from ganlib.metrics import ModeCoverage, mode_coverage
from ganlib.metrics import modes as modes_mod

LOG8 = math.log(8.0)


# ============================================================================= datasets

SAMPLERS = {
    "ring": lambda seed: toy.ring(1000, seed=seed),
    "grid": lambda seed: toy.grid(1000, seed=seed),
    "swiss_roll": lambda seed: toy.swiss_roll(1000, seed=seed),
    "mixture_3d": lambda seed: toy.gaussian_mixture(1000, np.eye(3), 0.1, seed=seed),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_shapes_dtypes_and_seeding(name):
    f = SAMPLERS[name]
    a, b, c = f(0), f(0), f(1)
    width = 3 if name == "mixture_3d" else 2
    assert a.shape == (1000, width) and a.dtype == np.float32 and a.flags.c_contiguous
    assert a.tobytes() == b.tobytes()              # same seed: same bits
    assert not np.array_equal(a, c)                # different seed: different samples
    assert np.all(np.isfinite(a))


def test_default_sizes():
    assert toy.ring().shape == (100_000, 2)
    assert toy.grid().shape == (100_000, 2)
    assert toy.swiss_roll().shape == (100_000, 2)


def test_ring_centers_layout():
    c = toy.ring_centers()
    assert c.shape == (8, 2) and c.dtype == np.float32
    k = np.arange(8)
    np.testing.assert_allclose(c, np.stack([np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)], 1),
                               atol=1e-7)
    c2 = toy.ring_centers(5, radius=2.0)
    np.testing.assert_allclose(np.linalg.norm(c2, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(c2[0], [2.0, 0.0], atol=1e-7)


def test_ring_samples_within_5_std_of_a_centre():
    std = 0.01
    x, y = toy.ring(10_000, std=std, seed=0, return_labels=True)
    c = toy.ring_centers()
    d = np.linalg.norm(x[:, None, :].astype(np.float64) - c[None], axis=2)
    assert d.min(axis=1).max() < 5 * std
    assert np.array_equal(d.argmin(axis=1), y)     # labels name the generating centre
    counts = np.bincount(y, minlength=8)           # equal weights: ~1250 each
    assert counts.min() > 1100 and counts.max() < 1400
    # the radius-2 / std-0.02 variant of the protocol
    x2 = toy.ring(5000, radius=2.0, std=0.02, seed=3)
    np.testing.assert_allclose(np.linalg.norm(x2, axis=1).mean(), 2.0, atol=2e-3)


def test_grid_centres_exact():
    c = toy.grid_centers()
    assert c.shape == (25, 2) and c.dtype == np.float32
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {(float(a), float(b)) for a, b in c} == expected
    assert len({tuple(r) for r in c.tolist()}) == 25
    assert c[0].tolist() == [-4.0, -4.0] and c[1].tolist() == [-4.0, -2.0]
    np.testing.assert_array_equal(toy.grid_centers(3, 1.0)[:, 0], [-1, -1, -1, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(toy.grid_centers(2, 1.0)[0], [-0.5, -0.5])  # centred at 0
    x, y = toy.grid(5000, seed=0, return_labels=True)
    assert np.abs(x - c[y]).max() < 5 * 0.05 * 1.5


def test_gaussian_mixture_labels_weights_std():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0]])
    x, y = toy.gaussian_mixture(30_000, centers, std=[0.1, 0.5, 1.0], weights=[2, 1, 1], seed=5,
                                return_labels=True)
    assert x.shape == (30_000, 3) and x.dtype == np.float32 and y.dtype == np.int64
    frac = np.bincount(y, minlength=3) / 30_000
    np.testing.assert_allclose(frac, [0.5, 0.25, 0.25], atol=0.015)
    for k, s in enumerate([0.1, 0.5, 1.0]):
        np.testing.assert_allclose((x[y == k] - centers[k]).std(axis=0), s, rtol=0.05)
    # std = 0 reproduces the centres exactly; labels match the samples
    x0, y0 = toy.gaussian_mixture(50, centers, 0.0, seed=1, return_labels=True)
    np.testing.assert_array_equal(x0, centers[y0].astype(np.float32))
    # zero weight: never drawn
    _, y1 = toy.gaussian_mixture(2000, centers, 0.1, weights=[1, 0, 1], seed=2, return_labels=True)
    assert not np.any(y1 == 1)
    # without return_labels: just the array, same bits as with
    assert np.array_equal(toy.gaussian_mixture(30_000, centers, [0.1, 0.5, 1.0], [2, 1, 1], seed=5), x)


def test_swiss_roll_formula():
    x = toy.swiss_roll(5000, noise=0.0, seed=0).astype(np.float64)
    r = np.linalg.norm(x, axis=1)
    assert r.min() >= 1 / 3 - 1e-6 and r.max() <= 1.0 + 1e-6   # t / (4.5π), t ∈ [1.5π, 4.5π]
    t = r * 4.5 * np.pi
    np.testing.assert_allclose(x[:, 0], r * np.cos(t), atol=1e-5)
    np.testing.assert_allclose(x[:, 1], r * np.sin(t), atol=1e-5)
    noisy = toy.swiss_roll(5000, noise=0.05, seed=0).astype(np.float64)
    np.testing.assert_allclose((noisy - x).std(), 0.05, rtol=0.05)


def test_circle_points():
    p = toy.circle_points()
    assert p.shape == (7, 2) and p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-6)
    gaps = np.linalg.norm(p - np.roll(p, -1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 2 * np.sin(np.pi / 7), rtol=1e-6)
    assert toy.circle_points(3, radius=2.5).shape == (3, 2)
    np.testing.assert_allclose(np.linalg.norm(toy.circle_points(3, 2.5), axis=1), 2.5, rtol=1e-6)


@pytest.mark.parametrize("call, exc, word", [
    (lambda: toy.ring(0), ValueError, "n"),
    (lambda: toy.ring(1.5), TypeError, "n"),
    (lambda: toy.ring(True), TypeError, "n"),
    (lambda: toy.ring(10, modes=0), ValueError, "modes"),
    (lambda: toy.ring(10, radius=0.0), ValueError, "radius"),
    (lambda: toy.ring(10, std=-0.1), ValueError, "std"),
    (lambda: toy.ring(10, std=float("nan")), ValueError, "std"),
    (lambda: toy.ring(10, std="0.1"), TypeError, "std"),
    (lambda: toy.ring(10, seed=1.5), TypeError, "seed"),
    (lambda: toy.ring_centers(0), ValueError, "modes"),
    (lambda: toy.grid(10, side=0), ValueError, "side"),
    (lambda: toy.grid(10, spacing=-1.0), ValueError, "spacing"),
    (lambda: toy.grid(10, std=-1.0), ValueError, "std"),
    (lambda: toy.grid_centers(2.0), TypeError, "side"),
    (lambda: toy.swiss_roll(-3), ValueError, "n"),
    (lambda: toy.swiss_roll(10, noise=-0.1), ValueError, "noise"),
    (lambda: toy.circle_points(0), ValueError, "n"),
    (lambda: toy.circle_points(7, radius=-1.0), ValueError, "radius"),
    (lambda: toy.gaussian_mixture(10, [0.0, 1.0], 0.1), ValueError, "centers"),
    (lambda: toy.gaussian_mixture(10, np.zeros((0, 2)), 0.1), ValueError, "centers"),
    (lambda: toy.gaussian_mixture(10, [[0.0, np.nan]], 0.1), ValueError, "centers"),
    (lambda: toy.gaussian_mixture(10, [["a", "b"]], 0.1), TypeError, "centers"),
    (lambda: toy.gaussian_mixture(10, np.zeros((3, 2)), [0.1, 0.2]), ValueError, "std"),
    (lambda: toy.gaussian_mixture(10, np.zeros((2, 2)), [0.1, -0.2]), ValueError, "std"),
    (lambda: toy.gaussian_mixture(10, np.zeros((2, 2)), 0.1, weights=[1, -1]), ValueError, "weights"),
    (lambda: toy.gaussian_mixture(10, np.zeros((2, 2)), 0.1, weights=[0, 0]), ValueError, "weights"),
    (lambda: toy.gaussian_mixture(10, np.zeros((2, 2)), 0.1, weights=[1, 1, 1]), ValueError, "weights"),
    (lambda: toy.gaussian_mixture(0, np.zeros((2, 2)), 0.1), ValueError, "n"),
])
def test_dataset_bad_arguments(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


# ============================================================================= mode coverage

def _reference(x, c, std, threshold=3.0):
    """Brute-force nearest mode / high-quality mask in float64, no chunking."""
    x = np.asarray(x, np.float64)
    c = np.asarray(c, np.float64)
    std = np.broadcast_to(np.asarray(std, np.float64), (len(c),))
    m = np.linalg.norm(x[:, None, :] - c[None], axis=2) / std
    k = m.argmin(axis=1)
    good = m[np.arange(len(x)), k] <= threshold
    return np.bincount(k[good], minlength=len(c))


def test_true_ring_covers_all_modes():
    c = toy.ring_centers()
    r = mode_coverage(toy.ring(2500, seed=1), c, std=0.01)    # the protocol: 2,500 samples
    assert isinstance(r, ModeCoverage)
    assert r.modes == 8 and r.num_modes == 8
    assert r.counts.dtype == np.int64 and r.counts.shape == (8,)
    assert r.counts.sum() == round(r.high_quality * 2500)
    # In 2-D, P(‖z‖ <= 3) = 1 − exp(−9/2) = 98.89 % (not the 1-D 99.73 %).
    assert r.high_quality > 0.98
    assert r.reverse_kl < 0.01
    assert "8/8" in str(r)
    # at threshold 3.5 the expected fraction is 1 − exp(−6.125) = 99.78 %
    assert mode_coverage(toy.ring(2500, seed=1), c, 0.01, threshold=3.5).high_quality > 0.99


def test_high_quality_fraction_matches_chi_distribution():
    n = 100_000
    x = toy.ring(n, seed=2)
    for t in (1.0, 2.0, 3.0):
        p = 1.0 - math.exp(-t * t / 2)                        # chi(2) CDF
        r = mode_coverage(x, toy.ring_centers(), 0.01, threshold=t)
        assert abs(r.high_quality - p) < 5 * math.sqrt(p * (1 - p) / n) + 1e-4


def test_true_grid_covers_all_modes():
    r = mode_coverage(toy.grid(2500, seed=0), toy.grid_centers(), std=0.05)
    assert r.modes == 25 and r.num_modes == 25 and r.high_quality > 0.98
    assert r.reverse_kl < 0.02                               # ~100 samples per mode


def test_three_of_eight_modes():
    x, y = toy.ring(8000, seed=4, return_labels=True)
    x3 = x[np.isin(y, [0, 3, 5])]
    r = mode_coverage(x3, toy.ring_centers(), 0.01)
    assert r.modes == 3
    assert set(np.flatnonzero(r.counts)) == {0, 3, 5}
    q = r.counts[r.counts > 0] / r.counts.sum()
    np.testing.assert_allclose(r.reverse_kl, np.sum(q * np.log(q * 8)), rtol=1e-12)
    assert abs(r.reverse_kl - math.log(8 / 3)) < 0.01
    # exactly balanced histogram: exactly log(8/3)
    c = toy.ring_centers()
    exact = mode_coverage(np.repeat(c[[1, 2, 7]], 10, axis=0), c, 0.01)
    assert exact.modes == 3 and exact.high_quality == 1.0
    np.testing.assert_allclose(exact.reverse_kl, math.log(8 / 3), rtol=1e-12)
    # single mode: full collapse gives log 8
    one = mode_coverage(np.repeat(c[[6]], 5, axis=0), c, 0.01)
    assert one.modes == 1
    np.testing.assert_allclose(one.reverse_kl, LOG8, rtol=1e-12)


def test_far_noise_has_no_modes_and_max_reverse_kl():
    rng = np.random.default_rng(0)
    x = (100.0 + rng.standard_normal((2500, 2))).astype(np.float32)
    r = mode_coverage(x, toy.ring_centers(), 0.01)
    assert r.modes == 0 and r.high_quality == 0.0
    assert r.counts.tolist() == [0] * 8
    # Convention: no high-quality sample => reverse_kl = log(1 / min_k p_k) = sup_q KL(q || p),
    # here log 8, the same as a collapse onto one mode; always finite.
    assert math.isfinite(r.reverse_kl)
    np.testing.assert_allclose(r.reverse_kl, LOG8, rtol=1e-12)
    w = np.array([4, 2, 1, 1, 1, 1, 1, 1], float)
    rw = mode_coverage(x, toy.ring_centers(), 0.01, weights=w)
    np.testing.assert_allclose(rw.reverse_kl, math.log(w.sum() / w.min()), rtol=1e-12)
    assert "0/8" in str(r)


def test_reverse_kl_with_weights():
    c = toy.ring_centers(4)
    w = np.array([0.4, 0.3, 0.2, 0.1])
    x = np.repeat(c, [10, 20, 30, 40], axis=0)
    r = mode_coverage(x, c, 0.01, weights=w * 7.0)              # unnormalised on purpose
    q = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(r.reverse_kl, np.sum(q * np.log(q / w)), rtol=1e-12)
    # matching the target exactly gives 0
    x2 = np.repeat(c, [40, 30, 20, 10], axis=0)
    assert mode_coverage(x2, c, 0.01, weights=w).reverse_kl == pytest.approx(0.0, abs=1e-15)


def test_mahalanobis_assignment_and_per_mode_std():
    c = np.array([[0.0, 0.0], [3.0, 0.0]])
    std = np.array([1.0, 0.1])
    # (2, 0): Euclidean-nearer to mode 1 (distance 1) but 2σ from mode 0 and 10σ from mode 1
    r = mode_coverage([[2.0, 0.0]], c, std)
    assert r.counts.tolist() == [1, 0] and r.high_quality == 1.0
    # (2.75, 0): 2.75σ from mode 0, 2.5σ from mode 1 -> mode 1
    assert mode_coverage([[2.75, 0.0]], c, std).counts.tolist() == [0, 1]
    # with one shared std the Euclidean-nearest mode wins
    assert mode_coverage([[2.0, 0.0]], c, 1.0).counts.tolist() == [0, 1]
    # threshold is inclusive: exactly 3σ is high quality, just beyond is not
    assert mode_coverage([[0.0, -3.0]], c, std).high_quality == 1.0
    assert mode_coverage([[0.0, -3.001]], c, std).high_quality == 0.0
    assert mode_coverage([[0.0, -3.001]], c, std, threshold=3.01).high_quality == 1.0


def test_matches_bruteforce_and_is_chunk_independent(monkeypatch):
    rng = np.random.default_rng(7)
    c = rng.normal(size=(37, 2)) * 3
    std = rng.uniform(0.05, 0.3, size=37)
    x = np.concatenate([toy.gaussian_mixture(3000, c, std * 1.3, seed=8), rng.normal(size=(500, 2)) * 6])
    full = mode_coverage(x, c, std)
    np.testing.assert_array_equal(full.counts, _reference(x, c, std))
    monkeypatch.setattr(modes_mod, "_CHUNK_ELEMENTS", 100)     # chunks of 2 rows
    small = mode_coverage(x, c, std)
    np.testing.assert_array_equal(small.counts, full.counts)
    assert small.high_quality == full.high_quality and small.reverse_kl == full.reverse_kl
    # higher dimension works the same
    c5 = rng.normal(size=(6, 5))
    x5 = toy.gaussian_mixture(400, c5, 0.2, seed=9)
    np.testing.assert_array_equal(mode_coverage(x5, c5, 0.25).counts, _reference(x5, c5, 0.25))


def test_input_types():
    c = toy.ring_centers()
    x = toy.ring(500, seed=0)
    base = mode_coverage(x, c, 0.01)
    for xx in (x.astype(np.float64), x.tolist(), np.asfortranarray(x)):
        assert np.array_equal(mode_coverage(xx, c, 0.01).counts, base.counts)
    assert np.array_equal(mode_coverage(x, c.tolist(), np.float32(0.01)).counts, base.counts)
    ints = mode_coverage(np.array([[4, 4], [0, 0]], np.int32), toy.grid_centers(), 0.05)
    assert ints.modes == 2 and ints.high_quality == 1.0


def test_memory_bounded_100k_by_100_modes():
    c = toy.ring_centers(100, radius=5.0)
    x = toy.ring(100_000, modes=100, radius=5.0, std=0.01, seed=0)
    tracemalloc.start()
    try:
        r = mode_coverage(x, c, 0.01)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.modes == 100 and r.high_quality > 0.98
    assert peak < 50e6, f"peak {peak / 1e6:.1f} MB"            # a full 100k x 100 matrix is 80 MB


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(samples=np.zeros(4)), ValueError, "samples.*2-D"),
    (dict(samples=np.zeros((2, 2, 2))), ValueError, "samples.*2-D"),
    (dict(samples=np.zeros((0, 2))), ValueError, "samples is empty"),
    (dict(samples=np.zeros((5, 3))), ValueError, "width 3.*width 2"),
    (dict(samples=np.array([[0, np.nan], [np.inf, 1], [np.nan, np.nan], [0, 0]])), ValueError,
     "samples: 3 of 4 rows"),
    (dict(samples=[["a", "b"]]), TypeError, "samples"),
    (dict(samples=np.ones((3, 2), bool)), TypeError, "samples"),
    (dict(centers=np.zeros(2)), ValueError, "centers"),
    (dict(centers=np.zeros((0, 2))), ValueError, "centers"),
    (dict(centers=[[0.0, np.nan]]), ValueError, "centers"),
    (dict(std=0.0), ValueError, "std"),
    (dict(std=-1.0), ValueError, "std"),
    (dict(std=np.inf), ValueError, "std"),
    (dict(std="x"), TypeError, "std"),
    (dict(std=[0.1, 0.2]), ValueError, "std"),
    (dict(std=[0.1, 0.0, 0.1, 0.1]), ValueError, "std"),
    (dict(threshold=0.0), ValueError, "threshold"),
    (dict(threshold=float("nan")), ValueError, "threshold"),
    (dict(weights=[1, 1, 1]), ValueError, "weights"),
    (dict(weights=[1, 0, 1, 1]), ValueError, "weights"),
    (dict(weights=[1, -1, 1, 1]), ValueError, "weights"),
])
def test_mode_coverage_bad_inputs(kwargs, exc, match):
    args = dict(samples=np.zeros((5, 2)), centers=toy.ring_centers(4), std=0.1)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        mode_coverage(**args)
