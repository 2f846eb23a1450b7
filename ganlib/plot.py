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
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ._checks import check_bool, check_int, check_range, check_real
from .io.tiling import as_batch, make_grid

__all__ = ["image_grid", "sweep", "latent_scatter", "reconstructions", "interpolation_strip",
           "latent_traversal"]


def _pyplot(what: str) -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"ganlib.plot.{what} needs matplotlib, which is not installed: "
                          "pip install matplotlib") from exc
    return plt


def _new_axes(what: str) -> Any:
    return _pyplot(what).subplots()[1]


def _tiled(images: Any, nrow: Optional[int], value_range: Optional[Sequence[float]], ax: Any,
           title: Optional[str], padding: int, what: str, row_labels: Optional[Sequence[str]] = None,
           col_labels: Optional[Sequence[str]] = None) -> Any:
    """The one image-tiling drawer behind every image plot here: :func:`make_grid` (so the
    picture is the one ``save_png`` writes), ``imshow`` on 0..255, and either no axis at all or,
    with ``row_labels`` / ``col_labels``, tick labels at the centre of each grid row / column."""
    grid = make_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    if ax is None:
        ax = _new_axes(what)
    if grid.ndim == 2:
        ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    if row_labels is None and col_labels is None:
        ax.set_axis_off()
    else:
        n, _, h, w = as_batch(images).shape
        p = 0 if n == 1 else int(padding)             # make_grid pads nothing around a single image
        ax.set_yticks([p + r * (h + p) + (h - 1) / 2 for r in range(len(row_labels or ()))])
        ax.set_yticklabels(list(row_labels or ()))
        ax.set_xticks([p + q * (w + p) + (w - 1) / 2 for q in range(len(col_labels or ()))])
        ax.set_xticklabels(list(col_labels or ()))
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    if title is not None:
        ax.set_title(title)
    return ax


def _image_shape(what: str, shape: Any) -> tuple:
    """``shape=`` as a tuple ``(H, W)`` or ``(C, H, W)`` of ints >= 1, ``C`` 1 or 3."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)) or len(shape) not in (2, 3):
        raise ValueError(f"plot.{what}: shape must be (H, W) or (C, H, W), got {shape!r}")
    out = tuple(check_int(f"plot.{what}: shape[{i}]", v, 1) for i, v in enumerate(shape))
    if len(out) == 3 and out[0] not in (1, 3):
        raise ValueError(f"plot.{what}: shape (C, H, W) must have C = 1 (grayscale) or 3 (RGB), got {shape!r}")
    return out


def _as_images(what: str, name: str, images: Any, shape: Any = None) -> np.ndarray:
    """A batch of images as ``(N, C, H, W)``: from ``(N, C, H, W)``, ``(N, H, W)`` or flat
    ``(N, D)`` rows (reshaped to ``shape``, else to square ``sqrt(D) x sqrt(D)`` grayscale);
    ``shape=`` given reshapes every item of any batch to it.  Errors name ``name``."""
    x = np.asarray(images)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"plot.{what}: {name} must be a numeric array, got dtype {x.dtype}")
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"plot.{what}: {name} must be a batch of images (n, C, H, W), (n, H, W) or flat "
                         f"rows (n, D); got shape {x.shape}")
    if x.shape[0] == 0 or x.size == 0:
        raise ValueError(f"plot.{what}: {name} must not be empty, got shape {x.shape}")
    n, per = x.shape[0], int(np.prod(x.shape[1:]))
    if shape is not None:
        shp = _image_shape(what, shape)
        if int(np.prod(shp)) != per:
            raise ValueError(f"plot.{what}: {name} items have {per} values each (shape {x.shape}), which "
                             f"cannot be reshaped to shape={tuple(shp)} ({int(np.prod(shp))} values)")
        x = x.reshape((n,) + shp)
    elif x.ndim == 2:
        side = math.isqrt(per)
        if side * side != per:
            raise ValueError(f"plot.{what}: {name} are flat rows of {per} values (shape {x.shape}), not a "
                             f"square image; pass shape=(H, W) or (C, H, W) to say how a row is reshaped")
        x = x.reshape(n, side, side)
    if x.ndim == 3:
        x = x[:, None]
    if x.shape[1] not in (1, 3):
        raise ValueError(f"plot.{what}: {name} must have 1 (grayscale) or 3 (RGB) channels (layout "
                         f"channels-first, (n, C, H, W)), got shape {x.shape}")
    bad = ~np.isfinite(x) if x.dtype.kind == "f" else None
    if bad is not None and bad.any():
        first = int(np.flatnonzero(bad.reshape(n, -1).any(axis=1))[0])
        raise ValueError(f"plot.{what}: {name} contain NaN or inf ({int(bad.sum())} of {x.size} values; "
                         f"first in image {first})")
    return x


def image_grid(images: Any, nrow: Optional[int] = None,
               value_range: Optional[Sequence[float]] = (-1, 1), ax: Any = None,
               title: Optional[str] = None, padding: int = 2) -> Any:
    """Draw images tiled into a grid on a matplotlib axes and return the axes.

    This is also the sample grid for a generator's output (there is no separate
    ``sample_grid``): ``image_grid(gan.sample(64), nrow=8)``.

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
    return _tiled(images, nrow, value_range, ax, title, padding, "image_grid")


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


