"""ganlib.datasets.mnist / load_idx (the LeCun IDX files) and ganlib.datasets.lines (TECHNIQUES.md §F)."""
import gzip
import hashlib
import math
import os
import shutil
import struct

import numpy as np
import pytest

from ganlib.datasets import lines, load_idx, mnist
from ganlib.datasets.lines import render_lines

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get("GANLIB_TEST_MNIST") or os.path.join(os.path.dirname(ROOT), "shared", "data",
                                                                "mnist")
NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]
# sha256 of the decompressed files, from ../shared/data/mnist/README.md
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
have_mnist = all(os.path.isfile(os.path.join(MNIST_DIR, n + ".gz")) for n in NAMES)
needs_mnist = pytest.mark.skipif(not have_mnist, reason=f"MNIST files not found in {MNIST_DIR} "
                                 "(set GANLIB_TEST_MNIST)")


def src(name):
    return os.path.join(MNIST_DIR, name + ".gz")


@pytest.fixture(scope="module")
def train():
    return mnist(MNIST_DIR, split="train")


@pytest.fixture(scope="module")
def test_set():
    return mnist(MNIST_DIR, split="test")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $GANLIB_DATA and an empty home, so only the directories a test sets up are searched."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.delenv("GANLIB_DATA", raising=False)
    monkeypatch.setenv("HOME", str(home))
    return tmp_path


def put_test_split(directory, gz=True, images=None, labels=None):
    """Copy (or decompress) the t10k files into directory; images/labels override the raw bytes."""
    os.makedirs(directory, exist_ok=True)
    for name, override in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        if override is not None:
            with open(os.path.join(directory, name), "wb") as f:
                f.write(override)
        elif gz:
            shutil.copy(src(name), directory)
        else:
            with open(os.path.join(directory, name), "wb") as f:
                f.write(gzip.decompress(open(src(name), "rb").read()))


def raw(name):
    with open(src(name), "rb") as f:
        return gzip.decompress(f.read())


# ============================================================================= MNIST

