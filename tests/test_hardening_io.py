"""ganlib.io hardening: safetensors reading of malformed / foreign files, non-native writes,
0-d tensors, and atomic saves (symlinks, permissions, long names, leftover temporaries)."""
import json
import os
import random
import struct

import numpy as np
import pytest

from ganlib.io.safetensors import load_safetensors, save_safetensors


# ============================================================================ safetensors

def _raw(header, data=b"", length=None):
    """A safetensors file from a header (dict, or str / bytes used as is) and a data area."""
    if isinstance(header, (dict, list)):
        header = json.dumps(header)
    if isinstance(header, str):
        header = header.encode()
    n = len(header) if length is None else length
    return struct.pack("<Q", n) + header + data


def _put(tmp_path, blob, name="f.safetensors"):
    p = tmp_path / name
    p.write_bytes(blob)
    return str(p)


def _entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


BAD_FILES = [
    ("short", b"\x01\x02", "only 2 bytes"),
    ("length_past_end", struct.pack("<Q", 50) + b"{}", "header length 50 is larger than the rest of the file"),
    ("length_huge", struct.pack("<Q", 2 ** 64 - 1) + b"{}", "larger than the rest of the file"),
    ("not_utf8", _raw(b'{"a\xff": 1}'), "not valid UTF-8"),
    ("not_json", _raw("{not json"), "not valid JSON"),
    ("nan_constant", _raw('{"__metadata__": {"a": NaN}}'), "not valid JSON"),
    ("duplicate_key", _raw('{"w": {}, "w": {}}'), "duplicate key 'w'"),
    ("json_list", _raw("[1, 2]"), "JSON list, not an object"),
    ("json_number", _raw("3"), "JSON int, not an object"),
    ("json_string", _raw('"x"'), "JSON str, not an object"),
    ("deep_nesting", _raw("[" * 200000 + "]" * 200000), "nested too deeply"),
    ("deep_in_entry", _raw('{"w": ' + "{\"a\":" * 100000 + "1" + "}" * 100001), "nested too deeply"),
    ("entry_list", _raw({"w": [1, 2]}), "tensor 'w': the entry is a JSON list, not an object"),
    ("entry_null", _raw({"w": None}), "tensor 'w': the entry is a JSON NoneType"),
    ("missing_dtype", _raw({"w": {"shape": [2], "data_offsets": [0, 8]}}, bytes(8)), "missing dtype"),
    ("missing_all", _raw({"w": {}}), "missing dtype, shape, data_offsets"),
    ("unknown_dtype", _raw({"w": _entry("BF16", (2,), (0, 4))}, bytes(4)), "unsupported dtype 'BF16'"),
    ("dtype_not_str", _raw({"w": _entry(4)}, bytes(8)), "unsupported dtype 4"),
    ("dtype_lowercase", _raw({"w": _entry("f32")}, bytes(8)), "unsupported dtype 'f32'"),
    ("shape_not_list", _raw({"w": dict(_entry(), shape=2)}, bytes(8)), "shape must be a list of ints >= 0"),
    ("shape_negative", _raw({"w": _entry(shape=(-2,))}, bytes(8)), "shape must be"),
    ("shape_float", _raw({"w": _entry(shape=(2.0,))}, bytes(8)), "shape must be"),
    ("shape_bool", _raw({"w": _entry(shape=(True, 2))}, bytes(8)), "shape must be"),
    ("shape_str", _raw({"w": dict(_entry(), shape="22")}, bytes(8)), "shape must be"),
    ("shape_too_many_dims", _raw({"w": _entry(shape=(1,) * 40, offsets=(0, 4))}, bytes(4)), "more than 32"),
    ("offsets_three", _raw({"w": _entry(offsets=(0, 4, 8))}, bytes(8)), "data_offsets must be a list of two ints"),
    ("offsets_float", _raw({"w": _entry(offsets=(0, 8.0))}, bytes(8)), "data_offsets must be"),
    ("offsets_dict", _raw({"w": dict(_entry(), data_offsets={"a": 1})}, bytes(8)), "data_offsets must be"),
    ("offsets_reversed", _raw({"w": _entry(offsets=(8, 0))}, bytes(8)), "not in order inside the 8-byte data area"),
    ("offsets_negative", _raw({"w": _entry(offsets=(-8, 0))}, bytes(8)), "not in order"),
    ("offsets_past_end", _raw({"w": _entry(offsets=(0, 8))}, bytes(6)), r"truncated\?"),
    ("offsets_huge", _raw({"w": _entry(offsets=(0, 2 ** 70))}, bytes(8)), "not in order"),
    ("length_mismatch", _raw({"w": _entry(shape=(3,))}, bytes(8)), r"8 bytes for shape \[3\] of F32 \(expected 3 x 4 = 12\)"),
    ("huge_shape", _raw({"w": _entry(shape=(2 ** 40, 2 ** 40))}, bytes(8)), "too large"),
    ("huge_empty_shape", _raw({"w": _entry(shape=(0, 2 ** 64), offsets=(0, 0))}), "too large"),
    ("overlap", _raw({"a": _entry(offsets=(0, 8)), "b": _entry(offsets=(4, 12))}, bytes(12)), "overlaps tensor 'a'"),
    ("same_bytes", _raw({"a": _entry(), "b": _entry()}, bytes(8)), "overlaps"),
    ("gap", _raw({"a": _entry(offsets=(4, 12))}, bytes(12)), "4 unused bytes before tensor 'a'"),
    ("trailing", _raw({"a": _entry()}, bytes(12)), "4 bytes after the last tensor"),
    ("metadata_list", _raw({"__metadata__": ["a"]}), "'__metadata__' must be an object mapping str to str"),
    ("metadata_int_value", _raw({"__metadata__": {"step": 3}}), "'__metadata__' must be"),
    ("metadata_nested", _raw({"__metadata__": {"a": {"b": "c"}}}), "'__metadata__' must be"),
    ("bool_not_0_1", _raw({"m": _entry("BOOL", (2,), (0, 2))}, b"\x01\x07"), "BOOL bytes must be 0 or 1"),
]


