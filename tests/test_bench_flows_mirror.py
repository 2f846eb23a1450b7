"""The PyTorch Real NVP of benchmarks/bench_flows.py computes what gl.models.RealNVP computes: from the
same (non-trivial) weights and the same dequantised batch, the same log-density per image, the same
gradient of the mean NLL for every parameter, and the same Adam step."""
import os
import sys

import numpy as np
import pytest

import ganlib as gl

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
bm = pytest.importorskip("bench_flows")


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    nvp = bm.ganlib_model(seed=0)
    rng = np.random.default_rng(0)
    # off the identity initialisation (zeroed last convolutions), so every layer does something
    nvp.flow.buffer.data[:] += (0.05 * rng.standard_normal(nvp.flow.buffer.size)).astype(np.float32)
    x = rng.integers(0, 256, (8, *bm.SHAPE))
    v = (x + rng.random(x.shape)).astype(np.float32)
    return nvp, x.astype(np.float32), v


def test_torch_log_prob_matches_ganlib(setup):
    nvp, x, v = setup
    model = bm.torch_realnvp(torch, nvp).double()
    with torch.no_grad():
        ref = model.log_prob(torch.from_numpy(v).double()).numpy()
        identity = bm.torch_realnvp(torch, bm.ganlib_model(seed=0)).double()
        flat = identity.log_prob(torch.from_numpy(v).double()).numpy()
    assert np.abs(ref - flat).min() > 1.0                # the perturbed flow is far from the identity
    np.testing.assert_allclose(nvp.log_prob(v), ref, rtol=2e-5)
    g, t = bm.check_same_nll(torch, x, nvp)          # the bench's own check, on its dequantisation
    assert abs(g - t) <= 1e-4 * abs(t), (g, t)


def test_torch_gradients_and_adam_step_match_ganlib(setup):
    nvp, x, v = setup
    flow = nvp.flow

    def nll(vt):
        loss = gl.ops.mean(-nvp._log_prob_sym(vt))
        return loss, gl.grad(loss, flow)

    loss, grads = gl.function(nll, training=False)(v)
    names = list(flow.parameters())
    model = bm.torch_realnvp(torch, nvp)
    params = dict(model.named_parameters())
    mirror = {n: "layers." + n for n in names}
    assert sorted(mirror.values()) == sorted(params)       # the same parameters, one for one
    # the gradients against the same model in float64 (measured: within 1.2e-5 of each tensor's largest)
    ref = bm.torch_realnvp(torch, nvp).double()
    ref_loss = -ref.log_prob(torch.from_numpy(v).double()).mean()
    ref_loss.backward()
    ref_params = dict(ref.named_parameters())
    np.testing.assert_allclose(loss, ref_loss.item(), rtol=1e-6)
    for n, g in zip(names, grads):
        tg = ref_params[mirror[n]].grad.numpy()
        scale = np.abs(tg).max()
        assert scale > 0, n
        np.testing.assert_allclose(g, tg, rtol=1e-3, atol=1e-4 * scale, err_msg=n)
    # the bench's own float32 step: its loss, then its Adam update
    opt = torch.optim.Adam(model.parameters(), lr=bm.LR)
    t_loss = bm.torch_step(model, opt, torch.from_numpy(v))
    np.testing.assert_allclose(loss, t_loss, rtol=1e-5)
    # ganlib's Adam (the optimizer RealNVP trains with) on the same gradients gives torch's weights
    p = np.concatenate([flow.parameters()[n].ravel() for n in names]).astype(np.float32)
    gflat = np.concatenate([np.asarray(g, np.float32).ravel() for g in grads])
    start = p.copy()
    gl.optim.Adam(bm.LR).bind(p, gflat).step()
    off = 0
    for n in names:
        size = flow.parameters()[n].size
        np.testing.assert_allclose(p[off:off + size], params[mirror[n]].detach().numpy().ravel(),
                                   atol=2e-6, err_msg=n)
        off += size
    assert np.abs(p - start).max() > 5e-4                  # the step moved the weights (Adam: ~lr)
