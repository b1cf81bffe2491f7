"""Chapter 05 (notebooks/05_dcfae.ipynb): DCFAE, deep clustering with a fusion autoencoder.

Chang, "Deep clustering with fusion autoencoder", arXiv 2201.04727 (2022). Files in
reading order:

- ``fusion.py``: the fusion autoencoder's objective, a VAE plus a GAN on its
  reconstructions (``fused_autoencoder_loss``, ``discriminator_loss``);
- ``networks.py``: residual encoder, decoder and discriminator, the dense grouper;
- ``similarity.py``: Student-t pair similarities and the grouper's cross-entropy
  (``student_t_similarities``, ``pairwise_cross_entropy``);
- ``augment.py``: random rotations and shifts of a batch, vectorised;
- ``dcfae.py``: the estimator ``DCFAE`` (two training stages, then k-means or spectral
  clustering), its ablation switches and the decisions where the authors' code differs.
- ``dcfae_model.py``: what a fitted DCFAE computes: embedding, labels of new images,
  decoding, sampling.
"""

from .augment import random_rotate_shift
from .dcfae import DCFAE
from .fusion import (
    discriminator_loss,
    fused_autoencoder_loss,
    generator_loss,
    reconstruction_cross_entropy,
)
from .networks import Discriminator, FusionAutoencoder, Grouper, fae_channels
from .similarity import pairwise_cross_entropy, squared_distances, student_t_similarities

__all__ = ["DCFAE", "fused_autoencoder_loss", "discriminator_loss", "generator_loss",
           "reconstruction_cross_entropy",
           "FusionAutoencoder", "Discriminator", "Grouper", "fae_channels",
           "student_t_similarities", "pairwise_cross_entropy", "squared_distances",
           "random_rotate_shift"]
