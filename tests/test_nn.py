"""nn modules: flat parameter buffers, initialisations, state dicts, forward passes."""
import numpy as np
import pytest

import ganlib as gl
from ganlib import ops


def test_linear_forward_matches_numpy():
    lin = gl.nn.Linear(3, 4, seed=0)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    p = lin.parameters()
    np.testing.assert_allclose(lin(x), x @ p["weight"].T + p["bias"], rtol=1e-6, atol=1e-6)


def test_mlp_structure_names_and_forward():
    net = gl.nn.mlp(2, [8, 6], 3, act="tanh", out_act="sigmoid", seed=1)
    assert list(net.parameters()) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert net.num_parameters() == 2 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3
    p = net.parameters()
    x = np.random.default_rng(1).standard_normal((7, 2)).astype(np.float32)
    h = np.tanh(x @ p["0.weight"].T + p["0.bias"])
    h = np.tanh(h @ p["2.weight"].T + p["2.bias"])
    ref = 1 / (1 + np.exp(-(h @ p["4.weight"].T + p["4.bias"])))
    np.testing.assert_allclose(net(x), ref, rtol=1e-5, atol=1e-6)


def test_parameters_share_memory_with_the_flat_buffer():
    net = gl.nn.mlp(2, [4], 1, seed=0)
    views = net.parameters()
    assert all(np.shares_memory(v, net.buffer.data) for v in views.values())
    x = np.ones((1, 2), np.float32)
    before = net(x)
    views["2.bias"][...] += 1.0  # editing the view changes what the C graph reads
    np.testing.assert_allclose(net(x), before + 1.0, rtol=1e-6)


def test_sequential_adopts_children_values():
    a, b = gl.nn.Linear(2, 3, seed=0), gl.nn.Linear(3, 1, seed=1)
    wa = a.parameters()["weight"].copy()
    net = gl.nn.Sequential(a, gl.nn.ReLU(), b)
    np.testing.assert_array_equal(net.parameters()["0.weight"], wa)
    assert a.buffer is net.buffer  # the child now lives in the container's buffer


def test_seeded_initialisation_is_reproducible_and_seed_sensitive():
    a = gl.nn.mlp(2, [16], 1, seed=5).state_dict()
    b = gl.nn.mlp(2, [16], 1, seed=5).state_dict()
    c = gl.nn.mlp(2, [16], 1, seed=6).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["0.weight"], c["0.weight"])


@pytest.mark.parametrize("init,check", [
    ("torch", lambda w, fi, fo: np.abs(w).max() <= 1 / np.sqrt(fi) and np.abs(w).max() > 0.9 / np.sqrt(fi)),
    ("normal", lambda w, fi, fo: abs(w.std() - 0.02) < 0.002 and abs(w.mean()) < 0.002),
    ("xavier", lambda w, fi, fo: np.abs(w).max() <= np.sqrt(6 / (fi + fo))
     and abs(w.std() - np.sqrt(2 / (fi + fo))) < 0.1 * np.sqrt(2 / (fi + fo))),
    ("xavier_normal", lambda w, fi, fo: abs(w.std() - np.sqrt(2 / (fi + fo))) < 0.05 * np.sqrt(2 / (fi + fo))),
])
def test_initialisations(init, check):
    lin = gl.nn.Linear(300, 200, init=init, seed=0)
    assert check(lin.parameters()["weight"], 300, 200)
    bias = lin.parameters()["bias"]
    if init == "torch":
        assert np.abs(bias).max() <= 1 / np.sqrt(300)
    else:
        assert np.all(bias == 0)


def test_state_dict_round_trip_and_validation():
    net = gl.nn.mlp(3, [5], 2, seed=0)
    other = gl.nn.mlp(3, [5], 2, seed=1)
    other.load_state_dict(net.state_dict())
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(net(x), other(x))
    sd = net.state_dict()
    sd["0.weight"] = sd["0.weight"][:, :2]
    with pytest.raises(ValueError, match="0.weight"):
        other.load_state_dict(sd)
    sd = net.state_dict()
    del sd["2.bias"]
    with pytest.raises(ValueError, match="missing keys"):
        other.load_state_dict(sd)
    sd = net.state_dict()
    sd["2.bias"] = np.array([np.nan, 0], np.float32)
    before = other.state_dict()
    with pytest.raises(ValueError, match="NaN"):
        other.load_state_dict(sd)
    assert all(np.array_equal(before[k], v) for k, v in other.state_dict().items())  # nothing half-loaded


def test_module_on_wrong_width_input_names_shapes():
    net = gl.nn.mlp(3, [5], 2, seed=0)
    with pytest.raises(ValueError, match=r"\(batch, 3\).*\(4, 2\)"):
        net(np.zeros((4, 2), np.float32))


def test_dropout_train_and_eval():
    net = gl.nn.Sequential(gl.nn.Dropout(0.5))
    x = np.ones((200, 50), np.float32)
    y = net(x)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    net.eval()
    np.testing.assert_array_equal(net(x), x)


def test_unknown_activation_and_init_list_known_names():
    with pytest.raises(ValueError, match="relu"):
        gl.nn.mlp(2, [3], 1, act="swishy")
    with pytest.raises(ValueError, match="xavier"):
        gl.nn.Linear(2, 3, init="nope")
