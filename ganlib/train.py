"""Compiled training steps: forward, gradients and optimizer update in one C call.

Examples
--------
>>> net = gl.nn.mlp(1, [32], 1, act="tanh", seed=0)
>>> step = gl.compile_step(lambda x, y: gl.ops.mean((net(x) - y) ** 2), net, gl.optim.Adam(1e-2))
>>> x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
>>> losses = [step(x, np.sin(3 * x)) for _ in range(200)]
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _C, ops
from .nn.module import Module
from .optim import Optimizer

__all__ = ["CompiledStep", "compile_step"]


class CompiledStep:
    """``loss_fn`` traced once per input shapes into one C program that computes
    the loss, writes the gradient of every parameter of ``model`` into its flat
    gradient buffer, and applies ``optimizer`` — one C call per step, the GIL
    released, no allocation.

    Calling it returns the loss as a Python float; if ``loss_fn`` returns a tuple
    ``(loss, aux...)`` the call returns ``(loss, aux arrays...)``.

    The loss and every gradient are checked before the update: a NaN or inf
    raises ``FloatingPointError`` naming it (``"compile_step: loss is inf ..."``,
    ``"compile_step: gradient of 0.weight[3] is nan ..."``) and leaves the
    parameters and the optimizer's state and step count untouched.

    The step claims ``optimizer`` (see :meth:`ganlib.optim.Optimizer._claim`):
    giving the same optimizer object to a second step raises ``ValueError``
    while the first one is alive.
    """

    def __init__(self, loss_fn: Callable[..., Any], model: Module, optimizer: Any, seed: int = 0) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"compile_step: model must be a ganlib Module, got {type(model).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError("compile_step: optimizer must be a ganlib.optim optimizer (e.g. gl.optim.Adam(1e-3)), "
                            f"got {type(optimizer).__name__}")
        if model.num_parameters() == 0:
            raise ValueError("compile_step: the model has no parameters to train")
        optimizer._claim(self, f"a compile_step of {type(model).__name__}")
        self.loss_fn, self.model, self.optimizer, self.seed = loss_fn, model, optimizer, int(seed)
        self._cache = ops.LRUCache(ops.CACHE_SIZE)   # a few input shapes; evicting frees a program's arena
        self._last: Any = None                        # the program that ran last: its RNG goes on in the next
        self._bound_buffer = None

    def _bind_optimizer(self) -> None:
        buf = self.model.buffer
        if self._bound_buffer is not buf:
            self.optimizer.bind(buf.data, buf.grad)
            self._bound_buffer = buf

    def _compile(self, shapes: tuple) -> tuple:
        tr = ops.Trace()
        tr.training = self.model.training
        with ops.tracing(tr):
            inputs = [tr.input(s) for s in shapes]
            out = self.loss_fn(*inputs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        loss = outs[0]
        if not isinstance(loss, ops.Tensor) or loss.shape != ():
            got = loss.shape if isinstance(loss, ops.Tensor) else type(loss).__name__
            raise ValueError(f"compile_step: loss_fn must return a scalar Tensor first, got {got}")
        grads = ops.grad(loss, self.model)
        named = self.model.named_grads()
        sinks = [None] * len(outs) + list(named.values())
        prog = _C.Program(tr.graph, [o.id for o in outs] + [g.id for g in grads], sinks, self.seed)
        # finite before the update, or no update: the loss, then each gradient by name
        check = [(0, "loss")] + [(len(outs) + k, f"gradient of {name}") for k, name in enumerate(named)]
        return tr, prog, ops.used_inputs(prog, inputs), len(outs), check

    def __call__(self, *args: Any) -> Any:
        arrs = [np.asarray(a) for a in args]
        key = tuple(a.shape for a in arrs)
        hit = self._cache.get(key)
        if hit is None or hit[-1] is not self.model.buffer:
            hit = (*self._compile(key), self.model.buffer)
            self._cache.put(key, hit)
        self._bind_optimizer()
        _, prog, used, nout, check, _ = hit
        if self._last is not None and self._last is not prog:
            prog.rng_state = self._last.rng_state   # one random stream, whatever the shapes
        self._last = prog
        try:
            res = prog.step([arrs[k] for k in used], [self.optimizer._c], check)
        except FloatingPointError as e:  # nothing was updated; say which step failed
            raise FloatingPointError("compile_step: " + str(e).removeprefix("Program.step: ")) from None
        loss = float(res[0])
        return loss if nout == 1 else (loss, *res[1:nout])


def compile_step(loss_fn: Callable[..., Any], model: Module, optimizer: Any, seed: int = 0) -> CompiledStep:
    """Compile ``loss_fn(*inputs)`` with gradients for ``model`` and ``optimizer``'s update.

    Parameters
    ----------
    loss_fn : callable
        Takes symbolic Tensors (one per array passed at call time) and returns a
        scalar Tensor, or a tuple whose first item is the scalar loss.
    model : Module
        Whose parameters are trained.
    optimizer : ganlib.optim optimizer
        Unbound config (e.g. ``gl.optim.Adam(1e-3)``); bound to the model here
        and claimed by this step (one optimizer object per model).
    seed : int
        Seed of the program's RNG (dropout, rand, randn inside loss_fn).

    Returns
    -------
    CompiledStep
        Call it with NumPy arrays; it returns the loss.
    """
    return CompiledStep(loss_fn, model, optimizer, seed)
