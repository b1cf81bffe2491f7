"""Degenerate data: each case fails (or warns) before training, with the cause in the message.

Fewer distinct samples than clusters and data whose samples are all identical (all-zero
images) are refused by every estimator (tests/test_contract.py runs those on all 24); here:
the cases' messages, data outside [0, 1] for the methods whose decoder or generator cannot
produce it, constant features (harmless), and the warning when training leaves clusters empty.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from test_contract import TINY, make

from dclearn import VaDE
from dclearn.methods.base import BaseClusterer, FewerClustersWarning
from dclearn.methods.registry import METHODS
from dclearn.train import TrainingDivergedError


@pytest.fixture(scope="module")
def X(digits):
    return digits.X[:90].clone()


def test_fewer_distinct_samples_than_clusters(X):
    dup = X[[0, 1, 2] * 10]  # 30 samples, 3 distinct
    with pytest.raises(ValueError, match=r"only 3 distinct samples among its 30: n_samples "
                                         r"distinct points \(3\) < n_clusters \(4\)"):
        make("kmeans").set_params(n_clusters=4).fit(dup)
    assert make("kmeans").fit(dup).labels_.shape == (30,)  # 3 clusters of 3 points: fine


def test_all_zero_images_name_the_cause_not_a_non_finite_loss():
    zeros = torch.zeros(200, 1, 8, 8)
    kw = dict(hidden=(32, 32, 64), pretrain_epochs=2, pretrain_batch_size=128,
              pretrain_layerwise_epochs=1, epochs=2, batch_size=128, n_init=2)
    with pytest.raises(ValueError, match=r"every sample of X is identical .*all-zero images"):
        VaDE(3, random_state=0, device="cpu", verbose=False, **kw).fit(zeros)


@pytest.mark.parametrize("name", ["dec", "vade", "imsat", "catgan"])
def test_constant_features_are_harmless(name, X):
    Xc = X.clone()
    Xc[:, :, :4] = 0.5  # half the pixels constant over the data set
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewerClustersWarning)
        try:
            est = make(name).fit(Xc)
        except TrainingDivergedError as exc:  # pragma: no cover - what this test guards
            pytest.fail(f"constant features made {name} diverge: {exc}")
    assert est.labels_.shape == (90,)


# methods whose decoder or generator can only produce values in [0, 1], with how each says so
UNIT_INTERVAL = {
    "vae": "needs data in \\[0, 1\\]", "vade": "needs data in \\[0, 1\\]",
    "dgg": "needs data in \\[0, 1\\]", "ltvae": "needs data in \\[0, 1\\]",
    "dcfae": "needs X in \\[0, 1\\]", "vaegan": "outputs images in \\[0, 1\\]",
    "dbn_nmmc": "must lie in \\[0, 1\\]", "catgan": "generator in a sigmoid",
    "infogan": "generator in a sigmoid", "clustergan": "generator in a sigmoid",
}
BCE = ["aekmeans", "dec", "idec", "dcn", "n2d"]  # the autoencoder methods with loss="bce"


@pytest.mark.parametrize("name", list(UNIT_INTERVAL) + [f"{n}-bce" for n in BCE])
def test_values_outside_unit_interval_are_refused_where_a_decoder_needs_them(name, X):
    outside = X * 2.0 - 0.5
    if name.endswith("-bce"):
        est, match = make(name[:-4], loss="bce"), "loss='bce' reconstructs each value"
    else:
        est, match = make(name), UNIT_INTERVAL[name]
    with pytest.raises(ValueError, match=match):
        est.fit(outside)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert est.fit(X).labels_.shape == (90,)  # the same estimator on data in [0, 1]


@pytest.mark.parametrize("name", [n for n in METHODS if n not in UNIT_INTERVAL])
def test_other_methods_take_any_real_values(name, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert make(name).fit(X * 2.0 - 0.5).labels_.shape == (90,)


class _OneCluster(BaseClusterer):
    """Puts every sample in cluster 0: the collapse the warning is about."""

    def __init__(self, n_clusters=3, random_state=None, device="cpu", verbose=False):
        self.n_clusters, self.random_state = n_clusters, random_state
        self.device, self.verbose = device, verbose

    def _fit(self, X, y):
        return torch.zeros(X.shape[0], dtype=torch.long)


def test_collapse_onto_fewer_clusters_warns_with_the_count(X):
    with pytest.warns(FewerClustersWarning, match=r"_OneCluster: number of distinct clusters "
                                                  r"\(1\) found smaller than n_clusters \(3\)"):
        _OneCluster().fit(X)
    assert issubclass(FewerClustersWarning, ConvergenceWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewerClustersWarning)
        assert np.unique(make("kmeans").fit(X).labels_).size == 3  # no warning when all used


def test_a_real_collapse_is_reported(X):
    # one epoch of CatGAN on 90 digits puts every sample in one class (measured)
    with pytest.warns(FewerClustersWarning, match="number of distinct clusters"):
        est = make("catgan").fit(X)
    assert np.unique(est.labels_).size < 3
    assert set(TINY) == set(METHODS)