@pytest.mark.parametrize("blob,match", [(b, m) for _, b, m in BAD_FILES], ids=[i for i, _, _ in BAD_FILES])
def test_malformed_files_raise_value_error_naming_file_and_problem(tmp_path, blob, match):
    p = _put(tmp_path, blob)
    with pytest.raises(ValueError, match=match) as e:
        load_safetensors(p)
    assert str(e.value).startswith(f"{p}: corrupt or unsupported safetensors file: ")


def test_valid_foreign_layouts_load(tmp_path):
    # tensors in any header order, zero-size ones anywhere, null metadata, unknown extra keys
    a = np.arange(3, dtype="<f4").tobytes()
    b = np.arange(2, dtype="<i2").tobytes()
    header = {"b": dict(_entry("I16", (2,), (12, 16)), extra=1), "a": _entry("F32", (3,), (0, 12)),
              "e": _entry("U8", (0, 5), (12, 12)), "__metadata__": None}
    out, meta = load_safetensors(_put(tmp_path, _raw(header, a + b)))
    assert meta == {}
    np.testing.assert_array_equal(out["a"], [0, 1, 2])
    assert out["b"].dtype == np.int16 and out["b"].tolist() == [0, 1]
    assert out["e"].shape == (0, 5)
    out["a"][0] = 5.0                                   # writeable, not a view of the file bytes


