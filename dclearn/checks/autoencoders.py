"""Checks for chapter 02 (autoencoders): DEC, IDEC, DCN and DEPICT.

Each ``check_xxx`` compares a learner's function with dclearn's (or with the formula
it names) on random inputs, recognises the usual mistakes by computing them, and says
in words what differs. ``use_solved`` lets a notebook run on with the learner's
functions where they pass their checks and with the reference where they do not.
"""

from __future__ import annotations

import contextlib
import io
from types import SimpleNamespace

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape

__all__ = [
    "check_soft_assignment",
    "check_target_distribution",
    "check_kl_clustering_loss",
    "check_target_without_f",
    "check_idec_loss",
    "check_dcn_centroid_update",
    "check_depict_objective",
    "check_depict_targets",
    "check_dec_training_loop",
    "use_solved",
]


# --- shared helpers ------------------------------------------------------------------------
def _needs_grad(what: str, out, inputs: dict, name: str) -> None:
    """Back-propagate from ``out`` and fail unless every tensor in ``inputs`` gets a gradient."""
    if not isinstance(out, torch.Tensor):
        _fail(what, f"{name} must be a torch tensor that autograd can differentiate, got "
                    f"{type(out).__name__} (no .item(), float() or numpy inside).")
    if not out.requires_grad:
        _fail(what, f"{name} is not differentiable: it does not depend on its inputs through "
                    "autograd (was it detached, or built with numpy or a new tensor?); use "
                    "torch operations only.")
    weights = torch.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
    (out * weights).sum().backward()
    for arg, t in inputs.items():
        if t.grad is None:
            _fail(what, f"no gradient reaches {arg}: the training step needs d {name} / d {arg}.")
        if not torch.isfinite(t.grad).all():
            _fail(what, f"the gradient with respect to {arg} is not finite.")


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


