"""Issue #20 item 1: compiled programs are kept for a few shapes only, and memory plateaus."""
import gc
import os
import weakref

import numpy as np
import pytest

import ganlib as gl
from ganlib import ops


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux) for RSS")


@needs_proc
def test_module_called_with_many_batch_sizes_reaches_a_plateau():
    """Before the bound, 200 batch sizes of this MLP grew RSS by ~80 MB (one program and
    arena per size); with an LRU of 4 programs it stays within a few MB."""
    net = gl.nn.mlp(64, [256, 256], 64, seed=0)
    for b in range(60, 80):                  # warm up: allocator, first programs
        net(np.zeros((b, 64), np.float32))
    gc.collect()
    warm = rss_mb()
    for b in range(100, 300):
        net(np.zeros((b, 64), np.float32))
    gc.collect()
    grown = rss_mb() - warm
    assert grown < 25.0, f"RSS grew by {grown:.1f} MB over 200 batch sizes"
    assert net._forward_cache["fn"].cache_info()["programs"] == ops.CACHE_SIZE


@needs_proc
def test_gan_sample_with_many_sizes_reaches_a_plateau():
    """Before: one sampler program per n (~95 MB for 200 values of n here); now a few."""
    G, D = gl.nn.mlp(2, [512, 512, 512], 2, seed=0), gl.nn.mlp(2, [16], 1, seed=1)
    gan = gl.GAN(G, D, seed=0)
    for n in range(60, 80):
        gan.sample(n)
    gc.collect()
    warm = rss_mb()
    for n in range(100, 300):
        gan.sample(n)
    gc.collect()
    grown = rss_mb() - warm
    assert grown < 25.0, f"RSS grew by {grown:.1f} MB over 200 sample sizes"
    assert len(gan._samplers) == 1
    (fn,) = gan._samplers.values()
    assert fn.cache_info()["programs"] == ops.CACHE_SIZE


def test_function_keeps_cache_size_programs_and_frees_the_evicted_ones():
    f = gl.function(lambda x: ops.tanh(x) * 2.0, cache_size=3)
    refs = []
    for n in range(1, 9):
        f(np.ones((n, 4), np.float32))
        refs.append(weakref.ref(f._cache.get(((n, 4),))[1]))
        assert f.cache_info()["programs"] == min(n, 3)
    gc.collect()
    alive = [r() is not None for r in refs]
    # the three most recent shapes keep their program; every evicted program (and so its
    # C arena) is gone; at most the last-run program is referenced for its random stream
    assert alive == [False] * 5 + [True] * 3
    assert f.cache_info()["arena_bytes"] > 0
    # a shape that comes back is compiled again and gives the same values
    np.testing.assert_allclose(f(np.ones((1, 4), np.float32)), np.tanh(np.ones((1, 4))) * 2.0, rtol=1e-6)


def test_lru_order_is_by_use_not_by_insertion():
    f = gl.function(lambda x: x + 1.0, cache_size=2)
    a, b, c = (np.zeros((n, 1), np.float32) for n in (1, 2, 3))
    f(a), f(b), f(a), f(c)          # a was used after b: b is evicted
    assert sorted(k[0][0] for k in f._cache.keys()) == [1, 3]


def _programs(*modules, functions=()):
    fns = [fn for m in modules for sub in m._modules() for fn in sub._forward_cache.values()] + list(functions)
    return [weakref.ref(hit[1]) for fn in fns for hit in fn._cache.values()]


def test_clear_cache_frees_programs_of_modules_trainers_and_gans():
    G, D = gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(2, [8], 1, seed=1)
    gan = gl.GAN(G, D, g_ema=0.9, seed=0)
    G(np.zeros((3, 2), np.float32)), D(np.zeros((3, 2), np.float32))
    gan.sample(5), gan.generate(np.zeros((4, 2))), gan.generate(np.zeros((4, 2)), ema=False)
    gan.discriminate(np.zeros((4, 2)))
    progs = _programs(G, D, gan.G_ema, functions=gan._samplers.values())
    assert len(progs) == 6   # G, D, G's read, G_ema's read, D's read, the sampler
    gan.clear_cache()
    gc.collect()
    assert [r() for r in progs] == [None] * 6
    assert G._forward_cache["fn"].cache_info()["programs"] == 0
    # everything still works after clearing
    assert gan.sample(5).shape == (5, 2) and G(np.zeros((3, 2), np.float32)).shape == (3, 2)


