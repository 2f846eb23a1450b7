"""ganlib.plot's latent-space plots: latent_scatter, reconstructions, interpolation_strip, latent_traversal."""
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganlib import plot  # noqa: E402
from ganlib.io.tiling import make_grid  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def grid_of(ax):
    """The one picture an image plot drew."""
    assert len(ax.images) == 1
    return np.asarray(ax.images[0].get_array())


def tiles(grid_shape, h, w, p=2):
    """(grid rows, grid columns) of a make_grid picture of h x w tiles with padding p."""
    H, W = grid_shape[:2]
    assert (H - p) % (h + p) == 0 and (W - p) % (w + p) == 0
    return (H - p) // (h + p), (W - p) // (w + p)


def labels_of(ticks):
    return [t.get_text() for t in ticks]


# ============================================================================= latent_scatter

def test_latent_scatter_points_colours_and_legend():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 2)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    ax = plot.latent_scatter(z, y, title="AAE codes")
    assert len(ax.collections) == 1
    np.testing.assert_allclose(ax.collections[0].get_offsets(), z, rtol=1e-6)   # every point, input order
    colours = ax.collections[0].get_facecolors()
    assert colours.shape[0] == 300
    tab10 = matplotlib.colormaps["tab10"]
    for k in range(10):                                      # class k gets tab10 colour k
        np.testing.assert_allclose(colours[y == k][:, :3], np.tile(tab10(k)[:3], ((y == k).sum(), 1)))
    assert labels_of(ax.get_legend().get_texts()) == [str(k) for k in range(10)]
    assert ax.get_title() == "AAE codes" and ax.get_xlabel() == "z[0]" and ax.get_ylabel() == "z[1]"


def test_latent_scatter_classes_are_the_sorted_distinct_labels():
    z = np.arange(12, dtype=float).reshape(6, 2)
    ax = plot.latent_scatter(z, np.array([7.0, 3.0, 7.0, 9.0, 3.0, 3.0]))     # whole floats are labels
    assert labels_of(ax.get_legend().get_texts()) == ["3", "7", "9"]
    fc = ax.collections[0].get_facecolors()
    np.testing.assert_allclose(fc[0], fc[2])
    assert not np.allclose(fc[0], fc[1])


def test_latent_scatter_without_labels_and_without_legend():
    z = np.random.default_rng(1).normal(size=(50, 2))
    ax = plot.latent_scatter(z)
    assert ax.collections[0].get_offsets().shape == (50, 2)
    assert ax.get_legend() is None
    ax = plot.latent_scatter(z, np.zeros(50, int), legend=False)
    assert ax.get_legend() is None


def test_latent_scatter_dims_picks_two_columns():
    z = np.random.default_rng(2).normal(size=(40, 5))
    fig, ax = plt.subplots()
    assert plot.latent_scatter(z, dims=(3, 1), ax=ax) is ax
    np.testing.assert_allclose(ax.collections[0].get_offsets(), z[:, [3, 1]])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("z[3]", "z[1]")


def test_latent_scatter_many_classes_get_a_colorbar():
    rng = np.random.default_rng(3)
    ax = plot.latent_scatter(rng.normal(size=(200, 2)), rng.integers(0, 40, 200), cmap="viridis")
    assert ax.get_legend() is None
    assert len(ax.figure.axes) == 2                         # the axes and its colorbar


