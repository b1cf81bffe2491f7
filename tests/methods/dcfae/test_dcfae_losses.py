"""DCFAE's pieces (notebook 05): pair similarities, the grouper's loss, the fused loss,
augmentation."""

import math

import pytest
import torch

from dclearn.methods.dcfae import (
    discriminator_loss,
    fused_autoencoder_loss,
    generator_loss,
    pairwise_cross_entropy,
    random_rotate_shift,
    reconstruction_cross_entropy,
    student_t_similarities,
)
from dclearn.methods.dcfae.fusion import noisy_labels
from dclearn.methods.vae.vae import gaussian_kl

# three points on a line: squared distances d01 = 1, d02 = 9, d12 = 4
Z3 = torch.tensor([[0.0], [1.0], [3.0]])


def _kernel(d, alpha):
    return (1.0 + d / alpha) ** (-(alpha + 1.0) / 2.0)


def test_student_t_similarities_hand_values_alpha_1():
    P = student_t_similarities(Z3, alpha=1.0)
    # k = 1 / (1 + d): 1/2, 1/10, 1/5; each pair counted twice, diagonal left out
    total = 2 * (0.5 + 0.1 + 0.2)
    expected = torch.tensor([[0.0, 0.5, 0.1], [0.5, 0.0, 0.2], [0.1, 0.2, 0.0]]) / total
    assert torch.allclose(P, expected, atol=1e-7)
    assert P.sum().item() == pytest.approx(1.0, abs=1e-6)


def test_student_t_similarities_other_alpha_and_diagonal():
    a = 100.0
    k = {(0, 1): _kernel(1.0, a), (0, 2): _kernel(9.0, a), (1, 2): _kernel(4.0, a)}
    P = student_t_similarities(Z3, alpha=a)
    total = 2 * sum(k.values())
    for (i, j), v in k.items():
        assert P[i, j].item() == pytest.approx(v / total, rel=1e-5)
        assert P[j, i].item() == pytest.approx(v / total, rel=1e-5)
    # the authors' version keeps k(z, z) = 1 on the diagonal in the normalisation
    Pd = student_t_similarities(Z3, alpha=a, include_diagonal=True)
    assert Pd[0, 0].item() == pytest.approx(1.0 / (total + 3.0), rel=1e-5)
    assert Pd[0, 1].item() == pytest.approx(k[(0, 1)] / (total + 3.0), rel=1e-5)
    # a large alpha is close to a Gaussian kernel exp(-d / 2): squared distances 1, 9, 4
    g = {(0, 1): math.exp(-0.5), (0, 2): math.exp(-4.5), (1, 2): math.exp(-2.0)}
    P_big = student_t_similarities(Z3, alpha=1e6)
    for (i, j), v in g.items():
        assert P_big[i, j].item() == pytest.approx(v / (2 * sum(g.values())), rel=1e-3)


def test_student_t_similarities_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        student_t_similarities(Z3, alpha=0.0)
    with pytest.raises(ValueError, match="B >= 2"):
        student_t_similarities(torch.zeros(1, 2), alpha=1.0)


def test_pairwise_cross_entropy_hand_value_and_minimum():
    P = student_t_similarities(Z3, alpha=2.0)
    Q = student_t_similarities(Z3 * 2.0, alpha=1.0)
    k = [_kernel(d, 2.0) for d in (1.0, 9.0, 4.0)]
    q = [1.0 / (1.0 + 4.0 * d) for d in (1.0, 9.0, 4.0)]
    p_hand = [v / (2 * sum(k)) for v in k]
    q_hand = [v / (2 * sum(q)) for v in q]
    expected = -2 * sum(pi * math.log(qi) for pi, qi in zip(p_hand, q_hand))
    assert pairwise_cross_entropy(P, Q).item() == pytest.approx(expected, rel=1e-5)
    # minimised at Q = P, where it is P's entropy (zeros on the diagonal contribute 0)
    entropy = -2 * sum(pi * math.log(pi) for pi in p_hand)
    assert pairwise_cross_entropy(P, P).item() == pytest.approx(entropy, rel=1e-5)
    assert pairwise_cross_entropy(P, Q).item() > pairwise_cross_entropy(P, P).item()
    with pytest.raises(ValueError, match="same shape"):
        pairwise_cross_entropy(P, Q[:2, :2])


