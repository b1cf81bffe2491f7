"""Maximum-margin clustering of DBN features, with an optional nonparametric (CRP) mode.

Taught in notebook 06. Chen's NMMC ("Deep learning with nonparametric clustering", arXiv
1501.03084, 2015; the same author's "Maximum margin Dirichlet process mixtures", AAAI 2016)
gives every cluster ``k`` a linear scoring function ``w_k^T z + b_k`` on the DBN code ``z`` and
asks the assignment of every sample to win by a margin (Crammer and Singer's multiclass
hinge), while a Dirichlet-process (Chinese restaurant process) prior over the assignments lets
the number of clusters follow the data:

    min_{W, b, z}  reg/2 ||W||^2 + 1/N sum_i max(0, 1 + max_{k != z_i} s_ik - s_{i z_i}),
    s_ik = w_k^T z_i + b_k,
    p(z_i = k | z_-i) ~ n_{-i,k}  (existing cluster),   ~ alpha  (a new cluster).

What is here, and how it departs from the paper:

- Included: the Crammer-Singer hinge with an L2 penalty (``multiclass_hinge``,
  ``max_margin_loss``), its minimisation by full-batch gradient steps for the current labels
  (``fit_max_margin``), and relabelling by the classifier's scores, alternated until the
  labels stop changing, started from k-means on the features (``nmmc``).
- Simplified: the paper samples each ``z_i`` in turn (Gibbs sampling) and updates the
  classifiers online, one sample at a time. Here the relabelling is a hard, simultaneous
  step over the whole data set (the MAP of each conditional given the others' previous
  labels), so it is vectorised and deterministic; the classifier is retrained on all labels
  between relabellings instead of updated online.
- Parametric mode (``alpha=None``, the default, for comparisons at a fixed K): the CRP prior
  is replaced by a class-balance constraint, the multiclass form of the one in maximum-margin
  clustering (Xu et al. 2005): every cluster keeps at least ``balance * N / K`` samples
  (``balanced_assign``). Without it, the trivial solution (all samples in one cluster, no
  margin violated) wins.
- Nonparametric mode (``alpha > 0``): ``n_clusters`` is a truncation level (the most clusters
  allowed, Ishwaran and James 2001). Each relabelling takes the MAP of the CRP-weighted
  conditional, ``argmax_k c s_ik + log n_k``, with a new cluster (score 0 under the zero
  classifier of a fresh component, prior weight ``alpha``) opened for the samples where
  ``log alpha`` wins, at most one new cluster per relabelling; clusters that empty are
  dropped (``crp_assign``). So the number of clusters found, ``n_found``, can shrink and
  grow up to the truncation level. ``c`` (``margin_weight``) is the constant of the paper's
  margin pseudo-likelihood ``exp(c * margin)``: it sets how strongly the margins resist the
  prior's rich-get-richer pull, and so how many clusters survive (on digits with a
  truncation of 20: c = 1 merges all into one cluster, c = 10 keeps 20). The paper's
  posterior samples, its hyper-prior on the component parameters, its generative
  (likelihood) term of each component and its averaging over samples are left out.
"""

from __future__ import annotations

import math

import torch

from ...train import adam, progress
from ..classic.kmeans import kmeans

__all__ = ["multiclass_hinge", "max_margin_loss", "fit_max_margin", "balanced_assign",
           "crp_assign", "nmmc"]


