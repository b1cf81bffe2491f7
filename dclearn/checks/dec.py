"""Checks for chapter 02's DEC and IDEC: q, p, KL(P || Q), the target without f, IDEC's loss.

``check_soft_assignment``, ``check_target_distribution`` and ``check_kl_clustering_loss``
test DEC's three functions (DEC eqs. 1-3), ``check_target_without_f`` the target with the
division by f left out and the learner's predictions about it, ``check_idec_loss`` IDEC's
``L_r + gamma L_c``. ``_kl_pq`` (DEC eq. 2) is shared with the DEPICT checks and
``autoencoders.use_solved``.
"""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _needs_grad, _np, _passed, _same_shape

__all__ = [
    "check_soft_assignment",
    "check_target_distribution",
    "check_kl_clustering_loss",
    "check_target_without_f",
    "check_idec_loss",
]


def _kl_pq(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(P || Q) summed over clusters, averaged over samples (DEC eq. 2)."""
    return (p * (p.clamp_min(1e-12).log() - q.clamp_min(1e-12).log())).sum(1).mean()


def _imbalanced_q(seed: int, n: int = 300, k: int = 4) -> torch.Tensor:
    """Soft assignments where cluster 0 is the largest."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64) * 1.5
    logits[:, 0] += 1.0
    return torch.softmax(logits, 1)


# --- DEC --------------------------------------------------------------------------------------
def check_soft_assignment(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(z, centroids, alpha=1.0) -> q (N, K)``: DEC's Student-t kernel (DEC eq. 1)."""
    from ..methods.autoencoder.dec import soft_assignment

    what = "soft_assignment"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        z = torch.randn(25, 3, generator=g)
        mu = torch.randn(4, 3, generator=g)
        alpha = 1.0 if case < n_cases // 2 else 2.0
        want = soft_assignment(z, mu, alpha).numpy()
        got = _np(fn(z.clone(), mu.clone(), alpha), "q", what)
        _same_shape(got, want, "q", what)
        if not np.allclose(got.sum(1), 1.0, atol=1e-5):
            _fail(what, "each row of q must sum to 1 over the clusters.")
        if not np.allclose(got, want, atol=1e-5):
            d = torch.cdist(z, mu)
            plain = (1.0 + d / alpha) ** (-(alpha + 1.0) / 2.0)
            if np.allclose(got, (plain / plain.sum(1, keepdim=True)).numpy(), atol=1e-5):
                _fail(what, "you used the distance ||z - mu|| where the kernel takes the "
                            "squared distance ||z - mu||^2.")
            hint = (" With alpha=2 the kernel is (1 + d^2/alpha)^(-(alpha+1)/2): check that "
                    "alpha enters both places." if alpha != 1.0 else
                    " Use squared distances in (1 + ||z - mu||^2 / alpha)^(-(alpha+1)/2).")
            _fail(what, f"alpha={alpha}: largest difference {np.abs(got - want).max():.3g}.{hint}")
    z = torch.randn(6, 3, generator=g, requires_grad=True)
    mu = torch.randn(3, 3, generator=g, requires_grad=True)
    _needs_grad(what, fn(z, mu, 1.0), {"z": z, "centroids": mu}, "q")
    _passed(what, n_cases)


def check_target_distribution(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(q) -> p``: DEC's auxiliary target (DEC eq. 3)."""
    from ..methods.autoencoder.dec import target_distribution

    what = "target_distribution"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        q = torch.softmax(torch.randn(20, 5, generator=g) * (1 + case), dim=1)
        want = target_distribution(q).numpy()
        got = _np(fn(q.clone()), "p", what)
        _same_shape(got, want, "p", what)
        if np.allclose(got, want, atol=1e-5):
            continue
        sq = q ** 2
        by_cols = sq / q.sum(0, keepdim=True)
        mistakes = {
            "p equals q^2 renormalised per point, as if the soft cluster frequency f_j were "
            "left out. If you did divide "
            "by f, you summed over the clusters (axis 1): every row of q sums to 1, so that "
            "'f' is 1 for every point and the division changes nothing. f_j = sum_i q_ij "
            "sums over the points (axis 0), one number per cluster":
                sq / sq.sum(1, keepdim=True),
            "you normalised over the points (axis 0), so each column sums to 1; p is a "
            "distribution over the clusters of one point, so each row must sum to 1":
                by_cols / by_cols.sum(0, keepdim=True),
            "you divided by f_j but did not renormalise: divide q^2/f by its sum over the "
            "clusters of each point": by_cols,
            "you computed f_j from q^2; the soft cluster frequency is f_j = sum_i q_ij":
                (sq / sq.sum(0, keepdim=True)) / (sq / sq.sum(0, keepdim=True)).sum(1, True),
            "you divided q (not q^2) by f_j: squaring is what sharpens the target":
                (q / q.sum(0)) / (q / q.sum(0)).sum(1, keepdim=True),
        }
        for msg, wrong in mistakes.items():
            if np.allclose(got, wrong.numpy(), atol=1e-5):
                _fail(what, msg + ".")
        if not np.allclose(got.sum(1), 1.0, atol=1e-5):
            _fail(what, "each row of p must sum to 1: normalise q^2/f over the clusters.")
        _fail(what, f"largest difference {np.abs(got - want).max():.3g} from "
                    "(q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j').")
    _passed(what, n_cases)


def check_kl_clustering_loss(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(p, q) -> scalar``: KL(P || Q), summed over clusters, averaged over samples."""
    from ..methods.autoencoder.dec import kl_clustering_loss

    what = "kl_clustering_loss"
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_cases):
        q = torch.softmax(torch.randn(16, 4, generator=g), 1)
        p = torch.softmax(torch.randn(16, 4, generator=g) * 2, 1)
        want = float(kl_clustering_loss(p, q))
        got = _np(fn(p.clone(), q.clone()), "loss", what)
        if got.size != 1:
            _fail(what, f"should return one number (a scalar tensor), got shape {got.shape}.")
        got = float(got.reshape(()))
        if abs(got - want) > 1e-5:
            swapped = float((q * (q / p).log()).sum(1).mean())
            if abs(got - swapped) < 1e-5:
                _fail(what, "you computed KL(Q || P): DEC minimises KL(P || Q) = "
                            "sum p log(p / q).")
            if abs(got - want * p.shape[0]) < 1e-4:
                _fail(what, "sum over clusters, then average (not sum) over samples.")
            if abs(got - want / p.shape[1]) < 1e-5:
                _fail(what, "sum over the clusters (do not average over them), then average "
                            "over the samples.")
            _fail(what, f"got {got:.5f}, expected {want:.5f}.")
    # targets with exact zeros (a sharpened P can underflow): 0 log 0 counts as 0
    p = torch.softmax(torch.randn(16, 4, generator=g) * 2, 1)
    p[::3, 0] = 0.0
    p = p / p.sum(1, keepdim=True)
    q = torch.softmax(torch.randn(16, 4, generator=g), 1)
    want = float(kl_clustering_loss(p, q))
    got = _np(fn(p.clone(), q.clone()), "loss", what).reshape(-1)
    if got.size != 1 or not np.isfinite(got[0]):
        _fail(what, "with exact zeros in p the loss is not a finite number: a term with "
                    "p_ij = 0 contributes 0 (the limit of p log p), but 0 * log(0) is nan in "
                    "floating point. Guard the logarithm (e.g. log(p.clamp_min(1e-12))) or "
                    "keep only the terms with p > 0.")
    if abs(float(got[0]) - want) > 1e-5:
        _fail(what, f"with exact zeros in p: got {float(got[0]):.5f}, expected {want:.5f} "
                    f"(terms with p_ij = 0 contribute 0).")
    p = torch.softmax(torch.randn(8, 3, generator=g), 1)
    q = torch.softmax(torch.randn(8, 3, generator=g), 1).requires_grad_(True)
    _needs_grad(what, fn(p, q), {"q": q}, "the loss")
    _passed(what, n_cases)


def _sharpen_only(q: torch.Tensor) -> torch.Tensor:
    w = q * q
    return w / w.sum(1, keepdim=True)


_PREDICTION_KEYS = {
    "argmax_changes_without_f": (True, False),
    "argmax_changes_with_f": (True, False),
    "uniform_point_without_f": ("uniform", "favours large clusters", "favours small clusters"),
    "uniform_point_with_f": ("uniform", "favours large clusters", "favours small clusters"),
    "largest_cluster_with_f_vs_without": ("higher", "lower", "same"),
}


def check_target_without_f(fn, predictions, seed: int = 0) -> None:
    """``fn(q) -> p`` with ``p_ij ~ q_ij^2`` (DEC eq. 3 without f), and predictions about it.

    ``predictions()`` returns a dict with the keys of ``_PREDICTION_KEYS``; each answer
    is compared with what the two targets do on a q whose cluster 0 is the largest.
    """
    from ..methods.autoencoder.dec import target_distribution

    what = "target_without_f"
    q = _imbalanced_q(seed)
    want = _sharpen_only(q)
    got = _np(fn(q.clone()), "p", what)
    _same_shape(got, want.numpy(), "p", what)
    if not np.allclose(got, want.numpy(), atol=1e-6):
        if np.allclose(got, target_distribution(q).numpy(), atol=1e-6):
            _fail(what, "this is DEC's target with the division by f_j; remove it and keep "
                        "q_ij^2 normalised over the clusters of each point.")
        if not np.allclose(got.sum(1), 1.0, atol=1e-6):
            _fail(what, "each row must still sum to 1: divide q^2 by its sum over clusters.")
        _fail(what, f"largest difference {np.abs(got - want.numpy()).max():.3g} from "
                    "q_ij^2 / sum_j' q_ij'^2.")

    pred = predictions() if callable(predictions) else predictions
    if not isinstance(pred, dict):
        _fail(what, "predictions() should return a dict of your answers.")
    for key, options in _PREDICTION_KEYS.items():
        if key not in pred:
            _fail(what, f"predictions has no answer for {key!r} (one of {list(options)}).")
        if pred[key] not in options:
            _fail(what, f"{key!r} should be one of {list(options)}, got {pred[key]!r}.")

    p_f = target_distribution(q)
    uniform = torch.full((1, q.shape[1]), 1.0 / q.shape[1], dtype=q.dtype)
    f = q.sum(0, keepdim=True)
    u_with = (uniform ** 2 / f) / (uniform ** 2 / f).sum(1, keepdim=True)
    truth = {
        "argmax_changes_without_f": bool((want.argmax(1) != q.argmax(1)).any()),
        "argmax_changes_with_f": bool((p_f.argmax(1) != q.argmax(1)).any()),
        "uniform_point_without_f": "uniform",
        "uniform_point_with_f": ("favours small clusters"
                                 if u_with[0, f.argmin()] > u_with[0, f.argmax()] else "uniform"),
        "largest_cluster_with_f_vs_without": (
            "lower" if p_f[:, 0].mean() < want[:, 0].mean() else "higher"),
    }
    reasons = {
        "argmax_changes_without_f": "squaring keeps the order of q_i1, ..., q_iK and the "
            "normalisation divides the whole row by one number, so no point changes its top "
            f"cluster (on this q: {int((want.argmax(1) != q.argmax(1)).sum())} of {len(q)} did).",
        "argmax_changes_with_f": "dividing by f_j lowers every large cluster's column, so a "
            "point torn between a large and a small cluster can switch to the small one (on "
            f"this q: {int((p_f.argmax(1) != q.argmax(1)).sum())} of {len(q)} points did).",
        "uniform_point_without_f": "a point with q_ij = 1/K squares to 1/K^2 everywhere, which "
            "normalises back to 1/K: no preference, no push.",
        "uniform_point_with_f": "with q_ij = 1/K the target is proportional to 1/f_j, so the "
            "point is pushed towards the clusters with the smallest soft frequency.",
        "largest_cluster_with_f_vs_without": "for every point, dividing by f_j multiplies the "
            "largest cluster's weight by 1/f_max, the smallest of the factors 1/f_j, so its "
            f"share drops (mean p_i0: {float(want[:, 0].mean()):.3f} without f, "
            f"{float(p_f[:, 0].mean()):.3f} with f).",
    }
    for key in _PREDICTION_KEYS:
        if pred[key] != truth[key]:
            _fail(what, f"prediction {key!r} = {pred[key]!r}, but it is {truth[key]!r}: "
                        f"{reasons[key]}")
    print(f"OK: {what} agrees with q^2 / sum q^2, and all {len(truth)} predictions hold.")



# --- IDEC -------------------------------------------------------------------------------------
def check_idec_loss(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(x_hat, x, p, q, gamma=0.1) -> scalar``: IDEC's ``L_r + gamma L_c`` (IDEC eq. 7)."""
    from ..methods.autoencoder.reconstruction import reconstruction_loss

    what = "idec_loss"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        x = torch.rand(12, 6, generator=g)
        x_hat = x + 0.3 * torch.randn(12, 6, generator=g)
        q = torch.softmax(torch.randn(12, 4, generator=g), 1)
        p = torch.softmax(torch.randn(12, 4, generator=g) * 2, 1)
        gamma = 0.1 if case % 2 == 0 else 0.5
        rec, clus = float(reconstruction_loss(x_hat, x)), float(_kl_pq(p, q))
        want = rec + gamma * clus
        out = _np(fn(x_hat.clone(), x.clone(), p.clone(), q.clone(), gamma), "loss", what)
        if out.size != 1:
            _fail(what, f"should return one number (a scalar tensor), got shape {out.shape}.")
        got = float(out.reshape(()))
        if abs(got - want) < 1e-5:
            continue
        mistakes = {
            "gamma weighs the clustering term, not the reconstruction: L = L_r + gamma L_c":
                gamma * rec + clus,
            "you left out gamma: L = L_r + gamma L_c with gamma = 0.1 in the paper":
                rec + clus,
            "you used KL(Q || P) for L_c; IDEC keeps DEC's KL(P || Q)":
                rec + gamma * float(_kl_pq(q, p)),
            "L_r is missing: IDEC keeps the decoder and its reconstruction loss":
                gamma * clus,
            "you summed the squared error over the features of each sample; dclearn's L_r "
            "(reconstruction_loss) averages it over the samples and the features":
                float(((x_hat - x) ** 2).sum(1).mean()) + gamma * clus,
            "you summed the squared error over the whole batch; average it over the samples "
            "and the features": float(((x_hat - x) ** 2).sum()) + gamma * clus,
        }
        for msg, wrong in mistakes.items():
            if abs(got - wrong) < 1e-5:
                _fail(what, f"gamma={gamma}: {msg}.")
        _fail(what, f"gamma={gamma}: got {got:.5f}, expected {want:.5f} = L_r {rec:.5f} + "
                    f"gamma * KL(P||Q) {clus:.5f}.")
    x = torch.rand(5, 4, generator=g)
    x_hat = torch.rand(5, 4, generator=g).requires_grad_(True)
    p = torch.softmax(torch.randn(5, 3, generator=g), 1)
    q = torch.softmax(torch.randn(5, 3, generator=g), 1).requires_grad_(True)
    _needs_grad(what, fn(x_hat, x, p, q, 0.1), {"x_hat": x_hat, "q": q}, "the loss")
    _passed(what, n_cases)
