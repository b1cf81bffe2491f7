"""k-means (chapter 00), and the estimator contract checked on both classic baselines."""

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans as SKKMeans
from sklearn.exceptions import NotFittedError

from dclearn import GMM, KMeans, evaluate
from dclearn.methods.classic.kmeans import assign_clusters, kmeans, update_centroids

ESTIMATORS = [KMeans, GMM]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_contract(cls, digits):
    est = cls(n_clusters=10, random_state=0, device="cpu", verbose=False)
    assert est.fit(digits.X, digits.y) is est
    assert est.labels_.dtype == np.int64 and est.labels_.shape == (1797,)
    assert est.history_ and "acc" in est.history_[-1]  # metrics only because y was given
    assert np.array_equal(est.predict(digits.X[:100]), est.labels_[:100])
    assert est.transform(digits.X[:5]).shape == (5, 10)
    est2 = cls(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(digits.X.numpy())
    assert np.array_equal(est.labels_, est2.labels_)  # numpy input, same seed: same labels
    assert "acc" not in est2.history_[-1]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_errors(cls, digits):
    est = cls(n_clusters=10, random_state=0, device="cpu", verbose=False)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    bad = digits.flat().clone()
    bad[3, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match=r"n_clusters must be in \[2, n_samples=5\]"):
        cls(n_clusters=6, verbose=False).fit(digits.flat()[:5])
    with pytest.raises(ValueError, match="must be 2-D"):
        est.fit(digits.X[:, 0, 0, 0])
    est.fit(digits.X)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        est.predict(digits.flat())
    assert cls().get_params()["n_clusters"] == 10  # __init__ stores parameters verbatim


def test_kmeans_matches_sklearn_inertia(digits):
    X = digits.flat()
    ours = KMeans(10, n_init=10, random_state=0, device="cpu", verbose=False).fit(X)
    sk = SKKMeans(10, n_init=10, random_state=0).fit(X.numpy())
    assert ours.inertia_ == pytest.approx(sk.inertia_, rel=0.01)


def test_kmeans_quality_on_digits(digits):
    # measured ACC on seeds 0..4: 0.775 0.795 0.792 0.792 0.787 (sklearn: 0.79)
    accs = [evaluate(digits.y, KMeans(10, random_state=s, device="cpu",
                                      verbose=False).fit(digits.X).labels_)["acc"]
            for s in range(3)]
    assert np.mean(accs) > 0.78


def test_kmeans_steps_decrease_inertia():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 2, generator=g)
    C = X[:4].clone()
    last = np.inf
    for _ in range(5):
        labels = assign_clusters(X, C)
        C = update_centroids(X, labels, 4, previous=C)
        inertia = float(((X - C[assign_clusters(X, C)]) ** 2).sum())
        assert inertia <= last + 1e-6
        last = inertia
    empty = update_centroids(X, torch.zeros(200, dtype=torch.long), 3, previous=C[:3])
    assert torch.equal(empty[1:], C[1:3])  # clusters without points keep their centroid
    centers, labels, inertia = kmeans(X, 4, n_init=3, generator=g)
    assert centers.shape == (4, 2) and labels.shape == (200,)








def test_squared_distances_with_precomputed_row_norms():
    """k-means passes the row norms once per fit; the distances must not change by it."""
    from dclearn.methods.classic.kmeans import squared_distances

    g = torch.Generator().manual_seed(0)
    X, C = torch.randn(40, 7, generator=g), torch.randn(3, 7, generator=g)
    want = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    torch.testing.assert_close(squared_distances(X, C), want, rtol=1e-5, atol=1e-5)
    x_sq = (X * X).sum(1, keepdim=True)
    assert torch.equal(squared_distances(X, C, x_sq), squared_distances(X, C))
    assert torch.equal(assign_clusters(X, C, x_sq), want.argmin(1))
