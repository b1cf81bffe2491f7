"""Chapter 03 (notebooks/03_vae.ipynb): variational autoencoders and their mixture priors.

Files, in reading order:

- ``vae.py``: the VAE (reparameterisation, Gaussian KL, ELBO) and VAE + k-means.
- ``mixture_prior.py``: VaDE's Gaussian-mixture prior: responsibilities, ELBO terms, its GMM
  start and the collapse check.
- ``vae_transfer.py``: from a pretrained autoencoder (chapter 02) to a VAE's encoder.
- ``vade_model.py``: VaDE's fitted network and what is computed from it (sampling, scores).
- ``vade.py``: the VaDE estimator, with restarts kept by the ELBO.
- ``dgg.py``: DGG, VaDE plus a graph term over nearest neighbours in the embedding.
- ``ltvae_tree.py``, ``ltvae_structure.py``, ``ltvae_model.py``, ``ltvae.py``: LTVAE's latent
  tree prior, its structure search, its fitted model, and the estimator.
"""

from .dgg import DGG
from .ltvae import LTVAE
from .mixture_prior import ClusterCollapseWarning
from .vade import VaDE
from .vae import VAE

__all__ = ["VAE", "VaDE", "DGG", "LTVAE", "ClusterCollapseWarning"]
