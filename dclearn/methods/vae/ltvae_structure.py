"""LTVAE's structure step: which latent dimensions form a facet, how many clusters each has.

Used by ``ltvae.py`` (notebook 03). A CPU-sized part of the structure search of Li, Chen,
Poon and Zhang (ICLR 2019): latent dimensions are grouped by their pairwise mutual
information (``dimension_dependence``, ``group_dimensions``), each facet's number of
clusters is chosen by BIC of a diagonal Gaussian mixture (``fit_diag_gmm``, ``gmm_bic``),
and single dimensions are relocated between facets while the total BIC improves
(``learn_structure``). See ``ltvae.py`` for what of the paper's search is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..classic.gmm import fit_diag_gmm

_LOG_2PI = math.log(2.0 * math.pi)

__all__ = ["dimension_dependence", "group_dimensions", "fit_diag_gmm", "gmm_bic",
           "learn_structure"]


def dimension_dependence(Z: torch.Tensor, n_bins: int = 8) -> np.ndarray:
    """Pairwise mutual information (nats) between the columns of Z (N, d): a (d, d) array.

    Each column is cut at its quantiles into ``n_bins`` equally filled bins; all joint
    histograms come from one matrix product of the one-hot bin codes. The diagonal is 0.
    """
    Z = Z.detach().double().cpu()
    n, d = Z.shape
    ranks = Z.argsort(0).argsort(0)                               # (N, d)
    codes = F.one_hot(ranks * n_bins // n, n_bins).double().reshape(n, d * n_bins)
    joint = (codes.T @ codes / n).reshape(d, n_bins, d, n_bins).permute(0, 2, 1, 3)
    marg = codes.mean(0).reshape(d, n_bins)                       # (d, n_bins)
    indep = marg[:, None, :, None] * marg[None, :, None, :]       # (d, d, nb, nb)
    terms = torch.where(joint > 0, joint * (joint.clamp_min(1e-300) / indep.clamp_min(1e-300)
                                            ).log(), torch.zeros_like(joint))
    mi = terms.sum((2, 3)).numpy()
    np.fill_diagonal(mi, 0.0)
    return mi


def group_dimensions(mi: np.ndarray, n_groups: int) -> list[list[int]]:
    """Greedy average-linkage agglomeration: merge the two groups of highest mean MI
    until ``n_groups`` remain. Returns sorted index lists, ordered by their first index."""
    groups = [[j] for j in range(mi.shape[0])]
    while len(groups) > n_groups:
        best, pair = -np.inf, (0, 1)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                s = mi[np.ix_(groups[a], groups[b])].mean()
                if s > best:
                    best, pair = s, (a, b)
        a, b = pair
        groups[a] = sorted(groups[a] + groups[b])
        del groups[b]
    return sorted(groups, key=lambda g: g[0])


def gmm_bic(log_likelihood: float, k: int, d: int, n: int) -> float:
    """The BIC of the paper's section 3.3 (unnumbered there; higher is better):
    ``log L - (#params / 2) log N`` for a diagonal GMM with ``k`` states in ``d``
    dimensions (``k - 1 + 2 k d`` free parameters)."""
    return float(log_likelihood) - 0.5 * (k - 1 + 2 * k * d) * math.log(n)


def learn_structure(Z: torch.Tensor, n_facets: int, n_clusters: int,
                    facet_clusters: Sequence[int] | None = None, max_facet_clusters: int = 5,
                    search: bool = True, generator: torch.Generator | None = None,
                    n_bins: int = 8, max_moves: int | None = None) -> dict:
    """Group the latent dimensions into facets and choose their numbers of states.

    Z : (N, latent) embedding. With ``search``:

    1. facets by ``group_dimensions`` on the pairwise MI (the start of the search);
    2. state counts: facet 0 gets ``n_clusters`` (or ``facet_clusters[0]``), each other
       facet its BIC-best count in ``2..max_facet_clusters`` (or ``facet_clusters[b]``);
       facet 0 is the group that makes the total BIC of the structure highest;
    3. node relocation, the paper's operator: hill climbing that moves one dimension to
       another facet while that raises the total BIC ``sum_b BIC_b`` (state counts held,
       then re-chosen), at most ``max_moves`` moves (default: ``latent``).

    Without ``search``: contiguous groups (``np.array_split``), and the other facets get
    ``n_clusters`` states unless ``facet_clusters`` says otherwise.
    Returns ``{"groups", "ks", "mi", "bic", "moves"}`` (``bic[(dims, k)]`` of every GMM
    fitted; ``moves`` the relocations made, ``(dim, from facet, to facet)``).
    """
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    n, d = Z.shape
    first_k = int(facet_clusters[0]) if facet_clusters is not None else int(n_clusters)
    bic: dict = {}
    if not search:
        groups = [list(map(int, a)) for a in np.array_split(np.arange(d), n_facets)]
        ks = ([int(k) for k in facet_clusters] if facet_clusters is not None
              else [int(n_clusters)] * n_facets)
        return {"groups": groups, "ks": ks, "mi": None, "bic": bic, "moves": []}
    mi = dimension_dependence(Z, n_bins)
    groups = group_dimensions(mi, n_facets)
    cand = range(2, int(max_facet_clusters) + 1)

    def score(grp, k: int) -> float:
        key = (tuple(sorted(grp)), int(k))
        if key not in bic:
            ll = fit_diag_gmm(Z[:, list(key[0])], k, g, n_init=1, max_iter=30,
                              select="likelihood")[3] if k > 1 \
                else float(_single_gaussian_ll(Z[:, list(key[0])]))
            bic[key] = gmm_bic(ll, k, len(grp), n)
        return bic[key]

    def best_k(b: int, grp) -> int:
        if facet_clusters is not None:
            return int(facet_clusters[b])
        return first_k if b == 0 else max(cand, key=lambda k: score(grp, k))

    if len(groups) > 1:
        # facet 0 = the group that loses least BIC (gains most) by taking first_k states
        # instead of its own BIC-best count, so the structure's total BIC is highest. Ties
        # (first_k inside cand) go to the larger gain over one Gaussian.
        def key(b: int) -> tuple:
            own = max(score(groups[b], k) for k in cand)
            return (score(groups[b], first_k) - own,
                    score(groups[b], first_k) - score(groups[b], 1))
        top = max(range(len(groups)), key=key)
        groups = [groups[top]] + [grp for b, grp in enumerate(groups) if b != top]
    ks = [best_k(b, grp) for b, grp in enumerate(groups)]
    moves: list = []
    for _ in range(d if max_moves is None else int(max_moves)):
        best, step = 0.0, None
        for a, src in enumerate(groups):
            if len(src) < 2:
                continue
            for j in src:
                new_src = [i for i in src if i != j]
                for c, dst in enumerate(groups):
                    if c == a:
                        continue
                    new_dst = sorted(dst + [j])
                    gain = (score(new_src, ks[a]) + score(new_dst, ks[c])
                            - score(src, ks[a]) - score(dst, ks[c]))
                    if gain > best:
                        best, step = gain, (j, a, c, new_src, new_dst)
        if step is None:
            break
        j, a, c, new_src, new_dst = step
        groups[a], groups[c] = new_src, new_dst
        moves.append((j, a, c))
        ks = [best_k(b, grp) for b, grp in enumerate(groups)]
    return {"groups": groups, "ks": ks, "mi": mi, "bic": bic, "moves": moves}


def _single_gaussian_ll(Z: torch.Tensor) -> torch.Tensor:
    Z = Z.double()
    var = Z.var(0, unbiased=False).clamp_min(1e-12)
    return -0.5 * (Z.shape[0] * (Z.shape[1] * (_LOG_2PI + 1.0) + var.log().sum()))


# --- the estimator --------------------------------------------------------------------------
