"""MNIST from the original LeCun IDX files (gzip or raw), with a validating IDX parser.

The four official files are

======================================  ======================
``train-images-idx3-ubyte(.gz)``        60000 x 28 x 28 uint8
``train-labels-idx1-ubyte(.gz)``        60000 uint8 labels
``t10k-images-idx3-ubyte(.gz)``         10000 x 28 x 28 uint8
``t10k-labels-idx1-ubyte(.gz)``         10000 uint8 labels
======================================  ======================

:func:`mnist` looks for them, in this order, in ``root`` (if given), in
``$GANLIB_DATA`` (if set) and in ``~/.cache/ganlib`` -- each directory itself
and then its ``mnist/`` subfolder -- and uses the first directory that holds
both the images and the labels of the requested split.  Nothing is downloaded.

IDX format (big-endian): two zero bytes, a dtype byte (``0x08`` = unsigned
byte, the only one MNIST uses), a byte with the number of dimensions ``nd``,
``nd`` uint32 sizes, then exactly ``prod(sizes)`` data bytes.  So the magic
number is ``0x00000803`` for the image files and ``0x00000801`` for the label
files.

Examples
--------
>>> from ganlib.datasets import mnist
>>> x, y = mnist(split="test")                     # doctest: +SKIP
>>> x.shape, x.dtype, float(x.min()), float(x.max()), y.shape, y.dtype   # doctest: +SKIP
((10000, 1, 28, 28), dtype('float32'), -1.0, 1.0, (10000,), dtype('int64'))
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .._checks import check_int

__all__ = ["mnist", "load_idx", "FILES"]

PathLike = Union[str, "os.PathLike[str]"]

#: official file names (without ``.gz``) per split: (images, labels)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_EXPECTED = {"train": 60000, "test": 10000}
_GZIP_MAGIC = b"\x1f\x8b"
_IDX_UBYTE = 0x08


# ----------------------------------------------------------------------------- IDX

def _read_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped if it is a gzip file (by name or by its magic bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz") or raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:   # BadGzipFile is an OSError
            raise ValueError(f"{path}: not a valid gzip file (truncated or corrupt: {exc})") from None
    return raw


def load_idx(path: PathLike, ndim: Optional[int] = None) -> np.ndarray:
    """Read an unsigned-byte IDX file (gzip or raw) into a ``uint8`` array, validating it.

    Parameters
    ----------
    path : str or os.PathLike
        The file; it is gunzipped when its name ends in ``.gz`` or its content
        starts with the gzip magic bytes.
    ndim : int, optional
        Required number of dimensions (3 for image files, 1 for label files).

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of the shape stored in the header (C order).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and the problem: bad gzip data, a header shorter than
        4 bytes, a bad magic number (non-zero first bytes, a dtype byte other
        than ``0x08``, zero or the wrong number of dimensions), a truncated
        dimension list, or a data size that differs from the product of the
        dimensions (truncated file or trailing garbage).

    Examples
    --------
    >>> y = load_idx("t10k-labels-idx1-ubyte.gz", ndim=1)   # doctest: +SKIP
    >>> y.shape, y.dtype                                  # doctest: +SKIP
    ((10000,), dtype('uint8'))
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file: only {len(data)} bytes, the header needs 4")
    magic = struct.unpack(">I", data[:4])[0]
    zero, dtype, nd = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype != _IDX_UBYTE or nd < 1:
        want = f"0x{0x800 + ndim:08x}" if ndim is not None else "0x000008NN (unsigned-byte IDX)"
        raise ValueError(f"{path}: bad IDX magic number 0x{magic:08x}, expected {want} "
                         "(not an MNIST IDX file, or corrupt)")
    if ndim is not None and nd != ndim:
        raise ValueError(f"{path}: bad IDX magic number 0x{magic:08x}: {nd} dimensions, expected "
                         f"0x{0x800 + ndim:08x} ({ndim} dimension{'s' if ndim != 1 else ''})")
    header = 4 + 4 * nd
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header: {nd} dimensions need {header} bytes, "
                         f"the file has {len(data)}")
    shape = struct.unpack(f">{nd}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    got = len(data) - header
    if got != expected:
        what = "truncated" if got < expected else "trailing bytes"
        raise ValueError(f"{path}: wrong size ({what}): dimensions {tuple(shape)} need "
                         f"{expected} data bytes after the {header}-byte header, found {got}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


# ----------------------------------------------------------------------------- lookup

def _search_dirs(root: Optional[PathLike]) -> List[str]:
    bases: List[str] = []
    if root is not None:
        bases.append(os.fspath(root))
    env = os.environ.get("GANLIB_DATA")
    if env:
        bases.append(env)
    bases.append(os.path.join(os.path.expanduser("~"), ".cache", "ganlib"))
    dirs: List[str] = []
    for b in bases:
        for d in (b, os.path.join(b, "mnist")):
            if d not in dirs:
                dirs.append(d)
    return dirs


def _find(directory: str, name: str) -> Optional[str]:
    for candidate in (name + ".gz", name):
        p = os.path.join(directory, candidate)
        if os.path.isfile(p):
            return p
    return None


def _locate(split: str, root: Optional[PathLike]) -> Tuple[str, str]:
    img_name, lbl_name = FILES[split]
    dirs = _search_dirs(root)
    partial = []
    for d in dirs:
        img, lbl = _find(d, img_name), _find(d, lbl_name)
        if img and lbl:
            return img, lbl
        if img or lbl:
            partial.append(f"{d} has {os.path.basename(img or lbl)} but not "
                           f"{lbl_name if img else img_name}(.gz)")
    msg = [f"MNIST {split!r} files {img_name}(.gz) and {lbl_name}(.gz) not found.",
           "Looked in (root, then $GANLIB_DATA, then ~/.cache/ganlib, each also with a "
           "'mnist/' subfolder):"]
    msg += [f"  {d}" for d in dirs]
    msg += [f"  note: {p}" for p in partial]
    msg += ["These are the original MNIST IDX files of Yann LeCun, Corinna Cortes and Chris Burges "
            "(http://yann.lecun.com/exdb/mnist/): train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz. "
            "Put them (gzipped or not) in one of these directories, or pass root=..., or set "
            "GANLIB_DATA=/path/to/dir."]
    raise FileNotFoundError("\n".join(msg))


# ----------------------------------------------------------------------------- public

def mnist(root: Optional[PathLike] = None, split: str = "train",
          scale: Optional[Sequence[float]] = (-1, 1),
          limit: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels from the LeCun IDX files.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Directory searched first (then ``$GANLIB_DATA``, then
        ``~/.cache/ganlib``; each also with a ``mnist/`` subfolder).
    split : {"train", "test"}
        ``"train"``: 60000 images, ``"test"``: the 10000 ``t10k`` images.
    scale : (float, float) or None
        Affine map of the pixel range: ``x = lo + (hi - lo) * raw / 255`` in
        float32, so 0 maps to ``lo`` and 255 to ``hi``. ``None`` returns the
        raw values 0..255 as float32.
    limit : int, optional
        Return only the first ``limit`` examples (``>= 1``; more than the file
        holds returns all).

    Returns
    -------
    images : numpy.ndarray
        ``float32`` of shape ``(N, 1, 28, 28)``, C-contiguous.
    labels : numpy.ndarray
        ``int64`` of shape ``(N,)``, values 0..9.

    Raises
    ------
    FileNotFoundError
        If no searched directory holds both files of the split; the message
        lists every directory searched and how to get the files.
    ValueError
        Bad ``split``/``scale``/``limit``, a corrupt or truncated file (see
        :func:`load_idx`), images that are not ``N x 28 x 28``, an image count
        different from the label count, or labels outside 0..9.

    Examples
    --------
    >>> x, y = mnist(split="test", limit=100)          # doctest: +SKIP
    >>> x.shape, y[:5]                                  # doctest: +SKIP
    ((100, 1, 28, 28), array([7, 2, 1, 0, 4]))
    >>> raw, _ = mnist(split="test", scale=None, limit=1)   # doctest: +SKIP
    >>> float(raw.max())                                     # doctest: +SKIP
    255.0
    """
    if not isinstance(split, str) or split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if limit is not None:
        limit = check_int("limit (an int or None)", limit, 1)
    if scale is not None:
        try:
            if isinstance(scale, (str, bytes)) or any(isinstance(v, (bool, np.bool_, str, bytes)) for v in scale):
                raise TypeError
            lo, hi = (float(v) for v in scale)
        except (TypeError, ValueError):
            raise ValueError(f"scale must be a pair (lo, hi) of numbers or None, got {scale!r}") from None
        with np.errstate(over="ignore"):
            lo32, hi32 = np.float32(lo), np.float32(hi)   # the images are float32: check the values they get
        if not (np.isfinite(lo32) and np.isfinite(hi32)) or lo32 == hi32:
            raise ValueError(f"scale must be two different numbers that are finite as float32 "
                             f"(|x| <= {float(np.finfo(np.float32).max):.4g}), got {scale!r}")

    img_path, lbl_path = _locate(split, root)
    images = load_idx(img_path, ndim=3)
    labels = load_idx(lbl_path, ndim=1)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{img_path}: MNIST images must be N x 28 x 28, got {images.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST {split!r}: {images.shape[0]} images in {img_path} but "
                         f"{labels.shape[0]} labels in {lbl_path}")
    if labels.size and int(labels.max()) > 9:
        raise ValueError(f"{lbl_path}: labels must be 0..9, found {int(labels.max())}")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]

    # one float32 value per byte value, computed in float64: exact end points lo and hi
    levels = np.arange(256, dtype=np.float64)
    if scale is not None:
        levels = lo + (hi - lo) * (levels / 255.0)
        levels[0], levels[255] = lo, hi
    x = levels.astype(np.float32)[images.reshape(images.shape[0], 1, 28, 28)]   # in [lo, hi]: finite
    return x, labels.astype(np.int64)