# ============================================================================= latent space

_LEGEND_MAX = 20   # more classes than this get a colorbar instead of a legend


def latent_scatter(codes: Any, labels: Any = None, ax: Any = None, s: float = 6.0, alpha: float = 0.7,
                   cmap: Any = "tab10", legend: bool = True, title: Optional[str] = None,
                   dims: Optional[Sequence[int]] = None) -> Any:
    """Scatter 2-D latent codes, coloured by integer class label (an AAE's or VAE's code space).

    One scatter collection holds every point, in input order (no class is
    drawn systematically on top).  With ``labels``, class ``k`` (the ``k``-th
    smallest label) gets colour ``k`` of a listed colormap such as ``tab10``,
    or an evenly spaced colour of a continuous one; up to 20 classes get a
    legend, more get a colorbar over the label values.  The aspect ratio is
    equal, so a circular prior looks circular.

    Parameters
    ----------
    codes : array_like, shape (n, 2) or (n, d)
        Latent codes (e.g. ``encoder(X)``); finite.  With ``d > 2`` pick the
        two columns to draw with ``dims``.
    labels : array_like of int, shape (n,), optional
        Class of each code (e.g. the digit); integers (or whole floats).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.
    s : float
        Marker area in points^2.
    alpha : float
        Marker opacity in [0, 1].
    cmap : str or matplotlib.colors.Colormap
        Colours of the classes.  A listed map with fewer colours than
        classes (``tab10`` with 12 digits) repeats colours and warns.
    legend : bool
        Draw the class legend (or, over 20 classes, the colorbar).
    title : str, optional
    dims : (int, int), optional
        The two columns of ``codes`` drawn as x and y (default ``(0, 1)``
        when ``d == 2``; required when ``d > 2``).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``codes`` not 2-D, one column, more than 2 columns without ``dims``,
        NaN or inf in the drawn columns, ``labels`` of another length or not
        integer.

    Examples
    --------
    >>> z = encode(X_test)                                          # doctest: +SKIP
    >>> ax = gl.plot.latent_scatter(z, y_test, title="AAE, N(0, I) prior")   # doctest: +SKIP
    """
    what = "latent_scatter"
    x = np.asarray(codes)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"plot.{what}: codes must be a numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"plot.{what}: codes must be a 2-D array (n, 2) of latent codes, got shape {x.shape}")
    n, d = x.shape
    if n == 0:
        raise ValueError(f"plot.{what}: codes must not be empty, got shape {x.shape}")
    if dims is None:
        if d == 1:
            raise ValueError(f"plot.{what}: codes have 1 column (shape {x.shape}); a scatter needs 2")
        if d > 2:
            raise ValueError(f"plot.{what}: codes have {d} columns (shape {x.shape}); pick the two to draw "
                             f"with dims=(i, j), e.g. dims=(0, 1), or reduce them to 2 first (PCA, t-SNE)")
        dims = (0, 1)
    if isinstance(dims, (str, bytes)) or not isinstance(dims, (tuple, list, np.ndarray)) or len(dims) != 2:
        raise ValueError(f"plot.{what}: dims must be a pair of column indices (i, j), got {dims!r}")
    i, j = (check_int(f"plot.{what}: dims[{k}]", v, 0, d - 1) for k, v in enumerate(dims))
    if i == j:
        raise ValueError(f"plot.{what}: dims must name two different columns, got {dims!r}")
    xy = x[:, [i, j]].astype(np.float64)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise ValueError(f"plot.{what}: codes contain NaN or inf in the drawn columns {(i, j)}: "
                         f"{int(bad.sum())} of {n} rows, first at row {int(np.flatnonzero(bad)[0])}")
    s = check_real(f"plot.{what}: s", s, positive=True)
    alpha = check_range(f"plot.{what}: alpha", alpha, 0.0, 1.0)
    legend = check_bool(f"plot.{what}: legend", legend)

    classes = idx = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.ndim != 1 or lab.shape[0] != n:
            raise ValueError(f"plot.{what}: labels must have one entry per code: {n} codes, got labels of "
                             f"shape {lab.shape}")
        if lab.dtype.kind == "f":
            if not np.isfinite(lab).all():
                raise ValueError(f"plot.{what}: labels contain NaN or inf "
                                 f"(first at row {int(np.flatnonzero(~np.isfinite(lab))[0])})")
            if (lab != np.round(lab)).any():
                k = int(np.flatnonzero(lab != np.round(lab))[0])
                raise ValueError(f"plot.{what}: labels must be integer class labels, got {float(lab[k]):g} "
                                 f"at row {k}")
            lab = lab.astype(np.int64)
        elif lab.dtype.kind not in "biu":
            raise TypeError(f"plot.{what}: labels must be integer class labels, got dtype {lab.dtype}")
        classes, idx = np.unique(lab, return_inverse=True)

    _pyplot(what)                                   # the ImportError that says what needs matplotlib
    import matplotlib
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.lines import Line2D

    if isinstance(cmap, str):
        try:
            cm = matplotlib.colormaps[cmap]
        except KeyError:
            raise ValueError(f"plot.{what}: unknown colormap {cmap!r}") from None
    elif isinstance(cmap, matplotlib.colors.Colormap):
        cm = cmap
    else:
        raise TypeError(f"plot.{what}: cmap must be a colormap name or a matplotlib Colormap, "
                        f"got {type(cmap).__name__}")
    if ax is None:
        ax = _new_axes(what)
    if classes is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=s, alpha=alpha, linewidths=0)
    else:
        k = len(classes)
        listed = isinstance(cm, ListedColormap)
        if listed and k > cm.N:
            warnings.warn(f"plot.{what}: {k} classes but colormap {cm.name!r} has {cm.N} colours, so some "
                          f"classes share a colour; pass cmap='tab20' or a continuous map", stacklevel=2)
        if k <= _LEGEND_MAX:
            colours = cm(np.arange(k)) if listed and k <= cm.N else cm(np.linspace(0.0, 1.0, k))
            ax.scatter(xy[:, 0], xy[:, 1], c=colours[idx], s=s, alpha=alpha, linewidths=0)
            if legend:
                handles = [Line2D([], [], marker="o", linestyle="", color=colours[q], label=str(c))
                           for q, c in enumerate(classes.tolist())]
                ax.legend(handles=handles, title="label", fontsize=8, loc="best")
        else:
            norm = Normalize(float(classes[0]), float(classes[-1]))
            values = classes[idx].astype(np.float64)
            ax.scatter(xy[:, 0], xy[:, 1], c=cm(norm(values)), s=s, alpha=alpha, linewidths=0)
            if legend:
                ax.figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cm), ax=ax, label="label")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"z[{i}]")
    ax.set_ylabel(f"z[{j}]")
    if title is not None:
        ax.set_title(title)
    return ax


