"""Dense layers, activations and containers."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import ops
from .._checks import check_bool, check_int, check_range, check_real
from . import init as _init
from .module import Module

__all__ = ["Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softplus", "Identity", "Dropout",
           "Concat", "Sequential", "activation", "ACTIVATIONS"]


def _rng(seed: int | None, what: str = "seed") -> np.random.Generator:
    return _init.default_rng() if seed is None else np.random.default_rng(check_int(what, seed, 0))


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    init : {"torch", "normal", "xavier", "xavier_normal", "he_modified"}
        Weight initialisation ("torch": PyTorch's default U(+-1/sqrt(in))).
        The bias uses PyTorch's default, except "normal" / "xavier*" set it to 0.
    seed : int, optional
        Seed of the initialisation (else the generator set by ``gl.manual_seed``).

    Examples
    --------
    >>> lin = gl.nn.Linear(2, 3, seed=0)
    >>> lin(np.ones((4, 2), np.float32)).shape
    (4, 3)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "torch", seed: int | None = None) -> None:
        super().__init__()
        in_features = check_int("Linear: in_features", in_features, 1)
        out_features = check_int("Linear: out_features", out_features, 1)
        bias = check_bool("Linear: bias", bias)
        if not isinstance(init, str) or init not in _init.INITS:
            raise ValueError(f"Linear: unknown init {init!r}; known: {sorted(_init.INITS)}")
        self.in_features, self.out_features, self.has_bias = in_features, out_features, bias
        rng = _rng(seed, "Linear: seed")
        self.add_param("weight", (out_features, in_features), _init.INITS[init], rng)
        if bias:
            binit = _init.torch_default if _init.INITS[init] is _init.torch_default else _init.zeros
            self.add_param("bias", (out_features,), binit, rng, fan_in=in_features)

    def spec(self) -> dict:
        return {"type": "Linear", "in": self.in_features, "out": self.out_features, "bias": self.has_bias}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): expected input of shape "
                             f"(batch, {self.in_features}), got {x.shape}")
        y = ops.matmul(x, self.p("weight"), trans_b=True)
        return ops.add(y, self.p("bias")) if self.has_bias else y

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.has_bias})"


class _Act(Module):
    fn = staticmethod(lambda x: x)

    def spec(self) -> dict:
        return {"type": type(self).__name__}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        return type(self).fn(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Act):
    fn = staticmethod(ops.relu)


class Tanh(_Act):
    fn = staticmethod(ops.tanh)


class Sigmoid(_Act):
    fn = staticmethod(ops.sigmoid)


class Softplus(_Act):
    fn = staticmethod(ops.softplus)


class Identity(_Act):
    pass


class LeakyReLU(Module):
    """x if x > 0 else slope * x (slope 0.2 is the GAN custom; PyTorch's default is 0.01)."""

    def __init__(self, slope: float = 0.2) -> None:
        super().__init__()
        self.slope = check_real("LeakyReLU: slope", slope)

    def spec(self) -> dict:
        return {"type": "LeakyReLU", "slope": self.slope}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        return ops.leaky_relu(x, self.slope)

    def __repr__(self) -> str:
        return f"LeakyReLU({self.slope})"


class Concat(Module):
    """Joins its inputs along axis 1 (features), e.g. a conditional generator's ``G(z, y)``.

    With several inputs, an input of more than two dimensions (an image batch) is
    flattened to ``(N, features)`` first, so a conditional MLP encoder takes ``E(x, y)``
    for images ``x`` and one-hot labels ``y``.

    Examples
    --------
    >>> G = gl.nn.Sequential(gl.nn.Concat(), gl.nn.Linear(2 + 10, 2))
    >>> G(np.zeros((5, 2), np.float32), np.eye(10, dtype=np.float32)[:5]).shape
    (5, 2)
    """

    def spec(self) -> dict:
        return {"type": "Concat"}

    def forward(self, *inputs: ops.Tensor) -> ops.Tensor:
        if len(inputs) == 1:
            return inputs[0]
        return ops.concat([ops.flatten(x) if x.ndim > 2 else x for x in inputs], axis=1)

    def __repr__(self) -> str:
        return "Concat()"


class Dropout(Module):
    """Zero activations with probability p while training (seeded by the program RNG)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p_drop = check_range("Dropout: p", p, 0.0, 1.0, high_open=True)

    def spec(self) -> dict:
        return {"type": "Dropout", "p": self.p_drop}

    def forward(self, x: ops.Tensor) -> ops.Tensor:
        return ops.dropout(x, self.p_drop, training=self.training)

    def __repr__(self) -> str:
        return f"Dropout({self.p_drop})"


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid,
               "softplus": Softplus, "identity": Identity, None: Identity}


def activation(name: Any) -> Module:
    """An activation module from a name ("relu", "leaky_relu", "tanh", ...) or a Module."""
    if isinstance(name, Module):
        return name
    if not (name is None or isinstance(name, str)) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(k for k in ACTIVATIONS if k)}")
    return ACTIVATIONS[name]()


class Sequential(Module):
    """Modules applied in order; their parameters move into one flat buffer.

    Examples
    --------
    >>> net = gl.nn.Sequential(gl.nn.Linear(2, 8), gl.nn.ReLU(), gl.nn.Linear(8, 1))
    >>> list(net.parameters())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            self.add_child(str(i), layer)
        self._adopt_children()

    def __len__(self) -> int:
        return len(self._children)

    def __getitem__(self, i: int) -> Module:
        return list(self._children.values())[i]

    def spec(self) -> dict:
        return {"type": "Sequential", "layers": [m.spec() for m in self._children.values()]}

    def forward(self, *inputs: ops.Tensor) -> ops.Tensor:
        """The first layer takes every input (e.g. :class:`Concat` for ``G(z, y)``), the rest one."""
        x = None
        for k, layer in enumerate(self._children.values()):
            x = layer(*inputs) if k == 0 else layer(x)
        if x is None:
            if len(inputs) != 1:
                raise TypeError("an empty Sequential passes one input through")
            x = inputs[0]
        return x

    def __repr__(self) -> str:
        inner = ",\n  ".join(f"({k}): {v!r}" for k, v in self._children.items())
        return f"Sequential(\n  {inner}\n)"


def mlp(in_features: int, hidden: Sequence[int] | int, out_features: int, act: Any = "relu",
        out_act: Any = None, init: str = "torch", seed: int | None = None, num_classes: int | None = None,
        embed_dim: int | None = None, conditioning: str = "concat") -> Module:
    """A multilayer perceptron: Linear, act, ..., Linear[, out_act].

    Parameters
    ----------
    in_features, out_features : int
    hidden : int or list of int
        Widths of the hidden layers.
    act, out_act : str or Module or None
        Hidden activation ("relu", "leaky_relu", "tanh", "sigmoid", "softplus") and
        output activation (None: linear output).
    init : str
        Weight initialisation of every Linear (see :class:`Linear`).
    seed : int, optional
        Seed of the initialisation.
    num_classes : int, optional
        K: make the network class-conditional (labels as one-hot rows ``(N, K)``), in
        the way ``conditioning`` names. Default None: the plain MLP, unchanged.
    embed_dim : int, optional
        With ``conditioning="concat"``: the label enters as a learned embedding of
        this width instead of the one-hot row.
    conditioning : {"concat", "projection", "classifier"}
        "concat": :class:`~ganlib.nn.Conditional`, called ``net(x, y)``, the label
        joined to the input (generators, and discriminators);
        "projection": a projection discriminator ``net(x, y)`` (``out_features`` must
        be 1, at least one hidden layer, no ``out_act``);
        "classifier": an AC-GAN discriminator ``net(x)`` with ``out_features + K``
        outputs (the source logit(s), then K class logits).

    Examples
    --------
    >>> G = gl.nn.mlp(2, [128, 128], 2, seed=0)
    >>> G(np.zeros((5, 2), np.float32)).shape
    (5, 2)
    >>> Gc = gl.nn.mlp(2, [32], 2, num_classes=4, seed=0)
    >>> Gc(np.zeros((5, 2), np.float32), np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]]).shape
    (5, 2)
    """
    in_features = check_int("mlp: in_features", in_features, 1)
    out_features = check_int("mlp: out_features", out_features, 1)
    if isinstance(hidden, (str, bytes)) or not (isinstance(hidden, (list, tuple, range, np.ndarray)) or
                                                 (not isinstance(hidden, bool) and
                                                  isinstance(hidden, (int, np.integer)))):
        raise TypeError(f"mlp: hidden must be an int or a list of ints, got {type(hidden).__name__} {hidden!r}")
    hidden = [hidden] if np.ndim(hidden) == 0 else list(hidden)
    hidden = [check_int(f"mlp: hidden[{k}]", h, 1) for k, h in enumerate(hidden)]
    rng = _rng(seed, "mlp: seed")
    if num_classes is None:
        if embed_dim is not None or conditioning != "concat":
            raise ValueError("mlp: embed_dim and conditioning apply to a class-conditional net; pass num_classes=K")
        return _mlp(in_features, hidden, out_features, act, out_act, init, rng)
    from .conditional import Conditional, ProjectionDiscriminator, check_conditioning
    k = check_int("mlp: num_classes", num_classes, 1)
    conditioning = check_conditioning("mlp", conditioning, ("concat", "projection", "classifier"))
    if conditioning != "concat" and embed_dim is not None:
        raise ValueError(f"mlp: embed_dim is for conditioning='concat'; with {conditioning!r} the label is "
                         "not an input")
    if conditioning == "classifier":
        return _mlp(in_features, hidden, out_features + k, act, out_act, init, rng)
    if conditioning == "projection":
        if out_features != 1 or out_act is not None or not hidden:
            raise ValueError("mlp: a projection discriminator has out_features=1, no out_act and at least one "
                             f"hidden layer, got out_features={out_features}, out_act={out_act!r}, hidden={hidden}")
        body = _mlp(in_features, hidden[:-1], hidden[-1], act, act, init, rng)
        return ProjectionDiscriminator(body, hidden[-1], k, seed=int(rng.integers(2**31)))
    e = k if embed_dim is None else check_int("mlp: embed_dim", embed_dim, 1)
    net = _mlp(in_features + e, hidden, out_features, act, out_act, init, rng)
    return Conditional(net, k, embed_dim=embed_dim, seed=int(rng.integers(2**31)))


def _mlp(in_features: int, hidden: list, out_features: int, act: Any, out_act: Any, init: str,
         rng: np.random.Generator) -> Sequential:
    sizes = [in_features] + hidden + [out_features]
    layers: list[Module] = []
    for i in range(len(sizes) - 1):
        layers.append(Linear(sizes[i], sizes[i + 1], init=init, seed=int(rng.integers(2**31))))
        last = i == len(sizes) - 2
        if not last:
            layers.append(activation(act) if not isinstance(act, Module) else act)
        elif out_act is not None:
            layers.append(activation(out_act))
    return Sequential(*layers)


__all__.append("mlp")


_SPEC_TYPES = {"Linear": lambda d: Linear(d["in"], d["out"], bias=d.get("bias", True), seed=0),
               "ReLU": lambda d: ReLU(), "Tanh": lambda d: Tanh(), "Sigmoid": lambda d: Sigmoid(),
               "Softplus": lambda d: Softplus(), "Identity": lambda d: Identity(),
               "LeakyReLU": lambda d: LeakyReLU(d["slope"]), "Dropout": lambda d: Dropout(d["p"]),
               "Concat": lambda d: Concat(),
               "Sequential": lambda d: Sequential(*[from_spec(x) for x in d["layers"]])}


def register_spec(type_name: str, build: Any) -> None:
    """Teach :func:`from_spec` a module type: ``build(spec_dict) -> Module``."""
    _SPEC_TYPES[type_name] = build


def from_spec(spec: dict) -> Module:
    """Rebuild a module (architecture only; parameters freshly initialised) from ``module.spec()``.

    Examples
    --------
    >>> net = gl.nn.mlp(2, [8], 1)
    >>> twin = gl.nn.from_spec(net.spec()); twin.load_state_dict(net.state_dict())
    """
    if not isinstance(spec, dict) or spec.get("type") not in _SPEC_TYPES:
        known = sorted(_SPEC_TYPES)
        raise ValueError(f"from_spec: unknown module spec {spec!r}; known types: {known}")
    return _SPEC_TYPES[spec["type"]](spec)


__all__ += ["from_spec", "register_spec"]
