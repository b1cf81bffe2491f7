"""Chapter 04's exercise checks pass the library's losses and name each classic mistake."""

import math

import pytest
import torch
import torch.nn.functional as F

from dclearn import checks
from dclearn.checks import ExerciseCheckError
from dclearn.methods.gan.catgan import catgan_discriminator_loss, catgan_generator_loss
from dclearn.methods.gan.gan import discriminator_loss, generator_loss
from dclearn.methods.gan.health import entropy
from dclearn.methods.gan.infogan import mutual_information_bound

sp = F.softplus


def ns_generator(fake):
    return generator_loss(fake)


# --- the GAN losses ---------------------------------------------------------------------------
def test_gan_check_passes_the_library(capsys):
    checks.check_gan_losses(discriminator_loss, ns_generator)
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize("wrong_d, words", [
    (lambda r, f: sp(r).mean() + sp(-f).mean(), "labels are swapped"),
    (lambda r, f: -discriminator_loss(r, f), "sign is flipped"),
    (lambda r, f: discriminator_loss(torch.sigmoid(r), torch.sigmoid(f)), "sigmoid"),
    (lambda r, f: sp(-r).mean(), "generated samples' term"),
    (lambda r, f: sp(-r).sum() + sp(f).sum(), "summed over the batch"),
    (lambda r, f: -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean(),
     "underflows"),
    (lambda r, f: discriminator_loss(r, f).detach(), "differentiable"),
    (lambda r, f: None, "return statement"),
    (lambda r, f: sp(-r) + sp(f), "one number"),
])
def test_gan_check_names_discriminator_mistakes(wrong_d, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_gan_losses(wrong_d, ns_generator)


@pytest.mark.parametrize("wrong_g, words", [
    (lambda f: generator_loss(f, "minimax"), "minimax"),
    (lambda f: -generator_loss(f), "sign is flipped"),
    (lambda f: sp(f).mean(), "the wrong way"),
    (lambda f: generator_loss(torch.sigmoid(f)), "sigmoid"),
    (lambda f: -torch.log(torch.sigmoid(f)).mean(), "underflows"),
    (lambda f: generator_loss(f).detach(), "differentiable"),
])
def test_gan_check_names_generator_mistakes(wrong_g, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_gan_losses(discriminator_loss, wrong_g)


# --- CatGAN -----------------------------------------------------------------------------------
def _terms(logits):
    p = torch.softmax(logits, 1)
    return p, entropy(p.mean(0)), entropy(p).mean()


def test_catgan_check_passes_the_library(capsys):
    checks.check_catgan_losses(catgan_discriminator_loss, catgan_generator_loss)
    # a learner's version returning only the loss passes too
    checks.check_catgan_losses(lambda r, f: catgan_discriminator_loss(r, f)[0],
                               lambda f: catgan_generator_loss(f)[0])
    assert capsys.readouterr().out.count("OK") == 2


def _naive_h(p):  # entropy without a softmax or a clamp: NaN on logits below 0
    return -(p * torch.log(p)).sum(-1)


def _d_swapped(r, f):
    _, hm_r, hc_r = _terms(r)
    _, hm_f, _ = _terms(f)
    return -(hc_r - hm_r + hm_f)  # both helpers swapped, everywhere


def _d_logits(r, f):
    p, q = torch.softmax(r, 1), torch.softmax(f, 1)
    hm = -(p.mean(0) * r.mean(0)).sum()
    return -(hm + (p * r).sum(1).mean() - (q * f).sum(1).mean())


def _d_fake_sign(r, f):
    _, hm_r, hc_r = _terms(r)
    return -(hm_r - hc_r - _terms(f)[2])


def _d_unguarded_log(r, f):  # softmax first, but log(0) where a probability underflows
    p, q = torch.softmax(r, 1), torch.softmax(f, 1)
    return -(_naive_h(p.mean(0)) - _naive_h(p).mean() + _naive_h(q).mean())


def _d_mean_log(r, f):  # the marginal entropy with the mean of log p, not the log of mean p
    p, hm_r, hc_r = _terms(r)
    hm_wrong = -(p.mean(0) * torch.log_softmax(r, 1).mean(0)).sum()
    return -(hm_wrong - hc_r + _terms(f)[2])


@pytest.mark.parametrize("wrong_d, words", [
    (lambda r, f: -catgan_discriminator_loss(r, f)[0], "sign is flipped"),
    (_d_swapped, "entropy of the mean and the mean of the entropies are swapped"),
    (_d_logits, "logits where the entropy needs log-probabilities"),
    (_d_fake_sign, "generated samples' term has the wrong sign"),
    (lambda r, f: -(_terms(r)[1] - _terms(r)[2]), "term E_z H.* is missing"),
    (lambda r, f: -(-_terms(r)[2] + _terms(f)[2]), "marginal entropy H_X.* is missing"),
    (lambda r, f: -(_naive_h(r.mean(0)) - _naive_h(r).mean() + _naive_h(f).mean()), "NaN"),
    (_d_unguarded_log, "0 \\* log\\(0\\) is nan"),
    (_d_mean_log, "log of the mean probability"),
])
def test_catgan_check_names_discriminator_mistakes(wrong_d, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_catgan_losses(wrong_d, catgan_generator_loss)


def _g_logits(f):  # "entropies" with the logits in place of log p
    p = torch.softmax(f, 1)
    return (p.mean(0) * f.mean(0)).sum() - (p * f).sum(1).mean()


def _g_marginal_sign(f):
    _, hm, hc = _terms(f)
    return hm + hc


@pytest.mark.parametrize("wrong_g, words", [
    (_g_marginal_sign, "sign of the generator's marginal-entropy term is wrong"),
    (lambda f: -catgan_generator_loss(f)[0], "whole loss has the wrong sign"),
    (lambda f: -_terms(f)[2] + _terms(f)[1], "are swapped"),  # = -L_G: one message for both
    (_g_logits, "logits where the entropy"),
    (lambda f: -_terms(f)[1] - _terms(f)[2], "conditional-entropy term has the wrong sign"),
    (lambda f: -entropy(torch.softmax(f.mean(0), 0)) + _terms(f)[2], "softmax first"),
    (lambda f: catgan_generator_loss(f)[0].item(), "differentiable"),
])
def test_catgan_check_names_generator_mistakes(wrong_g, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_catgan_losses(catgan_discriminator_loss, wrong_g)


# --- InfoGAN ----------------------------------------------------------------------------------
def test_infogan_check_passes_the_library(capsys):
    checks.check_infogan_mi(mutual_information_bound)
    checks.check_infogan_mi(lambda q, c: -F.cross_entropy(q, c) + math.log(q.shape[1]))
    assert capsys.readouterr().out.count("OK") == 2


@pytest.mark.parametrize("wrong, words", [
    (lambda q, c: -F.cross_entropy(torch.softmax(q, 1), c) + math.log(q.shape[1]),
     "softmax is applied twice"),
    (lambda q, c: -F.cross_entropy(q, c), "H\\(c\\) = log K is missing"),
    (lambda q, c: F.cross_entropy(q, c), "sign is flipped"),
    (lambda q, c: -mutual_information_bound(q, c), "sign is flipped"),
    (lambda q, c: F.log_softmax(q, 1).gather(1, c[:, None]).sum() + math.log(q.shape[1]),
     "summed over the batch"),
    (lambda q, c: mutual_information_bound(q, c) / math.log(2), "nats"),
    (lambda q, c: torch.log(q).gather(1, c[:, None]).mean() + math.log(q.shape[1]),
     "log of the logits"),
    (lambda q, c: torch.log(torch.softmax(q, 1)).gather(1, c[:, None]).mean()
     + math.log(q.shape[1]), "underflows"),
    (lambda q, c: F.log_softmax(q, 1).mean() + math.log(q.shape[1]), "gather"),
    (lambda q, c: -F.nll_loss(torch.softmax(q, 1), c) + math.log(q.shape[1]),
     "probabilities where log-probabilities"),
    (lambda q, c: F.log_softmax(q, 1).gather(1, c[:, None]).mean() + math.log(int(c.max()) + 1),
     "prior over the K categories"),
    (lambda q, c: mutual_information_bound(q, c).detach(), "differentiable"),
])
def test_infogan_check_names_mistakes(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_infogan_mi(wrong)


# --- back-propagation through the learner's loss -----------------------------------------------
def _catgan_g_detached_marginal(f):  # right value, but H_G's gradient is cut
    p = torch.softmax(f, 1)
    return -entropy(p.detach().mean(0)) + entropy(p).mean()


def _mi_detached_normaliser(q, c):  # right value, but log-sum-exp detached
    log_q = q - torch.logsumexp(q, 1, keepdim=True).detach()
    return log_q.gather(1, c[:, None]).mean() + math.log(q.shape[1])


def test_gan_check_rejects_a_float_and_a_half_detached_loss():
    with pytest.raises(ExerciseCheckError, match="not a torch tensor"):
        checks.check_gan_losses(lambda r, f: discriminator_loss(r, f).item(), ns_generator)
    with pytest.raises(ExerciseCheckError, match="not a torch tensor"):
        checks.check_gan_losses(discriminator_loss, lambda f: generator_loss(f).detach().numpy())
    with pytest.raises(ExerciseCheckError, match="missing or not finite"):
        checks.check_gan_losses(lambda r, f: sp(-r).mean() + sp(f.detach()).mean(), ns_generator)


def test_catgan_check_compares_the_gradient_with_the_library():
    with pytest.raises(ExerciseCheckError, match="gradient with respect to the logits is not"):
        checks.check_catgan_losses(catgan_discriminator_loss, _catgan_g_detached_marginal)


def test_infogan_check_compares_the_gradient_with_the_library():
    with pytest.raises(ExerciseCheckError, match="gradient with respect to the logits is not"):
        checks.check_infogan_mi(_mi_detached_normaliser)
    with pytest.raises(ExerciseCheckError, match="not a torch tensor"):
        checks.check_infogan_mi(lambda q, c: mutual_information_bound(q, c).item())