def test_latent_scatter_warns_when_a_listed_cmap_runs_out_of_colours():
    rng = np.random.default_rng(4)
    with pytest.warns(UserWarning, match="12 classes but colormap 'tab10' has 10 colours"):
        plot.latent_scatter(rng.normal(size=(100, 2)), np.arange(100) % 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot.latent_scatter(rng.normal(size=(100, 2)), np.arange(100) % 12, cmap="tab20")


@pytest.mark.parametrize("codes,kw,exc,match", [
    (np.zeros((10, 3)), {}, ValueError, r"codes have 3 columns .*dims=\(i, j\)"),
    (np.zeros((10, 1)), {}, ValueError, "1 column"),
    (np.zeros(10), {}, ValueError, r"must be a 2-D array \(n, 2\).*shape \(10,\)"),
    (np.zeros((10, 2, 1)), {}, ValueError, "2-D array"),
    (np.zeros((0, 2)), {}, ValueError, "empty"),
    (np.array([["a", "b"]]), {}, TypeError, "numeric"),
    (np.zeros((10, 4)), {"dims": (0, 4)}, ValueError, r"dims\[1\] must be <= 3"),
    (np.zeros((10, 4)), {"dims": (2, 2)}, ValueError, "two different columns"),
    (np.zeros((10, 4)), {"dims": 1}, ValueError, "pair of column indices"),
    (np.zeros((10, 4)), {"dims": (0, 1.0)}, TypeError, "must be an int"),
    (np.zeros((10, 2)), {"labels": np.zeros(9, int)}, ValueError, "one entry per code: 10 codes"),
    (np.zeros((10, 2)), {"labels": np.full(10, 0.5)}, ValueError, "integer class labels, got 0.5 at row 0"),
    (np.zeros((10, 2)), {"labels": np.array(["a"] * 10)}, TypeError, "integer class labels"),
    (np.zeros((10, 2)), {"labels": np.r_[np.zeros(9), np.nan]}, ValueError, "labels contain NaN or inf"),
    (np.zeros((10, 2)), {"s": 0}, ValueError, "s must be > 0"),
    (np.zeros((10, 2)), {"alpha": 2.0}, ValueError, r"alpha must be in \[0, 1\]"),
    (np.zeros((10, 2)), {"legend": "yes"}, TypeError, "legend must be a bool"),
    (np.zeros((10, 2)), {"cmap": "no-such-map"}, ValueError, "unknown colormap 'no-such-map'"),
    (np.zeros((10, 2)), {"cmap": 3}, TypeError, "cmap must be"),
])
def test_latent_scatter_bad_inputs(codes, kw, exc, match):
    with pytest.raises(exc, match=match):
        plot.latent_scatter(codes, **kw)


def test_latent_scatter_nan_codes_say_where():
    z = np.zeros((20, 3))
    z[7, 1] = np.nan
    z[9, 2] = np.inf
    with pytest.raises(ValueError, match=r"NaN or inf in the drawn columns \(0, 1\): 1 of 20 rows, first at row 7"):
        plot.latent_scatter(z, dims=(0, 1))
    z[7, 1] = 0.0
    plot.latent_scatter(z, dims=(0, 1))                     # the inf in column 2 is not drawn: no error
    with pytest.raises(ValueError, match=r"drawn columns \(0, 2\): 1 of 20 rows, first at row 9"):
        plot.latent_scatter(z, dims=(0, 2))


def test_latent_scatter_checks_before_opening_a_figure():
    before = plt.get_fignums()
    with pytest.raises(ValueError):
        plot.latent_scatter(np.zeros((4, 3)))
    assert plt.get_fignums() == before


# ============================================================================= reconstructions

def test_reconstructions_two_rows_of_n():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, size=(10, 1, 6, 6))
    y = rng.uniform(-1, 1, size=(10, 1, 6, 6))
    ax = plot.reconstructions(x, y, n=4, title="AE")
    g = grid_of(ax)
    assert tiles(g.shape, 6, 6) == (2, 4)
    np.testing.assert_array_equal(g, make_grid(np.concatenate([x[:4], y[:4]]), nrow=4))   # image_grid's mapping
    assert labels_of(ax.get_yticklabels()) == ["input", "reconstruction"]
    assert len(ax.get_yticks()) == 2 and ax.get_title() == "AE"


