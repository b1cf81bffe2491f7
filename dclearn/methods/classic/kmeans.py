"""k-means (Lloyd 1982) written in torch, with k-means++ seeding (Arthur and Vassilvitskii 2007).

Taught in notebook 00. Each iteration alternates the two steps that decrease the
within-cluster sum of squares ``sum_i ||x_i - mu_{c_i}||^2``: assign every point
to its nearest centroid, then move every centroid to the mean of its points.
Running on the device lets deep methods (DEC, DCN, ...) initialise their
centroids on the GPU without a round trip to scikit-learn.
"""

from __future__ import annotations

import torch

from ..base import BaseClusterer

__all__ = ["KMeans", "kmeans", "kmeans_plusplus", "assign_clusters", "update_centroids",
           "squared_distances"]


def squared_distances(X: torch.Tensor, C: torch.Tensor,
                      x_sq: torch.Tensor | None = None) -> torch.Tensor:
    """``D[i, j] = ||X_i - C_j||^2`` for X (N, D) and C (K, D); shape (N, K).

    ``x_sq``, the squared row norms of X as (N, 1), may be passed when X does not change
    between calls (k-means' iterations): computing them is a pass over all of X, which on
    wide data costs more than the distance product itself.
    """
    if x_sq is None:
        x_sq = (X * X).sum(1, keepdim=True)
    d = x_sq - 2.0 * (X @ C.T) + (C * C).sum(1)[None, :]  # 2 * (X C^T): not a pass over 2 X
    return d.clamp_min_(0.0)


def assign_clusters(X: torch.Tensor, C: torch.Tensor,
                    x_sq: torch.Tensor | None = None) -> torch.Tensor:
    """Assignment step: index of the nearest centroid for every row of X, shape (N,)."""
    return squared_distances(X, C, x_sq).argmin(1)


def update_centroids(X: torch.Tensor, labels: torch.Tensor, k: int,
                     previous: torch.Tensor | None = None) -> torch.Tensor:
    """Update step: the mean of the points of each cluster, shape (K, D).

    A cluster that lost all its points keeps its ``previous`` centroid (zeros when
    none is given).
    """
    sums = torch.zeros(k, X.shape[1], dtype=X.dtype, device=X.device)
    sums.index_add_(0, labels, X)
    counts = torch.bincount(labels, minlength=k).to(X.dtype)[:, None]
    means = sums / counts.clamp_min(1.0)
    if previous is not None:
        means = torch.where(counts > 0, means, previous)
    return means


def kmeans_plusplus(X: torch.Tensor, k: int, generator: torch.Generator,
                    x_sq: torch.Tensor | None = None) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn with probability proportional to D(x)^2."""
    n = X.shape[0]
    if x_sq is None:
        x_sq = (X * X).sum(1, keepdim=True)
    first = torch.randint(n, (1,), generator=generator, device=generator.device).to(X.device)
    centers = [X[first[0]]]
    closest = squared_distances(X, centers[0][None], x_sq).squeeze(1)
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:  # every point already sits on a centre: pick uniformly
            probs = torch.full_like(closest, 1.0 / n)
        else:
            probs = closest / total
        idx = torch.multinomial(probs.to(generator.device), 1, generator=generator)
        c = X[idx.to(X.device)[0]]
        centers.append(c)
        closest = torch.minimum(closest, squared_distances(X, c[None], x_sq).squeeze(1))
    return torch.stack(centers)


def kmeans(X: torch.Tensor, k: int, n_init: int = 10, max_iter: int = 300, tol: float = 1e-4,
           generator: torch.Generator | None = None
           ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Best of ``n_init`` Lloyd runs by inertia. Returns ``(centers, labels, inertia)``.

    Stops a run when the centroids move less than ``tol`` times the mean per-feature
    variance (scikit-learn's relative tolerance).
    """
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    X = X.reshape(X.shape[0], -1).float()
    scale = tol * X.var(0).mean()
    x_sq = (X * X).sum(1, keepdim=True)  # once: X does not change
    best = None
    for _ in range(n_init):
        C = kmeans_plusplus(X, k, generator, x_sq)
        for _ in range(max_iter):
            labels = assign_clusters(X, C, x_sq)
            C_new = update_centroids(X, labels, k, previous=C)
            shift = ((C_new - C) ** 2).sum()
            C = C_new
            if shift <= scale:
                break
        d = squared_distances(X, C, x_sq)
        labels = d.argmin(1)
        inertia = float(d.gather(1, labels[:, None]).sum())
        if best is None or inertia < best[2]:
            best = (C, labels, inertia)
    return best


class KMeans(BaseClusterer):
    """k-means on the raw features (images flattened): the baseline of every chapter.

    ``transform`` returns the distances to the centroids, as scikit-learn's does.
    """

    def __init__(self, n_clusters: int = 10, n_init: int = 10, max_iter: int = 300,
                 tol: float = 1e-4, random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        if int(self.n_init) < 1 or int(self.max_iter) < 1:
            raise ValueError(f"n_init and max_iter must be >= 1, got {self.n_init}, "
                             f"{self.max_iter}.")
        self._check_nonnegative(tol=self.tol)

    def _fit(self, X, y):
        g = torch.Generator(device=X.device).manual_seed(self.seed_)
        C, labels, inertia = kmeans(X, self.n_clusters, self.n_init, self.max_iter, self.tol, g)
        self.cluster_centers_ = C
        self.inertia_ = inertia
        self.history_.append({"phase": "kmeans", "inertia": inertia, **self._metrics(labels)})
        return labels

    def _predict(self, X):
        return assign_clusters(X.reshape(X.shape[0], -1), self.cluster_centers_)

    def _transform(self, X):
        return squared_distances(X.reshape(X.shape[0], -1), self.cluster_centers_).sqrt()