def test_trainer_clear_cache_reaches_its_modules():
    E, Dec = gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(2, [8], 2, seed=1)

    def recon(b):
        loss = ops.mean(ops.square(b.modules.Dec(b.modules.E(b.data.x)) - b.data.x))
        return gl.Step(minimize={"E": loss, "Dec": loss})
    tr = gl.Trainer({"E": E, "Dec": Dec}, {"E": gl.optim.Adam(1e-3), "Dec": gl.optim.Adam(1e-3)},
                    [gl.Phase("recon", recon)], ema={"E": 0.9})
    tr.fit(gl.datasets.ring(64, seed=0), steps=2, batch_size=16, progress=False)
    for m in (E, Dec, tr.averaged("E")):
        m(np.zeros((3, 2), np.float32))
    progs = _programs(E, Dec, tr.averaged("E"))
    assert len(progs) == 3
    tr.clear_cache()
    gc.collect()
    assert [r() for r in progs] == [None] * 3
    tr.fit(gl.datasets.ring(64, seed=0), steps=2, batch_size=16, progress=False)   # fit's programs kept


def test_module_clear_cache_reaches_submodules():
    net = gl.nn.mlp(2, [8], 1, seed=0)
    net[0](np.zeros((2, 2), np.float32))
    net(np.zeros((2, 2), np.float32))
    assert net.clear_cache() is net
    assert net[0]._forward_cache["fn"].cache_info()["programs"] == 0
    assert net._forward_cache["fn"].cache_info()["programs"] == 0


def test_random_stream_goes_on_across_shapes_eviction_and_clear_cache():
    """Dropping a program must not replay random draws: one stream per function."""
    f = gl.function(lambda x: ops.rand(x.shape) + x * 0.0, seed=5, cache_size=1)
    draws = [f(np.zeros((n, 3), np.float32)).ravel() for n in (4, 5, 4, 5)]
    f.clear_cache()
    draws.append(f(np.zeros((4, 3), np.float32)).ravel())
    allv = np.concatenate(draws)
    assert len(np.unique(allv)) == allv.size          # no value drawn twice
    # the first call draws what the program's own seed gives, as before
    g = gl.function(lambda x: ops.rand(x.shape) + x * 0.0, seed=5)
    np.testing.assert_array_equal(g(np.zeros((4, 3), np.float32)).ravel(), draws[0])


def test_gan_sample_stream_goes_on_across_sizes():
    gan = gl.GAN(gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(2, [8], 1, seed=1), seed=3)
    twin = gl.GAN(gl.nn.mlp(2, [8], 2, seed=0), gl.nn.mlp(2, [8], 1, seed=1), seed=3)
    a = gan.sample(7)
    np.testing.assert_array_equal(a, twin.sample(7))      # a fresh GAN's first samples are reproducible
    later = [gan.sample(n) for n in (3, 9, 7, 11, 13, 7)]  # more sizes than the cache keeps
    assert not any(np.array_equal(a, s) for s in later if s.shape == a.shape)


def test_cache_size_is_validated_and_lru_cache_is_usable_alone():
    for bad, exc in [(0, ValueError), (1.5, TypeError), (True, TypeError)]:
        with pytest.raises(exc, match="cache_size"):
            gl.function(lambda x: x, cache_size=bad)
    c = ops.LRUCache(2)
    c.put("a", 1), c.put("b", 2)
    assert c.get("a") == 1
    c.put("c", 3)
    assert c.keys() == ["a", "c"] and len(c) == 2 and "b" not in c and c.get("b", 0) == 0
    c.clear()
    assert len(c) == 0


def test_compile_step_keeps_a_few_programs_and_one_random_stream():
    net = gl.nn.mlp(2, [8], 1, seed=0)
    step = gl.compile_step(lambda x: gl.ops.mean(gl.ops.square(net(x) + gl.ops.randn((x.shape[0], 1)))), net,
                           gl.optim.SGD(0.0))
    for n in range(1, 40):
        step(np.ones((n, 2), np.float32))
    assert len(list(step._cache.keys())) <= gl.ops.CACHE_SIZE
    # draws go on across shapes instead of restarting from the seed at each new program
    a = step(np.ones((41, 2), np.float32))
    b = step(np.ones((42, 2), np.float32))
    c = step(np.ones((41, 2), np.float32))
    assert a != c and b != a
