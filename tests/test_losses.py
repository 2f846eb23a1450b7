"""ganlib.losses: every objective's value and logit gradient against float64 references.

Values are checked against NumPy float64 formulas and gradients against torch.autograd
(float64) on the same formulas. The references are written in probability space
(D = sigmoid(l), 1 - D = sigmoid(-l), exactly as in the lecture tables), not in the
library's logit forms, so the two are independent. Logits include +-30 to test stability.
"""
import math
import zlib

import numpy as np
import pytest

import ganlib as gl
from ganlib import losses as L
from ganlib import ops

B = 64
RTOL = 1e-5


# ---- reference formulas, one generic implementation for NumPy and torch -----------------

class NP:
    @staticmethod
    def sigmoid(x): return 1.0 / (1.0 + np.exp(-x))
    log, exp, sqrt, mean = np.log, np.exp, np.sqrt, np.mean
    @staticmethod
    def relu(x): return np.maximum(x, 0.0)
    @staticmethod
    def logaddexp0(x): return np.logaddexp(x, 0.0)


def _torch_ns(torch):
    class T:
        sigmoid, log, exp, sqrt, mean, relu = (torch.sigmoid, torch.log, torch.exp, torch.sqrt,
                                               torch.mean, torch.relu)
        @staticmethod
        def logaddexp0(x): return torch.logaddexp(x, torch.zeros_like(x))
    return T


def scoring(X, rule):
    """S(D, 1), S(D, 0) as in the lecture table, on logits through D = sigmoid(l)."""
    D = lambda l: X.sigmoid(l)          # noqa: E731
    Dc = lambda l: X.sigmoid(-l)        # 1 - D, computed without cancellation
    if rule == "bernoulli":
        return (lambda l: -X.log(D(l))), (lambda l: -X.log(Dc(l)))
    if rule == "brier":
        return (lambda l: Dc(l) ** 2), (lambda l: D(l) ** 2)
    if rule == "exponential":
        return (lambda l: X.sqrt(Dc(l) / D(l))), (lambda l: X.sqrt(D(l) / Dc(l)))
    if rule == "hinge":
        return ((lambda l: X.relu(1 - X.log(D(l) / Dc(l)))), (lambda l: X.relu(1 + X.log(D(l) / Dc(l)))))
    if rule == "spherical":
        alpha = lambda l: (1 - 2 * D(l) + 2 * D(l) ** 2) ** -0.5  # noqa: E731
        return (lambda l: -alpha(l) * D(l)), (lambda l: -alpha(l) * Dc(l))
    raise KeyError(rule)


def fgan_ref(X, div):
    """(g_f(v), f*(g_f(v))) in closed forms derived by hand (checked against the naive ones below)."""
    if div == "kl":
        return (lambda v: v), (lambda v: X.exp(v - 1))
    if div == "reverse-kl":
        return (lambda v: -X.exp(-v)), (lambda v: v - 1)
    if div == "pearson":
        return (lambda v: v), (lambda v: v ** 2 / 4 + v)
    if div == "hellinger":
        return (lambda v: 1 - X.exp(-v)), (lambda v: X.exp(v) - 1)
    if div == "js":
        return (lambda v: math.log(2) - X.logaddexp0(-v)), (lambda v: X.logaddexp0(v) - math.log(2))
    if div == "gan":
        return (lambda v: -X.logaddexp0(-v)), (lambda v: X.logaddexp0(v))
    raise KeyError(div)


def fgan_naive_np(div):
    """The table's g_f and f*, composed literally (float64)."""
    g = {"kl": lambda v: v, "reverse-kl": lambda v: -np.exp(-v), "pearson": lambda v: v,
         "hellinger": lambda v: 1 - np.exp(-v), "js": lambda v: np.log(2) - np.log1p(np.exp(-v)),
         "gan": lambda v: -np.log1p(np.exp(-v))}[div]
    fs = {"kl": lambda t: np.exp(t - 1), "reverse-kl": lambda t: -1 - np.log(-t),
          "pearson": lambda t: t ** 2 / 4 + t, "hellinger": lambda t: t / (1 - t),
          "js": lambda t: -np.log(2 - np.exp(t)), "gan": lambda t: -np.log(1 - np.exp(t))}[div]
    return g, fs


