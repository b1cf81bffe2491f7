"""CatGAN (Springenberg 2016): the entropy terms of eqs. 7-8, the estimator contract, quality."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.gan.catgan import CatGAN, catgan_discriminator_loss, catgan_generator_loss
from dclearn.methods.gan.health import entropy

TINY = dict(hidden=32, channels=(8, 16), n_epochs=2, batch_size=50, device="cpu",
            verbose=False)


@pytest.fixture(scope="module")
def fitted(digits):
    # one thread, as in the measured runs: GAN training amplifies the rounding differences
    # that another thread count brings, so the seed-0 fit is only reproducible this way
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return CatGAN(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(
            digits.X, digits.y)
    finally:
        torch.set_num_threads(before)


def test_discriminator_loss_terms_hand_values():
    # real: one certain sample of class 0, one uniform over 2 classes; fake: both uniform
    real = torch.log(torch.tensor([[1.0 - 1e-9, 1e-9], [0.5, 0.5]]))
    fake = torch.zeros(2, 2)
    loss, t = catgan_discriminator_loss(real, fake)
    p_marg = torch.tensor([0.75, 0.25])
    h_marg = -(p_marg * p_marg.log()).sum().item()
    assert t["h_marginal_real"].item() == pytest.approx(h_marg, abs=1e-5)
    assert t["h_cond_real"].item() == pytest.approx(math.log(2) / 2, abs=1e-5)
    assert t["h_cond_fake"].item() == pytest.approx(math.log(2), abs=1e-6)
    # -L_D of eq. 7 = -(H_X - E_x H + E_z H)
    assert loss.item() == pytest.approx(-(h_marg - math.log(2) / 2 + math.log(2)), abs=1e-5)


def test_generator_loss_sign_prefers_balanced_classes():
    k = 4
    certain = 20.0 * torch.eye(k)  # (4, 4): one confident sample per class
    collapsed = 20.0 * torch.eye(k)[[0, 0, 0, 0]]  # every sample confidently class 0
    loss_balanced, t = catgan_generator_loss(certain)
    loss_collapsed, _ = catgan_generator_loss(collapsed)
    assert t["h_marginal_fake"].item() == pytest.approx(math.log(k), abs=1e-5)
    assert loss_balanced.item() == pytest.approx(-math.log(k), abs=1e-5)
    assert loss_collapsed.item() == pytest.approx(0.0, abs=1e-5)
    # eq. 8 asks G to *maximise* H_G: the balanced batch must be the better one. With the
    # sign flipped (+H_G, the reimplementation bug) the collapsed batch would win instead.
    assert loss_balanced < loss_collapsed
    bugged = lambda lg: entropy(torch.softmax(lg, 1).mean(0)) + entropy(torch.softmax(lg, 1)).mean()  # noqa: E731
    assert bugged(collapsed) < bugged(certain)
    # gradient descent on L_G spreads an unbalanced batch over the classes; on the bugged
    # loss it piles the batch onto one class
    start = torch.tensor([[3.0, 0, 0, 0], [3.0, 0, 0, 0], [0, 3.0, 0, 0], [2.0, 0, 0, 0]])

    def descend(loss_fn):
        logits = start.clone().requires_grad_(True)
        for _ in range(50):
            (grad,) = torch.autograd.grad(loss_fn(logits), logits)
            logits = (logits - 0.5 * grad).detach().requires_grad_(True)
        return entropy(torch.softmax(logits, 1).mean(0)).item()

    before = entropy(torch.softmax(start, 1).mean(0)).item()
    assert descend(lambda lg: catgan_generator_loss(lg)[0]) > before + 0.02
    assert descend(bugged) < before - 0.2


def test_fit_contract_and_determinism(digits):
    X = digits.X[:200]
    a = CatGAN(5, random_state=1, **TINY).fit(X)
    b = CatGAN(5, random_state=1, **TINY).fit(X.numpy())
    assert a.labels_.dtype == np.int64 and a.labels_.shape == (200,)
    assert np.array_equal(a.labels_, b.labels_)
    p = a.transform(digits.X[:9])
    assert p.shape == (9, 5) and p.dtype == np.float32 and np.allclose(p.sum(1), 1, atol=1e-5)
    assert np.array_equal(a.predict(X), a.labels_)
    assert a.predict(digits.X[500:530]).shape == (30,)  # new data
    s = a.sample(6)
    assert s.shape == (6, 1, 8, 8) and s.min() >= 0 and s.max() <= 1
    assert {"loss_d", "loss_g", "h_marginal_real", "h_cond_real", "h_cond_fake", "d_acc",
            "fake_entropy"} <= set(a.history_[0])
    assert "acc" not in a.history_[-1]  # metrics only when y is given
    flat = CatGAN(3, random_state=0, **TINY).fit(digits.flat()[:200])
    assert flat.sample(2).shape == (2, 64) and flat.labels_.shape == (200,)


def test_errors(digits):
    est = CatGAN(10, **TINY)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    with pytest.raises(NotFittedError):
        est.sample(3)
    bad = digits.X[:100].clone()
    bad[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="infinite"):
        est.fit(bad)
    with pytest.raises(ValueError, match="n_clusters"):
        CatGAN(n_clusters=1, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="marginal_weight must be a positive number"):
        CatGAN(marginal_weight=-1, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="multiple of 4"):
        CatGAN(**TINY).fit(torch.rand(50, 1, 6, 6))
    est.fit(digits.X[:100])
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        est.predict(digits.flat())


def test_quality_on_digits(fitted, digits):
    # measured, defaults, seeds 0-4: ACC 0.784 0.702 0.802 0.856 0.737 (mean 0.776), NMI
    # 0.772 0.776 0.762 0.824 0.766. CatGAN is known to sit at k-means' level here (0.79):
    # its objective rewards any confident, balanced 10-way split (see catgan.py). Seed 0
    # gives ACC 0.784, NMI 0.772; the thresholds sit a few points under it.
    scores = evaluate(digits.y, fitted.labels_)
    assert "acc" in fitted.history_[-1]
    assert scores["acc"] > 0.75 and scores["nmi"] > 0.74, scores


def test_seed_0_fit_is_the_stored_one(fitted, digits, stored_fit_or_seed_range):
    # the store's seed-0 row (bench, defaults, one thread) holds this fit's labels on the CPU
    # type that made it: a change to the training loop that alters what the method computes
    # shows there; on another CPU type the game may settle elsewhere, within the seeds' range
    stored_fit_or_seed_range("catgan", fitted.labels_, digits.y)
