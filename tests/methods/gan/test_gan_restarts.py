"""Restarts of the GAN clusterers: the fit kept is the one whose partition of the data carries
the most information (``gan.GANRestartMixin``), and restart 0 is the plain fit."""

import numpy as np
import pytest
import torch

from dclearn.methods.feedforward.rim import mutual_information
from dclearn.methods.gan import CatGAN, ClusterGAN, InfoGAN
from dclearn.methods.restarts import restart_seed

TINY = dict(hidden=32, channels=(8, 16), n_epochs=2, batch_size=50, device="cpu",
            verbose=False)
CLASSES = [CatGAN, InfoGAN, ClusterGAN]


def _probs(est, X):
    """The p(y | x) each method reads its labels from, through the public API."""
    if isinstance(est, ClusterGAN):
        return torch.as_tensor(est.transform(X)[:, -est.n_clusters:])
    return torch.as_tensor(est.transform(X))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_restarts_keep_the_most_informative_fit(cls, digits):
    X = digits.X[:400]
    one = cls(10, random_state=0, **TINY).fit(X)
    three = cls(10, random_state=0, n_restarts=3, **TINY).fit(X)
    objs = three.restart_objectives_
    assert len(objs) == 3 and len(set(objs)) == 3          # independent restarts differ
    assert one.restart_objectives_ == objs[:1]              # restart 0 is the plain fit
    assert three.best_restart_ == int(np.argmax(objs))
    # the objective is the mutual information of the kept fit's p(y | x) on the data
    mi = float(mutual_information(_probs(three, X).double())[0])
    assert mi == pytest.approx(max(objs), abs=1e-4)
    np.testing.assert_array_equal(three.predict(X), three.labels_)
    # the kept restart is the fit its own seed gives on its own
    alone = cls(10, random_state=restart_seed(0, three.best_restart_), **TINY).fit(X)
    np.testing.assert_array_equal(alone.labels_, three.labels_)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [0, 1.5, True, None])
def test_bad_n_restarts(cls, bad, digits):
    with pytest.raises(ValueError, match="n_restarts must be a positive integer"):
        cls(10, n_restarts=bad, **TINY).fit(digits.X[:100])
