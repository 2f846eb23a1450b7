"""gl.metrics.interpolation_scores: Mean Distance and Smoothness on the ACAI lines benchmark."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ganlib as gl
from ganlib.datasets.lines import render_lines
from ganlib.metrics.interpolation import nearest_lines, smoothness_scores


class Perfect:
    """Decodes the true line at the angle interpolated linearly along the shorter arc."""

    def __init__(self, angles: np.ndarray, n: int) -> None:
        self.a1, self.a2 = angles[:n], angles[n:2 * n]

    def interpolate(self, x1, x2, steps=16):
        delta = (self.a2 - self.a1 + math.pi) % (2 * math.pi) - math.pi
        t = np.linspace(0.0, 1.0, steps)
        path = self.a1[:, None] + t[None, :] * delta[:, None]
        return render_lines(path.ravel()).reshape(len(self.a1), steps, 1, 32, 32)


class PixelBlend:
    """Interpolates in data space: (1 − t) x1 + t x2."""

    def interpolate(self, x1, x2, steps=16):
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None, None, None]
        return (1 - t) * x1[:, None] + t * x2[:, None]


def test_nearest_lines_finds_the_true_angle():
    x, theta = gl.datasets.lines(50, seed=3, return_angles=True)
    dist, angle = nearest_lines(x)
    assert dist.dtype == np.float64 and dist.shape == (50,)
    assert dist.max() < 1e-4
    err = np.abs((angle - theta + math.pi) % (2 * math.pi) - math.pi)
    assert err.max() <= 2 * math.pi / 10000          # within one step of the reference grid
    assert ((angle >= 0) & (angle < 2 * math.pi)).all()
    d3, _ = nearest_lines(x[:, 0])                   # (n, size, size) too
    np.testing.assert_array_equal(d3, dist)
    blank, _ = nearest_lines(np.zeros((2, 1, 32, 32), np.float32))
    np.testing.assert_array_equal(blank, [1.0, 1.0])


def test_smoothness_definition():
    n = 16
    even = np.linspace(0.0, 1.0, n)
    jump = np.r_[np.zeros(n // 2), np.ones(n // 2)]
    across_zero = (np.linspace(-0.5, 0.5, n)) % (2 * math.pi)           # crosses 0 / 2π: unwrapped
    s = smoothness_scores(np.stack([even, jump, across_zero, np.full(n, 2.0)]))
    np.testing.assert_allclose(s[:3], [0.0, 1.0 - 1.0 / (n - 1), 0.0], atol=1e-12)
    assert np.isnan(s[3])                            # the ends coincide: no score


def test_perfect_interpolator_scores_zero_and_pixel_blending_does_not():
    n = 32
    X, theta = gl.datasets.lines(2 * n, seed=5, return_angles=True)
    perfect = gl.metrics.interpolation_scores(Perfect(theta, n), X)
    assert set(perfect) == {"mean_distance", "smoothness"}
    assert perfect["mean_distance"] < 1e-5
    assert 0.0 <= perfect["smoothness"] < 0.02
    blend = gl.metrics.interpolation_scores(PixelBlend(), X)
    assert blend["mean_distance"] > 2e-3 > 100 * perfect["mean_distance"]
    assert blend["smoothness"] > 0.5


def test_default_lines_and_undefined_pairs():
    X, theta = gl.datasets.lines(8, seed=7, return_angles=True)
    got = gl.metrics.interpolation_scores(Perfect(theta, 4), n_pairs=4, steps=5, seed=7, reference=2000)
    again = gl.metrics.interpolation_scores(Perfect(theta, 4), X, steps=5, reference=2000)
    assert got == again

    class Still:                                     # every path stays on its first line
        def interpolate(self, x1, x2, steps=16):
            return np.repeat(x1[:, None], steps, axis=1)
    still = gl.metrics.interpolation_scores(Still(), X)
    assert still["mean_distance"] < 1e-4 and math.isnan(still["smoothness"])

    class HalfStill(PixelBlend):                     # undefined pairs count as 0 in the mean
        def interpolate(self, x1, x2, steps=16):
            out = super().interpolate(x1, x2, steps)
            out[:2] = x1[:2, None]
            return out
    half = gl.metrics.interpolation_scores(HalfStill(), X)
    full = gl.metrics.interpolation_scores(PixelBlend(), X)
    s = smoothness_scores(nearest_lines(PixelBlend().interpolate(X[:4], X[4:]).reshape(-1, 32, 32))[1].reshape(4, 16))
    assert full["smoothness"] == pytest.approx(s.mean())
    assert half["smoothness"] == pytest.approx(s[2:].sum() / 4)


def test_a_trained_autoencoder_gives_finite_scores():
    X = gl.datasets.lines(512, seed=0)
    ae = gl.models.Autoencoder((1, 32, 32), 8, hidden=[64], lr=3e-3, seed=0)
    ae.fit(X, steps=120, batch_size=64, progress=False)
    s = gl.metrics.interpolation_scores(ae, n_pairs=8, seed=1)
    assert 0.0 < s["mean_distance"] < 2.0 and np.isfinite(s["smoothness"])


def test_bad_arguments():
    X = gl.datasets.lines(6, seed=0)
    with pytest.raises(TypeError, match="interpolate"):
        gl.metrics.interpolation_scores(object(), X)
    with pytest.raises(ValueError, match="4 pairs need 8 images"):
        gl.metrics.interpolation_scores(PixelBlend(), X, n_pairs=4)
    with pytest.raises(ValueError, match="images must be lines"):
        gl.metrics.interpolation_scores(PixelBlend(), X[:, 0])

    class Wrong:
        def interpolate(self, x1, x2, steps=16):
            return np.zeros((len(x1), steps - 1, 1, 32, 32), np.float32)
    with pytest.raises(ValueError, match="returned shape"):
        gl.metrics.interpolation_scores(Wrong(), X)

    class Broken(PixelBlend):
        def interpolate(self, x1, x2, steps=16):
            return super().interpolate(x1, x2, steps) * np.nan
    with pytest.raises(ValueError, match="NaN"):
        gl.metrics.interpolation_scores(Broken(), X)
    with pytest.raises((TypeError, ValueError), match="steps"):
        gl.metrics.interpolation_scores(PixelBlend(), X, steps=1)
