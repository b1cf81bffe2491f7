"""DEPICT's objective (Ghasedi Dizaji et al., ICCV 2017): targets and the two losses.

The three functions of the paper's joint objective that ``depict.py``'s estimator
trains on, kept apart from the estimator so that the exercises and tests can call them
on small tensors: the balanced targets of eq. 7 (and the authors' code's sharpened
variant), the cross-entropy of eq. 8, and the layer-wise reconstruction terms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["balanced_target_distribution", "depict_clustering_loss", "reconstruction_terms"]


def balanced_target_distribution(q: torch.Tensor, sharpen: bool = False,
                                 eps: float = 1e-12) -> torch.Tensor:
    """DEPICT's balanced targets (paper eq. 7) from soft assignments ``q`` (N, K).

    ``p_ik = (q_ik / sqrt(sum_i q_ik)) / sum_k' (q_ik' / sqrt(sum_i q_ik'))``: every
    column is divided by the square root of its soft cluster size, so a large cluster
    is discouraged (the uniform prior on cluster frequencies of eq. 2); rows sum to 1.
    (The paper names the network's predictions P and these targets Q.)

    ``sharpen=True`` gives the variant of the authors' released code,
    ``p_ik proportional to q_ik^2 / sum_i q_ik`` (DEC's eq. 3), which also sharpens.
    """
    if sharpen:
        w = q * q / (q.sum(0, keepdim=True) + eps)  # (N, K)
    else:
        w = q / (q.sum(0, keepdim=True) + eps).sqrt()  # (N, K)
    return w / w.sum(1, keepdim=True).clamp_min(eps)


def depict_clustering_loss(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy ``-1/N sum_ik target_ik log softmax(logits)_ik`` (paper eq. 8).

    With the targets fixed, this equals KL(target || p) up to a constant.
    """
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def reconstruction_terms(clean_layers, recons, hidden_weight: float) -> torch.Tensor:
    """``sum_l lambda_l * mean ||z^l - z^^l||^2``: lambda_0 = 1 (input), else ``hidden_weight``.

    The per-element mean is the paper's ``1/|z^l|`` normalisation; targets are the clean
    pathway's outputs and are not differentiated through.
    """
    loss = F.mse_loss(recons[0], clean_layers[0].detach())
    for t, r in zip(clean_layers[1:], recons[1:]):
        loss = loss + hidden_weight * F.mse_loss(r, t.detach())
    return loss