def test_reconstructions_flat_rows_are_square_or_shape():
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, size=(5, 784))
    g = grid_of(plot.reconstructions(x, x.reshape(5, 28, 28), value_range=(0, 1)))   # flat and (n, H, W) mix
    assert tiles(g.shape, 28, 28) == (2, 5)                 # n=8 > 5: all five pairs
    np.testing.assert_array_equal(g[2:30, 2:30], g[32:60, 2:30])
    x = rng.uniform(-1, 1, size=(3, 2 * 5))
    assert tiles(grid_of(plot.reconstructions(x, x, shape=(2, 5))).shape, 2, 5) == (2, 3)
    x = rng.uniform(-1, 1, size=(3, 3 * 4 * 4))
    g = grid_of(plot.reconstructions(x, x, shape=(3, 4, 4)))
    assert g.ndim == 3 and g.shape[2] == 3 and tiles(g.shape, 4, 4) == (2, 3)


def test_reconstructions_value_range_none_is_shared():
    x = np.zeros((2, 1, 3, 3))
    y = np.full((2, 1, 3, 3), 10.0)
    g = grid_of(plot.reconstructions(x, y, value_range=None))
    assert g[2, 2] == 0 and g[7, 2] == 255                  # inputs black, reconstructions white


@pytest.mark.parametrize("x,y,kw,exc,match", [
    (np.zeros((4, 784)), np.zeros((3, 784)), {}, ValueError, "pair up one to one: 4 inputs, 3 outputs"),
    (np.zeros((4, 1, 8, 8)), np.zeros((4, 1, 8, 9)), {}, ValueError,
     r"same image shape.*inputs \(1, 8, 8\), outputs \(1, 8, 9\)"),
    (np.zeros((4, 10)), np.zeros((4, 10)), {}, ValueError, r"flat rows of 10 values.*pass shape=\(H, W\)"),
    (np.zeros((4, 10)), np.zeros((4, 10)), {"shape": (3, 3)}, ValueError, r"cannot be reshaped to shape=\(3, 3\)"),
    (np.zeros((4, 12)), np.zeros((4, 12)), {"shape": (2, 2, 3)}, ValueError, "C = 1 .* or 3"),
    (np.zeros((4, 12)), np.zeros((4, 12)), {"shape": 12}, ValueError, r"shape must be \(H, W\)"),
    (np.zeros((4, 2, 5, 5)), np.zeros((4, 2, 5, 5)), {}, ValueError, "1 .grayscale. or 3 .RGB. channels"),
    (np.zeros(16), np.zeros(16), {}, ValueError, "inputs must be a batch of images"),
    (np.zeros((0, 16)), np.zeros((0, 16)), {}, ValueError, "inputs must not be empty"),
    (np.zeros((4, 16)), np.full((4, 16), np.nan), {}, ValueError, r"outputs contain NaN or inf \(64 of 64 values; "
                                                                  r"first in image 0\)"),
    (np.zeros((4, 16)), np.zeros((4, 16)), {"n": 0}, ValueError, "n must be >= 1"),
    (np.zeros((4, 16)), np.zeros((4, 16)), {"n": 2.0}, TypeError, "n must be an int"),
    (np.array([["a"] * 4]), np.zeros((1, 4)), {}, TypeError, "inputs must be a numeric array"),
])
def test_reconstructions_bad_inputs(x, y, kw, exc, match):
    with pytest.raises(exc, match=match):
        plot.reconstructions(x, y, **kw)


# ============================================================================= interpolation_strip

def test_interpolation_strip_5d_one_row_per_interpolation():
    x = np.random.default_rng(7).uniform(-1, 1, size=(3, 7, 1, 8, 8))
    fig, ax = plt.subplots()
    assert plot.interpolation_strip(x, ax=ax, title="lerp") is ax
    g = grid_of(ax)
    assert tiles(g.shape, 8, 8) == (3, 7)
    np.testing.assert_array_equal(g, make_grid(x.reshape(21, 1, 8, 8), nrow=7))
    assert ax.get_title() == "lerp"


