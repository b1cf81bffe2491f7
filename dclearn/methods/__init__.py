"""Clustering methods, one file each, all scikit-learn style estimators."""

from .aekmeans import AEKMeans
from .autoencoder import pretrain_autoencoder
from .base import BaseClusterer
from .dac import DAC
from .dcn import DCN
from .dec import DEC
from .den import DEN
from .depict import DEPICT
from .dgg import DGG
from .gmm import GMM
from .idec import IDEC
from .imsat import IMSAT
from .kmeans import KMeans
from .ltvae import LTVAE
from .rim import RIM
from .vade import ClusterCollapseWarning, VaDE
from .vae import VAE

__all__ = ["BaseClusterer", "KMeans", "GMM", "AEKMeans", "pretrain_autoencoder", "DEC", "IDEC",
           "DCN", "DEPICT", "DEN", "RIM", "IMSAT", "DAC",
           "VAE", "VaDE", "DGG", "LTVAE", "ClusterCollapseWarning"]
