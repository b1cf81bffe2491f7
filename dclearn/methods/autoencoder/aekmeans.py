"""AE + k-means: the first baseline of notebook 02.

Pretrain the family's autoencoder (``autoencoder.pretrain_autoencoder``: DEC's
greedy layer-wise stage, then end-to-end training on the reconstruction), then run
k-means (k-means++, ``n_init`` restarts) on its embedding. Every clustering method of
the chapter starts from this partition, so its score is what they add to.
"""

from __future__ import annotations

import torch

from ...train import make_generator
from ..base import BaseClusterer
from ..classic.kmeans import assign_clusters, kmeans, squared_distances
from .pretrain import _AEMixin

__all__ = ["AEKMeans"]


class AEKMeans(_AEMixin, BaseClusterer):
    """Autoencoder + k-means: pretrain an autoencoder, then k-means on its embedding.

    The baseline every method of notebook 02 improves on. ``transform`` is the
    embedding (N x ``latent``); ``predict`` assigns new samples to the nearest
    centroid in the embedding.

    Parameters
    ----------
    n_clusters : number of clusters K.
    arch, hidden, latent, loss : the autoencoder (see ``pretrain_autoencoder``).
    pretrain_epochs, pretrain_lr, pretrain_noise, batch_size : its end-to-end training
        (Adam; masking-noise rate of the denoising autoencoder, see ``pretrain_autoencoder``).
    pretrain_layerwise_epochs : epochs per layer of DEC's greedy layer-wise stage before
        it (``arch="mlp"`` only; 0 skips it).
    pretrain_solver, pretrain_input_scale : ``"adam"`` and 1 (default), or DEC's
        reference recipe, ``"sgd"`` with the data scaled by 5 (``pretrain_autoencoder``).
    n_init : k-means restarts on the embedding.
    """

    def __init__(self, n_clusters: int = 10, arch: str = "mlp",
                 hidden: tuple = (128, 128, 512), latent: int = 10, loss: str = "mse",
                 pretrain_epochs: int = 120, pretrain_lr: float = 1e-3,
                 pretrain_noise: float = 0.0, pretrain_layerwise_epochs: int = 20,
                 pretrain_solver: str = "adam", pretrain_input_scale: float = 1.0,
                 batch_size: int = 64,
                 n_init: int = 20, random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.arch = arch
        self.hidden = hidden
        self.latent = latent
        self.loss = loss
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_noise = pretrain_noise
        self.pretrain_layerwise_epochs = pretrain_layerwise_epochs
        self.pretrain_solver = pretrain_solver
        self.pretrain_input_scale = pretrain_input_scale
        self.batch_size = batch_size
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._validate_ae_params(X)

    def _fit(self, X, y):
        self._pretrain(X)
        Z = self._embed(X)  # (N, latent)
        g = make_generator(self.seed_, "cpu")
        C, labels, inertia = kmeans(Z, self.n_clusters, int(self.n_init), generator=g)
        self.cluster_centers_ = C  # (K, latent)
        self.inertia_ = inertia
        self.history_.append({"phase": "kmeans", "inertia": inertia, **self._metrics(labels)})
        return labels

    def _predict(self, X):
        return assign_clusters(self._embed(X), self.cluster_centers_)

    def distances(self, X):
        """Squared distances (N, K) of the embedded ``X`` to the centroids (numpy)."""
        Xt = self._check_fitted_input(X)
        with torch.inference_mode():
            return squared_distances(self._embed(Xt), self.cluster_centers_).cpu().numpy()
