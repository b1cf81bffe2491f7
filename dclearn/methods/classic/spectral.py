"""Spectral clustering on a k-nearest-neighbour graph (Ng, Jordan and Weiss, NIPS 2001).

Build a symmetric graph joining each sample to its ``n_neighbors`` nearest neighbours,
embed the samples with the leading eigenvectors of the graph's normalised Laplacian, and
run k-means there (the paper's algorithm, steps 1-5, with a kNN graph in place of the
Gaussian affinity). Clusters may then follow any shape the graph connects, where k-means
on the raw inputs can only cut the space into convex cells. scikit-learn does the work;
this file wraps it as a course estimator for the comparison of chapter 06. Like t-SNE it is
transductive: the eigenvectors exist only for the samples of the graph, so there is no
``predict``.
"""

from __future__ import annotations

import torch

from ..base import BaseClusterer

__all__ = ["Spectral"]


class Spectral(BaseClusterer):
    """Spectral clustering of a kNN graph (transductive).

    Parameters
    ----------
    n_clusters : number of clusters K (and of eigenvectors kept).
    n_neighbors : neighbours per sample in the graph.
    n_init : k-means restarts in the spectral embedding.
    random_state, device, verbose : as every dclearn estimator (scikit-learn, on the CPU).

    Attributes
    ----------
    labels_ : (N,) int64.
    affinity_matrix_ : the (N, N) sparse kNN graph.
    """

    def __init__(self, n_clusters: int = 10, n_neighbors: int = 10, n_init: int = 10,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.n_neighbors = n_neighbors
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._check_positive(n_neighbors=self.n_neighbors, n_init=self.n_init)
        if int(self.n_neighbors) >= X.shape[0]:
            raise ValueError(f"n_neighbors must be smaller than the number of samples "
                             f"({X.shape[0]}), got {self.n_neighbors!r}.")

    def _fit(self, X, y):
        from sklearn.cluster import SpectralClustering

        sc = SpectralClustering(self.n_clusters, affinity="nearest_neighbors",
                                n_neighbors=int(self.n_neighbors), n_init=int(self.n_init),
                                assign_labels="kmeans", random_state=self.seed_)
        labels = sc.fit_predict(X.reshape(X.shape[0], -1).cpu().double().numpy())
        self.affinity_matrix_ = sc.affinity_matrix_
        self.history_.append({"phase": "spectral", **self._metrics(labels)})
        return labels

    def _predict(self, X: torch.Tensor):
        raise NotImplementedError(
            "Spectral cannot label new samples: its embedding exists only for the graph's "
            "samples (it is transductive). Fit again on all the samples.")