# --- DCN --------------------------------------------------------------------------------------
def check_dcn_centroid_update(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(centroids, counts, z, assignments) -> (centroids, counts)``: DCN's centroid step.

    Some cases hold a cluster with no sample in the batch, and some a cluster whose count
    is 0 (never assigned before); the reference (``dcn.dcn_centroid_update``) leaves a
    centroid without samples where it is, and moves a count-0 centroid that receives
    samples onto their mean (its first step has size 1/1).
    """
    from ..methods.autoencoder.dcn import dcn_centroid_update

    what = "dcn_centroid_update"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        k, d, b = 4, 3, 12
        M = torch.randn(k, d, generator=g, dtype=torch.float64)
        counts = torch.randint(1, 20, (k,), generator=g).to(torch.float64)
        z = torch.randn(b, d, generator=g, dtype=torch.float64)
        s = torch.randint(0, k - (case % 2), (b,), generator=g)  # odd cases: k-1 gets none
        if case % 3 == 1:
            counts[k - 1] = 0.0  # never assigned before, and (odd case) none in this batch
        if case % 3 == 2:
            counts[0] = 0.0  # never assigned before, with samples in this batch
            s[0] = 0
        want_M, want_c = dcn_centroid_update(M.clone(), counts.clone(), z, s)
        out = fn(M.clone(), counts.clone(), z.clone(), s.clone())
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail(what, "should return a pair (new_centroids, new_counts).")
        got_M, got_c = _np(out[0], "centroids", what), _np(out[1], "counts", what)
        _same_shape(got_c, want_c.numpy(), "counts", what)
        if not np.allclose(got_c, want_c.numpy()):
            _fail(what, "each count must grow by the number of samples assigned to that "
                        "cluster in the batch.")
        _same_shape(got_M, want_M.numpy(), "centroids", what)
        if not np.isfinite(got_M).all():
            bad = sorted(set(np.where(~np.isfinite(got_M))[0].tolist()))
            _fail(what, f"case {case}: centroid(s) {bad} became NaN or inf. A cluster with "
                        "count c_k = 0 and no sample in the batch divides 0 by 0: it has "
                        "nothing to average, so leave its centroid unchanged.")
        if not np.allclose(got_M, want_M.numpy(), atol=1e-6):
            empty = [j for j in range(k) if not (s == j).any()]
            moved = [j for j in empty if not np.allclose(got_M[j], M[j].numpy())]
            if moved:
                _fail(what, f"case {case}: centroid {moved[0]} has no sample in the batch but "
                            "moved; a centroid with no sample in the batch must not move.")
            fresh = [j for j in range(k) if counts[j] == 0 and (s == j).any()]
            if fresh and not np.allclose(got_M[fresh[0]], want_M[fresh[0]].numpy(), atol=1e-6):
                _fail(what, f"case {case}: cluster {fresh[0]} had count 0 and receives "
                            "samples: its first step is 1/c_k = 1/1, so it jumps onto its "
                            "first sample, and after the batch it sits at the mean of its "
                            "batch samples.")
            _fail(what, f"case {case}: centroids differ by up to "
                        f"{np.abs(got_M - want_M.numpy()).max():.3g}. With step 1/c_k (c_k "
                        "counted after adding the sample) the update is a running mean.")
    _passed(what, n_cases)


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


# --- DEC's training loop ----------------------------------------------------------------------
def check_dec_training_loop(fn, seed: int = 0) -> None:
    """``fn(X, encoder, centroids, q_fn, p_fn, kl_fn, n_updates, steps_per_update,
    batch_size, lr, generator) -> (centroids, kl_history)``: DEC's self-training loop.

    Runs the learner's loop on a small two-blob problem with instrumented versions of
    dclearn's q, p and KL, and checks what the loop does with them: P over the whole data
    at every update and held fixed, the encoder and the centroids both trained, the
    loss going down.
    """
    from ..methods.autoencoder.dec import (
        kl_clustering_loss,
        soft_assignment,
        target_distribution,
    )

    what = "dec_training_loop"
    g = torch.Generator().manual_seed(seed)
    n, d = 120, 5
    X = torch.cat([torch.randn(n // 2, d, generator=g) + 2.0,
                   torch.randn(n // 2, d, generator=g) - 2.0])
    torch.manual_seed(seed)
    encoder = torch.nn.Linear(d, 2)
    with torch.no_grad():
        centroids = encoder(X[[0, n - 1]]).clone()
    start_w = encoder.weight.detach().clone()
    start_c = centroids.clone()
    log = {"p_rows": [], "p_grad": False, "kl_p_grad": False, "kl_calls": 0, "P0": None}
    with torch.no_grad():
        q0 = soft_assignment(encoder(X), start_c)

    def p_fn(q):
        log["p_rows"].append(q.shape[0])
        log["p_grad"] = log["p_grad"] or q.requires_grad
        p = target_distribution(q)
        if log["P0"] is None:
            log["P0"] = p.detach().clone()
        return p

    def kl_fn(p, q):
        log["kl_calls"] += 1
        log["kl_p_grad"] = log["kl_p_grad"] or p.requires_grad
        return kl_clustering_loss(p, q)

    n_updates, steps, bs = 4, 5, 16
    out = fn(X, encoder, centroids, soft_assignment, p_fn, kl_fn, n_updates=n_updates,
             steps_per_update=steps, batch_size=bs, lr=0.05,
             generator=torch.Generator().manual_seed(seed))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        _fail(what, "should return a pair (centroids, kl_history).")
    new_c, history = out
    if len(log["p_rows"]) != n_updates:
        _fail(what, f"the target P was computed {len(log['p_rows'])} times for n_updates="
                    f"{n_updates}: compute it once per update, before its steps.")
    if any(r != n for r in log["p_rows"]):
        _fail(what, f"P was computed on {min(log['p_rows'])} points, not on all {n}: f_j is a "
                    "sum over the whole data set, so compute q for every point, then P, and "
                    "take the batch's rows of P afterwards.")
    if log["p_grad"] or log["kl_p_grad"]:
        _fail(what, "P carries a gradient: it is a fixed target between two updates, so "
                    "compute q and P under torch.no_grad() (or detach P).")
    if log["kl_calls"] != n_updates * steps:
        _fail(what, f"the loss was computed {log['kl_calls']} times; expected one per step, "
                    f"{n_updates} x {steps} = {n_updates * steps}.")
    if torch.allclose(encoder.weight.detach(), start_w):
        _fail(what, "the encoder's weights did not change: give its parameters to the "
                    "optimiser and step it after loss.backward().")
    new_c = torch.as_tensor(_np(new_c, "centroids", what))
    if new_c.shape != start_c.shape:
        _fail(what, f"centroids have shape {tuple(new_c.shape)}, expected {tuple(start_c.shape)}.")
    if torch.allclose(new_c.float(), start_c):
        _fail(what, "the centroids did not move: DEC optimises them together with the "
                    "encoder (make them an nn.Parameter given to the optimiser).")
    hist = _np(history, "kl_history", what).ravel()
    if hist.size < 1:
        _fail(what, "kl_history should hold one mean loss per update (or per step).")
    with torch.no_grad():
        P0 = log["P0"] if log["P0"].shape == q0.shape else target_distribution(q0)
        before = float(kl_clustering_loss(P0, q0))
        after = float(kl_clustering_loss(P0, soft_assignment(encoder(X), new_c.float())))
    if not after < before:
        _fail(what, f"KL(P || Q) against the first target went from {before:.4f} to "
                    f"{after:.4f} instead of down: is the optimiser descending the loss's "
                    "gradient (zero_grad, loss.backward(), step)?")
    print(f"OK: {what} recomputes P over all {n} points at each of the {n_updates} updates, "
          "holds it fixed, and trains the encoder and the centroids.")


# --- running on with the solved functions -----------------------------------------------------
_CHECKS = {
    "soft_assignment": check_soft_assignment,
    "target_distribution": check_target_distribution,
    "kl_clustering_loss": check_kl_clustering_loss,
    "dcn_centroid_update": check_dcn_centroid_update,
    "idec_loss": check_idec_loss,
    "depict_objective": check_depict_objective,
    "depict_targets": check_depict_targets,
    "fit_dec": check_dec_training_loop,
}


def _idec_reference(x_hat, x, p, q, gamma=0.1):
    from ..methods.autoencoder.reconstruction import reconstruction_loss

    return reconstruction_loss(x_hat, x) + gamma * _kl_pq(p, q)


def _fit_dec_reference(X, encoder, centroids, q_fn, p_fn, kl_fn, n_updates=10,
                       steps_per_update=20, batch_size=64, lr=0.01, generator=None):
    mu = torch.nn.Parameter(centroids.detach().clone())
    opt = torch.optim.SGD(list(encoder.parameters()) + [mu], lr=lr, momentum=0.9)
    history = []
    for _ in range(n_updates):
        with torch.no_grad():
            P = p_fn(q_fn(encoder(X), mu))
        total = torch.zeros(())
        for _ in range(steps_per_update):
            idx = torch.randint(0, len(X), (batch_size,), generator=generator)
            loss = kl_fn(P[idx], q_fn(encoder(X[idx]), mu))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total = total + loss.detach().cpu()
        history.append(float(total) / steps_per_update)
    return mu.detach(), history


def _reference(name: str):
    from ..methods.autoencoder import dcn, dec
    from ..methods.autoencoder.depict_objective import balanced_target_distribution

    return {
        "soft_assignment": dec.soft_assignment,
        "target_distribution": dec.target_distribution,
        "kl_clustering_loss": dec.kl_clustering_loss,
        "dcn_centroid_update": dcn.dcn_centroid_update,
        "idec_loss": _idec_reference,
        "depict_objective": _depict_objective,
        "depict_targets": balanced_target_distribution,
        "fit_dec": _fit_dec_reference,
    }[name]


def use_solved(**functions) -> SimpleNamespace:
    """Your functions where they pass their checks, dclearn's where they do not.

    ``use_solved(soft_assignment=soft_assignment, ...)`` runs each function's check
    quietly and returns a namespace holding, under the same names, yours if it passes
    and the reference otherwise, printing which was taken.
    """
    chosen = {}
    for name, fn in functions.items():
        if name not in _CHECKS:
            raise ValueError(f"unknown exercise function {name!r}; known: {sorted(_CHECKS)}")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                _CHECKS[name](fn)
            chosen[name] = fn
            print(f"{name}: yours")
        except Exception:  # a failed check, the stub's NotImplementedError, any bug
            chosen[name] = _reference(name)
            print(f"{name}: dclearn's (yours does not pass its check yet)")
    return SimpleNamespace(**chosen)
