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


# ============================================================================= decoder hardening

def _png(ihdr_body, idat=b"", extra=()):
    """A PNG from raw chunk bodies (valid CRCs), for malformed-header tests."""
    from ganlib.io.png import SIGNATURE, _chunk
    chunks = [_chunk(b"IHDR", ihdr_body)] if ihdr_body is not None else []
    chunks += [_chunk(k, b) for k, b in extra]
    return SIGNATURE + b"".join(chunks) + _chunk(b"IDAT", zlib.compress(idat)) + _chunk(b"IEND", b"")


GOOD_IHDR = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)


@pytest.mark.parametrize("blob,match", [
    (b"", "signature"),
    (b"\x89PNG\r\n\x1a\n", "truncated"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00", "truncated"),
    (_png(GOOD_IHDR[:12], bytes(6)), "IHDR chunk has 12 bytes, expected 13"),
    (_png(GOOD_IHDR[:5], bytes(6)), "IHDR chunk has 5 bytes"),
    (_png(b"", bytes(6)), "IHDR chunk has 0 bytes"),
    (_png(GOOD_IHDR + b"\x00", bytes(6)), "IHDR chunk has 14 bytes"),
    (_png(None, bytes(6)), "first chunk must be IHDR"),
    (_png(GOOD_IHDR, bytes(6), extra=[(b"IHDR", GOOD_IHDR)]), "more than one IHDR"),
    (_png(struct.pack(">IIBBBBB", 0, 2, 8, 0, 0, 0, 0)), "width and height"),
    (_png(struct.pack(">IIBBBBB", 2, 2 ** 31, 8, 0, 0, 0, 0)), "width and height"),
    (_png(struct.pack(">IIBBBBB", 2, 2, 16, 0, 0, 0, 0), bytes(10)), "unsupported format"),
    (_png(struct.pack(">IIBBBBB", 2, 2, 8, 3, 0, 0, 0), bytes(6)), "unsupported format"),
    (_png(GOOD_IHDR, bytes(5)), "truncated"),
    (_png(GOOD_IHDR, bytes(7)), "more than"),
    (_png(GOOD_IHDR, b"\x05\x00\x00\x00\x00\x00"), "unknown filter type 5 on scanline 0"),
    (_png(struct.pack(">IIBBBBB", 2 ** 31 - 1, 2 ** 31 - 1, 8, 6, 0, 0, 0), bytes(100)), "too large"),
    (_png(struct.pack(">IIBBBBB", 2 ** 20, 2 ** 20, 8, 6, 0, 0, 0), bytes(100)), "truncated"),
])
def test_decode_png_short_or_damaged_header_raises_value_error(blob, match):
    with pytest.raises(ValueError, match=match):
        decode_png(blob)


def test_decode_png_truncations_and_flips_only_raise_value_error(tmp_path):
    p = str(tmp_path / "t.png")
    save_png(p, np.random.default_rng(0).uniform(-1, 1, (3, 9, 7)))
    blob = open(p, "rb").read()
    for cut in range(len(blob)):
        with pytest.raises(ValueError):
            decode_png(blob[:cut])
    rng = np.random.default_rng(1)
    for _ in range(500):
        b = bytearray(blob)
        b[rng.integers(8, 33)] = rng.integers(256)           # signature excluded, IHDR and its CRC
        try:
            decode_png(bytes(b))
        except ValueError:
            pass
    with pytest.raises(TypeError, match="bytes"):
        decode_png(12)


def _filter_reference(px, ftypes, bpp):
    """PNG filtering (the encoder's side, PNG spec section 9) of uint8 rows px (h, w*bpp)."""
    x = px.astype(np.int16)
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    b = np.zeros_like(x)
    b[1:] = x[:-1]
    c = np.zeros_like(x)
    c[1:, bpp:] = x[:-1, :-bpp]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    preds = np.stack([np.zeros_like(x), a, b, (a + b) // 2, paeth])
    rows = ((x - preds[np.asarray(ftypes), np.arange(len(x))]) % 256).astype(np.uint8)
    return np.concatenate([np.asarray(ftypes, np.uint8)[:, None], rows], axis=1)


def _encode_filtered(px, colour, ftypes, bpp):
    from ganlib.io.png import SIGNATURE, _chunk
    h, w = px.shape[0], px.shape[1]
    raw = _filter_reference(px.reshape(h, -1), ftypes, bpp)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw.tobytes())) + _chunk(b"IEND", b"")


FILTER_CASES = [("none", 0), ("sub", 1), ("up", 2), ("average", 3), ("paeth", 4), ("mixed", None)]


@pytest.mark.parametrize("path", ["wavefront", "loop", "auto"])
@pytest.mark.parametrize("name,ftype", FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_every_filter_type_round_trips(monkeypatch, name, ftype, path):
    import ganlib.io.png as png_mod
    if path == "wavefront":                                   # force one decoding path or the other
        monkeypatch.setattr(png_mod, "_LOOP_S", 1.0)
        monkeypatch.setattr(png_mod, "_WAVE_MAX_BYTES", 4096)  # and many bands
    elif path == "loop":
        monkeypatch.setattr(png_mod, "_LOOP_S", 0.0)
    rng = np.random.default_rng(ftype or 7)
    for colour, c in ((0, 1), (4, 2), (2, 3), (6, 4)):
        for h, w in ((1, 1), (1, 13), (13, 1), (9, 17), (31, 6)):
            px = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
            px[: h // 2] = np.cumsum(px[: h // 2], axis=1) // 3   # smooth parts too (other Paeth branches)
            ftypes = rng.integers(0, 5, h) if ftype is None else np.full(h, ftype)
            got = decode_png(_encode_filtered(px, colour, ftypes, c))
            np.testing.assert_array_equal(got, px[:, :, 0] if c == 1 else px, err_msg=f"{colour} {h}x{w}")


def test_images_written_by_matplotlib_and_pillow_decode(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    yy, xx = np.mgrid[0:64, 0:80]
    rgba = np.stack([(xx * 3) % 256, (yy * 5 + xx) % 256, (xx * yy // 7) % 256,
                     255 - (xx + yy) % 128], -1).astype(np.uint8)
    p = str(tmp_path / "mpl.png")
    mpimg.imsave(p, rgba)
    want = np.round(mpimg.imread(p) * 255).astype(np.uint8)
    np.testing.assert_array_equal(load_png(p), want)
    np.testing.assert_array_equal(want, rgba)
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(5)
    noisy = np.clip(rgba[:, :, :3].astype(int) + rng.integers(-3, 4, rgba[:, :, :3].shape), 0, 255).astype(np.uint8)
    for arr, mode in ((noisy, "RGB"), (noisy[:, :, 0], "L"), (rgba, "RGBA")):
        q = str(tmp_path / f"pil_{mode}.png")
        Image.fromarray(arr, mode).save(q, optimize=True)
        np.testing.assert_array_equal(load_png(q), arr)


def test_large_paeth_image_decodes_fast():
    import time
    rng = np.random.default_rng(0)
    px = (np.cumsum(rng.integers(0, 256, (2048, 2048), dtype=np.int64), axis=1) // 7 % 256).astype(np.uint8)
    blob = _encode_filtered(px[:, :, None], 0, np.full(2048, 4), 1)
    start = time.perf_counter()
    got = decode_png(blob)
    elapsed = time.perf_counter() - start
    np.testing.assert_array_equal(got, px)
    assert elapsed < 1.5, f"2048 x 2048 Paeth image took {elapsed:.2f} s (about 0.15 s expected; 2.9 s before)"