def test_pairwise_loss_gradient_pulls_neighbours_together():
    # Q uniform over pairs, P concentrated on the pair (0, 1): the gradient shrinks d01
    Z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    P = torch.tensor([[0.0, 0.45, 0.05], [0.45, 0.0, 0.0], [0.05, 0.0, 0.0]])
    pairwise_cross_entropy(P, student_t_similarities(Z, 1.0)).backward()
    # gradient descent moves z by -grad: point 0 to the right, point 1 to the left
    assert Z.grad[0, 0].item() < 0 and Z.grad[1, 0].item() > 0


def test_fused_autoencoder_loss_terms_by_hand():
    x = torch.tensor([[1.0, 0.0]])
    logits = torch.tensor([[0.0, math.log(3.0)]])  # sigmoid: 1/2, 3/4
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, math.log(4.0)]])
    d_fake = torch.tensor([[0.5]])
    t = fused_autoencoder_loss(x, logits, mu, logvar, d_fake, adversarial_weight=100.0,
                               rec_weight=16.0)
    rec = -math.log(0.5) - math.log(0.25)
    kl = 0.5 * (1.0 + 0.0) + 0.5 * (4.0 + 4.0 - 1.0 - math.log(4.0))
    gen = -math.log(1.0 / (1.0 + math.exp(-0.5)))
    assert t["rec"].item() == pytest.approx(rec, rel=1e-6)
    assert t["kl"].item() == pytest.approx(kl, rel=1e-6)
    assert t["gen"].item() == pytest.approx(gen, rel=1e-6)
    assert t["loss"].item() == pytest.approx(16.0 * rec + kl + 100.0 * gen, rel=1e-6)
    assert torch.allclose(reconstruction_cross_entropy(x, logits), torch.tensor([rec]))
    assert torch.allclose(gaussian_kl(mu, logvar), torch.tensor([kl]))
    assert generator_loss(d_fake).item() == pytest.approx(gen, rel=1e-6)
    # a plain VAE: no discriminator, no adversarial term
    v = fused_autoencoder_loss(x, logits, mu, logvar, None, adversarial_weight=0.0)
    assert v["gen"].item() == 0.0 and v["loss"].item() == pytest.approx(rec + kl, rel=1e-6)
    with pytest.raises(ValueError, match="d_fake"):
        fused_autoencoder_loss(x, logits, mu, logvar, None, adversarial_weight=1.0)


def test_generator_loss_gradient_reaches_the_reconstruction():
    x_hat = torch.full((2, 1, 2, 2), 0.5, requires_grad=True)
    w = torch.ones(4, 1)
    generator_loss(x_hat.flatten(1) @ w).backward()
    assert x_hat.grad is not None and (x_hat.grad < 0).all()  # push D's logit up


def test_discriminator_loss_hand_value_and_label_noise():
    d_real, d_fake = torch.tensor([[2.0]]), torch.tensor([[-1.0]])
    sig = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    expected = 0.5 * (-math.log(sig(2.0)) - math.log(1.0 - sig(-1.0)))
    assert discriminator_loss(d_real, d_fake, label_noise=0.0).item() == pytest.approx(
        expected, rel=1e-6)
    g = torch.Generator().manual_seed(0)
    zeros, ones = noisy_labels(1000, 0.0, 0.05, g), noisy_labels(1000, 1.0, 0.05, g)
    assert 0.0 <= zeros.min() and zeros.max() <= 0.05 and zeros.std() > 0
    assert 0.95 <= ones.min() and ones.max() <= 1.0


def test_random_rotate_shift_identity_shape_and_determinism():
    x = torch.rand(6, 1, 8, 8)
    assert torch.allclose(random_rotate_shift(x, 0.0, 0.0), x, atol=1e-5)
    a = random_rotate_shift(x, 10.0, 1 / 16, torch.Generator().manual_seed(3))
    b = random_rotate_shift(x, 10.0, 1 / 16, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.allclose(a, x)
    assert a.min() >= 0.0 and a.max() <= 1.0  # bilinear interpolation stays in range
