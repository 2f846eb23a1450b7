"""Class-conditional networks: how a label enters a generator or a discriminator.

Labels reach a network as one-hot rows ``(N, K)`` (what a labelled data stream gives a
phase). Two wrappers make any network conditional:

* :class:`Conditional` — ``net(concat(x, e(y)))``: the one-hot row itself, or a learned
  embedding of it, joins the input (as extra feature columns, or for images as constant
  extra channels);
* :class:`ProjectionDiscriminator` — Miyato & Koyama (2018): ``w·φ(x) + b + <V y, φ(x)>``,
  the label projected onto the body's features φ(x).

Both are registered specs, so ``gl.nn.from_spec`` and checkpoints rebuild them.
"""
from __future__ import annotations

from typing import Any

from .. import ops
from .._checks import check_bool, check_int
from .layers import Linear, _rng, from_spec, register_spec
from .module import Module

__all__ = ["Conditional", "ProjectionDiscriminator"]


def _check_onehot(y: ops.Tensor, n: int, k: int, what: str) -> None:
    if y.ndim != 2 or y.shape != (n, k):
        raise ValueError(f"{what}: labels must be one-hot rows of shape ({n}, {k}), got {y.shape}")


class Conditional(Module):
    """``net(concat(x, e(y)))``: a network that also reads a class label.

    Parameters
    ----------
    net : Module
        The network; its input width (or channel count) includes the label's ``E`` columns.
    num_classes : int
        K.
    embed_dim : int, optional
        E: the label enters as a learned embedding of this width (a bias-free
        ``Linear(K, E)`` of the one-hot row); default: the one-hot row itself (E = K).
    maps : bool
        Images ``(N, C, H, W)`` get the label as E constant channels (C + E input
        channels); otherwise image inputs are flattened and the label joins as columns.
    seed : int, optional
        Seed of the embedding's initialisation.

    Examples
    --------
    >>> G = gl.nn.Conditional(gl.nn.mlp(2 + 3, [16], 2, seed=0), num_classes=3)
    >>> G(np.zeros((4, 2), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]).shape
    (4, 2)
    """

    def __init__(self, net: Module, num_classes: int, embed_dim: int | None = None, maps: bool = False,
                 seed: int | None = None) -> None:
        super().__init__()
        if not isinstance(net, Module):
            raise TypeError(f"Conditional: net must be a ganlib Module, got {type(net).__name__}")
        self.num_classes = check_int("Conditional: num_classes", num_classes, 1)
        self.embed_dim = None if embed_dim is None else check_int("Conditional: embed_dim", embed_dim, 1)
        self.maps = check_bool("Conditional: maps", maps)
        self.add_child("net", net)
        if self.embed_dim is not None:
            self.add_child("embed", Linear(self.num_classes, self.embed_dim, bias=False, init="xavier",
                                           seed=int(_rng(seed, "Conditional: seed").integers(2**31))))
        self._adopt_children()

    @property
    def label_width(self) -> int:
        """E: the columns (or channels) the label adds to the input."""
        return self.num_classes if self.embed_dim is None else self.embed_dim

    def spec(self) -> dict:
        return {"type": "Conditional", "net": self._children["net"].spec(), "num_classes": self.num_classes,
                "embed_dim": self.embed_dim, "maps": self.maps}

    def forward(self, x: ops.Tensor, y: ops.Tensor) -> ops.Tensor:
        _check_onehot(y, x.shape[0], self.num_classes, "Conditional")
        e = self._children["embed"](y) if self.embed_dim is not None else y
        if self.maps and x.ndim == 4:
            n, _, h, w = x.shape
            planes = ops.broadcast_to(ops.reshape(e, (n, self.label_width, 1, 1)), (n, self.label_width, h, w))
            return self._children["net"](ops.concat([x, planes], axis=1))
        return self._children["net"](ops.concat([ops.flatten(x) if x.ndim > 2 else x, e], axis=1))

    def __repr__(self) -> str:
        return (f"Conditional(num_classes={self.num_classes}, embed_dim={self.embed_dim}, maps={self.maps},\n"
                f"  net={self._children['net']!r})")


class ProjectionDiscriminator(Module):
    """The projection discriminator (Miyato & Koyama 2018): ``D(x, y) = w·φ(x) + b + <V y, φ(x)>``.

    Parameters
    ----------
    body : Module
        φ: inputs -> features ``(N, features)``.
    features : int
        The width of φ(x).
    num_classes : int
        K; V is a learned ``(features, K)`` class embedding.
    seed : int, optional
        Seed of the head's and the embedding's initialisation.

    Examples
    --------
    >>> body = gl.nn.Sequential(gl.nn.Linear(2, 16), gl.nn.ReLU())
    >>> D = gl.nn.ProjectionDiscriminator(body, 16, num_classes=3, seed=0)
    >>> D(np.zeros((4, 2), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]).shape
    (4, 1)
    """

    def __init__(self, body: Module, features: int, num_classes: int, seed: int | None = None) -> None:
        super().__init__()
        if not isinstance(body, Module):
            raise TypeError(f"ProjectionDiscriminator: body must be a ganlib Module, got {type(body).__name__}")
        self.features = check_int("ProjectionDiscriminator: features", features, 1)
        self.num_classes = check_int("ProjectionDiscriminator: num_classes", num_classes, 1)
        rng = _rng(seed, "ProjectionDiscriminator: seed")
        self.add_child("body", body)
        self.add_child("head", Linear(self.features, 1, init="xavier", seed=int(rng.integers(2**31))))
        self.add_child("embed", Linear(self.num_classes, self.features, bias=False, init="xavier",
                                       seed=int(rng.integers(2**31))))
        self._adopt_children()

    def spec(self) -> dict:
        return {"type": "ProjectionDiscriminator", "body": self._children["body"].spec(),
                "features": self.features, "num_classes": self.num_classes}

    def forward(self, x: ops.Tensor, y: ops.Tensor) -> ops.Tensor:
        _check_onehot(y, x.shape[0], self.num_classes, "ProjectionDiscriminator")
        h = self._children["body"](x)
        if h.ndim != 2 or h.shape[1] != self.features:
            raise ValueError(f"ProjectionDiscriminator: the body must give features of shape (N, {self.features}), "
                             f"got {h.shape}")
        proj = ops.sum(ops.mul(h, self._children["embed"](y)), axis=1, keepdims=True)
        return self._children["head"](h) + proj

    def __repr__(self) -> str:
        return (f"ProjectionDiscriminator(features={self.features}, num_classes={self.num_classes},\n"
                f"  body={self._children['body']!r})")


def _conditional_from_spec(d: dict) -> Module:
    return Conditional(from_spec(d["net"]), d["num_classes"], embed_dim=d.get("embed_dim"), maps=d.get("maps", False),
                       seed=0)


def _projection_from_spec(d: dict) -> Module:
    return ProjectionDiscriminator(from_spec(d["body"]), d["features"], d["num_classes"], seed=0)


register_spec("Conditional", _conditional_from_spec)
register_spec("ProjectionDiscriminator", _projection_from_spec)


def check_conditioning(what: str, conditioning: Any, choices: tuple) -> str:
    """One of ``choices`` (the ways a label can enter a preset network)."""
    if not isinstance(conditioning, str) or conditioning not in choices:
        raise ValueError(f"{what}: conditioning must be one of {choices}, got {conditioning!r}")
    return conditioning