def test_interpolation_strip_list_of_rows_flat_rgb_and_labels():
    rng = np.random.default_rng(8)
    rows = [rng.uniform(-1, 1, size=(5, 64)) for _ in range(2)]          # flat 8 x 8
    ax = plot.interpolation_strip(rows, row_labels=["3 -> 8", "1 -> 7"])
    assert tiles(grid_of(ax).shape, 8, 8) == (2, 5)
    assert labels_of(ax.get_yticklabels()) == ["3 -> 8", "1 -> 7"]
    rgb = [rng.uniform(-1, 1, size=(4, 3, 6, 6)) for _ in range(3)]
    g = grid_of(plot.interpolation_strip(rgb))
    assert g.shape[2] == 3 and tiles(g.shape, 6, 6) == (3, 4)
    g = grid_of(plot.interpolation_strip(rng.uniform(-1, 1, size=(2, 6, 20)), shape=(4, 5)))
    assert tiles(g.shape, 4, 5) == (2, 6)


@pytest.mark.parametrize("x,kw,match", [
    (np.zeros((2, 3, 8, 8)), {}, r"4-D array .* is ambiguous.*x\[:, :, None\]"),
    (np.zeros((2, 3, 64)), {}, "3-D array .* is ambiguous"),
    (np.zeros((2, 3)), {}, r"must be \(rows, k, C, H, W\)"),
    (np.zeros((0, 3, 1, 4, 4)), {}, "no images"),
    ([], {}, "empty list"),
    ([np.zeros((5, 1, 4, 4)), np.zeros((4, 1, 4, 4))], {}, r"row 0 is \(5, 1, 4, 4\), row 1 is \(4, 1, 4, 4\)"),
    ([np.zeros((5, 16)), np.zeros((5, 15))], {}, "the images of row 1 are flat rows of 15 values"),
    (np.full((1, 2, 1, 4, 4), np.inf), {}, "images contain NaN or inf"),
    (np.zeros((2, 3, 1, 4, 4)), {"row_labels": ["a"]}, "2 labels"),
    (np.zeros((2, 3, 2, 4, 4)), {}, "1 .grayscale. or 3 .RGB. channels"),
])
def test_interpolation_strip_bad_inputs(x, kw, match):
    with pytest.raises(ValueError, match=match):
        plot.interpolation_strip(x, **kw)


# ============================================================================= latent_traversal

def linear_decoder(d, side=6, seed=9):
    W = np.random.default_rng(seed).normal(size=(d, side * side)).astype(np.float32)
    calls = []

    def decode(Z):
        calls.append(Z.copy())
        return np.tanh(Z @ W).reshape(len(Z), 1, side, side)
    return decode, calls


def test_latent_traversal_one_row_per_dimension():
    decode, calls = linear_decoder(4)
    z0 = np.array([0.5, -0.5, 1.0, 0.0])
    ax = plot.latent_traversal(decode, z0, dims=[0, 2], values=[-2, 0, 2], title="traversal")
    assert len(calls) == 1                                  # one batch for every row
    Z = calls[0]
    assert Z.shape == (6, 4) and Z.dtype == np.float32
    np.testing.assert_array_equal(Z[:3, 0], [-2, 0, 2])
    np.testing.assert_array_equal(Z[3:, 2], [-2, 0, 2])
    np.testing.assert_array_equal(Z[:3, 1:], np.tile(z0[1:], (3, 1)))        # the others stay at z0
    np.testing.assert_array_equal(Z[3:, [0, 1, 3]], np.tile(z0[[0, 1, 3]], (3, 1)))
    g = grid_of(ax)
    assert tiles(g.shape, 6, 6) == (2, 3)
    np.testing.assert_array_equal(g, make_grid(decode(Z), nrow=3))
    assert labels_of(ax.get_yticklabels()) == ["z[0]", "z[2]"]
    assert labels_of(ax.get_xticklabels()) == ["-2", "0", "2"]
    assert ax.get_title() == "traversal"