def reference(X, name, opts, r, f, t=1.0):
    """(d_loss, g_loss) of objective ``name`` in backend X."""
    E = X.mean
    bce1, bce0 = scoring(X, "bernoulli")
    if name in ("minimax", "nonsaturating", "dragan", "ns-gp"):
        d = E(t * bce1(r) + (1 - t) * bce0(r)) + E(bce0(f))
        g = E(X.log(X.sigmoid(-f))) if name == "minimax" else E(-X.log(X.sigmoid(f)))
        return d, g
    if name == "least_squares":
        a, b, c = opts.get("a", 0.0), opts.get("b", 1.0), opts.get("c", 1.0)
        return 0.5 * E((r - b) ** 2) + 0.5 * E((f - a) ** 2), 0.5 * E((f - c) ** 2)
    if name == "brier":
        Dr, Df = X.sigmoid(r), X.sigmoid(f)
        return E(t * (1 - Dr) ** 2 + (1 - t) * Dr ** 2) + E(Df ** 2), E(X.sigmoid(-f) ** 2)
    if name == "hinge":
        return E(X.relu(1 - r)) + E(X.relu(1 + f)), -E(f)
    if name in ("wasserstein", "wgan-gp"):
        return E(f) - E(r), -E(f)
    if name.startswith("scoring-"):
        pi = opts.get("pi", 0.5)
        s1, s0 = scoring(X, name[len("scoring-"):])
        return pi * E(t * s1(r) + (1 - t) * s0(r)) + (1 - pi) * E(s0(f)), E(s1(f))
    if name.startswith("fgan-"):
        g_f, fstar_g = fgan_ref(X, name[len("fgan-"):])
        d = -(E(g_f(r)) - E(fstar_g(f)))
        g = -E(fstar_g(f)) if opts.get("saturating") else -E(g_f(f))
        return d, g
    raise KeyError(name)


# ---- cases ----------------------------------------------------------------------------------

CASES = [(n, {}) for n in L.objective_names()] + [
    ("least_squares", {"a": -1.0, "b": 1.0, "c": 0.0}),
    ("scoring-bernoulli", {"pi": 0.3}), ("scoring-brier", {"pi": 0.7}),
    ("scoring-exponential", {"pi": 0.25}), ("scoring-hinge", {"pi": 0.6}), ("scoring-spherical", {"pi": 0.4}),
] + [("fgan-" + d, {"saturating": True}) for d in L.F_DIVERGENCES]

SMOOTHABLE = {"minimax", "nonsaturating", "dragan", "ns-gp", "brier"} | {"scoring-" + r for r in L.SCORING_RULES}

# exponential-type objectives are evaluated on logits up to +-30 (exp(30) fits float32);
# the rest on +-30 as well: every objective is written to be finite there.
BIG = 30.0


def _logits(seed, big=BIG):
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((B, 1)) * 2.0
    f = rng.standard_normal((B, 1)) * 2.0
    r[:3, 0] = [big, -big, 0.5 * big]
    f[:3, 0] = [-big, big, -0.5 * big]
    return r.astype(np.float32), f.astype(np.float32)


def _scale_of(X, name, opts, r, f, t):
    """Typical magnitude of the summed terms (so cancellation in a mean gets a fair atol)."""
    d, g = reference(NP, name, opts, np.abs(r.astype(np.float64)), np.abs(f.astype(np.float64)), t)
    return max(abs(d), abs(g), 1.0)


def _close(got, want, atol=0.0, rtol=RTOL, what=""):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert np.all(np.isfinite(got)), what
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


def _compiled(obj, t):
    @gl.function
    def f(r, fk):
        d = obj.d_loss(r, fk, real_target=t)
        g = obj.g_loss(fk, r) if obj.needs_real_for_g else obj.g_loss(fk)
        dr, df = gl.grad(d, [r, fk])
        (gf,) = gl.grad(g, [fk])
        return d, g, dr, df, gf
    return f


def _id(c):
    return c[0] + "".join(f"-{k}={v}" for k, v in c[1].items())


# every case with real_target 1, and with 0.9 (one-sided label smoothing) where it is defined
CASES_T = [(c, 1.0) for c in CASES] + [(c, 0.9) for c in CASES if c[0] in SMOOTHABLE]
IDS_T = [_id(c) + ("" if t == 1.0 else "-smooth0.9") for c, t in CASES_T]


