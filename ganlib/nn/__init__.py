"""Neural-network building blocks whose parameters live in flat C-shared buffers."""
from .init import manual_seed
from .layers import (ACTIVATIONS, Concat, Dropout, Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid,
                     Softplus, Tanh, activation, from_spec, mlp, register_spec)
from .module import Module, ParamBuffer
from .conv import AvgPool2d, Conv2d, ConvTranspose2d, Flatten, MaxPool2d, Reshape, Upsample
from .norm import BatchNorm, LayerNorm, VirtualBatchNorm
from .instance_norm import InstanceNorm2d
from .residual import ResidualBlock
from .cyclegan_presets import patch_discriminator, resnet_generator
from .presets import DCGAN_SIZES, dcgan_discriminator, dcgan_generator
from .minibatch import MinibatchDiscrimination
from .noise import GaussianNoise, WeightNormLinear
from .conditional import Conditional, ProjectionDiscriminator
from .ae_presets import (CONV_AE_SIZES, conv_decoder, conv_encoder, mlp_decoder, mlp_encoder, spatial_decoder,
                         spatial_encoder)
from .flows import MASKS as FLOW_MASKS, AffineCoupling, RealNVPFlow, Squeeze
from . import init

__all__ = ["Module", "ParamBuffer", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softplus",
           "Identity", "Dropout", "Concat", "Sequential", "mlp", "from_spec", "register_spec", "activation", "ACTIVATIONS", "init", "manual_seed",
           "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Upsample", "Flatten", "Reshape",
           "BatchNorm", "LayerNorm", "VirtualBatchNorm", "InstanceNorm2d", "ResidualBlock",
           "resnet_generator", "patch_discriminator", "MinibatchDiscrimination", "GaussianNoise",
           "WeightNormLinear", "Conditional",
           "ProjectionDiscriminator",
           "dcgan_generator", "dcgan_discriminator", "DCGAN_SIZES",
           "mlp_encoder", "mlp_decoder", "conv_encoder", "conv_decoder", "spatial_encoder", "spatial_decoder",
           "CONV_AE_SIZES",
           "AffineCoupling", "Squeeze", "RealNVPFlow", "FLOW_MASKS"]
