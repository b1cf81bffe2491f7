"""Checks for chapter 00 (clustering basics): ACC, one k-means step, GMM responsibilities."""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape

__all__ = ["check_cluster_acc", "check_kmeans_step", "check_gmm_responsibilities"]


def check_cluster_acc(fn, n_cases: int = 20, seed: int = 0) -> None:
    """``fn(y_true, y_pred) -> float``: accuracy under the best one-to-one matching."""
    from ..metrics import cluster_acc

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
    ids_hint = ("Cluster and class ids are labels, not positions: number the distinct "
                "values first (np.unique(..., return_inverse=True)) and build the table on "
                "those numbers.")
    for case in range(n_cases):
        n = int(rng.integers(5, 60))
        k_true, k_pred = int(rng.integers(2, 6)), int(rng.integers(2, 7))
        y_true = rng.integers(0, k_true, n)
        y_pred = rng.integers(0, k_pred, n)
        want = cluster_acc(y_true, y_pred)
        try:
            got = fn(y_true.copy(), y_pred.copy())
        except (IndexError, ValueError) as err:
            _fail(what, f"case {case} failed ({type(err).__name__}: {err}) for y_true="
                        f"{y_true.tolist()}, y_pred={y_pred.tolist()}, where some ids are "
                        f"missing. {ids_hint}")
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
    # ids that are not 0..K-1: classes 3, 7, 11 and clusters -1 (a "noise" id), 10, 20, 30;
    # class 11 is split into a large cluster -1 and a small cluster 30
    y_true = np.repeat([3, 7, 11], [12, 12, 16])
    y_pred = np.repeat([10, 20, -1, 30], [12, 12, 12, 4])
    order = rng.permutation(40)
    y_true, y_pred = y_true[order], y_pred[order]
    want = cluster_acc(y_true, y_pred)
    try:
        got = float(fn(y_true.copy(), y_pred.copy()))
    except (IndexError, ValueError) as err:
        _fail(what, f"failed on y_true with classes 3, 7, 11 and y_pred with clusters -1, 10, "
                    f"20, 30 ({type(err).__name__}: {err}). {ids_hint}")
    if abs(got - want) > 1e-9:
        _fail(what, f"with classes 3, 7, 11 and clusters -1, 10, 20, 30 got {got:.4f}, "
                    f"expected {want:.4f}. {ids_hint} (Indexing a table by the raw ids sends "
                    f"-1 to the last row.)")
    _passed(what, n_cases + 2)


def check_kmeans_step(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(X, C) -> (labels, new_C)``: one Lloyd iteration (assign, then update)."""
    from ..methods.classic.kmeans import assign_clusters, update_centroids

    what = "kmeans_step"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        n, d, k = 40 + 5 * case, 2 + case % 3, 3 + case % 3
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        C = X[torch.randperm(n, generator=g)[:k]].clone()
        # a centroid far away gets no point and must stay put: the first, then the last one
        far = {n_cases - 1: 0, n_cases - 2: k - 1}.get(case)
        if far is not None:
            C[far] = 100.0
        want_l = assign_clusters(X, C)
        want_C = update_centroids(X, want_l, k, previous=C)
        try:
            out = fn(X.clone(), C.clone())
        except (RuntimeError, IndexError, ValueError) as err:
            if far is None:
                raise
            _fail(what, f"failed when centroid {far} of {k} has no point ({type(err).__name__}: "
                        f"{err}). Count the points per cluster for all k clusters (e.g. "
                        f"torch.bincount(labels, minlength=k)), and keep the old position of "
                        f"a centroid with none.")
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
            if far is not None and not np.allclose(new_C[far], C[far].numpy()):
                _fail(what, "a centroid with no assigned point must keep its old position "
                            "(the mean of zero points is undefined; yours gave "
                            f"{new_C[far].round(3).tolist()}).")
            err = np.abs(new_C - want_C.numpy()).max()
            _fail(what, f"case {case}: the new centroids are not the means of the points "
                        f"assigned to them (largest error {err:.3g}).")
    _passed(what, n_cases)


def check_gmm_responsibilities(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(X, weights, means, variances) -> gamma (N, K)``: the E-step of a diagonal GMM."""
    from ..methods.classic.gmm import gmm_responsibilities

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
