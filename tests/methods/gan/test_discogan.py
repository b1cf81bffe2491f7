"""DiscoGAN (notebook 04): its losses by hand, the digit domains, the contract, class kept."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from dclearn.methods.gan.discogan import (
    DiscoGAN,
    const_loss,
    discogan_losses,
    feature_matching_loss,
)
from dclearn.methods.gan.discogan_digits import class_kept, make_digit_domains, to_domain_b
from dclearn.methods.gan.discogan_nets import DomainDiscriminator, Translator
from dclearn.methods.gan.gan import discriminator_loss, generator_loss

SMALL = dict(channels=(4, 8), dis_channels=(4, 8), epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def domains(digits):
    return make_digit_domains(digits, seed=0)


@pytest.fixture(scope="module")
def small_fit(domains):
    XA, _, XB, _ = domains
    return DiscoGAN(random_state=0, device="cpu", verbose=False, **SMALL).fit(XA[:300],
                                                                             XB[:200])


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


# --- the losses against hand-computed values --------------------------------------------------
def test_const_loss_hand_value():
    x = torch.zeros(1, 1, 2, 2)
    x_cycle = torch.tensor([[[[0.5, 0.0], [0.0, 1.0]]]])
    assert const_loss(x, x_cycle).item() == pytest.approx((0.25 + 1.0) / 4)
    assert const_loss(x_cycle, x_cycle).item() == 0.0


def test_feature_matching_hand_value():
    real = torch.tensor([[1.0, 0.0], [3.0, 2.0]])  # batch means (2, 1)
    fake = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # batch means (0, 1)
    assert feature_matching_loss(real, fake).item() == pytest.approx((4.0 + 0.0) / 2)


def test_reconstruction_terms_with_known_generators():
    torch.manual_seed(0)
    xa, xb = torch.rand(5, 1, 4, 4), torch.rand(3, 1, 4, 4)
    D_A, D_B = DomainDiscriminator((1, 4, 4), (4, 4)), DomainDiscriminator((1, 4, 4), (4, 4))
    invert = _Lambda(lambda x: 1.0 - x)
    zero = _Lambda(lambda x: torch.zeros_like(x))
    # inverting both ways is a perfect cycle: both L_CONST vanish
    out = discogan_losses({"G_AB": invert, "G_BA": invert, "D_A": D_A, "D_B": D_B}, xa, xb)
    assert out["const_a"].item() == pytest.approx(0.0, abs=1e-7)
    assert out["const_b"].item() == pytest.approx(0.0, abs=1e-7)
    # G_BA = 0: x_ABA = 0, so L_CONST_A = mean(x_A^2); x_BAB = 1 - 0, L_CONST_B = mean((1 - x_B)^2)
    out = discogan_losses({"G_AB": invert, "G_BA": zero, "D_A": D_A, "D_B": D_B}, xa, xb,
                          rec_weight=2.0)
    assert out["const_a"].item() == pytest.approx(xa.pow(2).mean().item(), rel=1e-6)
    assert out["const_b"].item() == pytest.approx((1 - xb).pow(2).mean().item(), rel=1e-6)
    # L_G = L_GAN_A + L_GAN_B + rec_weight (L_CONST_A + L_CONST_B); L_D = L_D_A + L_D_B
    expected_g = out["gan_a"] + out["gan_b"] + 2.0 * (out["const_a"] + out["const_b"])
    assert torch.allclose(out["generator"], expected_g)
    assert torch.allclose(out["discriminator"], out["d_a"] + out["d_b"])
    # the GAN terms are the chapter's losses on each domain's discriminator
    _, s_real_b = D_B(xb)
    _, s_fake_b = D_B(1.0 - xa)  # x_AB
    assert torch.allclose(out["gan_b"], generator_loss(s_fake_b))
    assert torch.allclose(out["d_b"], discriminator_loss(s_real_b, s_fake_b))
    # feature matching replaces a share of each L_GAN
    fm = discogan_losses({"G_AB": invert, "G_BA": zero, "D_A": D_A, "D_B": D_B}, xa, xb,
                         rec_weight=2.0, feature_matching=1.0)
    f_real_b, _ = D_B(xb)
    f_fake_b, _ = D_B(1.0 - xa)
    f_real_a, _ = D_A(xa)
    f_fake_a, _ = D_A(torch.zeros_like(xb))
    expected = (feature_matching_loss(f_real_a, f_fake_a) + feature_matching_loss(
        f_real_b, f_fake_b) + 2.0 * (out["const_a"] + out["const_b"]))
    assert torch.allclose(fm["generator"], expected, atol=1e-6)


def test_translator_and_discriminator_shapes():
    for arch, shape in (("conv", (1, 8, 8)), ("conv", (1, 28, 28)), ("mlp", (1, 8, 8)),
                        ("mlp", (6,))):
        G = Translator(shape, hidden=16, channels=(4, 8), arch=arch)
        x = torch.rand(3, *shape)
        y = G(x)
        assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
        f, s = DomainDiscriminator(shape, (4, 8), arch)(x)
        assert f.shape[0] == 3 and s.shape == (3,)


# --- the digit domains and the class-kept score ------------------------------------------------
def test_digit_domains_are_unpaired_halves(digits, domains):
    XA, yA, XB, yB = domains
    assert XA.shape == (898, 1, 8, 8) and XB.shape == (899, 1, 8, 8)
    assert yA.dtype == yB.dtype == torch.int64
    assert 0 <= XB.min() and XB.max() <= 1
    # the two halves share out the whole data set: every class keeps its count
    counts = torch.bincount(yA, minlength=10) + torch.bincount(yB, minlength=10)
    assert torch.equal(counts, torch.bincount(digits.y, minlength=10))
    # A's images are digits as they are; B's are drawn differently (light ground)
    assert XA.mean() + 0.1 < XB.mean()
    # same seed, same split; another seed, another split
    again = make_digit_domains(digits, seed=0)
    assert torch.equal(again[0], XA) and torch.equal(again[3], yB)
    assert not torch.equal(make_digit_domains(digits, seed=1)[1], yA)
    flat = digits.X.reshape(len(digits.X), -1)
    with pytest.raises(ValueError, match="images"):
        make_digit_domains(type(digits)(X=flat, y=digits.y, n_clusters=10, name="flat"))


def test_to_domain_b_hand_example():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 1, 1] = 0.5
    b = to_domain_b(x)
    # the pixel spreads to its upper and left neighbours (max over right/lower ones), then 1 - x
    expected = torch.ones(3, 3)
    expected[:2, :2] = 0.5
    assert torch.equal(b[0, 0], expected)
    turned = to_domain_b(x, rotate=True)
    assert torch.equal(turned[0, 0], torch.rot90(expected, 1))


def test_class_kept_scores_oracles(domains):
    XA, yA, XB, yB = domains

    class Oracle:  # the true A -> B drawing; B -> A: undo the inversion only
        def translate_ab(self, X):
            return to_domain_b(torch.as_tensor(X)).numpy()

        def translate_ba(self, X):
            return (1.0 - torch.as_tensor(X)).numpy()

    class Blank:
        def translate_ab(self, X):
            return np.zeros_like(np.asarray(X))

        translate_ba = translate_ab

    good, bad = class_kept(Oracle(), XA, yA, XB, yB), class_kept(Blank(), XA, yA, XB, yB)
    assert set(good) == {"a_to_b", "b_to_a"}
    assert good["a_to_b"] > 0.95  # the classifier reads true translations well
    assert bad["a_to_b"] < 0.2 and bad["b_to_a"] < 0.2  # one class for all: about 1/10


# --- estimator contract ---------------------------------------------------------------------
def test_fit_contract(small_fit, domains):
    XA, _, XB, _ = domains
    m = small_fit
    assert len(m.history_) == 2
    assert all(k in m.history_[0] for k in ("gan_a", "gan_b", "const_a", "const_b", "d_a",
                                            "d_b", "phase", "epoch"))
    ab, ba = m.translate_ab(XA[:7]), m.translate_ba(XB[:5].numpy())
    assert ab.shape == (7, 1, 8, 8) and ba.shape == (5, 1, 8, 8)
    assert ab.dtype == ba.dtype == np.float32
    assert 0 <= ab.min() and ab.max() <= 1 and 0 <= ba.min() and ba.max() <= 1
    assert m.cycle_a(XA[:3]).shape == (3, 1, 8, 8) and m.cycle_b(XB[:3]).shape == (3, 1, 8, 8)
    assert np.allclose(m.cycle_a(XA[:3]), m.translate_ba(m.translate_ab(XA[:3])), atol=1e-6)


def test_determinism(small_fit, domains):
    XA, _, XB, _ = domains
    again = DiscoGAN(random_state=0, device="cpu", verbose=False, **SMALL).fit(XA[:300],
                                                                              XB[:200])
    assert again.history_ == small_fit.history_
    assert np.array_equal(again.translate_ab(XA[:20]), small_fit.translate_ab(XA[:20]))
    other = DiscoGAN(random_state=1, device="cpu", verbose=False, **SMALL).fit(XA[:300],
                                                                              XB[:200])
    assert not np.array_equal(other.translate_ab(XA[:20]), small_fit.translate_ab(XA[:20]))


def test_mlp_on_vectors():
    g = torch.Generator().manual_seed(0)
    XA, XB = torch.rand(40, 6, generator=g), torch.rand(30, 6, generator=g)
    m = DiscoGAN(arch="mlp", hidden=8, epochs=2, batch_size=16, random_state=0,
                 device="cpu", verbose=False).fit(XA, XB)
    assert m.translate_ab(XA).shape == (40, 6) and m.translate_ba(XB).shape == (30, 6)


def test_bad_input(domains, small_fit):
    XA, _, XB, _ = domains
    XA, XB = XA[:40].clone(), XB[:40].clone()
    est = DiscoGAN(device="cpu", verbose=False, **SMALL)
    with pytest.raises(NotFittedError):
        est.translate_ab(XA)
    bad = XA.clone()
    bad[1, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="XA contains 1 NaN"):
        est.fit(bad, XB)
    bad = XB.clone()
    bad[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="XB contains 0 NaN and 1 infinite"):
        est.fit(XA, bad)
    with pytest.raises(ValueError, match="same shape"):
        est.fit(XA, XB[:, :, :4, :4])
    with pytest.raises(ValueError, match="same shape"):
        est.fit(XA, XB.reshape(40, -1))
    with pytest.raises(ValueError, match="square images"):
        est.fit(XA.reshape(40, -1), XB.reshape(40, -1))
    with pytest.raises(ValueError, match=r"XB must have values in \[0, 1\]"):
        est.fit(XA, XB * 16)
    with pytest.raises(ValueError, match="2-D"):
        est.fit(XA[:, 0], XB[:, 0])
    with pytest.raises(ValueError, match="at least 2"):
        est.fit(XA[:1], XB)
    for params, match in ((dict(arch="rnn"), "arch"), (dict(epochs=-1), "epochs"),
                          (dict(batch_size=0), "batch_size"), (dict(lr=0.0), "lr"),
                          (dict(rec_weight=-1.0), "rec_weight"),
                          (dict(feature_matching=1.5), "feature_matching"),
                          (dict(instance_noise=-0.1), "instance_noise")):
        with pytest.raises(ValueError, match=match):
            DiscoGAN(device="cpu", verbose=False, **{**SMALL, **params}).fit(XA, XB)
    with pytest.raises(ValueError, match="sample shape"):
        small_fit.translate_ba(XB[:, :, :4, :4])


# --- quality on digits ----------------------------------------------------------------------
def test_class_kept_on_digits(domains):
    """Seed 0, defaults (40 epochs): a few points under the measured run; chance is 0.1."""
    XA, yA, XB, yB = domains
    model = DiscoGAN(random_state=0, device="cpu", verbose=False).fit(XA, XB)
    kept = class_kept(model, XA, yA, XB, yB)
    assert kept["a_to_b"] > 0.92 and kept["b_to_a"] > 0.88  # measured 0.957 and 0.924
