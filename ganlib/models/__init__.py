"""Model families, each a :class:`ganlib.Trainer` built from presets and phase functions.

* :class:`GAN` — generator and discriminator with any objective of ``gl.losses``;
* :class:`Autoencoder` — plain, dropout-on-code, denoising, linear (PCA);
* :class:`VAE` / :class:`ConditionalVAE` — Bernoulli or Gaussian decoder, β, KL warm-up,
  dynamic binarisation, importance-weighted log-likelihood;
* :class:`AAE` — adversarial autoencoders with Gaussian, mixture and label-conditioned
  mixture priors, unsupervised clustering and the supervised (style x label) variant;
* :class:`ACAI` — an autoencoder whose decoded interpolations a critic must not tell
  from data (adversarially constrained interpolation);
* :class:`VQVAE` — a vector-quantised autoencoder (gradient or EMA codebook, dead-code
  restarts, codebook usage);
* :class:`AlphaGAN` — α-GAN: encoder, generator, data and code discriminators;
* :class:`ConditionalGAN` / :class:`ACGAN` — class-conditional GANs (label joined to the
  input, projection discriminator, or AC-GAN's auxiliary classifier);
* :class:`CycleGAN` — unpaired translation between two image domains (two generators, two
  least-squares discriminators, cycle and identity losses, history pools).
* :class:`RealNVP` — a Real NVP normalising flow with exact likelihood, trained by maximum
  likelihood (dequantised, logit-transformed 8-bit images; bits/dim).
* :class:`SemiSupervisedGAN` — a K-class discriminator trained on labelled and unlabelled
  streams, G by feature matching (Salimans et al. 2016); :func:`balanced_subset` draws the
  labelled examples.

The VAE also carries the Lipschitz-encoding regulariser (``VAE(lipschitz=30,
encoder_clip=0.3)``).

Examples
--------
>>> vae = gl.models.VAE((1, 28, 28), latent_dim=20, hidden=[200], seed=0)
>>> vae.encode(np.zeros((3, 1, 28, 28), np.float32)).shape
(3, 20)
"""
from ..gan import GAN
from .aae import AAE
from .acai import ACAI
from .alphagan import AlphaGAN
from .autoencoder import Autoencoder
from .conditional_gan import ACGAN, ConditionalGAN
from .cyclegan import CycleGAN
from .realnvp import RealNVP
from .semisupervised_gan import SemiSupervisedGAN, balanced_subset
from .vae import VAE, ConditionalVAE, LogLikelihood
from .vqvae import VQVAE, Codebook

__all__ = ["GAN", "Autoencoder", "VAE", "ConditionalVAE", "LogLikelihood", "AAE", "ACAI", "VQVAE", "Codebook",
           "AlphaGAN", "ConditionalGAN", "ACGAN", "CycleGAN", "RealNVP", "SemiSupervisedGAN", "balanced_subset"]