def test_non_native_byte_order_and_layouts_are_saved_correctly(tmp_path):
    p = str(tmp_path / "be.safetensors")
    want = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    tensors = {"be_f32": want.astype(">f4"), "be_i64": np.arange(5, dtype=">i8"), "be_f64": want.astype(">f8"),
               "le_f32": want.astype("<f4"), "fortran": np.asfortranarray(want), "strided": want[:, ::2],
               "be_u16": np.arange(4, dtype=">u2")}
    save_safetensors(p, tensors)
    out, _ = load_safetensors(p)
    for name, arr in tensors.items():
        assert out[name].dtype == arr.dtype.newbyteorder("="), name
        assert out[name].dtype.isnative
        np.testing.assert_array_equal(out[name], arr, err_msg=name)
    # stored little-endian: the raw bytes of the big-endian input are those of '<f4'
    blob = open(p, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    info = json.loads(blob[8:8 + n])["be_f32"]
    assert info["dtype"] == "F32"
    begin, end = info["data_offsets"]
    assert blob[8 + n + begin:8 + n + end] == want.astype("<f4").tobytes()


def test_zero_d_arrays_are_stored_with_shape_empty(tmp_path):
    p = str(tmp_path / "s.safetensors")
    save_safetensors(p, {"step": np.array(7, np.int64), "loss": np.float32(0.25), "flag": np.bool_(True),
                         "one": np.array([1.5], np.float32)})
    blob = open(p, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    assert header["step"]["shape"] == [] and header["loss"]["shape"] == [] and header["one"]["shape"] == [1]
    out, _ = load_safetensors(p)
    assert out["step"].shape == () and out["step"] == 7 and out["step"].dtype == np.int64
    assert out["loss"].shape == () and out["loss"] == np.float32(0.25)
    assert out["flag"].shape == () and out["flag"]
    assert out["one"].shape == (1,)


def test_save_refuses_bad_names_and_metadata_and_leaves_the_file(tmp_path):
    p = str(tmp_path / "x.safetensors")
    save_safetensors(p, {"w": np.ones(2, np.float32)})
    before = open(p, "rb").read()
    with pytest.raises(ValueError, match="reserved"):
        save_safetensors(p, {"__metadata__": np.ones(2, np.float32)})
    with pytest.raises(TypeError, match="names must be str"):
        save_safetensors(p, {1: np.ones(2, np.float32)})
    with pytest.raises(TypeError, match="unsupported dtype"):
        save_safetensors(p, {"c": np.ones(2, np.complex64)})
    with pytest.raises(TypeError, match="metadata"):
        save_safetensors(p, {"w": np.ones(2, np.float32)}, {"k": 3})
    assert open(p, "rb").read() == before


def _fuzz_base(tmp_path):
    p = str(tmp_path / "base.safetensors")
    rng = np.random.default_rng(0)
    save_safetensors(p, {"w": rng.standard_normal((3, 4)).astype(np.float32), "step": np.array(9, np.int64),
                         "mask": np.array([True, False, True]), "empty": np.zeros((0, 2), np.uint8),
                         "h": rng.standard_normal(5).astype(np.float16)},
                     {"format": "test", "note": "fuzz"})
    return open(p, "rb").read()


def _check_only_value_error(tmp_path, blob, must_fail=False):
    p = _put(tmp_path, blob, "m.safetensors")
    try:
        out, meta = load_safetensors(p)
    except ValueError as e:
        assert str(e).startswith(p + ": ")
        return False
    assert not must_fail, "a damaged file loaded"
    assert isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())
    for arr in out.values():
        assert isinstance(arr, np.ndarray) and arr.dtype.isnative
    return True


def test_fuzz_truncations_always_fail(tmp_path):
    blob = _fuzz_base(tmp_path)
    for cut in range(len(blob)):
        _check_only_value_error(tmp_path, blob[:cut], must_fail=True)
    assert _check_only_value_error(tmp_path, blob)
    # appended bytes are not silently ignored either
    _check_only_value_error(tmp_path, blob + b"\x00", must_fail=True)


def test_fuzz_flipped_header_bytes(tmp_path):
    blob = _fuzz_base(tmp_path)
    (n,) = struct.unpack("<Q", blob[:8])
    rnd = random.Random(1)
    loaded = 0
    for _ in range(1500):
        b = bytearray(blob)
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(8 + n)
            b[i] = rnd.randrange(256) if rnd.random() < 0.5 else b[i] ^ (1 << rnd.randrange(8))
        loaded += _check_only_value_error(tmp_path, bytes(b))
    assert loaded < 1500


_JUNK = [None, True, False, 0, -1, 1, 7, 2 ** 31, 2 ** 64, 2 ** 70, -2 ** 70, 1.5, 1e308, "", "F32", "BF16", "I64",
         "U8", "BOOL", [], [0], [0, 0], [0, 1], [2, 1], [1, 2, 3], [-1, 4], [0.5, 1], ["a", "b"], [[1]], {},
         {"a": "b"}, {"dtype": "F32"}, "\u00e9\u4e2d", "__metadata__"]


def _junk(rnd):
    return json.loads(json.dumps(rnd.choice(_JUNK)))    # a fresh copy: edits never touch _JUNK


def _mutate(obj, rnd):
    """A random edit somewhere in a JSON value: replace, delete or add a member."""
    if isinstance(obj, dict) and obj and rnd.random() < 0.7:
        key = rnd.choice(list(obj))
        r = rnd.random()
        if r < 0.15:
            del obj[key]
        elif r < 0.25:
            obj[key + rnd.choice(["", "x", "_"])] = _junk(rnd)
        elif r < 0.55:
            obj[key] = _junk(rnd)
        else:
            obj[key] = _mutate(obj[key], rnd)
        return obj
    if isinstance(obj, list) and obj and rnd.random() < 0.7:
        i = rnd.randrange(len(obj))
        r = rnd.random()
        if r < 0.2:
            del obj[i]
        elif r < 0.3:
            obj.append(_junk(rnd))
        elif r < 0.6:
            obj[i] = _junk(rnd)
        else:
            obj[i] = _mutate(obj[i], rnd)
        return obj
    if isinstance(obj, int) and not isinstance(obj, bool) and rnd.random() < 0.5:
        return obj + rnd.choice([-8, -4, -2, -1, 1, 2, 4, 8])
    return _junk(rnd)


def test_fuzz_random_json_edits(tmp_path):
    blob = _fuzz_base(tmp_path)
    (n,) = struct.unpack("<Q", blob[:8])
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]
    rnd = random.Random(2)
    outcomes = {True: 0, False: 0}
    for k in range(1500):
        h = json.loads(json.dumps(header))
        for _ in range(rnd.randint(1, 3)):
            h = _mutate(h, rnd)
        text = json.dumps(h).encode()
        d = data
        r = rnd.random()
        if r < 0.1:
            d = data[:rnd.randrange(len(data) + 1)]
        elif r < 0.2:
            text = text[:rnd.randrange(len(text) + 1)]
        length = len(text) if rnd.random() < 0.9 else rnd.choice([0, len(text) - 1, len(text) + 1, 2 ** 63])
        outcomes[_check_only_value_error(tmp_path, _raw(text, d, length=length))] += 1
    assert outcomes[False] > 500                      # most edits break the file ...
    assert outcomes[True] > 0                         # ... some (e.g. metadata values) do not


