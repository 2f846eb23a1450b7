"""The binding's boundary (csrc/py, contract in csrc/py/API.md): conversions,
errors, reference ownership, the GIL, allocation-free runs."""
import gc
import threading
import weakref

import numpy as np
import pytest

from ganlib import _C

B, D_IN, D_OUT = 4, 3, 2


def affine_tanh():
    """y = tanh(x @ W + b) with W, b views into one flat float32 buffer."""
    rng = np.random.default_rng(0)
    flat = rng.normal(size=D_IN * D_OUT + D_OUT).astype(np.float32)
    g = _C.Graph()
    x = g.input((B, D_IN))
    w = g.param(flat, 0, (D_IN, D_OUT))
    b = g.param(flat, D_IN * D_OUT, (1, D_OUT))
    y = g.unary("tanh", g.binary("add", g.matmul(x, w), b))
    W = flat[: D_IN * D_OUT].reshape(D_IN, D_OUT)
    bias = flat[D_IN * D_OUT:]

    def ref(X):
        X = np.asarray(X, dtype=np.float64)
        return np.tanh(X @ W.astype(np.float64) + bias.astype(np.float64))

    return g, flat, x, y, ref


@pytest.fixture
def model():
    g, flat, x, y, ref = affine_tanh()
    return g, flat, x, y, ref, _C.Program(g, [y])


X32 = np.linspace(-1.0, 1.0, B * D_IN, dtype=np.float32).reshape(B, D_IN)


# ---------------------------------------------------------------- module

def test_module_config_keys_and_values():
    cfg = _C.config()
    assert set(cfg) >= {"blas", "blas_corename", "blas_wheel", "num_threads", "cflags", "compiler"}
    assert "OpenBLAS" in cfg["blas"]
    assert cfg["num_threads"] == _C.get_num_threads()
    assert all(isinstance(cfg[k], str) for k in ("blas", "blas_corename", "blas_wheel", "cflags", "compiler"))
    assert "-std=c11" in cfg["cflags"]


def test_ganlib_error_is_runtime_error():
    assert issubclass(_C.GanlibError, RuntimeError)
    assert _C.GanlibError.__module__ == "ganlib._C"


def test_op_names_index_is_op_code():
    names = _C.op_names()
    assert names[0] == "input" and names[1] == "param"
    assert len(names) == len(set(names))
    g = _C.Graph()
    x = g.input((2, 2))
    for name in ("relu", "tanh", "exp"):
        n = g.unary(name, x)
        assert g.op(n) == name and name in names
    assert g.op(g.binary("relu_mask", x, x)) == "relu_mask"


def test_set_num_threads_round_trip():
    old = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        assert _C.get_num_threads() == 1 and _C.config()["num_threads"] == 1
        _C.set_num_threads(3)
        assert _C.get_num_threads() == 3
        g, flat, x, y, ref = affine_tanh()
        np.testing.assert_allclose(_C.Program(g, [y]).run([X32])[0], ref(X32), rtol=1e-5, atol=1e-6)
    finally:
        _C.set_num_threads(old)
    assert _C.get_num_threads() == old


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-2, ValueError), (10**30, ValueError),
                                     (2.0, TypeError), (True, TypeError), ("4", TypeError)])
def test_set_num_threads_rejects(bad, exc):
    old = _C.get_num_threads()
    with pytest.raises(exc):
        _C.set_num_threads(bad)
    assert _C.get_num_threads() == old


# ---------------------------------------------------------------- input conversion

@pytest.mark.parametrize("make", [
    lambda X: X.astype(np.float64),
    lambda X: np.round(X * 10).astype(np.int64),
    lambda X: np.round(X * 10).astype(np.int32),
    lambda X: np.round(X * 10).astype(np.uint8),
    lambda X: X.astype(np.float16),
    lambda X: np.asfortranarray(X),
    lambda X: np.repeat(X, 2, axis=0)[::2],           # strided rows
    lambda X: np.repeat(X, 3, axis=1)[:, ::3],        # strided columns
    lambda X: X.astype(">f4"),                        # byte-swapped
    lambda X: X.tolist(),                             # nested lists
    lambda X: tuple(map(tuple, X.tolist())),
], ids=["f64", "i64", "i32", "u8", "f16", "fortran", "strided_rows", "strided_cols", "big_endian",
        "list", "tuple"])
