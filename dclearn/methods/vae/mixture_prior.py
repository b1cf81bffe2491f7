"""VaDE's Gaussian-mixture prior: its equations, its initialisation, the collapse check.

The pieces of VaDE (Jiang et al., IJCAI 2017; the model and its ELBO are set out in
``vade.py``'s docstring) that are functions of tensors rather than of the estimator:
the log-densities of the mixture components, the responsibilities ``gamma`` of eq. 16,
the four terms of eq. 10, the GMM that initialises the prior, and the check that warns
when every point falls into one cluster. VaDE (``vade.py``) and DGG use them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..classic.gmm import fit_diag_gmm
from .vae import log_likelihood

__all__ = ["ClusterCollapseWarning", "ClusterCollapseError", "log_prior_components",
           "responsibilities", "vade_elbo_terms", "init_mixture", "check_collapse"]

_LOG_2PI = math.log(2.0 * math.pi)


class ClusterCollapseWarning(UserWarning):
    """The clustering put (almost) every point in one cluster."""


class ClusterCollapseError(RuntimeError):
    """Raised instead of the warning when ``on_collapse="raise"``."""


# --- the model's equations --------------------------------------------------------------
def log_prior_components(z: torch.Tensor, pi: torch.Tensor, mu_c: torch.Tensor,
                         logvar_c: torch.Tensor) -> torch.Tensor:
    """``log pi_c + log N(z | mu_c, diag sigma_c^2)`` for every sample and cluster: (N, K).

    z : (N, d); pi : (K,) on the simplex; mu_c, logvar_c : (K, d).
    """
    z = z.float()
    diff2 = (z.unsqueeze(1) - mu_c.unsqueeze(0)).pow(2)                    # (N, K, d)
    log_n = -0.5 * (_LOG_2PI + logvar_c.unsqueeze(0) + diff2 / logvar_c.exp().unsqueeze(0))
    return torch.log(pi).unsqueeze(0) + log_n.sum(-1)                       # (N, K)


def responsibilities(z: torch.Tensor, pi: torch.Tensor, mu_c: torch.Tensor,
                     logvar_c: torch.Tensor) -> torch.Tensor:
    """``gamma = q(c | x)`` of VaDE eq. 16: ``p(c | z)`` under the mixture prior, (N, K).

    ``gamma_c = pi_c N(z | mu_c, sigma_c^2) / sum_c' pi_c' N(z | mu_c', sigma_c'^2)``,
    computed as a softmax of log-densities (``logsumexp``), so far-away points do not
    underflow to 0/0. During training ``z`` is the reparameterised sample of
    ``q(z | x)`` (as in the paper); for prediction it is the posterior mean ``mu~``.
    Rows sum to 1.
    """
    joint = log_prior_components(z, pi, mu_c, logvar_c)                   # (N, K)
    return torch.exp(joint - torch.logsumexp(joint, dim=1, keepdim=True))


def vade_elbo_terms(x: torch.Tensor, out: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                    gamma: torch.Tensor, pi: torch.Tensor, mu_c: torch.Tensor,
                    logvar_c: torch.Tensor, likelihood: str = "bernoulli",
                    eps: float = 1e-10) -> dict[str, torch.Tensor]:
    """The four terms of VaDE's ELBO (eq. 10), per sample, each of shape (N,).

    x : (N, ...) data; out : decoder output for one sample ``z ~ q(z | x)`` (logits for
    ``"bernoulli"``, means for ``"gaussian"``); mu, logvar : (N, d) encoder outputs
    ``mu~``, ``log sigma~^2``; gamma : (N, K) ``q(c | x)`` (eq. 16, ``responsibilities``);
    pi : (K,); mu_c, logvar_c : (K, d).

    Returns ``{"rec", "z_prior", "c_prior", "z_entropy", "elbo"}`` with
    ``elbo = rec + z_prior + c_prior + z_entropy`` (all signed as in eq. 10, so the
    ELBO is their sum; the loss to minimise is ``-elbo``):

    * ``rec = log p(x | z)`` (one sample, L = 1),
    * ``z_prior = -1/2 sum_c gamma_c sum_j (log sigma_cj^2 + sigma~_j^2 / sigma_cj^2
      + (mu~_j - mu_cj)^2 / sigma_cj^2)``,
    * ``c_prior = sum_c gamma_c log(pi_c / gamma_c)`` (``0 log 0 = 0`` via ``eps``),
    * ``z_entropy = 1/2 sum_j (1 + log sigma~_j^2)``.
    """
    mu, logvar, gamma = mu.float(), logvar.float(), gamma.float()
    rec = log_likelihood(x, out, likelihood)                                       # (N,)
    var_c = logvar_c.exp().unsqueeze(0)                                             # (1, K, d)
    inner = (logvar_c.unsqueeze(0) + logvar.exp().unsqueeze(1) / var_c
             + (mu.unsqueeze(1) - mu_c.unsqueeze(0)).pow(2) / var_c).sum(-1)        # (N, K)
    z_prior = -0.5 * (gamma * inner).sum(1)
    c_prior = (gamma * (torch.log(pi).unsqueeze(0) - torch.log(gamma + eps))).sum(1)
    z_entropy = 0.5 * (1.0 + logvar).sum(1)
    return {"rec": rec, "z_prior": z_prior, "c_prior": c_prior, "z_entropy": z_entropy,
            "elbo": rec + z_prior + c_prior + z_entropy}


def init_mixture(Z: torch.Tensor, k: int, generator: torch.Generator, n_init: int = 10
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """VaDE's prior initialisation: a diagonal GMM fitted by EM on the embedding ``Z``.

    ``fit_diag_gmm`` (``dclearn.methods.classic.gmm``) from the lowest-inertia k-means of
    ``n_init`` restarts; returns float32 ``(weights (K,), means (K, d), variances (K, d))``
    with every weight at least 1e-6 (their logs become the prior's logits).
    """
    w, mu, var, _ = fit_diag_gmm(Z, k, generator, n_init=n_init, select="inertia")
    w = w.clamp_min(1e-6)
    return (w / w.sum()).float(), mu.float(), var.float()


def check_collapse(labels, n_clusters: int, max_fraction: float = 0.9) -> str | None:
    """A sentence describing a collapsed clustering, or ``None`` when it looks healthy.

    Collapsed: fewer than 2 clusters used, or (for ``n_clusters >= 3``) one cluster
    holding more than ``max_fraction`` of the points.
    """
    labels = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else \
        np.asarray(labels)
    counts = np.bincount(labels.reshape(-1), minlength=n_clusters)
    used = int((counts > 0).sum())
    largest = counts.max() / max(1, counts.sum())
    if used < 2:
        return f"all points fell into one cluster (1 of {n_clusters} used)"
    if n_clusters >= 3 and largest > max_fraction:
        return (f"one cluster holds {largest:.0%} of the points ({used} of {n_clusters} "
                f"clusters used)")
    return None
