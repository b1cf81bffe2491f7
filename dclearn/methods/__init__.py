"""Clustering methods: scikit-learn style estimators, one subpackage per chapter's family.

- ``classic/`` (chapter 00), ``feedforward/`` (01), ``autoencoder/`` (02), ``vae/`` (03),
  ``gan/`` (04), ``dcfae/`` (05),
  ``dbn/`` (06: deep belief networks with maximum-margin clustering);
- ``base.py``: the estimator base class every method subclasses;
- ``restarts.py``: whole-fit restarts kept by the method's own objective;
- ``registry.py``: the estimators by short name, with their benchmark settings.
"""

from .autoencoder import DCN, DEC, DEN, DEPICT, IDEC, N2D, AEKMeans, pretrain_autoencoder
from .base import BaseClusterer
from .classic import GMM, TSNEGMM, KMeans, Spectral
from .dbn import DBNNMMC
from .dcfae import DCFAE
from .feedforward import DAC, IMSAT, RIM
from .gan import GAN, VAEGAN, CatGAN, ClusterGAN, DiscoGAN, InfoGAN
from .vae import DGG, LTVAE, VAE, ClusterCollapseWarning, VaDE

__all__ = ["BaseClusterer", "KMeans", "GMM", "Spectral", "TSNEGMM",
           "RIM", "IMSAT", "DAC",
           "AEKMeans", "pretrain_autoencoder", "DEC", "IDEC", "DCN", "DEPICT", "DEN", "N2D",
           "VAE", "VaDE", "DGG", "LTVAE", "ClusterCollapseWarning",
           "GAN", "CatGAN", "InfoGAN", "ClusterGAN", "VAEGAN", "DiscoGAN", "DCFAE", "DBNNMMC"]