def test_inputs_converted_like_float32_c(model, make):
    g, flat, x, y, ref, p = model
    arr = make(X32)
    X_ref = np.ascontiguousarray(np.asarray(arr), dtype=np.float32)
    expected = p.run([X_ref])[0]
    got = p.run([arr])[0]
    assert got.dtype == np.float32 and got.flags.c_contiguous and got.shape == (B, D_OUT)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(got, ref(X_ref), rtol=1e-5, atol=1e-6)


def test_readonly_input_accepted(model):
    g, flat, x, y, ref, p = model
    X = X32.copy()
    X.setflags(write=False)
    np.testing.assert_allclose(p.run([X])[0], ref(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arr,dtype_text", [
    (np.empty((B, D_IN), dtype=object), "object"),
    (np.full((B, D_IN), "a"), "<U1"),
    (np.full((B, D_IN), b"ab"), "S2"),
    (np.ones((B, D_IN), dtype=np.complex64), "complex64"),
    (np.ones((B, D_IN), dtype=np.complex128), "complex128"),
    (np.zeros((B, D_IN), dtype="datetime64[s]"), "datetime64"),
    (np.zeros((B, D_IN), dtype="timedelta64[s]"), "timedelta64"),
    (np.zeros((B, D_IN), dtype="V4"), "V4"),
    ([["1", "2", "3"]] * B, "<U1"),
    ([[1, None, 3]] * B, "object"),
    ([[1j, 2, 3]] * B, "complex128"),
], ids=["object", "str", "bytes", "c64", "c128", "datetime", "timedelta", "void", "list_str",
        "list_none", "list_complex"])
def test_non_numeric_inputs_refused(model, arr, dtype_text):
    g, flat, x, y, ref, p = model
    with pytest.raises(TypeError, match="input 0") as info:
        p.run([arr])
    assert dtype_text in str(info.value)
    np.testing.assert_allclose(p.run([X32])[0], ref(X32), rtol=1e-5, atol=1e-6)  # still usable


@pytest.mark.parametrize("shape", [(B + 1, D_IN), (B, D_IN + 1), (B * D_IN,), (1, B, D_IN), ()])
def test_wrong_input_shape_names_both_shapes(model, shape):
    g, flat, x, y, ref, p = model
    with pytest.raises(ValueError) as info:
        p.run([np.ones(shape, dtype=np.float32)])
    msg = str(info.value)
    assert "input 0" in msg and "(4, 3)" in msg
    assert str(tuple(shape)) in msg


def test_batch_size_message_matches_contract():
    g = _C.Graph()
    x = g.input((64, 2))
    p = _C.Program(g, [g.unary("neg", x)])
    with pytest.raises(ValueError, match=r"input 0: expected shape \(64, 2\), got \(32, 2\)"):
        p.run([np.zeros((32, 2))])


def test_empty_batch_refused(model):
    g, flat, x, y, ref, p = model
    with pytest.raises(ValueError, match="input 0 is empty"):
        p.run([np.zeros((0, D_IN), dtype=np.float32)])


def test_input_count_and_container(model):
    g, flat, x, y, ref, p = model
    with pytest.raises(ValueError, match="expected 1 input, got 2"):
        p.run([X32, X32])
    with pytest.raises(ValueError, match="expected 1 input, got 0"):
        p.run([])
    with pytest.raises(TypeError, match="list"):
        p.run(X32)          # an array is not a list of inputs
    with pytest.raises(TypeError):
        p.run(None)
    np.testing.assert_allclose(p.run((X32,))[0], ref(X32), rtol=1e-5, atol=1e-6)


def test_ragged_input_is_an_error_not_a_crash(model):
    g, flat, x, y, ref, p = model
    with pytest.raises((ValueError, TypeError)):
        p.run([[[1.0, 2.0, 3.0], [1.0]]])


