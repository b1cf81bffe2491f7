"""Checks for the exercise notebooks.

Each ``check_xxx(fn)`` runs a learner's function on random inputs, compares the
result with dclearn's own implementation and, on a mismatch, raises an
``AssertionError`` that says in words what is wrong (wrong shape, rows that do
not sum to one, a value out of range, ...). On success it prints one line.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["check_cluster_acc", "check_kmeans_step", "check_gmm_responsibilities",
           "check_soft_assignment", "check_target_distribution", "check_kl_clustering_loss",
           "check_dcn_centroid_update"]


class ExerciseCheckError(AssertionError):
    """A learner's function disagrees with the reference; the message explains how."""


def _fail(what: str, detail: str) -> None:
    raise ExerciseCheckError(f"{what}: {detail}")


def _np(a, name: str, what: str) -> np.ndarray:
    if a is None:
        _fail(what, f"{name} is None: did you forget a return statement?")
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(what, f"{name} could not be read as numbers (got {type(a).__name__}).")


def _same_shape(got: np.ndarray, want: np.ndarray, name: str, what: str) -> None:
    if got.shape != want.shape:
        _fail(what, f"{name} has shape {got.shape}, expected {want.shape}.")


def _passed(what: str, n: int) -> None:
    print(f"OK: {what} agrees with dclearn on {n} random cases.")


# --- chapter 00 ----------------------------------------------------------------------

def check_cluster_acc(fn, n_cases: int = 20, seed: int = 0) -> None:
    """``fn(y_true, y_pred) -> float``: accuracy under the best one-to-one matching."""
    from .metrics import cluster_acc

    what = "cluster_acc"
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 30)
    perm = rng.permutation(4)
    got = fn(y.copy(), perm[y])
    if got is None:
        _fail(what, "returned None: did you forget a return statement?")
    got = float(got)
    if not 0.0 <= got <= 1.0:
        _fail(what, f"accuracy must lie in [0, 1], got {got:.4f}: divide the matched "
                    f"count by the number of samples.")
    if abs(got - 1.0) > 1e-9:
        _fail(what, f"relabelling the clusters of a perfect clustering must give 1.0, got "
                    f"{got:.4f}. Cluster ids are arbitrary: match them to classes first "
                    f"(scipy.optimize.linear_sum_assignment on the contingency table).")
    for case in range(n_cases):
        n = int(rng.integers(5, 60))
        k_true, k_pred = int(rng.integers(2, 6)), int(rng.integers(2, 7))
        y_true = rng.integers(0, k_true, n)
        y_pred = rng.integers(0, k_pred, n)
        want = cluster_acc(y_true, y_pred)
        got = fn(y_true.copy(), y_pred.copy())
        try:
            got = float(got)
        except (TypeError, ValueError):
            _fail(what, f"should return one number, got {type(got).__name__}.")
        if not 0.0 <= got <= 1.0:
            _fail(what, f"accuracy must lie in [0, 1], got {got:.4f}: divide the matched "
                        f"count by the number of samples.")
        if abs(got - want) > 1e-9:
            hint = ""
            if k_true != k_pred:
                hint = (f" Here there are {k_pred} clusters for {k_true} classes: the "
                        f"contingency table is rectangular, and unmatched clusters count as "
                        f"errors.")
            elif got < want:
                hint = (" A greedy or identity matching is not the best one: use the "
                        "Hungarian method.")
            _fail(what, f"case {case}: got {got:.4f}, expected {want:.4f} for y_true="
                        f"{y_true.tolist()}, y_pred={y_pred.tolist()}.{hint}")
    _passed(what, n_cases + 1)


def check_kmeans_step(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(X, C) -> (labels, new_C)``: one Lloyd iteration (assign, then update)."""
    from .methods.kmeans import assign_clusters, update_centroids

    what = "kmeans_step"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        n, d, k = 40 + 5 * case, 2 + case % 3, 3 + case % 3
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        C = X[torch.randperm(n, generator=g)[:k]].clone()
        if case == n_cases - 1:  # a centroid far away gets no point: it must stay put
            C[0] = 100.0
        want_l = assign_clusters(X, C)
        want_C = update_centroids(X, want_l, k, previous=C)
        out = fn(X.clone(), C.clone())
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail(what, "should return a pair (labels, new_centroids).")
        labels = _np(out[0], "labels", what)
        new_C = _np(out[1], "new_centroids", what)
        _same_shape(labels, want_l.numpy().astype(np.float64), "labels", what)
        if not np.array_equal(labels, want_l.numpy()):
            bad = int((labels != want_l.numpy()).sum())
            _fail(what, f"case {case}: {bad} of {n} points are not assigned to their nearest "
                        f"centroid (argmin over the squared Euclidean distances to the "
                        f"centroids, one row per point).")
        _same_shape(new_C, want_C.numpy(), "new_centroids", what)
        if not np.allclose(new_C, want_C.numpy(), atol=1e-6):
            if case == n_cases - 1 and not np.allclose(new_C[0], C[0].numpy()):
                _fail(what, "a centroid with no assigned point must keep its old position "
                            "(the mean of zero points is undefined; yours gave "
                            f"{new_C[0].round(3).tolist()}).")
            err = np.abs(new_C - want_C.numpy()).max()
            _fail(what, f"case {case}: the new centroids are not the means of the points "
                        f"assigned to them (largest error {err:.3g}).")
    _passed(what, n_cases)


def check_gmm_responsibilities(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(X, weights, means, variances) -> gamma (N, K)``: the E-step of a diagonal GMM."""
    from .methods.gmm import gmm_responsibilities

    what = "gmm_responsibilities"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        n, d, k = 30, 2 + case % 4, 2 + case % 3
        X = torch.randn(n, d, generator=g, dtype=torch.float64) * (1 + 5 * (case % 2))
        w = torch.rand(k, generator=g, dtype=torch.float64) + 0.1
        w = w / w.sum()
        mu = torch.randn(k, d, generator=g, dtype=torch.float64)
        var = torch.rand(k, d, generator=g, dtype=torch.float64) * 0.5 + 0.05
        want = gmm_responsibilities(X, w, mu, var)[0].numpy()
        got = _np(fn(X.clone(), w.clone(), mu.clone(), var.clone()), "gamma", what)
        _same_shape(got, want, "gamma", what)
        if not np.all(np.isfinite(got)):
            _fail(what, f"case {case}: gamma has NaN or inf. Far from every centre the "
                        f"densities underflow to 0: work with log-densities and normalise "
                        f"with logsumexp.")
        if not np.allclose(got.sum(1), 1.0, atol=1e-6):
            _fail(what, "each row of gamma must sum to 1 (normalise over the components).")
        if not np.allclose(got, want, atol=1e-6):
            hint = (" Check the mixing weights pi_k multiply the densities, and that var is "
                    "a variance (not a standard deviation).")
            _fail(what, f"case {case}: largest difference {np.abs(got - want).max():.3g}.{hint}")
    _passed(what, n_cases)


# --- chapter 02 ----------------------------------------------------------------------

def check_soft_assignment(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(z, centroids, alpha=1.0) -> q (N, K)``: DEC's Student-t kernel (DEC eq. 1)."""
    from .methods.dec import soft_assignment

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
    from .methods.dec import target_distribution

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
    from .methods.dec import kl_clustering_loss

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
    from .methods.dcn import dcn_centroid_update

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
