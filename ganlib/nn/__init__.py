"""Neural-network building blocks whose parameters live in flat C-shared buffers."""
from .init import manual_seed
from .layers import (ACTIVATIONS, Dropout, Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid,
                     Softplus, Tanh, activation, from_spec, mlp, register_spec)
from .module import Module, ParamBuffer
from . import init

__all__ = ["Module", "ParamBuffer", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softplus",
           "Identity", "Dropout", "Sequential", "mlp", "from_spec", "register_spec", "activation", "ACTIVATIONS", "init", "manual_seed"]