def test_outputs_are_fresh_arrays(model):
    g, flat, x, y, ref, p = model
    a = p.run([X32])[0]
    a[...] = 123.0
    b = p.run([X32])[0]
    assert a is not b and not np.shares_memory(a, b)
    np.testing.assert_allclose(b, ref(X32), rtol=1e-5, atol=1e-6)
    assert b.flags.owndata or b.base is not None
    assert b.flags.writeable


# ---------------------------------------------------------------- graph builders

def test_bad_node_ids_are_value_errors():
    g = _C.Graph()
    x = g.input((2, 3))
    for bad in (-1, 1, 99, 2**40):
        with pytest.raises(ValueError, match="node"):
            g.unary("relu", bad)
        with pytest.raises(ValueError):
            g.binary("add", x, bad)
        with pytest.raises(ValueError):
            g.shape(bad)
        with pytest.raises(ValueError):
            g.op(bad)
        with pytest.raises(ValueError):
            _C.Program(g, [bad])
        with pytest.raises(ValueError):
            g.grad(x, [bad])
    with pytest.raises(ValueError):
        g.concat([x, 7])
    assert g.n == 1  # nothing was appended by the failures


@pytest.mark.parametrize("bad", [1.0, True, "0", None, [0]])
def test_node_ids_must_be_ints(bad):
    g = _C.Graph()
    g.input((2, 3))
    with pytest.raises(TypeError):
        g.unary("relu", bad)


def test_numpy_integer_node_ids_accepted():
    g = _C.Graph()
    x = g.input((2, 3))
    r = g.unary("relu", np.int64(x))
    assert g.shape(np.int32(r)) == (2, 3)


def test_unknown_op_names_list_known_ones():
    g = _C.Graph()
    x = g.input((2, 3))
    with pytest.raises(ValueError, match="relu") as info:
        g.unary("frobnicate", x)
    assert "frobnicate" in str(info.value) and "leaky_relu" in str(info.value)
    with pytest.raises(ValueError, match="relu_mask") as info:
        g.binary("matmul", x, x)  # not a binary elementwise op name
    assert "add" in str(info.value)
    with pytest.raises(ValueError, match="uniform"):
        g.random("cauchy", (2, 3))
    with pytest.raises(TypeError):
        g.unary(3, x)


def test_matmul_shape_error_names_shapes():
    g = _C.Graph()
    a = g.input((2, 3))
    b = g.input((4, 5))
    with pytest.raises(ValueError) as info:
        g.matmul(a, b)
    assert "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value)
    # the graph error was cleared: later builders work and report their own errors
    c = g.input((3, 4))
    assert g.shape(g.matmul(a, c)) == (2, 4)
    assert g.shape(g.matmul(c, a, trans_a=True, trans_b=True)) == (4, 2)
    with pytest.raises(ValueError, match="reshape"):
        g.reshape(a, (5,))


def test_other_builder_errors():
    g = _C.Graph()
    a = g.input((2, 3))
    with pytest.raises(ValueError):
        g.binary("add", a, g.input((4, 5)))
    with pytest.raises(ValueError):
        g.sum_to(a, (4,))
    with pytest.raises(ValueError):
        g.broadcast_to(a, (2, 4))
    with pytest.raises(ValueError):
        g.logsumexp(g.input((2, 3, 4)))
    with pytest.raises(ValueError):
        g.slice(a, 2, 5)
    with pytest.raises(ValueError):
        g.slice(a, 2**62, 2**62)
    with pytest.raises(ValueError):
        g.concat([])
    with pytest.raises(ValueError):
        g.concat([a] * 9)
    with pytest.raises(ValueError):
        g.random("dropout", (2, 3), 1.5)
    with pytest.raises(ValueError):
        g.unary("clip", a, 1.0, -1.0)
    assert g.shape(g.concat([a, a])) == (2, 6)
    assert g.shape(g.slice(a, 1, 2)) == (2, 2)
    assert g.shape(g.slice_grad(g.slice(a, 1, 2), (2, 3), 1)) == (2, 3)
    assert g.shape(g.logsumexp(a)) == (2, 1)
    assert g.shape(g.sum_to(a, ())) == ()


