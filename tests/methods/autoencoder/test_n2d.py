"""N2D (chapter 06, on chapter 02's autoencoder): contract, the manifold's options, quality."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.autoencoder.n2d import N2D
from dclearn.methods.autoencoder.pretrain import clear_pretrain_cache

SMALL = dict(hidden=(32, 32, 64), pretrain_epochs=2, pretrain_layerwise_epochs=1,
             batch_size=128, random_state=0, device="cpu", verbose=False)


def test_isomap_labels_new_samples(digits):
    X = digits.X[:400]
    est = N2D(10, manifold="isomap", n_components=10, **SMALL).fit(X)
    assert est.labels_.dtype == np.int64 and est.labels_.shape == (400,)
    assert est.embedding_.shape == (400, 10)
    assert est.transform(X[:5]).shape == (5, 10)  # the autoencoder's embedding
    pred = est.predict(X)
    assert pred.dtype == np.int64
    assert (pred == est.labels_).mean() > 0.95  # the training samples map back where they were


def test_tsne_is_transductive_and_deterministic(digits):
    X = digits.X[:300]
    a = N2D(10, **SMALL).fit(X)
    clear_pretrain_cache()  # really pretrain again, not from the first fit's cache
    b = N2D(10, **SMALL).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert a.embedding_.shape == (300, 2)
    with pytest.raises(NotImplementedError, match="isomap"):
        a.predict(X[:3])


def test_bad_parameters(digits):
    X = digits.X[:60]
    with pytest.raises(NotFittedError):
        N2D(10).predict(X)
    with pytest.raises(ValueError, match="manifold"):
        N2D(3, manifold="umap", **SMALL).fit(X)
    with pytest.raises(ValueError, match="3 dimensions"):
        N2D(3, n_components=10, **SMALL).fit(X)
    with pytest.raises(ValueError, match="perplexity"):
        N2D(3, perplexity=100, **SMALL).fit(X)
    with pytest.raises(ValueError, match="hidden"):
        N2D(3, **{**SMALL, "hidden": ()}).fit(X)


def test_quality_on_digits(digits):
    est = N2D(10, random_state=0, verbose=False).fit(digits.X)
    # measured with the defaults, seeds 0-4: 0.874 0.889 0.880 0.888 0.910 (spread 0.012);
    # k-means on raw pixels 0.79
    assert evaluate(digits.y, est.labels_)["acc"] > 0.86