# ============================================================================ atomic saves

from ganlib.io import load_png, save_png  # noqa: E402
from ganlib.io.atomic import temp_prefix, write_atomic  # noqa: E402

SAVERS = {
    "safetensors": (lambda p, v: save_safetensors(p, {"w": np.full(3, v, np.float32)}),
                    lambda p: float(load_safetensors(p)[0]["w"][0])),
    "png": (lambda p, v: save_png(p, np.full((2, 2), v), value_range=(0, 255)),
            lambda p: float(load_png(p)[0, 0])),
}


@pytest.mark.parametrize("kind", list(SAVERS))
def test_saving_over_a_symlink_writes_its_target_and_keeps_the_link(tmp_path, kind):
    save, load = SAVERS[kind]
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "file.bin"
    link = tmp_path / "link.bin"
    save(str(target), 1.0)
    os.symlink(str(target), str(link))
    save(str(link), 2.0)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert load(str(target)) == 2.0 and load(str(link)) == 2.0
    # a relative link, and a dangling one (its target is created)
    rel = tmp_path / "rel.bin"
    os.symlink(os.path.join("real", "file.bin"), str(rel))
    save(str(rel), 3.0)
    assert os.path.islink(rel) and load(str(target)) == 3.0
    dangling = tmp_path / "dangling.bin"
    os.symlink(str(real_dir / "new.bin"), str(dangling))
    save(str(dangling), 4.0)
    assert os.path.islink(dangling) and load(str(real_dir / "new.bin")) == 4.0
    assert sorted(os.listdir(real_dir)) == ["file.bin", "new.bin"]
    assert sorted(os.listdir(tmp_path)) == ["dangling.bin", "link.bin", "real", "rel.bin"]


@pytest.mark.parametrize("kind", list(SAVERS))
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o664, 0o755])
def test_resaving_keeps_the_permission_bits(tmp_path, kind, mode):
    save, load = SAVERS[kind]
    p = str(tmp_path / "f.bin")
    save(p, 1.0)
    os.chmod(p, mode)
    save(p, 2.0)
    assert os.stat(p).st_mode & 0o777 == mode and load(p) == 2.0
    # a new file gets the ordinary permissions (0666 through the umask)
    mask = os.umask(0)
    os.umask(mask)
    fresh = str(tmp_path / "fresh.bin")
    save(fresh, 1.0)
    assert os.stat(fresh).st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("kind", list(SAVERS))