@pytest.mark.parametrize("shape,exc", [
    ((2, 2.0), TypeError), ((True, 2), TypeError), ((2, "3"), TypeError), (3, TypeError),
    ("ab", TypeError), (None, TypeError), ((2, -1), ValueError), ((1, 1, 1, 1, 1), ValueError),
    ((2**40, 2**40), ValueError), ((10**30,), ValueError),
])
def test_shape_validation(shape, exc):
    g = _C.Graph()
    with pytest.raises(exc):
        g.input(shape)
    with pytest.raises(exc):
        g.fill(shape, 1.0)
    assert g.n == 0


def test_shapes_accept_lists_and_numpy_ints():
    g = _C.Graph()
    assert g.shape(g.input([2, np.int64(3)])) == (2, 3)
    assert g.shape(g.input(())) == ()
    assert g.shape(g.input((1, 2, 3, 4))) == (1, 2, 3, 4)


def test_const_copies_and_converts():
    g = _C.Graph()
    src = np.arange(6, dtype=np.float64).reshape(2, 3)
    c = g.const(src)
    src[...] = -1.0  # the node holds a copy
    assert g.shape(c) == (2, 3) and g.op(c) == "const"
    out = _C.Program(g, [g.unary("neg", c)]).run([])[0]
    np.testing.assert_array_equal(out, -np.arange(6, dtype=np.float32).reshape(2, 3))
    with pytest.raises(TypeError, match="object"):
        g.const(np.array([1, None]))
    with pytest.raises(TypeError, match="complex"):
        g.const(np.ones(3, dtype=complex))
    with pytest.raises(ValueError):
        g.const(np.ones((1, 1, 1, 1, 2)))
    assert g.shape(g.const(2.5)) == ()


def test_param_buffer_validation():
    g = _C.Graph()
    good = np.zeros(10, dtype=np.float32)
    with pytest.raises(TypeError, match="float64"):
        g.param(np.zeros(10), 0, (2, 3))
    with pytest.raises(TypeError):
        g.param([0.0] * 10, 0, (2, 3))
    with pytest.raises(ValueError, match="contiguous"):
        g.param(np.zeros(20, dtype=np.float32)[::2], 0, (2, 3))
    with pytest.raises(ValueError, match="1-D"):
        g.param(np.zeros((2, 5), dtype=np.float32), 0, (2, 3))
    ro = good.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        g.param(ro, 0, (2, 3))
    with pytest.raises(ValueError, match="buffer has 10"):
        g.param(good, 5, (2, 3))
    with pytest.raises(ValueError):
        g.param(good, -1, (2, 3))
    with pytest.raises(ValueError):
        g.param(good, 2**62, (2, 3))
    with pytest.raises(TypeError):
        g.param(good, 0.0, (2, 3))
    assert g.n == 0
    p = g.param(good, 4, (2, 3))
    assert g.shape(p) == (2, 3) and g.op(p) == "param"


def test_param_nodes_view_the_buffer():
    g = _C.Graph()
    buf = np.zeros(8, dtype=np.float32)
    w = g.param(buf, 2, (2, 3))
    prog = _C.Program(g, [g.unary("scale", w, 2.0, 0.0)])
    buf[2:8] = np.arange(6)
    np.testing.assert_array_equal(prog.run([])[0], 2 * np.arange(6, dtype=np.float32).reshape(2, 3))


def test_graph_keeps_param_buffer_alive():
    g = _C.Graph()
    buf = np.arange(6, dtype=np.float32)
    ref = weakref.ref(buf)
    w = g.param(buf, 0, (2, 3))
    prog = _C.Program(g, [g.unary("neg", w)])
    del buf
    gc.collect()
    assert ref() is not None
    np.testing.assert_array_equal(prog.run([])[0], -np.arange(6, dtype=np.float32).reshape(2, 3))
    del prog, g
    gc.collect()
    assert ref() is None


