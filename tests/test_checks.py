"""Each exercise check passes the library's own function and fails wrong ones, in words."""

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from dclearn import checks
from dclearn.checks import ExerciseCheckError
from dclearn.methods.gmm import gmm_responsibilities
from dclearn.methods.kmeans import assign_clusters, update_centroids
from dclearn.metrics import cluster_acc


def test_cluster_acc_check(capsys):
    checks.check_cluster_acc(cluster_acc)
    assert "OK" in capsys.readouterr().out
    with pytest.raises(ExerciseCheckError, match="relabelling the clusters"):
        checks.check_cluster_acc(lambda t, p: float(np.mean(t == p)))

    def square_only(t, p):  # assumes as many clusters as classes
        k = max(t.max(), p.max()) + 1
        m = np.zeros((k, k))
        np.add.at(m, (p, t), 1)
        r, c = linear_sum_assignment(-m)
        return m[r, c].sum()  # forgot to divide by N

    with pytest.raises(ExerciseCheckError, match=r"must lie in \[0, 1\]"):
        checks.check_cluster_acc(square_only)
    with pytest.raises(ExerciseCheckError, match="return statement"):
        checks.check_cluster_acc(lambda t, p: None)


def test_kmeans_step_check():
    def ref(X, C):
        labels = assign_clusters(X, C)
        return labels, update_centroids(X, labels, C.shape[0], previous=C)

    checks.check_kmeans_step(ref)

    def zero_empty(X, C):
        labels = assign_clusters(X, C)
        return labels, update_centroids(X, labels, C.shape[0])  # empty cluster -> zeros

    with pytest.raises(ExerciseCheckError, match="keep its old position"):
        checks.check_kmeans_step(zero_empty)
    with pytest.raises(ExerciseCheckError, match="nearest centroid"):
        checks.check_kmeans_step(lambda X, C: (torch.cdist(X, C).argmax(1), C))
    with pytest.raises(ExerciseCheckError, match="pair"):
        checks.check_kmeans_step(lambda X, C: C)


def test_gmm_check():
    checks.check_gmm_responsibilities(lambda *a: gmm_responsibilities(*a)[0])
    with pytest.raises(ExerciseCheckError, match="mixing weights"):
        checks.check_gmm_responsibilities(
            lambda X, w, m, v: gmm_responsibilities(X, torch.ones_like(w) / len(w), m, v)[0])

    def naive(X, w, m, v):  # exponentiates before normalising: 0/0 far from the centres
        d = ((X[:, None] - m[None]) ** 2 / v[None]).sum(-1)
        p = w * torch.exp(-0.5 * d) / torch.sqrt((2 * torch.pi * v).prod(1))
        return p / p.sum(1, keepdim=True)

    with pytest.raises(ExerciseCheckError, match="logsumexp"):
        checks.check_gmm_responsibilities(naive)


def test_dec_checks_catch_classic_mistakes():
    from dclearn.methods.dec import kl_clustering_loss, soft_assignment, target_distribution

    checks.check_soft_assignment(soft_assignment)
    checks.check_target_distribution(target_distribution)
    checks.check_kl_clustering_loss(kl_clustering_loss)
    with pytest.raises(ExerciseCheckError, match="alpha"):
        checks.check_soft_assignment(lambda z, mu, alpha=1.0: soft_assignment(z, mu, 1.0))
    with pytest.raises(ExerciseCheckError, match="soft cluster frequency"):
        checks.check_target_distribution(lambda q: q**2 / (q**2).sum(1, keepdim=True))
    with pytest.raises(ExerciseCheckError, match=r"KL\(Q \|\| P\)"):
        checks.check_kl_clustering_loss(lambda p, q: kl_clustering_loss(q, p))
    with pytest.raises(ExerciseCheckError, match="average"):
        checks.check_kl_clustering_loss(lambda p, q: kl_clustering_loss(p, q) * p.shape[0])
    with pytest.raises(ExerciseCheckError, match="differentiable"):
        checks.check_kl_clustering_loss(
            lambda p, q: torch.tensor(float(kl_clustering_loss(p, q.detach()))))


def test_dcn_check():
    from dclearn.methods.dcn import dcn_centroid_update

    checks.check_dcn_centroid_update(dcn_centroid_update)

    def moves_empty(M, c, z, s):  # plain mean of the batch, empties pulled to zero
        n = torch.bincount(s, minlength=M.shape[0]).to(M.dtype)
        S = torch.zeros_like(M).index_add_(0, s, z)
        return S / n.clamp_min(1)[:, None], c + n

    with pytest.raises(ExerciseCheckError, match="running mean"):
        checks.check_dcn_centroid_update(moves_empty)
    with pytest.raises(ExerciseCheckError, match="grow by the number"):
        checks.check_dcn_centroid_update(lambda M, c, z, s: (M, c))
