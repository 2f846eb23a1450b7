"""Plotting helpers (matplotlib, imported lazily: ganlib itself does not depend on it).

Examples
--------
>>> import numpy as np
>>> from ganlib.plot import image_grid
>>> ax = image_grid(np.zeros((16, 1, 28, 28)), title="samples")   # doctest: +SKIP
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

from .io.tiling import make_grid

__all__ = ["image_grid", "sweep"]


def _new_axes(what: str) -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"ganlib.plot.{what} needs matplotlib, which is not installed: "
                          "pip install matplotlib") from exc
    return plt.subplots()[1]


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
        ax = _new_axes("image_grid")
    if grid.ndim == 2:
        ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def sweep(results: Any, x: str, y: str, hue: Optional[str] = None, err: str = "std", ax: Any = None,
          title: Optional[str] = None) -> Any:
    """Draw the mean of a sweep's result ``y`` per value of ``x`` (one series per ``hue``), with error bars.

    Numeric ``x`` values give lines with error bars; other values (names, methods) give
    grouped bars. The statistics are those of ``results.summary(by=[x, hue])``.

    Parameters
    ----------
    results : SweepResults or Summary
        What :func:`ganlib.sweep` returned, or a summary of it grouped by ``x`` (and ``hue``).
    x : str
        Configuration key along the horizontal axis.
    y : str
        Result key to draw (its mean).
    hue : str, optional
        Configuration key with one series (colour) per value.
    err : {"std", "sem"}
        Error bars: standard deviation over the group's runs, or standard error of the mean.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> res = gl.sweep(ring_trial, {"loss": ["nonsaturating", "hinge"], "seed": range(5)})   # doctest: +SKIP
    >>> ax = gl.plot.sweep(res, x="loss", y="modes")                                          # doctest: +SKIP
    """
    from .sweep import SweepResults, Summary

    if err not in ("std", "sem"):
        raise ValueError(f"plot.sweep: err must be 'std' or 'sem', got {err!r}")
    by = [x] if hue is None else [x, hue]
    if isinstance(results, SweepResults):
        summ = results.summary(by=by)
    elif isinstance(results, Summary):
        if any(k not in results.by for k in by):
            raise ValueError(f"plot.sweep: the summary is grouped by {results.by}, not by {by}")
        summ = results
    else:
        raise TypeError(f"plot.sweep: results must be what gl.sweep returned (or its summary), "
                        f"got {type(results).__name__}")
    if y not in summ.metrics:
        raise ValueError(f"plot.sweep: {y!r} is not a numeric result of this sweep (results: {summ.metrics})")
    xs: list = []
    hues: list = []
    for r in summ:
        if r[x] not in xs:
            xs.append(r[x])
        if hue is not None and r[hue] not in hues:
            hues.append(r[hue])
    if hue is None:
        hues = [None]
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in xs)
    if ax is None:
        ax = _new_axes("sweep")

    def stat(xv: Any, hv: Any, what: str) -> float:
        for r in summ:
            if r[x] == xv and (hue is None or r[hue] == hv):
                return r[f"{y}_{what}"]
        return math.nan

    width = 0.8 / len(hues)
    for j, hv in enumerate(hues):
        means = [stat(v, hv, "mean") for v in xs]
        errs = [0.0 if math.isnan(e) else e for e in (stat(v, hv, err) for v in xs)]
        label = None if hue is None else f"{hue}={hv}"
        if numeric:
            order = sorted(range(len(xs)), key=lambda i: xs[i])
            ax.errorbar([xs[i] for i in order], [means[i] for i in order], yerr=[errs[i] for i in order],
                        marker="o", capsize=3, label=label)
        else:
            pos = [i - 0.4 + width * (j + 0.5) for i in range(len(xs))]
            ax.bar(pos, means, width, yerr=errs, capsize=3, label=label)
    if not numeric:
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([str(v) for v in xs])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y} (mean ± {err})")
    if hue is not None:
        ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title)
    return ax
