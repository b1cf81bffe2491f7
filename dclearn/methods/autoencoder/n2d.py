"""N2D: "(Not Too) Deep Clustering via Clustering the Local Manifold of an Autoencoded
Embedding" (McConville, Santos-Rodriguez, Piechocki and Craddock, ICPR 2020).

Three steps, none of them trained for clustering: (1) pretrain an autoencoder on the
reconstruction alone (here the chapter's shared autoencoder, ``pretrain_autoencoder``, with
the same defaults as AE + k-means); (2) learn the local manifold of its embedding with a
manifold learner; (3) fit a Gaussian mixture in that low-dimensional map. The paper's
manifold learner is UMAP (with Isomap and t-SNE compared in its section IV); scikit-learn has
no UMAP, so this library offers its two neighbours in the paper's comparison:
``manifold="tsne"`` (2-D Barnes-Hut t-SNE, the default) and ``"isomap"``
(``n_components`` dimensions). The point the paper makes, and chapter 06 measures: the
autoencoder's embedding already holds the clusters, and a manifold learner that keeps local
neighbourhoods separates them better than k-means or a clustering loss does.

With t-SNE the map exists only for the training samples, so ``predict`` raises (refit with
the new samples); Isomap maps new samples through its neighbourhood graph, so
``predict`` works with ``manifold="isomap"``. ``transform`` is the autoencoder's embedding.
"""

from __future__ import annotations

import numpy as np
import torch

from ..base import BaseClusterer
from ..classic.tsne_gmm import MANIFOLDS, manifold_gmm
from .pretrain import _AEMixin

__all__ = ["N2D"]


class N2D(_AEMixin, BaseClusterer):
    """Autoencoder embedding, then a manifold learner, then a Gaussian mixture.

    Parameters
    ----------
    n_clusters : number of mixture components K.
    arch, hidden, latent, loss, pretrain_* , batch_size : the autoencoder, as in
        ``AEKMeans`` (``pretrain_autoencoder``).
    manifold : ``"tsne"`` (2-D, default) or ``"isomap"``.
    perplexity : t-SNE's effective number of neighbours.
    n_neighbors, n_components : Isomap's graph and output dimension.
    gmm_n_init : EM starts of the mixture; the highest likelihood is kept.
    n_init : unused by the method itself; kept so that the shared autoencoder checks and
        settings of chapter 02 apply unchanged.

    Attributes
    ----------
    labels_ : (N,) int64.
    embedding_ : (N, n_components) float32 map of the training samples.
    gmm_ : the fitted ``GaussianMixture``.
    """

    def __init__(self, n_clusters: int = 10, arch: str = "mlp",
                 hidden: tuple = (128, 128, 512), latent: int = 10, loss: str = "mse",
                 pretrain_epochs: int = 120, pretrain_lr: float = 1e-3,
                 pretrain_noise: float = 0.0, pretrain_layerwise_epochs: int = 20,
                 pretrain_solver: str = "adam", pretrain_input_scale: float = 1.0,
                 batch_size: int = 64, manifold: str = "tsne", perplexity: float = 30.0,
                 n_neighbors: int = 10, n_components: int = 2, gmm_n_init: int = 10,
                 n_init: int = 1, random_state: int | None = None, device: str = "auto",
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
        self.manifold = manifold
        self.perplexity = perplexity
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.gmm_n_init = gmm_n_init
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._validate_ae_params(X)
        if self.manifold not in MANIFOLDS:
            raise ValueError(f"manifold must be one of {MANIFOLDS}, got {self.manifold!r}.")
        self._check_positive(perplexity=self.perplexity, n_neighbors=self.n_neighbors,
                             n_components=self.n_components, gmm_n_init=self.gmm_n_init)
        if self.manifold == "tsne" and int(self.n_components) > 3:
            raise ValueError("t-SNE (Barnes-Hut) maps to at most 3 dimensions; got "
                             f"n_components={self.n_components!r}.")
        if max(self.perplexity, self.n_neighbors) >= X.shape[0]:
            raise ValueError(f"perplexity and n_neighbors must be smaller than the number of "
                             f"samples ({X.shape[0]}).")

    def _fit(self, X, y):
        self._pretrain(X)
        Z = self._embed(X).cpu().numpy()  # (N, latent)
        labels, self.embedding_, self.gmm_, mapper = manifold_gmm(
            Z, self.n_clusters, self.seed_, self.manifold, perplexity=float(self.perplexity),
            n_neighbors=int(self.n_neighbors), n_components=int(self.n_components),
            gmm_n_init=int(self.gmm_n_init))
        if self.manifold == "isomap":  # Isomap maps new samples too: keep it for predict
            self.isomap_ = mapper
        self.history_.append({"phase": f"{self.manifold}+gmm",
                              "log_likelihood": float(self.gmm_.lower_bound_),
                              **self._metrics(labels)})
        return labels

    def _predict(self, X: torch.Tensor):
        if self.manifold != "isomap":
            raise NotImplementedError(
                "N2D with manifold='tsne' cannot label new samples: t-SNE maps only the "
                "samples it was fitted on. Refit with them, or use manifold='isomap'.")
        E = self.isomap_.transform(self._embed(X).cpu().numpy())
        return torch.from_numpy(np.asarray(self.gmm_.predict(E), dtype=np.int64))