@pytest.mark.parametrize("case,t", CASES_T, ids=IDS_T)
def test_objective_value_matches_numpy(case, t):
    name, opts = case
    obj = L.get_objective(name, **opts)
    r, f = _logits(zlib.crc32(name.encode()) % 1000)
    d, g, *_ = _compiled(obj, t)(r, f)
    dref, gref = reference(NP, name, opts, r.astype(np.float64), f.astype(np.float64), t)
    # values: rtol 1e-5, atol a float32 rounding of the summed magnitudes (for means that cancel)
    atol = 1e-6 * _scale_of(NP, name, opts, r, f, t)
    _close(d, dref, atol, what=f"{name} d_loss")
    _close(g, gref, atol, what=f"{name} g_loss")
    # NumPy arrays in, outside a trace: evaluated at once, same numbers
    _close(obj.d_loss(r, f, real_target=t), d, rtol=1e-6)
    _close(obj.g_loss(f, r), g, rtol=1e-6)


@pytest.mark.parametrize("case,t", CASES_T, ids=IDS_T)
def test_objective_gradient_matches_torch(case, t):
    torch = pytest.importorskip("torch")
    name, opts = case
    obj = L.get_objective(name, **opts)
    r, f = _logits(zlib.crc32(name.encode()) % 1000 + 1)
    _, _, dr, df, gf = _compiled(obj, t)(r, f)
    X = _torch_ns(torch)
    tr = torch.tensor(r, dtype=torch.float64, requires_grad=True)
    tf = torch.tensor(f, dtype=torch.float64, requires_grad=True)
    dref, gref = reference(X, name, opts, tr, tf, t)
    tdr, tdf = torch.autograd.grad(dref, [tr, tf])
    (tgf,) = torch.autograd.grad(gref, [tf])
    for got, want, what in [(dr, tdr, "dD/dl_real"), (df, tdf, "dD/dl_fake"), (gf, tgf, "dG/dl_fake")]:
        want = want.numpy()
        assert got.shape == want.shape
        _close(got, want, atol=1e-7 * max(np.max(np.abs(want)), 1.0 / B), what=f"{name} {what}")


def test_losses_finite_for_extreme_logits():
    """Every objective whose true value is finite in float32 stays finite at |l| = 80."""
    r, f = _logits(5, big=80.0)
    for name in L.objective_names():
        if name in ("scoring-exponential", "fgan-kl", "fgan-hellinger", "fgan-reverse-kl"):
            continue  # exp(40) or exp(80): large but they are the true values (checked at 30 above)
        obj = L.get_objective(name)
        out = _compiled(obj, 1.0)(r, f)
        for o in out:
            assert np.all(np.isfinite(o)), name


# ---- f-GAN closed forms ---------------------------------------------------------------------

@pytest.mark.parametrize("div", list(L.F_DIVERGENCES))
def test_fgan_closed_form_equals_naive(div):
    fd = L.F_DIVERGENCES[div]
    v = np.linspace(-4.0, 4.0, 81, dtype=np.float32)[:, None]

    @gl.function
    def f(x):
        return fd.conjugate(fd.activation(x)), fd.conjugate_of_activation(x), fd.activation(x)

    naive, closed, act = f(v)
    g_np, fs_np = fgan_naive_np(div)
    v64 = v.astype(np.float64)
    want = fs_np(g_np(v64))
    # library closed form vs naive float64 composition
    _close(closed, want, rtol=1e-5, atol=1e-6, what=f"{div} closed form")
    # library naive composition (float32) vs the same
    _close(naive, want, rtol=1e-4, atol=1e-5, what=f"{div} naive")
    _close(act, g_np(v64), rtol=1e-5, atol=1e-6, what=f"{div} activation")
    # the test's own float64 reference closed forms agree with the naive composition
    gr, fsr = fgan_ref(NP, div)
    _close(fsr(v64), want, rtol=1e-12, atol=1e-12)
    _close(gr(v64), g_np(v64), rtol=1e-12, atol=1e-12)
    # the closed form is finite where the naive one is not (or where it loses all precision)
    big = np.array([[-60.0], [-30.0], [30.0], [60.0]], np.float32)
    closed_big = f(big)[1]
    assert np.all(np.isfinite(closed_big)), div


