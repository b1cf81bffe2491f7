"""Clustering methods, one file each, all scikit-learn style estimators."""

from .base import BaseClusterer
from .gmm import GMM
from .kmeans import KMeans

__all__ = ["BaseClusterer", "KMeans", "GMM"]
