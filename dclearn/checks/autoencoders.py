"""Checks for chapter 02 (autoencoders): DEC's q, p and KL loss, DCN's centroid step."""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape

__all__ = [
    "check_soft_assignment",
    "check_target_distribution",
    "check_kl_clustering_loss",
    "check_dcn_centroid_update",
]


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
            hint = (" With alpha=2 the kernel is (1 + d^2/alpha)^(-(alpha+1)/2): check that "
                    "alpha enters both places." if alpha != 1.0 else
                    " Use squared distances in (1 + ||z - mu||^2 / alpha)^(-(alpha+1)/2).")
            _fail(what, f"alpha={alpha}: largest difference {np.abs(got - want).max():.3g}.{hint}")
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
        if not np.allclose(got.sum(1), 1.0, atol=1e-5):
            _fail(what, "each row of p must sum to 1: normalise q^2/f over the clusters.")
        if not np.allclose(got, want, atol=1e-5):
            sq = (q ** 2 / (q ** 2).sum(1, keepdim=True)).numpy()
            hint = (" You squared and renormalised q but forgot to divide by the soft cluster "
                    "frequency f_j = sum_i q_ij." if np.allclose(got, sq, atol=1e-5) else "")
            _fail(what, f"largest difference {np.abs(got - want).max():.3g}.{hint}")
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
        out = fn(p.clone(), q.clone())
        got = _np(out, "loss", what)
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
            _fail(what, f"got {got:.5f}, expected {want:.5f}.")
    if isinstance(out, torch.Tensor):
        p = torch.softmax(torch.randn(8, 3, generator=g), 1)
        q = torch.softmax(torch.randn(8, 3, generator=g), 1).requires_grad_(True)
        loss = fn(p, q)
        if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
            _fail(what, "the loss must stay differentiable with respect to q (use torch "
                        "operations, no .item() or numpy).")
    _passed(what, n_cases)


def check_dcn_centroid_update(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(centroids, counts, z, assignments) -> (centroids, counts)``: DCN's centroid step."""
    from ..methods.autoencoder.dcn import dcn_centroid_update

    what = "dcn_centroid_update"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        k, d, b = 4, 3, 12
        M = torch.randn(k, d, generator=g, dtype=torch.float64)
        counts = torch.randint(1, 20, (k,), generator=g).to(torch.float64)
        z = torch.randn(b, d, generator=g, dtype=torch.float64)
        s = torch.randint(0, k - (case % 2), (b,), generator=g)  # odd cases leave one empty
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
        if not np.allclose(got_M, want_M.numpy(), atol=1e-6):
            hint = ""
            if case % 2 and not np.allclose(got_M[k - 1], M[k - 1].numpy()):
                hint = " A centroid with no sample in the batch must not move."
            _fail(what, f"case {case}: centroids differ by up to "
                        f"{np.abs(got_M - want_M.numpy()).max():.3g}. With step 1/c_k (c_k "
                        f"counted after adding the sample) the update is a running mean.{hint}")
    _passed(what, n_cases)