def test_fgan_js_and_gan_closed_forms_exact_at_large_v():
    v = np.array([[25.0], [40.0], [-40.0]], np.float32)
    out = gl.function(lambda x: (L.F_DIVERGENCES["js"].conjugate_of_activation(x),
                                 L.F_DIVERGENCES["gan"].conjugate_of_activation(x)))(v)
    v64 = v.astype(np.float64)
    _close(out[0], np.logaddexp(v64, 0) - np.log(2), rtol=1e-6, atol=1e-7)
    _close(out[1], np.logaddexp(v64, 0), rtol=1e-6, atol=1e-7)


# ---- label smoothing, registry, callables -------------------------------------------------

def test_label_smoothing_is_bce_with_target():
    torch = pytest.importorskip("torch")
    r, f = _logits(11)
    obj = L.get_objective("nonsaturating")
    d = obj.d_loss(r, f, real_target=0.9)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    tr, tf = torch.tensor(r, dtype=torch.float64), torch.tensor(f, dtype=torch.float64)
    want = (bce(tr, torch.full_like(tr, 0.9)) + bce(tf, torch.zeros_like(tf))).item()
    _close(d, want, rtol=1e-5, atol=1e-5)
    d1 = obj.d_loss(r, f)
    assert abs(d - d1) > 1e-3  # it does change the loss
    want1 = (bce(tr, torch.ones_like(tr)) + bce(tf, torch.zeros_like(tf))).item()
    _close(d1, want1, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["hinge", "wasserstein", "wgan-gp", "least_squares", "fgan-js"])
def test_label_smoothing_refused_where_undefined(name):
    r, f = _logits(3)
    with pytest.raises(ValueError, match="label smoothing"):
        L.get_objective(name).d_loss(r, f, real_target=0.9)
    L.get_objective(name).d_loss(r, f, real_target=1.0)


def test_real_target_range():
    r, f = _logits(3)
    with pytest.raises(ValueError):
        L.get_objective("ns").d_loss(r, f, real_target=1.5)
    with pytest.raises(ValueError):
        L.get_objective("ns").d_loss(r, f, real_target=0.0)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as e:
        L.get_objective("not-a-gan")
    msg = str(e.value)
    for n in L.objective_names(aliases=True):
        assert n in msg, n


def test_aliases_and_case():
    assert L.get_objective("NS").name == "nonsaturating"
    assert L.get_objective("gan").name == "nonsaturating"
    assert L.get_objective("LSGAN").name == "least_squares"
    assert L.get_objective("least-squares").name == "least_squares"
    assert L.get_objective("WGAN_GP").name == "wgan-gp"
    assert L.get_objective("Saturating").name == "minimax"


def test_objective_attributes():
    w = L.get_objective("wasserstein")
    assert w.clip == 0.01 and w.default_penalty is None
    gp = L.get_objective("wgan-gp")
    assert gp.clip is None and gp.default_penalty == "wgan-gp" and gp.default_penalty_weight == 10.0
    dr = L.get_objective("dragan")
    assert dr.default_penalty == "dragan" and dr.default_penalty_weight == 10.0
    ns = L.get_objective("ns-gp")
    assert ns.default_penalty == "wgan-gp" and ns.default_penalty_weight == 10.0
    for n in L.objective_names():
        o = L.get_objective(n)
        assert o.name == n and o.needs_real_for_g is False
    assert L.get_objective("scoring-brier").options == {"pi": 0.5}
    assert L.get_objective("dragan", default_penalty_weight=5).default_penalty_weight == 5.0
    assert L.get_objective(L.get_objective("hinge")).name == "hinge"


def test_bad_options():
    with pytest.raises(TypeError, match="pi"):
        L.get_objective("hinge", pi=0.3)
    with pytest.raises(ValueError):
        L.get_objective("scoring-brier", pi=1.5)
    with pytest.raises(TypeError):
        L.get_objective("fgan-kl", saturating="yes")
    with pytest.raises(TypeError):
        L.get_objective(42)