def test_latent_traversal_defaults_all_dims_nine_values_and_flat_output():
    d = 3
    W = np.random.default_rng(10).normal(size=(d, 100))
    fig, ax = plt.subplots()
    assert plot.latent_traversal(lambda Z: np.tanh(Z @ W), np.zeros((1, d)), ax=ax) is ax   # flat 10 x 10
    assert tiles(grid_of(ax).shape, 10, 10) == (3, 9)
    assert labels_of(ax.get_xticklabels())[0] == "-3" and labels_of(ax.get_xticklabels())[-1] == "3"
    ax = plot.latent_traversal(lambda Z: np.tanh(Z @ W)[:, :99], np.zeros(d), dims=1, shape=(9, 11))
    assert tiles(grid_of(ax).shape, 9, 11) == (1, 9)


@pytest.mark.parametrize("decode,match", [
    (lambda Z: np.zeros((len(Z) - 1, 1, 4, 4)), r"decode returned 17 items for a batch of 18 codes"),
    (lambda Z: np.zeros((len(Z), 5)), r"images decode returned are flat rows of 5 values.*shape="),
    (lambda Z: np.zeros(len(Z)), "images decode returned must be a batch of images"),
    (lambda Z: np.zeros((len(Z), 2, 4, 4)), "images decode returned must have 1 .grayscale. or 3"),
    (lambda Z: np.full((len(Z), 16), np.nan), "images decode returned contain NaN or inf"),
])
def test_latent_traversal_decode_returning_the_wrong_shape(decode, match):
    with pytest.raises(ValueError, match=match):
        plot.latent_traversal(decode, np.zeros(2))


@pytest.mark.parametrize("kw,exc,match", [
    ({"decode": "not callable"}, TypeError, "decode must be a callable"),
    ({"decode": lambda Z: None}, TypeError, "decode must return an array of images, got NoneType"),
    ({"z0": np.zeros((2, 2))}, ValueError, r"z0 must be one latent code.*\(2, 2\)"),
    ({"z0": np.zeros(0)}, ValueError, "z0 must be one latent code"),
    ({"z0": np.array([0.0, np.nan])}, ValueError, "z0 contains NaN or inf .at index 1"),
    ({"dims": [0, 2]}, ValueError, r"dims\[1\] .a dimension of the 2-d code. must be <= 1"),
    ({"dims": []}, ValueError, "non-empty sequence"),
    ({"dims": "0"}, ValueError, "non-empty sequence"),
    ({"dims": [0.0]}, TypeError, "must be an int"),
    ({"values": []}, ValueError, "non-empty 1-D"),
    ({"values": [[1.0]]}, ValueError, "non-empty 1-D"),
    ({"values": [0.0, np.inf]}, ValueError, "values must be finite"),
])
def test_latent_traversal_bad_inputs(kw, exc, match):
    args = {"decode": linear_decoder(2, side=4)[0], "z0": np.zeros(2)}
    args.update(kw)
    with pytest.raises(exc, match=match):
        plot.latent_traversal(args.pop("decode"), args.pop("z0"), **args)


# ============================================================================= shared

def test_image_grid_is_the_sample_grid_and_unchanged():
    x = np.random.default_rng(11).uniform(-1, 1, size=(7, 1, 5, 5))
    ax = plot.image_grid(x, nrow=3)
    np.testing.assert_array_equal(grid_of(ax), make_grid(x, nrow=3))
    assert not ax.axison
    assert not hasattr(plot, "sample_grid")


def test_new_plots_without_matplotlib(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="plot.latent_scatter needs matplotlib"):
        plot.latent_scatter(np.zeros((3, 2)))
    with pytest.raises(ImportError, match="plot.reconstructions needs matplotlib"):
        plot.reconstructions(np.zeros((3, 16)), np.zeros((3, 16)))
