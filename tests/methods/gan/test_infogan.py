"""InfoGAN (Chen et al. 2016): the mutual-information bound, the estimator contract, quality."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.gan.infogan import InfoGAN, mutual_information_bound, sample_codes

TINY = dict(hidden=32, channels=(8, 16), n_epochs=2, batch_size=50, device="cpu",
            verbose=False)


@pytest.fixture(scope="module")
def fitted(digits):
    # one thread, as in the measured runs: GAN training amplifies the rounding differences
    # that another thread count brings, so the seed-0 fit is only reproducible this way
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return InfoGAN(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(
            digits.X, digits.y)
    finally:
        torch.set_num_threads(before)


def test_mutual_information_bound_hand_values():
    k = 4
    c = torch.tensor([0, 1, 2, 3])
    # Q recovers every code: the bound reaches H(c) = log K
    assert mutual_information_bound(40.0 * torch.eye(k), c).item() == pytest.approx(
        math.log(k), abs=1e-5)
    # Q ignores the sample (uniform): log(1/K) + log K = 0
    assert mutual_information_bound(torch.zeros(4, k), c).item() == pytest.approx(0, abs=1e-6)
    # a hand case: Q(c|x) = 1/2 for the right code on every sample
    q = torch.tensor([[0.5, 0.5 / 3, 0.5 / 3, 0.5 / 3]])[[0, 0, 0, 0]]
    q = torch.stack([q[i].roll(i) for i in range(4)])
    assert mutual_information_bound(q.log(), c).item() == pytest.approx(
        math.log(0.5) + math.log(k), abs=1e-5)


def test_bound_uses_a_single_softmax():
    # softmax then a cross-entropy (a second softmax) squashes the bound towards 0
    logits, c = 10.0 * torch.eye(3), torch.arange(3)
    right = mutual_information_bound(logits, c).item()
    double = (-F.cross_entropy(torch.softmax(logits, 1), c) + math.log(3)).item()
    assert right == pytest.approx(math.log(3), abs=1e-3) and double < 0.5 * right


def test_codes_are_fed_to_the_generator():
    g = torch.Generator().manual_seed(0)
    latent, c, cont = sample_codes(1000, 5, 4, 2, g, "cpu")
    assert latent.shape == (1000, 11) and cont.shape == (1000, 2)
    assert torch.equal(latent[:, 5:9].argmax(1), c) and torch.equal(latent[:, 9:], cont)
    assert torch.bincount(c, minlength=4).min() > 200  # uniform codes
    assert float(cont.abs().max()) <= 1
    _, fixed, _ = sample_codes(10, 5, 4, 0, g, "cpu", category=2)
    assert (fixed == 2).all()


def test_fit_contract_and_determinism(digits):
    X = digits.X[:200]
    a = InfoGAN(5, random_state=2, **TINY).fit(X)
    b = InfoGAN(5, random_state=2, **TINY).fit(X.numpy())
    assert a.labels_.dtype == np.int64 and a.labels_.shape == (200,)
    assert np.array_equal(a.labels_, b.labels_)
    q = a.transform(digits.X[:9])
    assert q.shape == (9, 5) and np.allclose(q.sum(1), 1, atol=1e-5)
    assert a.predict(digits.X[300:340]).shape == (40,)
    s = a.sample(10, category=3)
    assert s.shape == (10, 1, 8, 8) and s.dtype == np.float32 and 0 <= s.min() <= s.max() <= 1
    assert {"loss_d", "loss_g", "mi_bound", "mi_continuous", "d_acc", "fake_entropy"} <= set(
        a.history_[0])
    assert InfoGAN(3, n_continuous=0, random_state=0, **TINY).fit(
        digits.flat()[:200]).sample(2).shape == (2, 64)


def test_errors(digits):
    est = InfoGAN(10, **TINY)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    bad = digits.X[:100].clone()
    bad[1, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match="n_clusters must be an integer"):
        InfoGAN(n_clusters=2.5, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="n_continuous must be an integer >= 0"):
        InfoGAN(n_continuous=-1, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="lam must be a positive number"):
        InfoGAN(lam=0, **TINY).fit(digits.X[:100])
    est.fit(digits.X[:100])
    with pytest.raises(ValueError, match="category must be in"):
        est.sample(3, category=10)


def test_quality_on_digits(fitted, digits):
    # measured, defaults, seeds 0-4: ACC 0.879 0.803 0.721 0.759 0.742 (mean 0.781), NMI
    # 0.786 0.746 0.681 0.679 0.675. Seed 0 is the best of the five on the CPU type that
    # made the store; another CPU's float path makes it another draw of the game (0.781 / 0.713
    # on an AMD EPYC), so the floors sit under the worst of the five seeds.
    scores = evaluate(digits.y, fitted.labels_)
    assert fitted.history_[-1]["mi_bound"] > 0.5 * math.log(10)  # Q reads the code back
    assert scores["acc"] > 0.70 and scores["nmi"] > 0.65, scores


def test_seed_0_fit_is_the_stored_one(fitted, digits, stored_fit_or_seed_range):
    # the store's seed-0 row (bench, defaults, one thread) holds this fit's labels on the CPU
    # type that made it: a change to the training loop that alters what the method computes
    # shows there; on another CPU type the game may settle elsewhere, within the seeds' range
    stored_fit_or_seed_range("infogan", fitted.labels_, digits.y)
