"""ClusterGAN (Mukherjee et al. 2019): latent sampling, cycle losses, contract, quality."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.gan.clustergan import ClusterGAN, cycle_loss, sample_latent

TINY = dict(hidden=32, channels=(8, 16), n_epochs=2, batch_size=50, device="cpu",
            verbose=False)


@pytest.fixture(scope="module")
def fitted(digits):
    # one thread, as in the measured runs: GAN training amplifies the rounding differences
    # that another thread count brings, so the seed-0 fit is only reproducible this way
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return ClusterGAN(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(
            digits.X, digits.y)
    finally:
        torch.set_num_threads(before)


def test_latent_is_one_hot_plus_small_noise():
    g = torch.Generator().manual_seed(0)
    latent, z_n, c = sample_latent(4000, 30, 10, 0.1, g, "cpu")
    assert latent.shape == (4000, 40) and torch.equal(latent[:, :30], z_n)
    assert torch.equal(latent[:, 30:].argmax(1), c) and (latent[:, 30:].sum(1) == 1).all()
    assert z_n.std().item() == pytest.approx(0.1, rel=0.05)
    _, _, fixed = sample_latent(5, 30, 10, 0.1, g, "cpu", category=7)
    assert (fixed == 7).all()


def test_cycle_loss_hand_values():
    z_n = torch.tensor([[0.1, -0.2], [0.0, 0.3]])
    enc_n = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    c = torch.tensor([0, 1])
    logits = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    loss, t = cycle_loss(z_n, c, enc_n, logits, beta_n=10.0, beta_c=2.0)
    mse = (0.01 + 0.04 + 0.0 + 0.09) / 4
    ce = -(math.log(0.5) + math.log(0.75)) / 2
    assert t["cycle_noise"].item() == pytest.approx(mse, abs=1e-6)
    assert t["cycle_cluster"].item() == pytest.approx(ce, abs=1e-6)
    assert loss.item() == pytest.approx(10 * mse + 2 * ce, abs=1e-5)


def test_fit_contract_and_determinism(digits):
    X = digits.X[:200]
    a = ClusterGAN(5, noise_dim=4, random_state=3, **TINY).fit(X)
    b = ClusterGAN(5, noise_dim=4, random_state=3, **TINY).fit(X.numpy())
    assert a.labels_.dtype == np.int64 and a.labels_.shape == (200,)
    assert np.array_equal(a.labels_, b.labels_)
    z = a.transform(digits.X[:9])
    assert z.shape == (9, 4 + 5) and np.allclose(z[:, 4:].sum(1), 1, atol=1e-5)
    assert np.array_equal(a.predict(X), a.labels_)
    assert a.predict(digits.X[1000:1050]).shape == (50,)
    s = a.sample(8, category=0)
    assert s.shape == (8, 1, 8, 8) and 0 <= s.min() <= s.max() <= 1
    assert {"loss_d", "loss_g", "cycle_noise", "cycle_cluster", "d_acc", "fake_entropy"} <= set(
        a.history_[0])
    assert ClusterGAN(3, random_state=0, **TINY).fit(digits.flat()[:200]).labels_.shape == (200,)


def test_wgan_gp_variant(digits):
    # the paper's WGAN-GP: a critic and an encoder without batch norm, n_critic critic steps
    # per generator step, deterministic like the standard game
    X = digits.X[:200]
    kw = dict(TINY, gan_loss="wgan-gp", n_critic=2, lr_d=1e-4, lr_g=1e-4)
    a = ClusterGAN(5, noise_dim=4, random_state=3, **kw).fit(X)
    b = ClusterGAN(5, noise_dim=4, random_state=3, **kw).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and a.labels_.shape == (200,)
    for net in (a.discriminator_, a.encoder_):
        assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                       for m in net.modules())
    std = ClusterGAN(5, noise_dim=4, random_state=3, **TINY).fit(X)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in std.discriminator_.modules())
    # 200 images in batches of 50: 4 critic steps an epoch, so 2 generator steps
    assert {"loss_d", "loss_g", "cycle_noise", "cycle_cluster"} <= set(a.history_[0])
    assert "d_acc" in std.history_[0]


def test_errors(digits):
    est = ClusterGAN(10, **TINY)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    bad = digits.X[:100].clone()
    bad[5, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match="n_clusters"):
        ClusterGAN(n_clusters=1000, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        ClusterGAN(sigma=0, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="beta_c must be >= 0"):
        ClusterGAN(beta_c=-1, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="gan_loss must be one of"):
        ClusterGAN(gan_loss="wgan", **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="n_critic"):
        ClusterGAN(n_critic=0, **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="gp_weight must be >= 0"):
        ClusterGAN(gp_weight=-1.0, **TINY).fit(digits.X[:100])


def test_quality_on_digits(fitted, digits):
    # measured, defaults, seeds 0-4: ACC 0.740 0.752 0.738 0.477 0.642 (mean 0.670), NMI
    # 0.662 0.680 0.650 0.420 0.579. Known to be weaker than k-means on digits (see
    # clustergan.py: the encoder sees generated images only); seed 0 gives 0.740 / 0.662 on
    # the CPU type that made the store, 0.695 / 0.631 on an AMD EPYC (another float path, another
    # draw of the game), so the floors sit under the worst of the five seeds.
    scores = evaluate(digits.y, fitted.labels_)
    assert fitted.history_[-1]["cycle_cluster"] < 0.5  # E recovers G's cluster codes
    assert scores["acc"] > 0.45 and scores["nmi"] > 0.40, scores


def test_seed_0_fit_is_the_stored_one(fitted, digits, stored_fit_or_seed_range):
    # the store's seed-0 row (bench, defaults, one thread) holds this fit's labels on the CPU
    # type that made it: a change to the training loop that alters what the method computes
    # shows there; on another CPU type the game may settle elsewhere, within the seeds' range
    stored_fit_or_seed_range("clustergan", fitted.labels_, digits.y)