@pytest.mark.parametrize("length", [241, 250, 255])
def test_long_file_names_work(tmp_path, kind, length):
    save, load = SAVERS[kind]
    name = "n" * (length - 4) + ".bin"
    assert len(name.encode()) == length
    p = str(tmp_path / name)
    save(p, 5.0)
    save(p, 6.0)
    assert load(p) == 6.0 and os.listdir(tmp_path) == [name]
    # multi-byte UTF-8: 255 bytes, fewer characters
    uname = "\u00e9" * 125 + ".bin"
    assert len(uname.encode()) == 254
    save(str(tmp_path / uname), 7.0)
    assert load(str(tmp_path / uname)) == 7.0


def test_temporary_names_are_short_and_per_target(tmp_path):
    seen = []

    def spy(f):
        seen.extend(os.listdir(tmp_path))                      # the temporary, while it is written
        f.write(b"x")

    target = tmp_path / ("t" * 255)
    write_atomic(str(target), spy)
    (tmp_name,) = [n for n in seen]
    prefix = temp_prefix(str(target))
    assert prefix == temp_prefix("t" * 255) != temp_prefix("u" * 255)
    assert len(prefix) == 14 and tmp_name.startswith(prefix) and len(tmp_name) == 26
    assert os.listdir(tmp_path) == ["t" * 255]


def _leftover(directory, target_name, rand="0123abcd"):
    p = os.path.join(str(directory), temp_prefix(target_name) + rand + ".tmp")
    with open(p, "wb") as f:
        f.write(b"half a file")
    return p


@pytest.mark.parametrize("kind", list(SAVERS))
def test_leftovers_of_a_killed_save_of_the_same_target_are_removed(tmp_path, kind):
    save, load = SAVERS[kind]
    mine = [_leftover(tmp_path, "f.bin", r) for r in ("0123abcd", "ffffffff")]
    other = _leftover(tmp_path, "g.bin")                       # another target's: kept
    unrelated = [tmp_path / ".unrelated.tmp", tmp_path / (temp_prefix("f.bin") + "xyz.tmp"),
                 tmp_path / (temp_prefix("f.bin") + "0123abcd.tmp.keep")]
    for u in unrelated:
        u.write_bytes(b"keep")
    save(str(tmp_path / "f.bin"), 9.0)
    assert load(str(tmp_path / "f.bin")) == 9.0
    assert not any(os.path.exists(m) for m in mine)
    assert os.path.exists(other) and all(u.exists() for u in unrelated)


def test_a_temporary_held_by_a_live_save_is_not_removed(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    live = _leftover(tmp_path, "f.bin")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)                        # as a save in progress holds it
        save_safetensors(str(tmp_path / "f.bin"), {"w": np.zeros(1, np.float32)})
        assert os.path.exists(live)
    finally:
        os.close(fd)
    save_safetensors(str(tmp_path / "f.bin"), {"w": np.zeros(1, np.float32)})
    assert not os.path.exists(live)


def test_a_really_killed_save_is_cleaned_up_by_the_next(tmp_path):
    pytest.importorskip("fcntl")
    import subprocess
    import sys
    target = str(tmp_path / "ckpt.safetensors")
    code = ("import os, signal, sys\n"
            "from ganlib.io.atomic import write_atomic\n"
            "def write(f):\n"
            "    f.write(b'partial'); f.flush()\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "write_atomic(sys.argv[1], write)\n")
    import ganlib   # the child imports this same ganlib (the installed one in CI, the source tree in place)
    root = os.path.dirname(os.path.dirname(os.path.abspath(ganlib.__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # cwd: `python -c` puts the working directory first on sys.path, and the repository root holds a
    # ganlib source tree without its extension
    r = subprocess.run([sys.executable, "-c", code, target], env=env, capture_output=True, cwd=str(tmp_path.parent))
    assert r.returncode == -9, r.stderr.decode()[-2000:]   # killed by its own SIGKILL, not an import error
    left = os.listdir(tmp_path)
    assert len(left) == 1 and left[0].startswith(temp_prefix(target)) and not os.path.exists(target)
    save_safetensors(target, {"w": np.ones(2, np.float32)})
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    p = str(tmp_path / "keep.bin")
    write_atomic(p, lambda f: f.write(b"old"))
    os.chmod(p, 0o600)

    def boom(f):
        f.write(b"new, half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(p, boom)
    assert open(p, "rb").read() == b"old" and os.stat(p).st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["keep.bin"]
