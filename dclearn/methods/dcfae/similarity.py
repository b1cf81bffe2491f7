"""Pairwise similarities and the grouper's objective (DCFAE, notebook 05, section 3).

DCFAE (Chang, "Deep clustering with fusion autoencoder", arXiv 2201.04727, 2022) maps
the fusion autoencoder's latent means ``mu`` through a dense "grouper" network ``g``
and asks the pairwise similarities of the outputs ``g(mu)`` to follow those of ``mu``.
Both sides use a Student-t kernel over the pairs of a minibatch, normalised so that
the whole (B, B) matrix sums to one:

    k_alpha(a, b) = (1 + ||a - b||^2 / alpha) ^ (-(alpha + 1) / 2)
    p_ij = k_100(mu_i, mu_j) / sum_kl k_100(mu_k, mu_l)        (target, latent space)
    q_ij = k_1(g_i, g_j)     / sum_kl k_1(g_k, g_l)            (embedding)

    L_pair = - sum_ij p_ij log q_ij                             (a cross-entropy)

With ``alpha = 100`` (about twice the latent dimension of 50) the target kernel is
close to a Gaussian, ``exp(-||a - b||^2 / 2)``, which keeps only near neighbours;
with ``alpha = 1`` the embedding kernel is t-SNE's heavy-tailed Cauchy kernel, which
lets dissimilar points drift far apart and so pulls clusters away from each other.
The grouper is therefore a parametric t-SNE (van der Maaten 2009) trained on the
latent space, with a fixed-bandwidth joint kernel in place of t-SNE's
perplexity-calibrated conditionals.

The diagonal: the authors' code normalises over every entry of the matrix, the
diagonal ``k(a, a) = 1`` included, and keeps it in the loss. Here it is left out by
default (``include_diagonal=False``): a point is not its own neighbour, as in t-SNE;
``include_diagonal=True`` gives the code's version (measured in ``dcfae.py``).
"""

from __future__ import annotations

import torch

__all__ = ["squared_distances", "student_t_similarities", "pairwise_cross_entropy"]

_TINY = 1e-30  # log guard: q is never this small off the diagonal, and p = 0 there


def squared_distances(Z: torch.Tensor) -> torch.Tensor:
    """``||z_i - z_j||^2`` for every pair of rows of ``Z`` (B, d): (B, B), >= 0."""
    Z = Z.float()
    sq = Z.pow(2).sum(1)  # (B,)
    D = sq[:, None] + sq[None, :] - 2.0 * (Z @ Z.T)  # (B, B)
    return D.clamp_min(0.0)


def student_t_similarities(Z: torch.Tensor, alpha: float,
                           include_diagonal: bool = False) -> torch.Tensor:
    """Normalised Student-t similarities of the rows of ``Z`` (B, d): (B, B), summing to 1.

    ``p_ij = (1 + ||z_i - z_j||^2 / alpha)^(-(alpha + 1) / 2) / sum_kl (...)``, with the
    diagonal set to zero before normalising unless ``include_diagonal`` (the authors'
    code). Computed as a softmax over the pairs in log space, so a large ``alpha`` and
    distant pairs underflow to exactly 0 instead of producing NaNs.
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha!r}.")
    if Z.ndim != 2 or Z.shape[0] < 2:
        raise ValueError(f"Z must be (B, d) with B >= 2, got shape {tuple(Z.shape)}.")
    a = float(alpha)
    log_k = -(a + 1.0) / 2.0 * torch.log1p(squared_distances(Z) / a)  # (B, B)
    if not include_diagonal:
        eye = torch.eye(Z.shape[0], dtype=torch.bool, device=Z.device)
        log_k = log_k.masked_fill(eye, float("-inf"))
    return torch.softmax(log_k.flatten(), 0).view_as(log_k)  # (B, B), sums to 1


def pairwise_cross_entropy(P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """``-sum_ij p_ij log q_ij`` for two (B, B) pair distributions: a scalar.

    Entries where ``p_ij = 0`` (the diagonal, far pairs) contribute 0 even where
    ``q_ij = 0``. Minimised over Q at ``Q = P``, where it equals the entropy of P.
    """
    if P.shape != Q.shape:
        raise ValueError(f"P and Q must have the same shape, got {tuple(P.shape)} and "
                         f"{tuple(Q.shape)}.")
    return -(P * torch.log(Q.clamp_min(_TINY))).sum()
