"""Gaussian mixture model with diagonal covariances, fitted by EM (Dempster et al. 1977).

Taught in notebook 00 (and reused to initialise VaDE's prior in notebook 03).
The E-step computes the responsibilities
``gamma_ik = pi_k N(x_i | mu_k, diag(var_k)) / sum_j pi_j N(x_i | mu_j, diag(var_j))``;
the M-step re-estimates ``pi``, ``mu`` and ``var`` as responsibility-weighted
frequencies, means and variances.
"""

from __future__ import annotations

import math

import torch

from ..base import BaseClusterer
from .kmeans import kmeans

__all__ = ["GMM", "gaussian_log_prob", "gmm_responsibilities", "gmm_m_step", "fit_diag_gmm"]


def gaussian_log_prob(X: torch.Tensor, means: torch.Tensor, variances: torch.Tensor,
                      X2: torch.Tensor | None = None) -> torch.Tensor:
    """``log N(x_i | mu_k, diag(var_k))`` for X (N, D), means/variances (K, D): (N, K).

    ``X2`` = ``X * X`` may be passed when X is fixed across calls (EM's iterations): on wide
    data that elementwise pass costs about as much as the products themselves.
    """
    d = X.shape[1]
    X2 = X * X if X2 is None else X2
    inv = 1.0 / variances                                          # (K, D)
    maha = X2 @ inv.T - 2.0 * (X @ (means * inv).T) + (means * means * inv).sum(1)
    return -0.5 * (d * math.log(2 * math.pi) + torch.log(variances).sum(1) + maha)


def gmm_responsibilities(X: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                         variances: torch.Tensor, X2: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """E-step. Returns ``(gamma (N, K), log-likelihood per sample (N,))``; ``X2`` as in
    ``gaussian_log_prob``."""
    joint = gaussian_log_prob(X, means, variances, X2) + torch.log(weights)[None, :]
    log_norm = torch.logsumexp(joint, dim=1)
    return torch.exp(joint - log_norm[:, None]), log_norm


def gmm_m_step(X: torch.Tensor, gamma: torch.Tensor, reg_covar: float = 1e-6,
               X2: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """M-step. Returns ``(weights (K,), means (K, D), variances (K, D))``; ``X2`` as in
    ``gaussian_log_prob``."""
    nk = gamma.sum(0) + 10 * torch.finfo(X.dtype).eps             # (K,)
    means = gamma.T @ X / nk[:, None]
    variances = gamma.T @ (X * X if X2 is None else X2) / nk[:, None] - means * means + reg_covar
    return nk / X.shape[0], means, variances.clamp_min(reg_covar)


def fit_diag_gmm(Z: torch.Tensor, k: int, generator: torch.Generator, n_init: int = 10,
                 max_iter: int = 200, tol: float = 1e-6, reg_covar: float = 1e-4,
                 select: str = "inertia"
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Diagonal GMM by EM on ``Z`` (N, d) started from k-means; float64 throughout.

    Shared by VaDE (its prior's initialisation) and LTVAE (per-facet mixtures and the
    BIC of its structure search). Two restart rules:

    * ``select="inertia"``: one k-means with ``n_init`` restarts (lowest inertia), then
      one EM run from its partition: VaDE's paper initialisation.
    * ``select="likelihood"``: ``n_init`` runs of (k-means with one start, then EM);
      the run with the highest log-likelihood is kept (the BIC needs the best fit).

    EM stops after ``max_iter`` iterations or when the mean log-likelihood changes by
    less than ``tol * max(1, |mean log-likelihood|)``. ``reg_covar`` is relative to the
    mean per-dimension variance of Z (an embedding's scale is arbitrary) and is added
    to every variance. Returns ``(weights (K,), means (K, d), variances (K, d),
    total log-likelihood)``.
    """
    if select not in ("inertia", "likelihood"):
        raise ValueError(f"select must be 'inertia' or 'likelihood', got {select!r}.")
    Z = Z.reshape(Z.shape[0], -1).double()
    Z2 = Z * Z
    reg = float(reg_covar) * float(Z.var(0).mean().clamp_min(1e-12))
    starts = 1 if select == "inertia" else int(n_init)
    km_restarts = int(n_init) if select == "inertia" else 1
    best = None
    for _ in range(starts):
        _, labels, _ = kmeans(Z.float(), k, km_restarts, generator=generator)
        w, mu, var = gmm_m_step(Z, torch.nn.functional.one_hot(labels, k).double(), reg, Z2)
        prev = -math.inf
        for _ in range(int(max_iter)):
            gamma, ll = gmm_responsibilities(Z, w, mu, var, Z2)
            w, mu, var = gmm_m_step(Z, gamma, reg, Z2)
            mean_ll = float(ll.mean())
            if abs(mean_ll - prev) < tol * max(1.0, abs(mean_ll)):
                break
            prev = mean_ll
        total = float(gmm_responsibilities(Z, w, mu, var, Z2)[1].sum())
        if best is None or total > best[3]:
            best = (w, mu, var, total)
    return best


class GMM(BaseClusterer):
    """Diagonal-covariance Gaussian mixture, k-means initialised, fitted by EM.

    ``reg_covar`` is added to every variance: pixels that never change (digits'
    borders) would otherwise have zero variance and an infinite density.
    ``transform`` returns the responsibilities (N, K).
    """

    def __init__(self, n_clusters: int = 10, max_iter: int = 100, tol: float = 1e-4,
                 reg_covar: float = 1e-2, n_init: int = 1, random_state: int | None = None,
                 device: str = "auto", verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._check_positive(reg_covar=self.reg_covar)
        self._check_nonnegative(tol=self.tol)
        if int(self.max_iter) < 1 or int(self.n_init) < 1:
            raise ValueError("max_iter and n_init must be >= 1.")

    def _fit(self, X, y):
        X = X.reshape(X.shape[0], -1).double()  # EM on 64+ dims wants float64
        X2 = X * X  # once: every E- and M-step needs it
        g = torch.Generator(device=X.device).manual_seed(self.seed_)
        best = None
        for _ in range(self.n_init):
            _, labels, _ = kmeans(X, self.n_clusters, n_init=1, generator=g)
            gamma = torch.nn.functional.one_hot(labels, self.n_clusters).double()
            w, mu, var = gmm_m_step(X, gamma, self.reg_covar, X2)
            prev = -math.inf
            for it in range(self.max_iter):  # noqa: B007 (it is read after the loop)
                gamma, ll = gmm_responsibilities(X, w, mu, var, X2)
                mean_ll = float(ll.mean())
                w, mu, var = gmm_m_step(X, gamma, self.reg_covar, X2)
                if abs(mean_ll - prev) < self.tol:
                    break
                prev = mean_ll
            if best is None or mean_ll > best[0]:
                best = (mean_ll, w, mu, var, it + 1)
        ll, self.weights_, self.means_, self.variances_, self.n_iter_ = best
        self.lower_bound_ = ll
        gamma, _ = gmm_responsibilities(X, self.weights_, self.means_, self.variances_, X2)
        labels = gamma.argmax(1)
        self.history_.append({"phase": "em", "log_likelihood": ll, **self._metrics(labels)})
        return labels

    def _transform(self, X):
        X = X.reshape(X.shape[0], -1).double()
        return gmm_responsibilities(X, self.weights_, self.means_, self.variances_)[0]

    def _predict(self, X):
        return self._transform(X).argmax(1)