def test_grad_matches_numpy():
    rng = np.random.default_rng(1)
    flat = rng.normal(size=6).astype(np.float32)
    g = _C.Graph()
    x = g.input((4, 3))
    w = g.param(flat, 0, (3, 2))
    loss = g.sum_to(g.unary("square", g.matmul(x, w)), ())
    (dw,) = g.grad(loss, [w])
    assert g.shape(dw) == (3, 2)
    X = rng.normal(size=(4, 3)).astype(np.float32)
    L, G = _C.Program(g, [loss, dw]).run([X])
    W = flat.reshape(3, 2).astype(np.float64)
    np.testing.assert_allclose(L, np.sum((X @ W) ** 2), rtol=1e-5)
    np.testing.assert_allclose(G, 2 * X.T.astype(np.float64) @ (X @ W), rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError):
        g.grad(loss, w)       # wrt must be a list
    with pytest.raises(ValueError):
        g.grad(loss, [w], seed=999)
    assert g.grad(loss, []) == []


# ---------------------------------------------------------------- Program

def test_program_argument_validation():
    g, flat, x, y, ref = affine_tanh()
    with pytest.raises(TypeError, match="Graph"):
        _C.Program(object(), [y])
    with pytest.raises(ValueError):
        _C.Program(g, [])
    with pytest.raises(TypeError):
        _C.Program(g, y)
    with pytest.raises(ValueError):
        _C.Program(g, [y], seed=-1)
    with pytest.raises(TypeError):
        _C.Program(g, [y], seed=1.5)
    with pytest.raises(TypeError):
        _C.Graph(1)
    p = _C.Program(g, [y], seed=2**64 - 1)
    assert p.rng_state == (2**64 - 1, 0)
    assert p.inputs == [x] and p.input_shapes == [(B, D_IN)]
    assert p.num_steps >= 3 and p.arena_bytes >= 0