def test_user_callable_objective():
    def rel(real, fake):
        d = ops.mean(ops.softplus(-(real - ops.mean(fake))))
        g = ops.mean(ops.softplus(-(fake - ops.mean(real))))
        return d, g

    obj = L.get_objective(rel)
    assert obj.name == "rel" and obj.needs_real_for_g
    r, f = _logits(4)
    r64, f64 = r.astype(np.float64), f.astype(np.float64)
    _close(obj.d_loss(r, f), np.mean(np.logaddexp(0, -(r64 - f64.mean()))), rtol=1e-5)
    _close(obj.g_loss(f, r), np.mean(np.logaddexp(0, -(f64 - r64.mean()))), rtol=1e-5)
    with pytest.raises(ValueError, match="real"):
        obj.g_loss(f)
    with pytest.raises(ValueError, match="label smoothing"):
        obj.d_loss(r, f, real_target=0.9)
    bad = L.get_objective(lambda r, f: ops.mean(r), name="bad")
    with pytest.raises(TypeError, match="bad"):
        bad.d_loss(r, f)


def test_misclassification():
    r = np.array([2.0, -1.0, 0.0, 3.0])   # D <= 0.5 on 2 of 4 reals (l = -1 and l = 0)
    f = np.array([-1.0, 0.5, -2.0, -3.0])  # D > 0.5 on 1 of 4 fakes
    assert L.misclassification(r, f) == pytest.approx(0.5 * 0.5 + 0.5 * 0.25)
    assert L.misclassification(r, f, pi=0.2) == pytest.approx(0.2 * 0.5 + 0.8 * 0.25)
    assert L.misclassification(np.full((5, 1), 10.0), np.full((5, 1), -10.0)) == 0.0


# ---- penalties ------------------------------------------------------------------------------

def _torch_mlp_like(torch, model, act):
    layers, params = [], model.parameters()
    names = [k for k in params if k.endswith(".weight")]
    acts = {"tanh": torch.nn.Tanh, "softplus": torch.nn.Softplus, "leaky_relu": lambda: torch.nn.LeakyReLU(0.2),
            "relu": torch.nn.ReLU}
    for i, n in enumerate(names):
        w = params[n]
        lin = torch.nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.astype(np.float64)))
            lin.bias.copy_(torch.from_numpy(params[n.replace("weight", "bias")].astype(np.float64)))
        layers.append(lin)
        if i < len(names) - 1:
            layers.append(acts[act]())
    return torch.nn.Sequential(*layers)


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


