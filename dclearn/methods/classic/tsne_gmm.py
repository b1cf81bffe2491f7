"""t-SNE to two dimensions, then a Gaussian mixture: the strong non-deep baseline.

t-SNE (van der Maaten and Hinton, JMLR 2008) places the samples in the plane so that
neighbours in the input stay neighbours: it matches the input's pairwise similarities
``p_ij`` (Gaussian kernels whose widths are set by the perplexity, eq. 1 of the paper,
symmetrised) with Student-t similarities ``q_ij`` of the map (eq. 4) by minimising
``KL(P || Q)``. The heavy tails of the Student-t pull well-separated groups apart, so a
Gaussian mixture in the map finds them easily. On the digits the pair reaches ACC 0.95
without a neural network, which is why every deep method of the course is held against it
(notebook 06). scikit-learn does both steps (Barnes-Hut t-SNE, EM with full covariances);
this file wraps them as a course estimator and keeps the mixture with the highest
likelihood over ``gmm_n_init`` starts (no label read).

What a learner must know about it (chapter 06 measures each point):

* it is transductive: the map is of the training samples only, so there is no
  ``predict`` for new data (refit with them, or use a parametric method);
* Barnes-Hut t-SNE costs O(N log N) per iteration: seconds on the digits, minutes on
  MNIST's 70,000 images;
* the clusters depend on the perplexity (the effective number of neighbours).

``manifold_gmm`` is the two steps as a function of an array; N2D (chapter 02's
autoencoder followed by the same steps) uses it too.
"""

from __future__ import annotations

import numpy as np
import torch

from ..base import BaseClusterer

__all__ = ["TSNEGMM", "manifold_gmm", "MANIFOLDS"]

MANIFOLDS = ("tsne", "isomap")


def manifold_gmm(Z: np.ndarray, n_clusters: int, seed: int, manifold: str = "tsne",
                 perplexity: float = 30.0, n_neighbors: int = 10, n_components: int = 2,
                 gmm_n_init: int = 10):
    """Embed ``Z`` (N x d) with a manifold learner, then fit a full-covariance GMM.

    Returns ``(labels, embedding, gmm, mapper)``: int64 labels (N,), the (N, n_components)
    map, the fitted ``sklearn.mixture.GaussianMixture`` (the best of ``gmm_n_init`` EM
    starts by likelihood) and the fitted manifold learner (Isomap's can map new samples).
    ``manifold="tsne"`` (2-D Barnes-Hut, PCA start) or
    ``"isomap"`` (geodesic distances on the ``n_neighbors`` graph).
    """
    from sklearn.mixture import GaussianMixture

    Z = np.asarray(Z, dtype=np.float64).reshape(len(Z), -1)
    if manifold == "tsne":
        from sklearn.manifold import TSNE

        mapper = TSNE(n_components=n_components, perplexity=perplexity, init="pca",
                      learning_rate="auto", random_state=seed)
    elif manifold == "isomap":
        from sklearn.manifold import Isomap

        mapper = Isomap(n_neighbors=n_neighbors, n_components=n_components)
    else:
        raise ValueError(f"manifold must be one of {MANIFOLDS}, got {manifold!r}.")
    E = mapper.fit_transform(Z)
    gmm = GaussianMixture(n_clusters, covariance_type="full", n_init=gmm_n_init,
                          random_state=seed).fit(E)
    return gmm.predict(E).astype(np.int64), E.astype(np.float32), gmm, mapper


class TSNEGMM(BaseClusterer):
    """t-SNE to 2-D on the raw inputs, then a Gaussian mixture (transductive).

    Parameters
    ----------
    n_clusters : number of mixture components K.
    perplexity : t-SNE's effective number of neighbours (scikit-learn's default, 30).
    gmm_n_init : EM starts; the one with the highest likelihood is kept.
    random_state, device, verbose : as every dclearn estimator (the work runs on the
        CPU in scikit-learn whatever ``device`` says).

    Attributes
    ----------
    labels_ : (N,) int64 mixture components of the training samples.
    embedding_ : (N, 2) float32 t-SNE map of the training samples.
    gmm_ : the fitted ``GaussianMixture``.

    ``predict`` and ``transform`` raise: t-SNE maps only the samples it was fitted on.
    """

    def __init__(self, n_clusters: int = 10, perplexity: float = 30.0, gmm_n_init: int = 10,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.perplexity = perplexity
        self.gmm_n_init = gmm_n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._check_positive(perplexity=self.perplexity, gmm_n_init=self.gmm_n_init)
        if self.perplexity >= X.shape[0]:
            raise ValueError(f"perplexity must be smaller than the number of samples "
                             f"({X.shape[0]}), got {self.perplexity!r}.")

    def _fit(self, X, y):
        labels, self.embedding_, self.gmm_, _ = manifold_gmm(
            X.cpu().numpy(), self.n_clusters, self.seed_, "tsne",
            perplexity=float(self.perplexity), gmm_n_init=int(self.gmm_n_init))
        self.history_.append({"phase": "tsne+gmm",
                              "log_likelihood": float(self.gmm_.lower_bound_),
                              **self._metrics(labels)})
        return labels

    def _predict(self, X: torch.Tensor):
        raise NotImplementedError(
            "TSNEGMM cannot label new samples: t-SNE maps only the samples it was fitted on "
            "(it is transductive). Fit again on all the samples, or use a method with an "
            "encoder (e.g. N2D or DEC).")

    def _transform(self, X: torch.Tensor):
        raise NotImplementedError(
            "TSNEGMM has no map for new samples (t-SNE is transductive); the training "
            "samples' map is in embedding_.")