def reconstructions(inputs: Any, outputs: Any, n: int = 8, ax: Any = None, shape: Any = None,
                    value_range: Optional[Sequence[float]] = (-1, 1), title: Optional[str] = None,
                    padding: int = 2) -> Any:
    """Draw the first ``n`` inputs in one row and their reconstructions in the row beneath.

    Both rows are one :func:`image_grid` picture (``n`` per row), mapped to
    grey levels together with ``value_range`` as in :func:`image_grid`: with
    ``value_range=None`` inputs and reconstructions share one min..max, so
    their brightness is comparable.  The rows are labelled ``input`` and
    ``reconstruction``.

    Parameters
    ----------
    inputs, outputs : array_like
        Equally many images, ``(N, C, H, W)``, ``(N, H, W)`` or flat rows
        ``(N, D)``; after reshaping, every image has the same shape.  Flat
        rows are reshaped to ``shape``, or to square ``sqrt(D) x sqrt(D)``
        grayscale images (784 -> 28 x 28) when ``shape`` is not given.
    n : int
        How many pairs to draw (at most ``N``: fewer are drawn if there are).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.
    shape : (H, W) or (C, H, W), optional
        Shape of one image; reshapes each item of both batches to it.
    value_range : (float, float) or None
        Values shown as black and white (``None``: the min and max of the
        drawn inputs and reconstructions together).
    title : str, optional
    padding : int
        Pixels between tiles.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        Different numbers of inputs and outputs, different image shapes, a
        flat row that is not square without ``shape``, NaN or inf.

    Examples
    --------
    >>> X = gl.datasets.mnist("test")[0][:8]                              # doctest: +SKIP
    >>> ax = gl.plot.reconstructions(X, autoencoder(X), value_range=(0, 1))   # doctest: +SKIP
    """
    what = "reconstructions"
    a = _as_images(what, "inputs", inputs, shape)
    b = _as_images(what, "outputs", outputs, shape)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"plot.{what}: inputs and outputs must pair up one to one: {a.shape[0]} inputs, "
                         f"{b.shape[0]} outputs")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"plot.{what}: inputs and outputs must have the same image shape (C, H, W): "
                         f"inputs {a.shape[1:]}, outputs {b.shape[1:]}")
    k = min(check_int(f"plot.{what}: n", n, 1), a.shape[0])
    both = np.concatenate([a[:k], b[:k]])
    return _tiled(both, k, value_range, ax, title, padding, what, row_labels=("input", "reconstruction"))