@pytest.mark.parametrize("act", ["tanh", "softplus", "leaky_relu"])
@pytest.mark.parametrize("target", [1.0, 0.0])
def test_gradient_penalty_matches_torch(act, target):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    D = gl.nn.mlp(2, [32, 32], 1, act=act, seed=5)
    tD = _torch_mlp_like(torch, D, act)
    xhat = rng.standard_normal((64, 2)).astype(np.float32)

    @gl.function
    def f(xh):
        gp = L.gradient_penalty(D, xh, target=target)
        return gp, gl.grad(gp, D)

    gp, grads = f(xhat)
    tx = torch.tensor(xhat, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(tD(tx).sum(), [tx], create_graph=True)
    tgp = ((gx.norm(dim=1) - target) ** 2).mean()
    tparams = list(tD.parameters())
    tgrads = torch.autograd.grad(tgp, tparams, allow_unused=True)  # the output bias is unused
    tgrads = [torch.zeros_like(p) if g is None else g for g, p in zip(tgrads, tparams)]
    assert _rel(gp, tgp.item()) <= 1e-4
    assert len(grads) == len(tgrads)
    for g, tg, name in zip(grads, tgrads, D.parameters()):
        assert g.shape == tuple(tg.shape), name
        if not np.any(tg.numpy()):
            assert np.all(g == 0), name
            continue
        assert _rel(g, tg.numpy()) <= 1e-4, name


def test_gradient_penalty_4d_input_and_zero_gradient():
    # D(x) = sum of a linear map of the flattened image: ||grad|| = ||w|| for every sample
    w = np.arange(12, dtype=np.float32).reshape(12, 1) / 10.0

    def D(x):
        return ops.matmul(ops.flatten(x), ops.constant(w))

    x = np.random.default_rng(0).standard_normal((5, 3, 2, 2)).astype(np.float32)
    gp = gl.function(lambda xh: L.gradient_penalty(D, xh))(x)
    _close(gp, (np.linalg.norm(w.astype(np.float64)) - 1) ** 2, rtol=1e-5)

    # a constant D: gradient 0, the penalty's own gradient is finite (epsilon inside the sqrt)
    net = gl.nn.mlp(2, [4], 1, act="tanh", seed=0)
    net.parameters()["2.weight"][...] = 0.0

    @gl.function
    def f(xh):
        gp = L.gradient_penalty(net, xh)
        return gp, gl.grad(gp, net)
    gp, grads = f(np.ones((3, 2), np.float32))
    assert abs(float(gp) - 1.0) < 1e-5
    for g in grads:
        assert np.all(np.isfinite(g))


def test_interpolates_per_sample_alpha():
    rng = np.random.default_rng(0)
    xr = rng.standard_normal((256, 3)).astype(np.float32)
    xf = rng.standard_normal((256, 3)).astype(np.float32)
    f = gl.function(lambda a, b: L.interpolates(a, b), seed=3)
    xh = f(xr, xf).astype(np.float64)
    d = (xr - xf).astype(np.float64)
    alpha = np.sum((xh - xf) * d, axis=1) / np.sum(d * d, axis=1)
    # every row on the segment between its real and fake row
    np.testing.assert_allclose(xh, xf + alpha[:, None] * d, atol=1e-5)
    assert np.all(alpha >= -1e-6) and np.all(alpha <= 1 + 1e-6)
    # one alpha per row, different across rows, roughly U(0, 1)
    assert np.std(alpha) > 0.2 and len(np.unique(np.round(alpha, 4))) > 200
    assert 0.4 < alpha.mean() < 0.6
    # fresh draws each run
    assert not np.allclose(f(xr, xf), xh)

    # 4-D: one alpha per image
    xr4 = rng.standard_normal((8, 2, 3, 3)).astype(np.float32)
    xf4 = rng.standard_normal((8, 2, 3, 3)).astype(np.float32)
    xh4 = gl.function(lambda a, b: L.interpolates(a, b))(xr4, xf4).astype(np.float64)
    d4 = (xr4 - xf4).reshape(8, -1).astype(np.float64)
    e4 = (xh4 - xf4).reshape(8, -1)
    a4 = np.sum(e4 * d4, axis=1) / np.sum(d4 * d4, axis=1)
    np.testing.assert_allclose(e4, a4[:, None] * d4, atol=1e-5)
    assert len(np.unique(np.round(a4, 5))) == 8


def test_perturbed_dragan_points():
    x = np.zeros((4096, 2), np.float32)
    raw = gl.function(lambda a: L.perturbed(a, scale=0.5, data_std=2.0, interpolate=False))(x)
    assert abs(raw.std() - 1.0) < 0.05 and abs(raw.mean()) < 0.05        # 0.5 * 2 * N(0, 1)
    mixed = gl.function(lambda a: L.perturbed(a, scale=0.5, data_std=2.0))(x)
    # x + u * delta: per-row factor u ~ U(0,1), so E[(u eps)^2] = 1/3
    assert abs(np.mean(mixed ** 2) - 1.0 / 3.0) < 0.05
    uni = gl.function(lambda a: L.perturbed(a, scale=1.0, data_std=1.0, noise="uniform",
                                            interpolate=False))(x)
    assert uni.min() >= 0.0 and uni.max() <= 1.0
    xs = np.random.default_rng(0).standard_normal((4096, 2)).astype(np.float32) * 3.0
    auto = gl.function(lambda a: L.perturbed(a, scale=0.5, data_std=None, interpolate=False))(xs)
    assert abs((auto - xs).std() - 0.5 * xs.std()) < 0.1


def test_get_penalty():
    D = gl.nn.mlp(2, [16], 1, act="tanh", seed=0)
    rng = np.random.default_rng(0)
    xr = rng.standard_normal((32, 2)).astype(np.float32)
    xf = rng.standard_normal((32, 2)).astype(np.float32)
    for spec in ["wgan-gp", "dragan", None, "none", "GP"]:
        pen = L.get_penalty(spec)

        @gl.function
        def f(a, b):
            p = pen(D, a, b) + ops.mean(D(a))
            return p, gl.grad(p, D)
        p, grads = f(xr, xf)
        assert np.isfinite(p) and all(np.all(np.isfinite(g)) for g in grads)
    assert L.get_penalty(None).is_zero
    assert L.get_penalty("wgan-gp", target=0.0).options["target"] == 0.0
    custom = L.get_penalty(lambda D, a, b: L.gradient_penalty(D, a, target=0.0))
    val = gl.function(lambda a, b: custom(D, a, b))(xr, xf)
    ref = gl.function(lambda a: L.gradient_penalty(D, a, target=0.0))(xr)
    _close(val, ref, rtol=1e-6)
    with pytest.raises(ValueError, match="wgan-gp"):
        L.get_penalty("r1-ish")
    with pytest.raises(TypeError):
        L.get_penalty("dragan", sigma=2)


# ---- MMD, feature matching ------------------------------------------------------------------

def _mmd2_np(x, y, bws):
    x, y = x.astype(np.float64).reshape(len(x), -1), y.astype(np.float64).reshape(len(y), -1)

    def k(a, b):
        d2 = np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)
        return sum(np.exp(-d2 / (2 * s * s)) for s in bws).mean()
    return k(x, x) + k(y, y) - 2 * k(x, y)


