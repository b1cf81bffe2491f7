"""DBN + NMMC (Chen 2015): the estimator contract, bad input and quality on digits."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.dbn import DBNNMMC
from dclearn.methods.dbn.dbn_nmmc import MNIST_SETTINGS

SMALL = dict(hidden=(16,), rbm_epochs=3, mm_iter=3, mm_steps=20, finetune_epochs=2,
             device="cpu", verbose=False)


@pytest.fixture(scope="module")
def fitted(digits):
    return DBNNMMC(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(
        digits.X, digits.y)


def test_fit_contract(fitted, digits):
    assert fitted.labels_.dtype == np.int64 and fitted.labels_.shape == (1797,)
    assert fitted.n_clusters_found_ == 10
    counts = np.bincount(fitted.labels_, minlength=10)
    assert counts.min() >= int(0.5 * 1797 / 10)  # the balance constraint
    Z = fitted.transform(digits.X[:7])
    assert Z.shape == (7, 256) and Z.dtype == np.float32 and ((Z > 0) & (Z < 1)).all()
    pred = fitted.predict(digits.X)
    assert pred.shape == (1797,) and pred.dtype == np.int64
    # predict is the classifiers' argmax, labels_ the same scores under the balance constraint
    assert (pred == fitted.labels_).mean() > 0.95
    phases = [h["phase"] for h in fitted.history_]
    assert phases[0] == "RBM 1/1" and "NMMC" in phases and phases[-1] == "final"
    assert "recon" in fitted.history_[0] and "acc" in fitted.history_[-1]
    assert any("loss" in h and h["phase"] == "fine-tune" for h in fitted.history_)
    new = digits.X[:50] * 0.98 + 0.01
    assert fitted.predict(new).shape == (50,)


def test_deterministic_and_stacked(digits):
    X = digits.X[:300]
    a = DBNNMMC(5, random_state=3, **SMALL).fit(X)
    b = DBNNMMC(5, random_state=3, **SMALL).fit(X.numpy())
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.transform(X), b.transform(X))
    deep = DBNNMMC(4, random_state=0, **{**SMALL, "hidden": (24, 8)}).fit(X.reshape(300, -1))
    assert deep.transform(X.reshape(300, -1)).shape == (300, 8)
    assert [w.shape for w, _, _ in deep.layers_] == [(64, 24), (24, 8)]


def test_nonparametric_mode(digits):
    X = digits.X[:300]
    est = DBNNMMC(8, alpha=1e-3, random_state=0, **SMALL).fit(X)
    one = DBNNMMC(8, alpha=1e-3, margin_weight=1e-3, random_state=0, **SMALL).fit(X)
    assert one.n_clusters_found_ == 1  # a negligible margin: the CRP prior merges all
    assert 1 <= est.n_clusters_found_ <= 8
    assert set(np.unique(est.labels_)) == set(range(est.n_clusters_found_))
    assert est.predict(X).max() < est.n_clusters_found_


def test_errors(digits):
    est = DBNNMMC(n_clusters=10, **SMALL)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    with pytest.raises(NotFittedError):
        est.transform(digits.X)
    bad = digits.flat().clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        est.fit(digits.flat() * 16)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        est.fit(digits.flat() - 0.5)
    with pytest.raises(ValueError, match="n_clusters"):
        DBNNMMC(n_clusters=1, **SMALL).fit(digits.X)
    with pytest.raises(ValueError, match="n_clusters"):
        DBNNMMC(n_clusters=2000, **SMALL).fit(digits.X)
    for params, name in [({"hidden": ()}, "hidden"), ({"hidden": (0,)}, "hidden"),
                         ({"rbm_lr": 0}, "rbm_lr"), ({"reg": -1}, "reg"),
                         ({"balance": 1.5}, "balance"), ({"alpha": -1.0}, "alpha"),
                         ({"momentum": 1.0}, "momentum"), ({"mm_iter": 0}, "mm_iter"),
                         ({"margin_weight": 0}, "margin_weight"),
                         ({"finetune_epochs": -1}, "finetune_epochs")]:
        with pytest.raises(ValueError, match=name):
            DBNNMMC(**{**SMALL, **params}).fit(digits.X)
    est.fit(torch.as_tensor(digits.X[:100]))
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        est.predict(digits.flat())


def test_quality_on_digits(fitted, digits):
    # measured with the defaults, seed 0: ACC 0.815 NMI 0.775 (seeds 0-4: spreads 0.014 and
    # 0.007; k-means on pixels: ACC 0.79)
    scores = evaluate(digits.y, fitted.labels_)
    assert scores["acc"] > 0.80 and scores["nmi"] > 0.76


def test_mnist_settings_are_parameters():
    est = DBNNMMC(**MNIST_SETTINGS)
    assert set(MNIST_SETTINGS) <= set(est.get_params())
    assert est.hidden == (500, 500, 2000)
