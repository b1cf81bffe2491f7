"""Chapter 00 (notebooks/00_clustering_basics.ipynb): the classic baselines every deep method is
measured against.

Files, in reading order:

- ``kmeans.py``: k-means (Lloyd) with k-means++ seeding, written in torch; its assignment and
  update steps are reused by the autoencoder methods of chapter 02.
- ``gmm.py``: a Gaussian mixture with diagonal covariances fitted by EM; VaDE (chapter 03)
  starts its prior from it.
- ``spectral.py``: spectral clustering of a k-nearest-neighbour graph (scikit-learn).
- ``tsne_gmm.py``: t-SNE to two dimensions, then a Gaussian mixture: the strong non-deep
  baseline that chapter 06 holds every deep method against.
"""

from .gmm import GMM
from .kmeans import KMeans
from .spectral import Spectral
from .tsne_gmm import TSNEGMM

__all__ = ["KMeans", "GMM", "Spectral", "TSNEGMM"]
