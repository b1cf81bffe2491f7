"""Checks for chapter 02's DEPICT: the objective (eq. 2) and the balanced targets (eq. 7).

``_depict_objective`` is the reference for the objective, shared with
``autoencoders.use_solved``.
"""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _needs_grad, _np, _passed, _same_shape
from .dec import _kl_pq

__all__ = ["check_depict_objective", "check_depict_targets"]


# --- DEPICT -----------------------------------------------------------------------------------
def _depict_objective(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """DEPICT eq. 2 in the paper's letters: KL(Q || P) + KL(f || u), f_k = mean_i q_ik."""
    k = q.shape[1]
    f = q.mean(0)
    return _kl_pq(q, p) + (f * (f.clamp_min(1e-12) * k).log()).sum()


def check_depict_objective(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(q, p) -> scalar``: DEPICT eq. 2, ``KL(Q||P) + KL(f||u)`` with Q the targets."""
    what = "depict_objective"
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_cases):
        q = torch.softmax(torch.randn(15, 4, generator=g, dtype=torch.float64) * 2, 1)
        p = torch.softmax(torch.randn(15, 4, generator=g, dtype=torch.float64), 1)
        want = float(_depict_objective(q, p))
        out = _np(fn(q.clone(), p.clone()), "L", what)
        if out.size != 1:
            _fail(what, f"should return one number (a scalar tensor), got shape {out.shape}.")
        got = float(out.reshape(()))
        if abs(got - want) < 1e-6:
            continue
        k = q.shape[1]
        f = q.mean(0)
        balance = float((f * (f * k).log()).sum())
        mistakes = {
            "you computed KL(P || Q); in DEPICT's letters Q is the target and the first "
            "argument: KL(Q || P) = sum q log(q / p)": float(_kl_pq(p, q)) + balance,
            "the balance term KL(f || u) is missing, or is 0 because f was averaged over the "
            "clusters (axis 1), where every row of q averages to 1/K; f_k = (1/N) sum_i q_ik "
            "averages over the points (axis 0)": float(_kl_pq(q, p)),
            "the balance term looks like KL(u || f); the paper's is KL(f || u) = "
            "sum_k f_k log(f_k / u_k)": float(_kl_pq(q, p))
                + float(((1.0 / k) * ((1.0 / k) / f).log()).sum()),
            "you used f_k = sum_i q_ik; the frequency is an average, f_k = (1/N) sum_i q_ik, "
            "so that f sums to 1 like u": float(_kl_pq(q, p))
                + float((q.sum(0) * (q.sum(0) * k).log()).sum()),
            "you summed KL(Q || P) over the points; average it (1/N), as the paper does":
                float(_kl_pq(q, p)) * q.shape[0] + balance,
        }
        for msg, wrong in mistakes.items():
            if abs(got - wrong) < 1e-6:
                _fail(what, msg + ".")
        _fail(what, f"got {got:.6f}, expected {want:.6f}.")
    q = torch.softmax(torch.randn(6, 3, generator=g), 1).requires_grad_(True)
    p = torch.softmax(torch.randn(6, 3, generator=g), 1)
    _needs_grad(what, fn(q, p), {"q": q}, "L")
    _passed(what, n_cases)



def check_depict_targets(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(p) -> q``: DEPICT's closed-form targets (eq. 7) from the predictions ``p``."""
    from ..methods.autoencoder.dec import target_distribution
    from ..methods.autoencoder.depict_objective import balanced_target_distribution

    what = "depict_targets"
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_cases):
        p = torch.softmax(torch.randn(20, 5, generator=g, dtype=torch.float64) * 2, 1)
        want = balanced_target_distribution(p).numpy()
        got = _np(fn(p.clone()), "q", what)
        _same_shape(got, want, "q", what)
        if np.allclose(got, want, atol=1e-6):
            continue
        w_full = p / p.sum(0, keepdim=True)
        mistakes = {
            "you divided by the cluster's soft size itself; eq. 7 divides by its square root, "
            "(sum_i' p_i'k)^(1/2)": w_full / w_full.sum(1, keepdim=True),
            "this is DEC's target (p^2 / f), the authors' code's variant; eq. 7 does not "
            "square p": target_distribution(p),
            "you did not renormalise: divide each row by its sum over the clusters":
                p / p.sum(0, keepdim=True).sqrt(),
            "you took the square root of the sum over the clusters (axis 1); the sum runs over "
            "the points, sum_i' p_i'k": p,
        }
        for msg, wrong in mistakes.items():
            if np.allclose(got, wrong.numpy(), atol=1e-6):
                _fail(what, msg + ".")
        if not np.allclose(got.sum(1), 1.0, atol=1e-6):
            _fail(what, "each row of q must sum to 1 over the clusters.")
        _fail(what, f"largest difference {np.abs(got - want).max():.3g} from eq. 7.")
    _passed(what, n_cases)
