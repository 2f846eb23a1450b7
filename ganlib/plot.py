"""Plotting helpers (matplotlib, imported lazily: ganlib itself does not depend on it).

Examples
--------
>>> import numpy as np
>>> from ganlib.plot import image_grid
>>> ax = image_grid(np.zeros((16, 1, 28, 28)), title="samples")   # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .io.tiling import make_grid

__all__ = ["image_grid"]


def image_grid(images: Any, nrow: Optional[int] = None,
               value_range: Optional[Sequence[float]] = (-1, 1), ax: Any = None,
               title: Optional[str] = None, padding: int = 2) -> Any:
    """Draw images tiled into a grid on a matplotlib axes and return the axes.

    The picture is exactly the one :func:`ganlib.io.save_png` writes for the
    same arguments (both use :func:`ganlib.io.tiling.make_grid`): 8-bit
    values, grayscale shown with the ``gray`` colormap on 0..255, nearest
    neighbour interpolation, axis ticks hidden.

    Parameters
    ----------
    images : array_like
        ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``, ``C`` 1 or 3.
    nrow : int, optional
        Images per grid row (default ``ceil(sqrt(N))``).
    value_range : (float, float) or None
        Values shown as black and white (``None``: data min and max).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.
    title : str, optional
        Axes title.
    padding : int
        Pixels between tiles.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> from ganlib.datasets import lines
    >>> ax = image_grid(lines(64), nrow=8, title="lines")              # doctest: +SKIP
    """
    grid = make_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    if ax is None:
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError("ganlib.plot.image_grid needs matplotlib, which is not installed: "
                              "pip install matplotlib") from exc
        _, ax = plt.subplots()
    if grid.ndim == 2:
        ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax
