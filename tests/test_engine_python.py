"""The engine seen from Python: compiled steps, determinism, threads, allocation, config."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_compiled_step_allocates_nothing_in_c():
    net = gl.nn.mlp(4, [32, 32], 1, seed=0)
    step = gl.compile_step(lambda x, y: ops.mean(ops.square(net(x) - y)), net, gl.optim.Adam(1e-3))
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    y = x[:, :1].copy()
    step(x, y)
    before = gl._C.alloc_count()
    for _ in range(100):
        step(x, y)
    assert gl._C.alloc_count() == before


def test_compile_step_loss_falls_and_gradients_land_in_the_flat_buffer():
    net = gl.nn.mlp(1, [32], 1, act="tanh", seed=0)
    step = gl.compile_step(lambda x, y: ops.mean(ops.square(net(x) - y)), net, gl.optim.Adam(1e-2))
    x = np.linspace(-2, 2, 128, dtype=np.float32)[:, None]
    y = np.sin(2 * x)
    first = step(x, y)
    for _ in range(300):
        last = step(x, y)
    assert last < 0.1 * first
    assert np.any(net.buffer.grad != 0)


def test_compile_step_rejects_a_non_scalar_loss():
    net = gl.nn.mlp(2, [4], 1, seed=0)
    step = gl.compile_step(lambda x: net(x), net, gl.optim.SGD(0.1))
    with pytest.raises(ValueError, match="scalar"):
        step(np.zeros((3, 2), np.float32))


def test_compile_step_wrong_input_shape_is_a_clear_error():
    net = gl.nn.mlp(2, [4], 1, seed=0)
    step = gl.compile_step(lambda x: ops.mean(net(x)), net, gl.optim.SGD(0.1))
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        step(np.zeros((3, 5), np.float32))


def _draws(seed, threads):
    gl.set_num_threads(threads)
    try:
        f = gl.function(lambda x: (ops.randn((300, 700)) + x, ops.rand((5000,)), ops.dropout(ops.ones((64, 64)), 0.3)),
                        seed=seed)
        return [a.copy() for a in f(np.zeros((1, 1), np.float32))]
    finally:
        gl.set_num_threads(1)


def test_rng_same_seed_same_bits_across_thread_counts():
    a, b, c = _draws(7, 1), _draws(7, 2), _draws(8, 1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    assert abs(a[0].mean()) < 0.01 and abs(a[0].std() - 1) < 0.01
    assert 0.0 <= a[1].min() and a[1].max() < 1.0 and abs(a[1].mean() - 0.5) < 0.02


def test_rng_state_advances_and_can_be_restored():
    f = gl.function(lambda x: ops.randn((4, 4)) + x, seed=3)
    z = np.zeros((1, 1), np.float32)
    first = f(z)
    prog = next(iter(f._cache.values()))[1]
    state = prog.rng_state
    second = f(z)
    assert not np.array_equal(first, second)
    prog.rng_state = state
    np.testing.assert_array_equal(f(z), second)


def test_reductions_are_deterministic_across_threads():
    x = np.random.default_rng(0).standard_normal((1000, 300)).astype(np.float32)
    f = gl.function(lambda t: (ops.sum(t), ops.sum(t, axis=0), ops.mean(t, axis=1)))
    outs = []
    for n in (1, 2):
        gl.set_num_threads(n)
        outs.append([o.copy() for o in f(x)])
    gl.set_num_threads(1)
    for u, v in zip(*outs):
        np.testing.assert_array_equal(u, v)


def test_set_num_threads_validates_and_round_trips():
    gl.set_num_threads(2)
    assert gl.get_num_threads() == 2
    gl.set_num_threads(1)
    assert gl.get_num_threads() == 1
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError):
            gl.set_num_threads(bad)


def test_show_config_names_blas_threads_and_flags(capsys):
    gl.show_config()
    out = capsys.readouterr().out
    assert "OpenBLAS" in out and "scipy-openblas32" in out and "threads" in out and "-O3" in out


def test_gradient_of_gradient_in_a_user_loss():
    """d/dx of (d/dx sum(x^3)/3)^2 summed = 4 x^3 (x^2 squared derivative)."""
    f = gl.function(lambda x: gl.grad(ops.sum(ops.square(gl.grad(ops.sum(x * x * x) / 3.0, [x])[0])), [x])[0])
    x = np.array([[0.5, -1.0, 2.0]], np.float32)
    np.testing.assert_allclose(f(x), 4 * x ** 3, rtol=1e-5)


def test_tracing_errors_are_clear():
    with pytest.raises(RuntimeError, match="no graph is being traced"):
        ops.zeros((2, 2))
    f = gl.function(lambda x: ops.matmul(x, x))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 3\)"):
        f(np.zeros((2, 3), np.float32))
    g = gl.function(lambda x: 3)
    with pytest.raises(TypeError, match="must return Tensors"):
        g(np.zeros((1,), np.float32))
    h = gl.function(lambda x: x)
    with pytest.raises(ValueError, match="empty"):
        h(np.zeros((0, 2), np.float32))
    with pytest.raises(TypeError):
        h(np.array([["a", "b"]]))


def test_quickstart_runs_and_its_loss_falls():
    # run against the same ganlib this test imported (installed or in-place build)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(gl.__file__)))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "quickstart.py")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    losses = [float(l.split()[-1]) for l in out.stdout.splitlines() if l.startswith("step")]
    assert len(losses) == 8 and losses[-1] < 0.05 * losses[0]
