"""Checks shared by the flow tests."""
import numpy as np


def assert_normalised_on_grid(nvp, lim: float = 5.0, n: int = 501) -> None:
    """exp(log_prob) summed over a 2-D grid equals the box's share of the flow's own draws
    (what the integral over the box must be), to within 0.01."""
    g = np.linspace(-lim, lim, n)
    xx, yy = np.meshgrid(g, g)
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    mass = np.exp(nvp.log_prob(pts)).sum() * (g[1] - g[0]) ** 2
    inside = (np.abs(nvp.sample(40_000, seed=0)) <= lim).all(axis=1).mean()
    assert inside > 0.9 and abs(mass - inside) < 0.01, (mass, inside)