@needs_mnist
def test_checksums_of_decompressed_files_and_parser_keeps_every_byte():
    for name in NAMES:
        data = raw(name)
        assert hashlib.sha256(data).hexdigest() == SHA256[name], name
        arr = load_idx(src(name))
        header = struct.pack(">I", 0x800 + arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
        assert hashlib.sha256(header + arr.tobytes()).hexdigest() == SHA256[name], name


@needs_mnist
def test_train_and_test_shapes_dtypes_scale_labels(train, test_set):
    for (x, y), n, first in ((train, 60000, [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]),
                             (test_set, 10000, [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])):
        assert x.shape == (n, 1, 28, 28) and x.dtype == np.float32 and x.flags.c_contiguous
        assert y.shape == (n,) and y.dtype == np.int64
        assert x.min() == -1.0 and x.max() == 1.0
        assert y.min() == 0 and y.max() == 9 and np.all(np.bincount(y, minlength=10) > 800)
        assert y[:10].tolist() == first
    assert np.bincount(test_set[1]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # every image has ink; the corners never do
    x = test_set[0]
    assert np.all(x[:, 0, :2, :2] == -1.0) and x.max(axis=(1, 2, 3)).min() > 0.0


@needs_mnist
def test_scale_none_and_custom_and_limit(test_set):
    raw_x, raw_y = mnist(MNIST_DIR, split="test", scale=None, limit=500)
    assert raw_x.dtype == np.float32 and raw_x.shape == (500, 1, 28, 28)
    assert raw_x.min() == 0.0 and raw_x.max() == 255.0 and np.all(raw_x == np.round(raw_x))
    expect = np.frombuffer(raw("t10k-images-idx3-ubyte"), np.uint8, offset=16)[:500 * 784]
    np.testing.assert_array_equal(raw_x.reshape(-1), expect.astype(np.float32))
    np.testing.assert_array_equal(raw_y, test_set[1][:500])
    unit, _ = mnist(MNIST_DIR, split="test", scale=(0, 1), limit=500)
    np.testing.assert_allclose(unit, raw_x / 255.0, rtol=0, atol=1e-7)
    assert unit.min() == 0.0 and unit.max() == 1.0
    np.testing.assert_allclose(test_set[0][:500], raw_x / 127.5 - 1.0, rtol=0, atol=1e-6)
    assert mnist(MNIST_DIR, split="test", limit=10 ** 6)[0].shape[0] == 10000


@needs_mnist
def test_lookup_order_subfolder_env_home_and_raw_files(isolated, monkeypatch):
    a, b = isolated / "a", isolated / "b"
    put_test_split(str(a / "mnist"))                     # root's mnist/ subfolder, gzipped
    put_test_split(str(b), gz=False)                     # $GANLIB_DATA, raw files
    x1, y1 = mnist(str(a), split="test", limit=100)
    monkeypatch.setenv("GANLIB_DATA", str(b))
    x2, y2 = mnist(split="test", limit=100)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    monkeypatch.delenv("GANLIB_DATA")
    put_test_split(os.path.join(os.environ["HOME"], ".cache", "ganlib"))
    assert mnist(split="test", limit=3)[1].tolist() == [7, 2, 1]


def test_missing_files_message_lists_every_place(isolated, monkeypatch):
    root, env = isolated / "root", isolated / "env"
    monkeypatch.setenv("GANLIB_DATA", str(env))
    with pytest.raises(FileNotFoundError) as e:
        mnist(str(root), split="train")
    msg = str(e.value)
    home = os.path.join(os.environ["HOME"], ".cache", "ganlib")
    for place in (str(root), os.path.join(str(root), "mnist"), str(env), os.path.join(str(env), "mnist"),
                  home, os.path.join(home, "mnist")):
        assert f"  {place}\n" in msg + "\n", place
    for name in NAMES:
        assert name in msg
    assert "LeCun" in msg and "IDX" in msg and "GANLIB_DATA" in msg


@needs_mnist
def test_half_present_split_is_reported(isolated):
    d = isolated / "half"
    d.mkdir()
    shutil.copy(src("t10k-images-idx3-ubyte"), str(d))
    with pytest.raises(FileNotFoundError, match="has t10k-images-idx3-ubyte.gz but not t10k-labels"):
        mnist(str(d), split="test")


@needs_mnist
def test_corrupt_files_raise_value_error_naming_file(isolated):
    images, labels = raw("t10k-images-idx3-ubyte"), raw("t10k-labels-idx1-ubyte")
    gz_bytes = open(src("t10k-images-idx3-ubyte"), "rb").read()
    cases = {
        "truncated_gzip": (None, "gzip", lambda d: open(os.path.join(d, "t10k-images-idx3-ubyte.gz"), "wb")
                           .write(gz_bytes[:len(gz_bytes) // 2])),
        "not_gzip": (None, "gzip", lambda d: open(os.path.join(d, "t10k-images-idx3-ubyte.gz"), "wb")
                     .write(b"hello, this is not gzip data")),
        "bad_magic": (b"\x00\x00\x09\x03" + images[4:], "magic", None),
        "labels_as_images": (labels, "magic", None),
        "truncated_data": (images[:-1], "truncated", None),
        "trailing_bytes": (images + b"\x00", "trailing", None),
        "truncated_header": (images[:10], "header", None),
        "tiny": (b"\x00\x00", "header needs 4", None),
    }
    for case, (img_bytes, what, writer) in cases.items():
        d = str(isolated / case)
        put_test_split(d, images=img_bytes)
        if writer is not None:
            os.remove(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
            writer(d)
        with pytest.raises(ValueError) as e:
            mnist(d, split="test")
        assert "t10k-images-idx3-ubyte" in str(e.value) and what in str(e.value), (case, str(e.value))


@needs_mnist
def test_image_and_label_counts_must_agree(isolated):
    labels = raw("t10k-labels-idx1-ubyte")
    short = struct.pack(">II", 0x801, 9999) + labels[8:-1]
    d = str(isolated / "short")
    put_test_split(d, labels=short)
    with pytest.raises(ValueError, match="10000 images .* 9999 labels"):
        mnist(d, split="test")
    bad = struct.pack(">II", 0x801, 10000) + bytes([10]) + labels[9:]
    d = str(isolated / "bad_label")
    put_test_split(d, labels=bad)
    with pytest.raises(ValueError, match="labels must be 0..9"):
        mnist(d, split="test")


def test_load_idx_small_files_and_ndim_check(tmp_path):
    p = tmp_path / "x-idx3-ubyte"
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p.write_bytes(struct.pack(">IIII", 0x803, 2, 3, 4) + data.tobytes())
    np.testing.assert_array_equal(load_idx(p), data)
    np.testing.assert_array_equal(load_idx(str(p), ndim=3), data)
    with pytest.raises(ValueError, match="expected 0x00000801"):
        load_idx(p, ndim=1)
    gz = tmp_path / "x-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    np.testing.assert_array_equal(load_idx(gz), data)
    bad = tmp_path / "float-idx"
    bad.write_bytes(struct.pack(">II", 0x00000D01, 1) + b"\x00" * 4)      # float32 IDX: unsupported
    with pytest.raises(ValueError, match="magic"):
        load_idx(bad)
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope")


def test_bad_arguments(isolated):
    with pytest.raises(ValueError, match="split"):
        mnist(split="val")
    with pytest.raises(ValueError, match="limit"):
        mnist(split="test", limit=0)
    with pytest.raises(TypeError, match="limit"):
        mnist(split="test", limit=2.5)
    with pytest.raises(ValueError, match="scale"):
        mnist(split="test", scale=(1, 1))
    with pytest.raises(ValueError, match="scale"):
        mnist(split="test", scale="ab")


# ============================================================================= lines

def direct_render(theta, size=32):
    """Pixel-by-pixel reference of the documented rule."""
    length, c = size / 2 - 1, size / 2
    ux, uy = math.cos(theta), -math.sin(theta)
    out = np.empty((size, size))
    for r in range(size):
        for col in range(size):
            qx, qy = col + 0.5 - c, r + 0.5 - c
            t = min(max(qx * ux + qy * uy, 0.0), length)
            d = math.hypot(qx - t * ux, qy - t * uy)
            out[r, col] = -1 + 2 * min(max(1.5 - d, 0.0), 1.0)
    return out


def test_lines_shapes_values_seeding():
    x, th = lines(500, seed=3, return_angles=True)
    assert x.shape == (500, 1, 32, 32) and x.dtype == np.float32 and x.flags.c_contiguous
    assert th.shape == (500,) and th.dtype == np.float64
    assert np.all((th >= 0) & (th < 2 * np.pi)) and th.std() > 1.5       # U(0, 2π): std 1.81
    assert x.min() == -1.0 and x.max() == 1.0
    on = (x > -1).reshape(500, -1).sum(1)
    assert np.all((on > 30) & (on < 70))            # ~ 2 px x 15 px plus anti-aliased fringe
    np.testing.assert_array_equal(x, lines(500, seed=3))
    assert not np.array_equal(x, lines(500, seed=4))
    np.testing.assert_array_equal(th, np.random.default_rng(3).uniform(0, 2 * np.pi, 500))
    assert lines(0).shape == (0, 1, 32, 32)
    assert lines(2, size=64).shape == (2, 1, 64, 64)


def test_lines_match_the_documented_rule_and_angle():
    x, th = lines(40, seed=0, return_angles=True)
    for i in range(0, 40, 7):
        np.testing.assert_allclose(x[i, 0], direct_render(th[i]), rtol=0, atol=1e-6)
    # the ink's centroid lies at half the length along (cos θ, −sin θ) from the centre
    w = (x[:, 0].astype(np.float64) + 1) / 2
    cols, rows = np.meshgrid(np.arange(32) + 0.5 - 16, np.arange(32) + 0.5 - 16)
    cx = (w * cols).sum((1, 2)) / w.sum((1, 2))
    cy = (w * rows).sum((1, 2)) / w.sum((1, 2))
    ang = np.mod(np.arctan2(-cy, cx), 2 * np.pi)
    err = np.abs(np.angle(np.exp(1j * (ang - th))))
    assert err.max() < 0.05
    assert np.all(np.abs(np.hypot(cx, cy) - 7.5) < 1.0)
    # θ = 0: rows 15 and 16, columns 16..30, fully on; rows 14 and 17 off
    z = render_lines(np.array([0.0]))[0, 0]
    assert np.all(z[15:17, 16:31] == 1.0) and np.all(z[[14, 17], :] == -1.0)


def test_lines_bad_arguments():
    with pytest.raises(ValueError):
        lines(-1)
    with pytest.raises(TypeError):
        lines(2.0)
    with pytest.raises(ValueError):
        lines(2, size=2)
    with pytest.raises(ValueError):
        render_lines(np.array([np.nan]))
