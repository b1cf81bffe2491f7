"""RIM (Krause et al. 2010): the mutual-information objective and the estimator contract."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.feedforward.rim import RIM, entropy, mutual_information, weight_penalty


@pytest.fixture(scope="module")
def fitted(digits):
    return RIM(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(digits.X, digits.y)


def test_mutual_information_hand_values():
    k = 4
    one_hot = torch.eye(k).repeat(5, 1)  # (20, 4) evenly spread, confident
    mi, h_y, h_y_x = mutual_information(one_hot)
    assert mi.item() == pytest.approx(math.log(k), abs=1e-6)
    assert h_y.item() == pytest.approx(math.log(k), abs=1e-6) and h_y_x.item() == pytest.approx(0)
    same = torch.tensor([[0.7, 0.2, 0.1]]).repeat(6, 1)  # every row identical: no information
    mi, h_y, h_y_x = mutual_information(same)
    assert mi.item() == pytest.approx(0.0, abs=1e-6)
    h = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    assert h_y.item() == pytest.approx(h, abs=1e-6) and h_y_x.item() == pytest.approx(h, abs=1e-6)
    # two rows [1, 0] and [0.5, 0.5]: H(Y) = H([0.75, 0.25]), H(Y|X) = log(2) / 2
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    mi, h_y, h_y_x = mutual_information(p)
    h_marg = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert h_y.item() == pytest.approx(h_marg, abs=1e-6)
    assert h_y_x.item() == pytest.approx(math.log(2) / 2, abs=1e-6)
    assert mi.item() == pytest.approx(h_marg - math.log(2) / 2, abs=1e-6)
    assert entropy(torch.tensor([0.5, 0.5])).item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        mutual_information(torch.ones(3))


def test_weight_penalty_skips_biases():
    lin = torch.nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.fill_(2.0)
        lin.bias.fill_(5.0)
    assert weight_penalty(lin).item() == pytest.approx(24.0)


def test_fit_contract(fitted, digits):
    assert fitted.labels_.dtype == np.int64 and fitted.labels_.shape == (1797,)
    probs = fitted.transform(digits.X[:7])
    assert probs.shape == (7, 10) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.array_equal(fitted.predict(digits.X[:100]), fitted.labels_[:100])
    assert np.array_equal(probs.argmax(1), fitted.labels_[:7])
    assert "acc" in fitted.history_[-1] and "mi" in fitted.history_[0]
    new = digits.X[:50] + 0.01 * torch.rand(50, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    assert fitted.predict(new).shape == (50,)


def test_deterministic_and_mlp(digits):
    X = digits.X[:300]
    a = RIM(5, hidden=(16,), n_epochs=20, n_init=2, random_state=3, device="cpu",
            verbose=False).fit(X)
    b = RIM(5, hidden=(16,), n_epochs=20, n_init=2, random_state=3, device="cpu",
            verbose=False).fit(X.numpy())
    assert np.array_equal(a.labels_, b.labels_)
    assert a.transform(X).shape == (300, 5)


def test_errors(digits):
    est = RIM(n_clusters=10, n_epochs=2, n_init=1, device="cpu", verbose=False)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    bad = digits.flat().clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match="must be 2-D"):
        est.fit(digits.X[:, 0])
    with pytest.raises(ValueError, match="n_clusters"):
        RIM(n_clusters=1, verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="reg"):
        RIM(reg=-1, verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="n_init"):
        RIM(n_init=0, verbose=False).fit(digits.X)
    est.fit(digits.X[:100])
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        est.predict(digits.flat())


def test_quality_on_digits(fitted, digits):
    # measured ACC, defaults, seeds 0-4: 0.817 0.837 0.818 0.868 0.908 (mean 0.85); k-means 0.79
    assert evaluate(digits.y, fitted.labels_)["acc"] > 0.80