def interpolation_strip(images_or_rows: Any, ax: Any = None, shape: Any = None,
                        value_range: Optional[Sequence[float]] = (-1, 1), title: Optional[str] = None,
                        padding: int = 2, row_labels: Optional[Sequence[str]] = None) -> Any:
    """Draw interpolations as a grid, one interpolation (``k`` images) per row.

    Parameters
    ----------
    images_or_rows : array_like or list of array_like
        A 5-D array ``(rows, k, C, H, W)``, or a list with one array per row,
        each ``(k, C, H, W)``, ``(k, H, W)`` or flat ``(k, D)`` (reshaped as
        in :func:`reconstructions`), every row with the same ``k`` and image
        shape.  A 3-D array ``(rows, k, D)`` of flat images is read as such
        only with ``shape``; a 4-D array is refused as ambiguous (``(rows, k,
        H, W)`` or one row ``(k, C, H, W)``): add the channel axis, or wrap a
        single row in a list.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.
    shape : (H, W) or (C, H, W), optional
        Shape of one image, for flat images.
    value_range : (float, float) or None
        As in :func:`image_grid`, over all rows together.
    title : str, optional
    padding : int
        Pixels between tiles.
    row_labels : sequence of str, optional
        One label per row (e.g. ``"3 -> 8"``), written left of the row;
        default none, and no axis drawn.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> t = np.linspace(0, 1, 8)[:, None]
    >>> rows = [decode((1 - t) * z[a] + t * z[b]) for a, b in [(0, 1), (2, 3)]]   # doctest: +SKIP
    >>> ax = gl.plot.interpolation_strip(rows, title="linear interpolation")     # doctest: +SKIP
    """
    what = "interpolation_strip"
    if isinstance(images_or_rows, (list, tuple)):
        if len(images_or_rows) == 0:
            raise ValueError(f"plot.{what}: no rows to draw (got an empty list)")
        rows = [_as_images(what, f"the images of row {r}", row, shape) for r, row in enumerate(images_or_rows)]
        for r, row in enumerate(rows[1:], 1):
            if row.shape != rows[0].shape:
                raise ValueError(f"plot.{what}: every row must have the same number of images and image "
                                 f"shape: row 0 is {rows[0].shape}, row {r} is {row.shape} (as (k, C, H, W))")
        n_rows, k = len(rows), rows[0].shape[0]
        flat = np.concatenate(rows)
    else:
        x = np.asarray(images_or_rows)
        if x.ndim == 4 or (x.ndim == 3 and shape is None):
            raise ValueError(f"plot.{what}: a {x.ndim}-D array (shape {x.shape}) is ambiguous; pass a 5-D array "
                             f"(rows, k, C, H, W) (add the channel axis with x[:, :, None]), a list with one "
                             f"array per row, or, for flat images (rows, k, D), shape=(H, W)")
        if x.ndim not in (3, 5):
            raise ValueError(f"plot.{what}: images_or_rows must be (rows, k, C, H, W) or a list of rows "
                             f"(k, C, H, W); got shape {x.shape}")
        if 0 in x.shape[:2]:
            raise ValueError(f"plot.{what}: no images to draw, got shape {x.shape}")
        n_rows, k = x.shape[:2]
        flat = _as_images(what, "images", x.reshape((n_rows * k,) + x.shape[2:]), shape)
    if row_labels is not None:
        if isinstance(row_labels, (str, bytes)) or len(row_labels) != n_rows:
            raise ValueError(f"plot.{what}: row_labels must be a sequence of {n_rows} labels (one per row), "
                             f"got {row_labels!r}")
        row_labels = [str(v) for v in row_labels]
    return _tiled(flat, k, value_range, ax, title, padding, what, row_labels=row_labels)


