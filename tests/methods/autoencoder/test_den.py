"""DEN (dclearn/methods/autoencoder/den.py): objectives, kNN graph, estimator contract, quality."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.autoencoder.den import (
    DEN,
    group_sparsity_loss,
    knn_heat_kernel_graph,
    locality_preserving_loss,
)

FAST = dict(hidden=(64, 32), pretrain_layerwise_epochs=1, pretrain_epochs=2, epochs=2,
            random_state=0, device="cpu", verbose=False)


@pytest.fixture(scope="module")
def small(digits):
    return digits.subset(300, seed=0)


@pytest.fixture(scope="module")
def fitted(small):
    return DEN(n_clusters=10, **FAST).fit(small.X, small.y)


def test_knn_graph_three_points():
    X = torch.tensor([[0.0], [1.0], [3.0]])
    nbr, w, t = knn_heat_kernel_graph(X, 1)
    assert nbr.tolist() == [[1], [0], [1]]  # self excluded
    assert t == pytest.approx(2.0)  # mean squared kNN distance (1 + 1 + 4) / 3
    assert torch.allclose(w[:, 0], torch.tensor([math.exp(-0.5), math.exp(-0.5), math.exp(-2)]))
    nbr2, w2, _ = knn_heat_kernel_graph(X, 2, t=1.0, block_size=2)  # blocks give the same
    assert nbr2.tolist() == [[1, 2], [0, 2], [1, 0]]
    assert torch.allclose(w2[2], torch.tensor([math.exp(-4), math.exp(-9)]))


def test_knn_graph_matches_brute_force():
    X = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    nbr, _, _ = knn_heat_kernel_graph(X, 3, block_size=7)
    d = torch.cdist(X, X)
    d.fill_diagonal_(float("inf"))
    assert torch.equal(nbr.sort(1).values, d.topk(3, largest=False).indices.sort(1).values)


def test_locality_term_three_points():
    z = torch.tensor([[0.0, 0.0]])
    z_nb = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])  # two neighbours of point 0
    w = torch.tensor([[0.5, 0.25]])
    assert locality_preserving_loss(z, z_nb, w).item() == pytest.approx(0.5 * 1 + 0.25 * 4)


def test_group_sparsity_by_hand():
    z = torch.tensor([[3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    # groups of 2: sample 1 -> norms (5, 0), sample 2 -> (0, 2); lambda_g = 0.5 * sqrt(2)
    expected = 0.5 * math.sqrt(2) * (5 + 2) / 2
    assert group_sparsity_loss(z, 2, lam=0.5).item() == pytest.approx(expected, rel=1e-5)
    spread = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    packed = torch.tensor([[math.sqrt(2), math.sqrt(2), 0.0, 0.0]])  # same L2 norm
    assert group_sparsity_loss(packed, 2) < group_sparsity_loss(spread, 2)
    with pytest.raises(ValueError, match="divisible"):
        group_sparsity_loss(torch.ones(1, 5), 2)


def test_contract(fitted, small):
    assert fitted.labels_.dtype == np.int64 and fitted.labels_.shape == (300,)
    Z = fitted.transform(small.X[:7])
    assert Z.dtype == np.float32 and Z.shape == (7, 10 * fitted.group_size)
    assert np.array_equal(fitted.predict(small.X), fitted.labels_)
    assert fitted.predict(np.random.default_rng(0).random((5, 1, 8, 8))).shape == (5,)
    assert {h["phase"] for h in fitted.history_} >= {"AE layer 1/3", "AE layer 3/3",
                                                     "DEN pretrain", "DEN", "DEN kmeans"}
    assert {"rec", "lp", "gs"} <= set(fitted.history_[-2])
    assert "acc" in fitted.history_[-1]


def test_deterministic(fitted, small):
    again = DEN(n_clusters=10, **FAST).fit(small.X.numpy())
    assert np.array_equal(again.labels_, fitted.labels_)


def test_errors(fitted, small):
    with pytest.raises(NotFittedError):
        DEN(verbose=False).predict(small.X)
    bad = small.flat().clone()
    bad[2, 3] = float("inf")
    with pytest.raises(ValueError, match="infinite"):
        DEN(**FAST).fit(bad)
    with pytest.raises(ValueError, match="must be 2-D"):
        DEN(**FAST).fit(small.X[:, 0])
    for k in (1, 301):
        with pytest.raises(ValueError, match="n_clusters"):
            DEN(n_clusters=k, **FAST).fit(small.X)
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        fitted.predict(small.flat())
    for bad_param in (dict(n_neighbors=0), dict(n_neighbors=300), dict(group_size=0),
                      dict(alpha=-1.0), dict(beta=float("nan")), dict(t=0.0), dict(lr=-1.0),
                      dict(hidden=()), dict(epochs=1.5),
                      dict(pretrain_layerwise_epochs=-1)):
        with pytest.raises(ValueError, match="|".join(bad_param)):
            DEN(**{**FAST, **bad_param}).fit(small.X)


def test_quality_on_digits(digits):
    # Measured with the defaults (alpha 0.1, beta 1e-3, chosen by stability; layer-wise
    # then end-to-end pretraining), seeds 0-4 (results/digits.json): ACC 0.809 0.810 0.727
    # 0.740 0.752 (mean 0.768), NMI 0.757-0.765 (mean 0.762), 1 thread: below k-means on
    # the raw pixels (0.79), for the reason given in den.py (its constraints lower what the
    # reconstruction alone reaches, 0.817). Float kernels differ between CPUs and the
    # k-means on the final embedding amplifies it in ACC (an earlier build measured 0.777 on
    # one 2-core machine and 0.731 on another), so seed 0's ACC is tested with a margin
    # under the lowest seed's figure; NMI moves far less from seed to seed.
    est = DEN(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(digits.X)
    scores = evaluate(digits.y, est.labels_)
    assert scores["acc"] > 0.70 and scores["nmi"] > 0.74
