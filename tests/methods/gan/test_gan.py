"""GAN (Goodfellow et al. 2014): the two generator losses, the networks and the GAN estimator."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn.methods.gan.gan import (
    GAN,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    real_fake_accuracy,
)
from dclearn.methods.gan.nets import Discriminator, Generator, gan_widths

TINY = dict(hidden=32, channels=(8, 16), n_epochs=2, batch_size=50, device="cpu",
            verbose=False)


def _sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_losses_hand_values():
    real, fake = torch.tensor([[2.0], [-1.0]]), torch.tensor([[0.5], [-3.0]])
    d_real = [_sigmoid(2.0), _sigmoid(-1.0)]
    d_fake = [_sigmoid(0.5), _sigmoid(-3.0)]
    expected_d = -np.mean(np.log(d_real)) - np.mean(np.log(1 - np.array(d_fake)))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected_d, abs=1e-6)
    # minimax: E log(1 - D(G(z))); non-saturating: -E log D(G(z))
    assert generator_loss(fake, "minimax").item() == pytest.approx(
        np.mean(np.log(1 - np.array(d_fake))), abs=1e-6)
    assert generator_loss(fake, "non_saturating").item() == pytest.approx(
        -np.mean(np.log(d_fake)), abs=1e-6)
    with pytest.raises(ValueError, match="kind must be one of"):
        generator_loss(fake, "wasserstein")
    assert real_fake_accuracy(real, fake).item() == pytest.approx(0.5)  # 1 of 2 real, 1 of 2 fake


def test_non_saturating_gradient_is_strong_when_d_wins():
    # D rejects the samples with confidence: the minimax gradient vanishes, the other does not
    fake = torch.full((4, 1), -8.0, requires_grad=True)
    (g_mm,) = torch.autograd.grad(generator_loss(fake, "minimax"), fake)
    (g_ns,) = torch.autograd.grad(generator_loss(fake, "non_saturating"), fake)
    assert g_mm.abs().max() < 1e-3 < 0.2 < g_ns.abs().min()
    assert (g_mm <= 0).all() and (g_ns <= 0).all()  # both push D(G(z)) up


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (64,)])
def test_networks_follow_the_input_shape(shape):
    G, D = Generator(20, shape), Discriminator(shape, out=3)
    with torch.no_grad():
        x = G(torch.randn(5, 20))
    assert x.shape == (5, *shape) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert D(x).shape == (5, 3) and D.features(x).shape == (5, D.hidden)
    assert gan_widths(shape) == ((256, (32, 64)) if shape == (1, 8, 8) else (1024, (64, 128)))
    with pytest.raises(ValueError, match="multiple of 4"):
        Generator(20, (1, 10, 10))


def test_fit_sample_and_determinism(digits):
    X = digits.X[:200]
    a = GAN(random_state=3, **TINY).fit(X)
    b = GAN(random_state=3, **TINY).fit(X.numpy())
    s = a.sample(7)
    assert s.shape == (7, 1, 8, 8) and s.dtype == np.float32
    assert s.min() >= 0 and s.max() <= 1
    assert np.array_equal(s, b.sample(7))
    assert not np.array_equal(s, a.sample(7, random_state=4))
    assert [h["epoch"] for h in a.history_] == [0, 1]
    assert {"loss_d", "loss_g", "d_acc"} <= set(a.history_[0])
    flat = GAN(random_state=0, loss="minimax", **TINY).fit(digits.flat()[:200])
    assert flat.sample(3).shape == (3, 64)


def test_errors(digits):
    with pytest.raises(NotFittedError):
        GAN().sample(3)
    with pytest.raises(ValueError, match="loss must be one of"):
        GAN(loss="hinge", **TINY).fit(digits.X[:100])
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        GAN(latent_dim=0, **TINY).fit(digits.X[:100])
    bad = digits.X[:100].clone()
    bad[3, 0, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        GAN(**TINY).fit(bad)


def test_gradient_penalty_hand_values():
    # a linear critic w.x + b has the gradient w everywhere: the penalty is (||w|| - 1)^2
    # whatever the interpolation, and it trains the critic (d/dw = 2 (||w|| - 1) w / ||w||)
    critic = torch.nn.Linear(4, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))  # ||w|| = 5
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(6, 4, generator=g), torch.rand(6, 4, generator=g)
    gp = gradient_penalty(critic, real, fake, g)
    assert gp.item() == pytest.approx(16.0)
    gp.backward()
    expected = 2 * (5 - 1) * torch.tensor([[3.0, 0.0, 4.0, 0.0]]) / 5
    assert torch.allclose(critic.weight.grad, expected)
    # a quadratic critic 0.5 ||x||^2 has the gradient x_hat: the penalty depends on where
    # the interpolate lies, one eps per sample drawn from the generator
    quad = _Quadratic()
    real, fake = torch.ones(3, 1, 2, 2), torch.zeros(3, 1, 2, 2)
    eps = torch.rand(3, generator=torch.Generator().manual_seed(1))
    want = ((eps * 2 - 1) ** 2).mean()  # ||eps * ones(4)|| = 2 eps
    got = gradient_penalty(quad, real, fake, torch.Generator().manual_seed(1))
    assert got.item() == pytest.approx(want.item(), abs=1e-6)


class _Quadratic(torch.nn.Module):
    def forward(self, x):
        return 0.5 * (x.flatten(1) ** 2).sum(1, keepdim=True)