def latent_traversal(decode: Callable[[np.ndarray], Any], z0: Any, dims: Any = None, values: Any = None,
                     ax: Any = None, shape: Any = None, value_range: Optional[Sequence[float]] = (-1, 1),
                     title: Optional[str] = None, padding: int = 2) -> Any:
    """Vary one latent dimension at a time around ``z0`` and draw the decoded images, one row per dimension.

    Row ``r`` decodes ``z0`` with coordinate ``dims[r]`` set to each of
    ``values`` in turn (the other coordinates stay at ``z0``); all rows are
    decoded in one call ``decode(Z)`` with ``Z`` of shape
    ``(len(dims) * len(values), d)``, float32.  Rows are labelled ``z[i]``,
    columns with the values.

    Parameters
    ----------
    decode : callable
        Maps a float32 batch ``(m, d)`` of codes to ``m`` images: ``(m, C, H,
        W)``, ``(m, H, W)`` or flat ``(m, D)`` (reshaped as in
        :func:`reconstructions`).
    z0 : array_like, shape (d,) or (1, d)
        The code traversed around; finite.
    dims : int or sequence of int, optional
        Dimensions to vary, one row each (default all ``d``).
    values : array_like, shape (k,), optional
        Values each dimension takes (default ``np.linspace(-3, 3, 9)``); finite.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.
    shape : (H, W) or (C, H, W), optional
        Shape of one decoded image, for flat output.
    value_range : (float, float) or None
        As in :func:`image_grid`, over all decoded images together.
    title : str, optional
    padding : int
        Pixels between tiles.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``z0`` not one code, ``dims`` out of range, ``values`` empty or not
        finite, or ``decode`` returning the wrong number of images, a shape
        that is not images, or NaN / inf.

    Examples
    --------
    >>> ax = gl.plot.latent_traversal(lambda z: vae.decode(z), np.zeros(8), dims=[0, 1, 2])   # doctest: +SKIP
    """
    what = "latent_traversal"
    if not callable(decode):
        raise TypeError(f"plot.{what}: decode must be a callable taking a (m, d) batch of codes, "
                        f"got {type(decode).__name__}")
    z = np.asarray(z0)
    if z.dtype.kind not in "biuf":
        raise TypeError(f"plot.{what}: z0 must be a numeric array, got dtype {z.dtype}")
    if z.ndim == 2 and z.shape[0] == 1:
        z = z[0]
    if z.ndim != 1 or z.shape[0] == 0:
        raise ValueError(f"plot.{what}: z0 must be one latent code, shape (d,) or (1, d), got shape {z.shape}")
    d = z.shape[0]
    if not np.isfinite(z).all():
        raise ValueError(f"plot.{what}: z0 contains NaN or inf (at index {int(np.flatnonzero(~np.isfinite(z))[0])})")
    if dims is None:
        dims = list(range(d))
    elif isinstance(dims, numbers.Integral) and not isinstance(dims, (bool, np.bool_)):
        dims = [dims]
    if isinstance(dims, (str, bytes)) or not isinstance(dims, (list, tuple, range, np.ndarray)) or len(dims) == 0:
        raise ValueError(f"plot.{what}: dims must be an int or a non-empty sequence of ints, got {dims!r}")
    dims = [check_int(f"plot.{what}: dims[{r}] (a dimension of the {d}-d code)", v, 0, d - 1)
            for r, v in enumerate(dims)]
    vals = np.linspace(-3.0, 3.0, 9) if values is None else np.asarray(values)
    if vals.dtype.kind not in "biuf" or vals.ndim != 1 or vals.shape[0] == 0:
        raise ValueError(f"plot.{what}: values must be a non-empty 1-D array of numbers, got {values!r}")
    if not np.isfinite(vals).all():
        raise ValueError(f"plot.{what}: values must be finite, got {values!r}")
    k = vals.shape[0]
    Z = np.tile(z.astype(np.float32), (len(dims) * k, 1))
    for r, i in enumerate(dims):
        Z[r * k:(r + 1) * k, i] = vals
    out = decode(Z)
    try:
        n_out = len(out)
    except TypeError:
        raise TypeError(f"plot.{what}: decode must return an array of images, got {type(out).__name__}") from None
    if n_out != Z.shape[0]:
        raise ValueError(f"plot.{what}: decode returned {n_out} items for a batch of {Z.shape[0]} codes "
                         f"(shape {Z.shape}); it must return one image per code, first axis {Z.shape[0]}")
    imgs = _as_images(what, "the images decode returned", out, shape)
    return _tiled(imgs, k, value_range, ax, title, padding, what,
                  row_labels=[f"z[{i}]" for i in dims], col_labels=[f"{v:g}" for v in vals.tolist()])