def test_mmd2_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (rng.standard_normal((48, 2)) * 0.5 + 0.3).astype(np.float32)
    got = gl.function(lambda a, b: L.mmd2(a, b))(x, y)
    want = _mmd2_np(x, y, L.DEFAULT_BANDWIDTHS)
    _close(got, want, rtol=1e-4, atol=1e-6)
    assert want > 0.01
    bws = (0.3, 3.0)
    _close(L.mmd2(x, y, bws), _mmd2_np(x, y, bws), rtol=1e-4, atol=1e-6)
    # identical batches: ~0
    assert abs(L.mmd2(x, x)) < 1e-5
    # images are flattened
    xi = rng.standard_normal((16, 1, 2, 2)).astype(np.float32)
    yi = rng.standard_normal((16, 1, 2, 2)).astype(np.float32)
    _close(L.mmd2(xi, yi, (1.0, 2.0)), _mmd2_np(xi, yi, (1.0, 2.0)), rtol=1e-4, atol=1e-6)


def test_mmd2_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 2)).astype(np.float32)
    y = (rng.standard_normal((32, 2)) + 0.5).astype(np.float32)

    @gl.function
    def f(a, b):
        m = L.mmd2(a, b)
        return gl.grad(m, [b])[0]
    gy = f(x, y)
    tx = torch.tensor(x, dtype=torch.float64)
    ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)

    def k(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return sum(torch.exp(-d2 / (2 * s * s)) for s in L.DEFAULT_BANDWIDTHS).mean()
    m = k(tx, tx) + k(ty, ty) - 2 * k(tx, ty)
    (tgy,) = torch.autograd.grad(m, [ty])
    assert _rel(gy, tgy.numpy()) <= 1e-3


def test_feature_matching_and_penultimate():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 5)).astype(np.float32)
    b = rng.standard_normal((20, 5)).astype(np.float32)
    want = np.sum((a.astype(np.float64).mean(0) - b.astype(np.float64).mean(0)) ** 2)
    _close(L.feature_matching(a, b), want, rtol=1e-5)
    assert L.feature_matching(a, a) == 0.0

    D = gl.nn.mlp(2, [16, 8], 1, act="leaky_relu", seed=0)
    x = rng.standard_normal((10, 2)).astype(np.float32)
    feats = L.penultimate(D, x)
    assert feats.shape == (10, 8)
    # same as running the first four layers by hand
    p = D.parameters()
    h = x @ p["0.weight"].T + p["0.bias"]
    h = np.where(h > 0, h, 0.2 * h)
    h = h @ p["2.weight"].T + p["2.bias"]
    h = np.where(h > 0, h, 0.2 * h)
    _close(feats, h, rtol=1e-5, atol=1e-6)
    # the D's output is the last Linear on top of the features
    _close(D(x), feats @ p["4.weight"].T + p["4.bias"], rtol=1e-5, atol=1e-6)

    # traced: feature-matching generator loss differentiable through D's features
    G = gl.nn.mlp(2, [8], 2, seed=1)

    @gl.function
    def gstep(xr, z):
        loss = L.feature_matching(L.penultimate(D, xr), L.penultimate(D, G(z)))
        return loss, gl.grad(loss, G)
    loss, grads = gstep(x, rng.standard_normal((10, 2)).astype(np.float32))
    assert loss > 0 and all(np.all(np.isfinite(g)) for g in grads)
    with pytest.raises(TypeError):
        L.penultimate(lambda t: t, x)