def test_sinks_receive_outputs_and_are_returned():
    g, flat, x, y, ref = affine_tanh()
    big = np.full(3 + B * D_OUT, -7.0, dtype=np.float32)
    sink = big[3:]
    p = _C.Program(g, [y, y], sinks=[sink, None])
    out_sink, out_fresh = p.run([X32])
    assert out_sink is sink
    np.testing.assert_allclose(sink.reshape(B, D_OUT), ref(X32), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(big[:3], -7.0)
    np.testing.assert_array_equal(out_fresh, sink.reshape(B, D_OUT))


@pytest.mark.parametrize("sink,exc,match", [
    (np.zeros(B * D_OUT), TypeError, "float64"),
    (np.zeros(2 * B * D_OUT, dtype=np.float32)[::2], ValueError, "contiguous"),
    (np.zeros(B * D_OUT + 1, dtype=np.float32), ValueError, "elements"),
    ([0.0] * (B * D_OUT), TypeError, "ndarray"),
    (np.zeros(B * D_OUT, dtype=">f4"), TypeError, "float32"),
])
def test_bad_sinks_refused(sink, exc, match):
    g, flat, x, y, ref = affine_tanh()
    with pytest.raises(exc, match=match):
        _C.Program(g, [y], sinks=[sink])


def test_readonly_sink_and_wrong_sink_count_refused():
    g, flat, x, y, ref = affine_tanh()
    ro = np.zeros(B * D_OUT, dtype=np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        _C.Program(g, [y], sinks=[ro])
    with pytest.raises(ValueError, match="2 entries"):
        _C.Program(g, [y], sinks=[None, None])
    with pytest.raises(TypeError):
        _C.Program(g, [y], sinks=np.zeros(B * D_OUT, dtype=np.float32))


def test_random_nodes_follow_rng_state():
    g = _C.Graph()
    r = g.random("normal", (1000,), 0.0, 1.0)
    p = _C.Program(g, [r], seed=7)
    assert p.rng_state == (7, 0)
    a = p.run([])[0]
    state = p.rng_state
    assert state[0] == 7 and state[1] > 0
    b = p.run([])[0]
    assert not np.array_equal(a, b)
    p.rng_state = state
    np.testing.assert_array_equal(p.run([])[0], b)
    p.rng_state = (7, 0)
    np.testing.assert_array_equal(p.run([])[0], a)
    assert abs(a.mean()) < 0.15 and 0.85 < a.std() < 1.15
    np.testing.assert_array_equal(_C.Program(g, [r], seed=7).run([])[0], a)
    for bad, exc in [((1,), TypeError), ([1, 2], TypeError), ((1.0, 2), TypeError), ((-1, 0), ValueError),
                     ((0, 2**64), ValueError), (None, TypeError)]:
        with pytest.raises(exc):
            p.rng_state = bad
    with pytest.raises(TypeError):
        del p.rng_state


def test_alloc_count_constant_across_runs(model):
    g, flat, x, y, ref, p = model
    # a graph with a gradient and a random node as well
    h = g.binary("mul", y, g.random("uniform", (B, D_OUT), -1.0, 1.0))
    loss = g.sum_to(h, ())
    dx = g.grad(loss, [x])[0]
    q = _C.Program(g, [loss, dx, y])
    q.run([X32])
    p.run([X32])
    before = _C.alloc_count()
    for _ in range(50):
        q.run([X32])
        p.run([X32.astype(np.float64)])
    assert _C.alloc_count() == before


def test_reentrant_use_of_a_running_program_is_refused(model):
    g, flat, x, y, ref, p = model
    seen = []

    class Sneaky:
        def __array__(self, dtype=None, copy=None):
            with pytest.raises(_C.GanlibError, match="already running"):
                p.run([X32])
            with pytest.raises(_C.GanlibError):
                p.rng_state = (0, 0)
            seen.append(True)
            return X32

    np.testing.assert_allclose(p.run([Sneaky()])[0], ref(X32), rtol=1e-5, atol=1e-6)
    assert seen == [True]
    np.testing.assert_allclose(p.run([X32])[0], ref(X32), rtol=1e-5, atol=1e-6)


def test_run_in_thread_releases_gil_and_is_correct():
    rng = np.random.default_rng(3)
    n = 384
    flat = (rng.normal(size=n * n) / np.sqrt(n)).astype(np.float32)
    g = _C.Graph()
    x = g.input((n, n))
    w = g.param(flat, 0, (n, n))
    h = x
    for _ in range(8):
        h = g.unary("tanh", g.matmul(h, w))
    p = _C.Program(g, [h])
    X = rng.normal(size=(n, n)).astype(np.float32)
    expected = p.run([X])[0]
    results, errors = [], []

    def worker():
        try:
            for _ in range(10):
                results.append(p.run([X])[0])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=worker)
    t.start()
    ticks = 0
    while t.is_alive():
        ticks += sum(range(100))  # Python work on the main thread meanwhile
    t.join()
    assert not errors
    assert len(results) == 10
    for r in results:
        np.testing.assert_array_equal(r, expected)
    W = flat.reshape(n, n).astype(np.float64)
    hh = X.astype(np.float64)
    for _ in range(8):
        hh = np.tanh(hh @ W)
    np.testing.assert_allclose(expected, hh, rtol=1e-3, atol=1e-4)


def test_two_programs_in_two_threads_share_the_pool_safely():
    progs = []
    for seed in range(2):
        g, flat, x, y, ref = affine_tanh()
        progs.append((_C.Program(g, [y]), ref))
    errors = []

    def worker(p, ref):
        try:
            for _ in range(200):
                np.testing.assert_allclose(p.run([X32])[0], ref(X32), rtol=1e-5, atol=1e-6)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=worker, args=pr) for pr in progs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_set_num_threads_while_running_is_refused_or_safe():
    n = 256
    rng = np.random.default_rng(4)
    flat = (rng.normal(size=n * n) / np.sqrt(n)).astype(np.float32)
    g = _C.Graph()
    x = g.input((n, n))
    w = g.param(flat, 0, (n, n))
    h = x
    for _ in range(6):
        h = g.unary("tanh", g.matmul(h, w))
    p = _C.Program(g, [h])
    X = rng.normal(size=(n, n)).astype(np.float32)
    expected = p.run([X])[0]
    old = _C.get_num_threads()
    out = []
    t = threading.Thread(target=lambda: out.extend(p.run([X])[0] for _ in range(20)))
    t.start()
    try:
        while t.is_alive():
            try:
                _C.set_num_threads(old)
            except _C.GanlibError as e:
                assert "running" in str(e)
            try:  # appending may move the node array: refused while a run reads it
                g.input((1,))
            except _C.GanlibError as e:
                assert "running" in str(e)
    finally:
        t.join()
        _C.set_num_threads(old)
    assert len(out) == 20
    for r in out:
        np.testing.assert_array_equal(r, expected)


