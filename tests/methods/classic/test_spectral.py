"""Spectral clustering of a kNN graph (chapter 06's baseline): shapes, errors, quality."""

import numpy as np
import pytest

from dclearn import evaluate
from dclearn.data import load_dataset
from dclearn.methods.classic.kmeans import KMeans
from dclearn.methods.classic.spectral import Spectral


def test_two_moons_need_the_graph():
    """Spectral follows the moons' shape, where k-means cuts them straight."""
    data = load_dataset("moons", n_samples=400, noise=0.05)
    labels = Spectral(2, n_neighbors=10, random_state=0, verbose=False).fit(data.X).labels_
    assert evaluate(data.y, labels)["acc"] > 0.99
    assert evaluate(data.y, KMeans(2, random_state=0, verbose=False).fit(data.X).labels_)[
        "acc"] < 0.9


def test_contract_quality_and_errors(digits):
    est = Spectral(10, random_state=0, verbose=False).fit(digits.X, digits.y)
    assert est.labels_.dtype == np.int64 and est.labels_.shape == (1797,)
    assert est.affinity_matrix_.shape == (1797, 1797)
    assert evaluate(digits.y, est.labels_)["acc"] > 0.80  # measured 0.808 (every seed)
    again = Spectral(10, random_state=0, verbose=False).fit(digits.X).labels_
    assert np.array_equal(again, est.labels_)
    with pytest.raises(NotImplementedError, match="transductive"):
        est.predict(digits.X[:3])
    with pytest.raises(ValueError, match="n_neighbors"):
        Spectral(2, n_neighbors=20, verbose=False).fit(digits.X[:10])
    with pytest.raises(ValueError, match="n_neighbors"):
        Spectral(2, n_neighbors=0, verbose=False).fit(digits.X[:10])
