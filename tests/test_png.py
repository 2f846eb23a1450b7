"""ganlib.io.save_png / load_png, ganlib.io.tiling.make_grid and ganlib.plot.image_grid."""
import os
import struct
import sys
import zlib

import numpy as np
import pytest

from ganlib.io import load_png, save_png
from ganlib.io.png import decode_png
from ganlib.io.tiling import make_grid, to_uint8


def independent_decode(path):
    """Decode with struct + zlib only, checking every chunk's CRC (no ganlib code)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks.append((kind, body))
        pos += 12 + n
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and set(kinds) == {b"IHDR", b"IDAT", b"IEND"}
    w, h, depth, colour, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and colour in (0, 2) and comp == filt == interlace == 0
    c = 1 if colour == 0 else 3
    raw = np.frombuffer(zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT")), np.uint8)
    raw = raw.reshape(h, 1 + w * c)
    assert np.all(raw[:, 0] == 0)                    # filter type None on every scanline
    px = raw[:, 1:].reshape(h, w, c)
    return px[:, :, 0] if c == 1 else px


def test_grayscale_single_image_round_trip(tmp_path):
    x = np.linspace(0.0, 1.0, 20 * 30).reshape(20, 30)
    p = str(tmp_path / "g.png")
    save_png(p, x, value_range=(0, 1))
    want = np.floor(x * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(load_png(p), want)
    np.testing.assert_array_equal(independent_decode(p), want)
    # (1, H, W) and (1, 1, H, W): the same single image, no padding
    save_png(p, x[None] * 2 - 1)
    np.testing.assert_array_equal(load_png(p), want)
    save_png(p, x[None, None] * 255, value_range=(0, 255))
    np.testing.assert_array_equal(load_png(p), want)


def test_rgb_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(3, 17, 23)).astype(np.float32)
    p = str(tmp_path / "rgb.png")
    save_png(p, x)
    want = to_uint8(x).transpose(1, 2, 0)
    got = load_png(p)
    assert got.shape == (17, 23, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(independent_decode(p), want)
    np.testing.assert_array_equal(want, np.floor((x.transpose(1, 2, 0).astype(np.float64) + 1) * 127.5 + 0.5))


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_tiling(tmp_path, channels):
    rng = np.random.default_rng(channels)
    n, h, w, pad, nrow = 10, 5, 7, 2, 4
    x = rng.uniform(0, 1, size=(n, channels, h, w))
    p = str(tmp_path / "grid.png")
    save_png(p, x, value_range=(0, 1), nrow=nrow, padding=pad)
    g = load_png(p)
    assert g.shape[:2] == (3 * (h + pad) + pad, nrow * (w + pad) + pad)
    np.testing.assert_array_equal(g, independent_decode(p))
    tiles = to_uint8(x, (0, 1))
    mask = np.zeros(g.shape[:2], bool)
    for i in range(n):
        r, c = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        tile = g[top:top + h, left:left + w]
        want = tiles[i, 0] if channels == 1 else tiles[i].transpose(1, 2, 0)
        np.testing.assert_array_equal(tile, want)
        mask[top:top + h, left:left + w] = True
    assert np.all(g[~mask] == 0)                    # padding and empty cells are black
    # default nrow = ceil(sqrt(N)); padding 0
    assert make_grid(x, padding=0, value_range=(0, 1)).shape[:2] == (3 * h, 4 * w)
    assert make_grid(x[:4], value_range=(0, 1)).shape[:2] == (2 * (h + 2) + 2, 2 * (w + 2) + 2)
    assert make_grid(x[:3], nrow=8, padding=1, value_range=(0, 1)).shape[:2] == (h + 2, 3 * (w + 1) + 1)


def test_value_range_clipping_and_auto(tmp_path):
    x = np.array([[-5.0, -1.0, 0.0, 1.0, 5.0]])
    np.testing.assert_array_equal(make_grid(x), [[0, 0, 128, 255, 255]])
    np.testing.assert_array_equal(make_grid(x, value_range=None), [[0, 102, 128, 153, 255]])
    np.testing.assert_array_equal(make_grid(np.full((2, 2), 3.0), value_range=None), np.zeros((2, 2)))
    np.testing.assert_array_equal(make_grid(np.array([[0, 128, 255]], np.uint8), value_range=(0, 255)),
                                  [[0, 128, 255]])


def test_readable_by_matplotlib_and_pillow(tmp_path):
    rng = np.random.default_rng(3)
    gray = rng.uniform(-1, 1, size=(6, 1, 9, 11))
    rgb = rng.uniform(-1, 1, size=(5, 3, 9, 11))
    pg, pc = str(tmp_path / "gray.png"), str(tmp_path / "rgb.png")
    save_png(pg, gray, nrow=3)
    save_png(pc, rgb, nrow=2)
    mpimg = pytest.importorskip("matplotlib.image")
    for p in (pg, pc):
        img = mpimg.imread(p)                        # floats in [0, 1] for 8-bit PNGs
        np.testing.assert_array_equal(np.round(img * 255).astype(np.uint8), load_png(p))
    Image = pytest.importorskip("PIL.Image")
    with Image.open(pg) as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), load_png(pg))
    with Image.open(pc) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), load_png(pc))


def test_load_png_decodes_all_filter_types(tmp_path):
    """Pillow writes adaptive filters (Sub, Up, Average, Paeth); the reader undoes them all."""
    Image = pytest.importorskip("PIL.Image")
    yy, xx = np.mgrid[0:40, 0:50]
    rgb = np.stack([(xx * 5) % 256, (yy * 3 + xx) % 256, (xx * yy) % 256], -1).astype(np.uint8)
    gray = ((xx * 7 + yy * 11) % 256).astype(np.uint8)
    for arr, mode in ((rgb, "RGB"), (gray, "L"), (np.dstack([rgb, gray]), "RGBA")):
        p = str(tmp_path / f"pil_{mode}.png")
        Image.fromarray(arr, mode).save(p)
        np.testing.assert_array_equal(load_png(p), arr)


def test_atomic_write_and_overwrite(tmp_path):
    p = str(tmp_path / "out.png")
    save_png(p, np.zeros((4, 4)))
    save_png(p, np.ones((3, 5)))                     # replaces the old file
    np.testing.assert_array_equal(load_png(p), np.full((3, 5), 255))
    with pytest.raises(ValueError):
        save_png(p, np.full((4, 4), np.nan))         # fails before touching the file
    np.testing.assert_array_equal(load_png(p), np.full((3, 5), 255))
    assert sorted(os.listdir(str(tmp_path))) == ["out.png"]     # no temporary left behind
    import pathlib
    save_png(pathlib.Path(p), np.zeros((2, 2)))
    assert load_png(pathlib.Path(p)).shape == (2, 2)


def test_bad_input(tmp_path):
    p = str(tmp_path / "x.png")
    with pytest.raises(ValueError, match="channels"):
        save_png(p, np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match="shape"):
        save_png(p, np.zeros((1, 1, 1, 5, 5)))
    with pytest.raises(ValueError, match="value_range"):
        save_png(p, np.zeros((5, 5)), value_range=(1, 0))
    with pytest.raises(ValueError, match="nrow"):
        save_png(p, np.zeros((4, 1, 5, 5)), nrow=0)
    with pytest.raises(ValueError, match="padding"):
        save_png(p, np.zeros((4, 1, 5, 5)), padding=-1)
    with pytest.raises(TypeError):
        save_png(p, np.array([["a"]]))
    assert not os.path.exists(p)
    with pytest.raises(ValueError, match="signature"):
        decode_png(b"GIF89a" + b"\x00" * 20)
    save_png(p, np.zeros((5, 5)))
    data = bytearray(open(p, "rb").read())
    data[20] ^= 0xFF                                 # inside IHDR
    with pytest.raises(ValueError, match="CRC"):
        decode_png(bytes(data))


# ============================================================================= plot

def test_image_grid_draws_the_same_grid(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ganlib.plot import image_grid
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(7, 1, 6, 6))
    ax = image_grid(x, nrow=3, title="samples")
    assert ax.get_title() == "samples"
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), make_grid(x, nrow=3))
    p = str(tmp_path / "same.png")
    save_png(p, x, nrow=3)
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), load_png(p))
    fig, ax2 = plt.subplots()
    assert image_grid(rng.uniform(0, 1, size=(3, 8, 8)), value_range=(0, 1), ax=ax2) is ax2
    assert np.asarray(ax2.images[0].get_array()).shape == (8, 8, 3)
    plt.close("all")


def test_image_grid_without_matplotlib(monkeypatch):
    from ganlib.plot import image_grid
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="needs matplotlib"):
        image_grid(np.zeros((2, 1, 4, 4)))