def test_deleting_graph_before_program_is_safe():
    g, flat, x, y, ref = affine_tanh()
    gref = weakref.ref(g)
    p = _C.Program(g, [y])
    del g
    gc.collect()
    assert gref() is not None  # the program holds it
    for _ in range(3):
        np.testing.assert_allclose(p.run([X32])[0], ref(X32), rtol=1e-5, atol=1e-6)
    del p
    gc.collect()
    assert gref() is None


def test_cycles_through_programs_are_collected():
    g, flat, x, y, ref = affine_tanh()

    class Holder:
        pass

    h = Holder()
    h.self = h
    h.prog = _C.Program(g, [y])
    h.graph = g
    gref = weakref.ref(g)
    del g, h
    gc.collect()
    assert gref() is None


def test_step_validates_optimizers(model):
    g, flat, x, y, ref, p = model
    with pytest.raises(TypeError, match="Optimizer"):
        p.step([X32], [object()])
    with pytest.raises(TypeError):
        p.step([X32], None)
    np.testing.assert_allclose(p.step([X32], [])[0], ref(X32), rtol=1e-5, atol=1e-6)


def test_step_runs_optimizers_after_the_program():
    rng = np.random.default_rng(5)
    params = rng.normal(size=6).astype(np.float32)
    grads = np.zeros(6, dtype=np.float32)
    g = _C.Graph()
    x = g.input((4, 3))
    w = g.param(params, 0, (3, 2))
    loss = g.sum_to(g.matmul(x, w), ())
    (dw,) = g.grad(loss, [w])
    p = _C.Program(g, [loss, dw], sinks=[None, grads])
    opt = _C.Optimizer("sgd", params, grads, 0.1)
    X = rng.normal(size=(4, 3)).astype(np.float32)
    before = params.copy()
    loss_val, gout = p.step([X], [opt])
    assert gout is grads
    expected_grad = np.repeat(X.sum(axis=0)[:, None], 2, axis=1).ravel()
    np.testing.assert_allclose(grads, expected_grad, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(params, before - 0.1 * expected_grad, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss_val, (X @ before.reshape(3, 2)).sum(), rtol=1e-5, atol=1e-5)


def test_leaves_as_outputs_and_unused_inputs():
    g = _C.Graph()
    unused = g.input((5,))
    x = g.input((2, 3))
    s = g.input(())
    buf = np.arange(4, dtype=np.float32)
    w = g.param(buf, 0, (2, 2))
    y = g.binary("mul", x, s)
    sink = np.zeros(6, dtype=np.float32)
    p = _C.Program(g, [x, w, y, x], sinks=[None, None, None, sink])
    assert p.inputs == [x, s] and unused not in p.inputs
    assert p.input_shapes == [(2, 3), ()]
    X = np.arange(6, dtype=np.float64).reshape(2, 3)
    ox, ow, oy, osink = p.run([X, 2.0])
    assert osink is sink
    np.testing.assert_array_equal(ox, X.astype(np.float32))
    assert not np.shares_memory(ox, X)
    np.testing.assert_array_equal(ow, buf.reshape(2, 2))
    assert not np.shares_memory(ow, buf)
    np.testing.assert_array_equal(oy, 2 * X)
    np.testing.assert_array_equal(sink, X.ravel())
    with pytest.raises(ValueError, match=r"input 1: expected shape \(\), got \(1,\)"):
        p.run([X, [2.0]])
