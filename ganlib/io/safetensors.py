"""A small, dependency-free reader and writer of the safetensors format.

Layout: 8-byte little-endian header length N, N bytes of JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
then the raw little-endian tensor bytes, one tensor after another with no gaps
(``data_offsets`` are relative to the start of that data area).  Writes are
atomic: a temporary file in the same directory, flushed and fsynced, then
renamed over the target.

The reader trusts nothing in the file: any malformed or foreign file raises a
``ValueError`` naming the file and what is wrong with it.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Any, Mapping, Union

import numpy as np

from .atomic import write_atomic

__all__ = ["save_safetensors", "load_safetensors"]

PathLike = Union[str, "os.PathLike[str]"]

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16,
           "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
           "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024
_METADATA = "__metadata__"


def _native(dtype: np.dtype) -> np.dtype:
    """``dtype`` in native byte order (big-endian float32 -> float32)."""
    return dtype.newbyteorder("=") if dtype.byteorder not in ("=", "|") else dtype


def save_safetensors(path: PathLike, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> None:
    """Write ``tensors`` (name -> array) and string ``metadata`` to ``path`` atomically.

    Arrays of any byte order and layout are stored little-endian, C order;
    a 0-d array is stored with shape ``[]`` and loads back 0-d.

    Raises
    ------
    TypeError
        On a non-str tensor name or metadata entry, or an unsupported dtype.
    ValueError
        On the reserved tensor name ``"__metadata__"``.

    Examples
    --------
    >>> save_safetensors("ckpt.safetensors", {"w": np.zeros(3, np.float32)}, {"step": "10"})  # doctest: +SKIP
    """
    bad_names = [k for k in tensors if not isinstance(k, str)]
    if bad_names:
        raise TypeError(f"safetensors: tensor names must be str, got {bad_names!r}")
    if _METADATA in tensors:
        raise ValueError(f"safetensors: {_METADATA!r} is reserved and cannot name a tensor")
    header: dict = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        code = _CODES.get(_native(arr.dtype))
        if code is None:
            raise TypeError(f"safetensors: tensor {name!r} has unsupported dtype {arr.dtype}")
        # little-endian, C order (0-d arrays stay 0-d: np.ascontiguousarray would make them 1-d)
        data = arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False).tobytes(order="C")
        header[name] = {"dtype": code, "shape": [int(d) for d in arr.shape],
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"safetensors metadata must map str to str; bad keys: {bad}")
        header[_METADATA] = dict(metadata)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # align the data section to 8 bytes

    def write(f) -> None:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)

    write_atomic(os.fspath(path), write)


def _no_duplicates(pairs: list) -> dict:
    """object_pairs_hook: a JSON object with a repeated key is malformed, not last-wins."""
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def load_safetensors(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: ``(name -> array, metadata)``.

    Arrays come back in native byte order, writeable, with their stored shape
    (0-d included).

    Raises
    ------
    ValueError
        If the file is not a well-formed safetensors file this reader supports:
        header length past the end of the file, header not UTF-8 JSON or not an
        object (or nested too deeply), an entry that is not an object, an
        unknown dtype (e.g. ``BF16``), a shape that is not a list of ints >= 0,
        ``data_offsets`` that are not two ordered ints inside the data area,
        a byte length other than ``prod(shape) * itemsize``, tensors that
        overlap or leave gaps or trailing bytes, BOOL bytes other than 0 / 1,
        or ``__metadata__`` that is not a str -> str object.  The message names the file and the problem.
    OSError
        If the file cannot be read.
    """
    name_of_file = os.fspath(path)
    with open(name_of_file, "rb") as f:
        blob = f.read()

    def bad(what: str) -> ValueError:
        return ValueError(f"{name_of_file}: corrupt or unsupported safetensors file: {what}")

    if len(blob) < 8:
        raise bad(f"only {len(blob)} bytes (the header length alone takes 8)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise bad(f"the header length {n} is larger than the rest of the file ({len(blob) - 8} bytes)")
    if n > _MAX_HEADER:
        raise bad(f"the header length {n} exceeds the {_MAX_HEADER}-byte limit")
    try:
        text = blob[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        raise bad(f"the header is not valid UTF-8 ({e.reason} at byte {e.start})") from None
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except RecursionError:
        raise bad("the header JSON is nested too deeply") from None
    except ValueError as e:
        raise bad(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad(f"the header is a JSON {type(header).__name__}, not an object")

    meta = header.pop(_METADATA, None)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise bad(f"{_METADATA!r} must be an object mapping str to str")

    data = memoryview(blob)[8 + n:]
    spans = []
    entries = {}
    for name, info in header.items():
        where = f"tensor {name!r}"
        if not isinstance(info, dict):
            raise bad(f"{where}: the entry is a JSON {type(info).__name__}, not an object")
        missing = [k for k in ("dtype", "shape", "data_offsets") if k not in info]
        if missing:
            raise bad(f"{where}: missing {', '.join(missing)}")
        code = info["dtype"]
        if not isinstance(code, str) or code not in _DTYPES:
            raise bad(f"{where}: unsupported dtype {code!r} (supported: {', '.join(_DTYPES)})")
        dtype = np.dtype(_DTYPES[code]).newbyteorder("<")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise bad(f"{where}: shape must be a list of ints >= 0, got {shape!r}")
        if len(shape) > 32:
            raise bad(f"{where}: shape {shape!r} has more than 32 dimensions")
        offsets = info["data_offsets"]
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
            raise bad(f"{where}: data_offsets must be a list of two ints, got {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end <= len(data):
            raise bad(f"{where}: data_offsets [{begin}, {end}] are not in order inside the "
                      f"{len(data)}-byte data area (file truncated?)")
        count, span = 1, dtype.itemsize
        for d in shape:
            count *= d
            span *= max(d, 1)
        if span > 2 ** 62:  # numpy refuses such shapes even with a zero dimension
            raise bad(f"{where}: shape {shape} is too large")
        if end - begin != count * dtype.itemsize:
            raise bad(f"{where}: {end - begin} bytes for shape {shape} of {code} "
                      f"(expected {count} x {dtype.itemsize} = {count * dtype.itemsize})")
        spans.append((begin, end, name))
        entries[name] = (dtype, tuple(shape), begin, end)

    # the tensors tile the data area exactly: no overlap, no gap, nothing after the last
    pos, prev = 0, None
    for begin, end, name in sorted(spans):
        if begin < pos:
            raise bad(f"tensor {name!r} (bytes {begin}..{end}) overlaps tensor {prev!r}")
        if begin > pos:
            raise bad(f"{begin - pos} unused bytes before tensor {name!r} (at {pos}..{begin})")
        pos, prev = end, name
    if pos != len(data):
        raise bad(f"{len(data) - pos} bytes after the last tensor (data area {len(data)} bytes, tensors end at {pos})")

    out = {}
    for name, (dtype, shape, begin, end) in entries.items():
        if dtype == np.bool_ and np.any(np.frombuffer(data[begin:end], dtype=np.uint8) > 1):
            raise bad(f"tensor {name!r}: BOOL bytes must be 0 or 1")
        out[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).astype(_native(dtype))
    return out, meta