def multiclass_hinge(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Crammer-Singer hinge ``max(0, 1 + max_{k != y_i} s_ik - s_iy_i)`` of every row, (N,)."""
    own = scores.gather(1, labels[:, None])  # (N, 1)
    rivals = scores.scatter(1, labels[:, None], float("-inf"))  # own class excluded
    return (1.0 + rivals.max(1).values - own[:, 0]).clamp_min(0.0)


def max_margin_loss(Z: torch.Tensor, labels: torch.Tensor, W: torch.Tensor, b: torch.Tensor,
                    reg: float) -> torch.Tensor:
    """``reg/2 ||W||^2 + mean_i hinge_i`` of the linear scores ``Z W + b`` (W: (d, K))."""
    return 0.5 * reg * (W * W).sum() + multiclass_hinge(torch.addmm(b, Z, W), labels).mean()


def fit_max_margin(Z: torch.Tensor, labels: torch.Tensor, n_clusters: int, *, reg: float,
                   n_steps: int, lr: float, W: torch.Tensor | None = None,
                   b: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The multiclass linear max-margin classifier of the labels: ``n_steps`` full-batch Adam
    steps on ``max_margin_loss``, from ``(W, b)`` when given (warm start), else zeros.

    W (d, K) is held as the transpose of a (K, d) tensor: the gradient ``Z^T dS`` of the
    full-batch scores is then computed as ``(dS^T Z)^T``, the layout the BLAS does fast (on
    70,000 x 2,000 features, one CPU thread: 0.2 s a step instead of 1.6 s). The returned W is
    that transposed view; ``addmm(b, Z, W)`` with it takes the same fast path.
    """
    Wt = (torch.zeros(n_clusters, Z.shape[1], device=Z.device) if W is None
          else W.t().clone(memory_format=torch.contiguous_format))  # never the caller's
    b = torch.zeros(n_clusters, device=Z.device) if b is None else b.clone()
    Wt.requires_grad_()
    b.requires_grad_()
    opt = adam([Wt, b], lr=lr)
    with torch.enable_grad():
        for _ in range(int(n_steps)):
            loss = max_margin_loss(Z, labels, Wt.t(), b, reg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return Wt.detach().t(), b.detach()


def balanced_assign(scores: torch.Tensor, min_size: int) -> torch.Tensor:
    """Labels maximising the scores while every cluster keeps at least ``min_size`` samples.

    Starts from ``argmax_k s_ik``; then, while some cluster is short, the shortest one takes
    the samples that lose least by moving to it (``s_i,own - s_ik``), only from clusters with
    more than ``min_size`` samples and never more than their surplus. Needs
    ``min_size * K <= N``; each short cluster is filled once, so at most K rounds.
    """
    n, k = scores.shape
    if min_size * k > n:
        raise ValueError(f"min_size={min_size} times {k} clusters exceeds the {n} samples.")
    labels = scores.argmax(1)
    for _ in range(k):
        counts = torch.bincount(labels, minlength=k)
        deficit = min_size - counts
        short = int(deficit.argmax())
        need = int(deficit[short])
        if need <= 0:
            break
        surplus = (counts - min_size).clamp_min(0)
        cost = scores.gather(1, labels[:, None])[:, 0] - scores[:, short]
        cost = torch.where(surplus[labels] > 0, cost, torch.full_like(cost, float("inf")))
        order = cost.argsort(stable=True)
        donor = labels[order]
        # rank of each candidate within its donor cluster, in order of cost (1, 2, ...)
        rank = torch.nn.functional.one_hot(donor, k).cumsum(0).gather(1, donor[:, None])[:, 0]
        ok = (rank <= surplus[donor]) & torch.isfinite(cost[order])
        labels[order[ok][:need]] = short
    return labels


def crp_assign(scores: torch.Tensor, counts: torch.Tensor, alpha: float,
               allow_new: bool = True, margin_weight: float = 1.0) -> torch.Tensor:
    """MAP of the CRP-weighted conditionals: ``argmax_k c s_ik + log n_k`` (``c`` the
    ``margin_weight``) over the clusters with ``n_k > 0``, or the new cluster ``K`` (score 0,
    weight ``alpha``) where ``log alpha`` beats every existing cluster (unless ``allow_new``
    is False). Labels in ``0..K``; empty clusters stay empty."""
    prior = torch.where(counts > 0, counts.clamp_min(1).float().log(),
                        torch.full_like(counts, float("-inf"), dtype=torch.float32))
    best = margin_weight * scores + prior
    if not allow_new:
        return best.argmax(1)
    new = torch.full((scores.shape[0], 1), math.log(alpha), device=scores.device)
    return torch.cat([best, new], 1).argmax(1)


def _compact(labels: torch.Tensor, W: torch.Tensor, b: torch.Tensor):
    """Drop empty clusters: relabel ``0..K'-1`` (in order of first index) and keep their rows."""
    used = torch.unique(labels)
    remap = torch.full((int(labels.max()) + 1,), -1, dtype=torch.long, device=labels.device)
    remap[used] = torch.arange(used.numel(), device=labels.device)
    keep = used[used < W.shape[1]]
    W2 = torch.cat([W[:, keep], torch.zeros(W.shape[0], used.numel() - keep.numel(),
                                              device=W.device)], 1)
    b2 = torch.cat([b[keep], torch.zeros(used.numel() - keep.numel(), device=b.device)])
    return remap[labels], W2, b2


def nmmc(Z: torch.Tensor, n_clusters: int, *, reg: float = 1e-3, balance: float = 0.5,
         alpha: float | None = None, margin_weight: float = 1.0, max_iter: int = 30,
         n_steps: int = 100, lr: float = 0.01,
         generator: torch.Generator, labels: torch.Tensor | None = None,
         W: torch.Tensor | None = None, b: torch.Tensor | None = None,
         verbose: bool = False) -> dict:
    """Alternating max-margin clustering of the features ``Z`` (N, d).

    Starts from ``labels`` (else k-means on ``Z``, 10 restarts), then alternates
    ``fit_max_margin`` on the current labels and relabelling by the scores
    (``balanced_assign`` with ``min_size = floor(balance * N / K)`` when ``alpha`` is None,
    ``crp_assign`` with ``margin_weight`` otherwise) until no label changes or ``max_iter``
    rounds. Returns a dict with ``labels``, ``W``, ``b``, ``n_iter``, ``n_changed`` (per
    round), ``loss`` (the objective of the last labels) and ``n_found`` (the number of
    non-empty clusters). ``verbose``: a progress bar over the rounds, with the labels changed.
    """
    if labels is None:
        labels = kmeans(Z, n_clusters, n_init=10, generator=generator)[1]
    min_size = int(math.floor(balance * Z.shape[0] / n_clusters))
    k = n_clusters if alpha is None else int(labels.max()) + 1
    changed = []
    bar = progress(int(max_iter), "max-margin rounds", verbose)
    for _ in range(int(max_iter)):
        W, b = fit_max_margin(Z, labels, k, reg=reg, n_steps=n_steps, lr=lr, W=W, b=b)
        scores = torch.addmm(b, Z, W)
        if alpha is None:
            new = balanced_assign(scores, min_size)
        else:
            counts = torch.bincount(labels, minlength=k)
            new = crp_assign(scores, counts, alpha, allow_new=k < n_clusters,
                             margin_weight=margin_weight)
            new, W, b = _compact(new, W, b)
            k = W.shape[1]
        n_changed = (new != labels).sum() if new.shape == labels.shape else labels.numel()
        changed.append(int(n_changed))
        labels = new
        bar.update(1)
        bar.set_postfix(changed=changed[-1], clusters=k)
        if changed[-1] == 0:
            break
    bar.close()
    W, b = fit_max_margin(Z, labels, k, reg=reg, n_steps=n_steps, lr=lr, W=W, b=b)
    loss = float(max_margin_loss(Z, labels, W, b, reg))
    return {"labels": labels, "W": W, "b": b, "n_iter": len(changed), "n_changed": changed,
            "loss": loss, "n_found": int(torch.unique(labels).numel())}
