"""Chapter 05's exercise checks pass the library's functions and name each classic mistake."""

import pytest
import torch
import torch.nn.functional as F

from dclearn import checks
from dclearn.checks import ExerciseCheckError
from dclearn.methods.dcfae.fusion import fused_autoencoder_loss, gaussian_kl
from dclearn.methods.dcfae.similarity import pairwise_cross_entropy, student_t_similarities

sp = F.softplus


# --- Student-t similarities ------------------------------------------------------------------
def _d2(Z):
    return ((Z[:, None] - Z[None]) ** 2).sum(-1)


def _off(K):
    return K * (1 - torch.eye(K.shape[0], dtype=K.dtype))


def _naive(Z, a):  # the straightforward version a learner writes: right
    K = _off((1 + _d2(Z) / a) ** (-(a + 1) / 2))
    return K / K.sum()


def test_similarity_check_passes_the_library(capsys):
    checks.check_student_t_similarities(student_t_similarities)
    checks.check_student_t_similarities(_naive)
    assert capsys.readouterr().out.count("OK") == 2


@pytest.mark.parametrize("wrong, words", [
    (lambda Z, a: student_t_similarities(Z, a, include_diagonal=True), "diagonal must be 0"),
    (lambda Z, a: (lambda K: K / K.sum(1, keepdim=True))(_off((1 + _d2(Z) / a) ** (-(a + 1) / 2))),
     "each row"),
    (lambda Z, a: (lambda K: K / K.sum())(_off((1 + _d2(Z) / a) ** (-(a + 1)))),
     "division by 2"),
    (lambda Z, a: (lambda K: K / K.sum())(_off(1 / (1 + _d2(Z) / a))), "-1 whatever alpha"),
    (lambda Z, a: (lambda K: K / K.sum())(_off((1 + _d2(Z).sqrt() / a) ** (-(a + 1) / 2))),
     "squared distance"),
    (lambda Z, a: (lambda K: K / K.sum())(_off((1 + _d2(Z)) ** (-(a + 1) / 2))),
     "divided by alpha"),
    (lambda Z, a: _off((1 + _d2(Z) / a) ** (-(a + 1) / 2)), "not normalised"),
    (lambda Z, a: student_t_similarities(Z, a).detach(), "differentiable"),
    (lambda Z, a: None, "return statement"),
    (lambda Z, a: student_t_similarities(Z, a)[0], "shape"),
])
def test_similarity_check_names_mistakes(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_student_t_similarities(wrong)


# --- the pairwise cross-entropy --------------------------------------------------------------
def _masked(P, Q):  # a correct alternative: leave the pairs with p = 0 out
    m = P > 0
    return -(P[m] * torch.log(Q[m])).sum()


def _off_log(M):
    return torch.log(M + torch.eye(M.shape[0], dtype=M.dtype))  # log 1 = 0 on the diagonal


def test_cross_entropy_check_passes_the_library(capsys):
    checks.check_pairwise_cross_entropy(pairwise_cross_entropy)
    checks.check_pairwise_cross_entropy(_masked)
    assert capsys.readouterr().out.count("OK") == 2


@pytest.mark.parametrize("wrong, words", [
    (lambda P, Q: pairwise_cross_entropy(Q, P), "swapped"),
    (lambda P, Q: -(P * _off_log(P)).sum(), "log of P instead of Q"),
    (lambda P, Q: -(Q * _off_log(Q)).sum(), "entropy of Q"),
    (lambda P, Q: -pairwise_cross_entropy(P, Q), "sign is flipped"),
    (lambda P, Q: pairwise_cross_entropy(P, Q) / P.numel(), "averaged over the B \\* B"),
    (lambda P, Q: (P * (_off_log(P) - _off_log(Q))).sum(), "KL"),
    (lambda P, Q: -(P * torch.log(Q)).sum(), "NaN"),
    (lambda P, Q: -torch.xlogy(P, Q).sum(), "xlogy"),
    (lambda P, Q: -(P * _off_log(Q)).sum(1), "one number"),
    (lambda P, Q: pairwise_cross_entropy(P, Q.detach()), "differentiable"),
])
def test_cross_entropy_check_names_mistakes(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_pairwise_cross_entropy(wrong)


# --- the fused loss --------------------------------------------------------------------------
def _lib(x, logits, mu, logvar, d, w_adv, w_rec):
    return fused_autoencoder_loss(x, logits, mu, logvar, d, w_adv, w_rec)["loss"]


def _parts(x, logits, mu, logvar, d):
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
    return rec, gaussian_kl(mu, logvar).mean(), sp(-d).mean()


def test_fused_loss_check_passes_the_library(capsys):
    checks.check_fused_loss(_lib)
    checks.check_fused_loss(fused_autoencoder_loss)  # returns a dict with "loss": fine too
    assert capsys.readouterr().out.count("OK") == 2


def _w(f):
    def loss(x, logits, mu, logvar, d, w_adv, w_rec):
        rec, kl, gen = _parts(x, logits, mu, logvar, d)
        return f(rec, kl, gen, d, w_adv, w_rec)
    return loss


def _literal_logs(x, logits, mu, logvar, d, w_adv, w_rec):
    # the cross-entropies written out with log(sigmoid(.)): right in float64 at small logits,
    # -inf once a float32 sigmoid rounds to 0 or 1
    p = torch.sigmoid(logits)
    rec = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1).mean()
    return w_rec * rec + gaussian_kl(mu, logvar).mean() - w_adv * torch.log(torch.sigmoid(d)).mean()


@pytest.mark.parametrize("wrong, words", [
    (_w(lambda r, k, g, d, wa, wr: wr * r + k - wa * sp(d).mean()), "saturates"),
    (_w(lambda r, k, g, d, wa, wr: wr * r + k + wa * sp(d).mean()), "wrong way"),
    (_w(lambda r, k, g, d, wa, wr: wr * r - k + wa * g), "KL term has the wrong sign"),
    (_w(lambda r, k, g, d, wa, wr: wa * r + k + wr * g), "multiplies the reconstruction"),
    (_w(lambda r, k, g, d, wa, wr: wa * (wr * r + k + g)), "whole loss"),
    (_w(lambda r, k, g, d, wa, wr: r + k + wa * g), "left out rec_weight"),
    (_w(lambda r, k, g, d, wa, wr: wr * (r + k) + wa * g), "KL term too"),
    (_w(lambda r, k, g, d, wa, wr: wr * r + k + g), "forgot the adversarial weight"),
    (lambda x, lo, mu, lv, d, wa, wr: _lib(x, lo, mu, lv, d, wa, wr) * x.shape[0],
     "summed over the batch"),
    (lambda x, lo, mu, lv, d, wa, wr: wr * F.binary_cross_entropy_with_logits(lo, x)
     + gaussian_kl(mu, lv).mean() + wa * sp(-d).mean(), "averaged it over the pixels"),
    (lambda x, lo, mu, lv, d, wa, wr: _lib(x, lo, mu, lv, d, wa, wr).detach(), "differentiable"),
    (lambda x, lo, mu, lv, d, wa, wr: wr * F.binary_cross_entropy_with_logits(
        lo, x, reduction="none").sum((2, 3)).mean() + gaussian_kl(mu, lv).mean()
     + wa * sp(-d).mean(), "channels included"),
    (_literal_logs, "confident logits"),
    (lambda x, lo, mu, lv, d, wa, wr: _lib(x, lo, mu, lv.detach(), d, wa, wr),
     "does not depend on logvar"),
])
def test_fused_loss_check_names_mistakes(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        checks.check_fused_loss(wrong)


# --- back-propagation through the learner's result ---------------------------------------------
def test_similarity_check_compares_the_gradient_with_the_library():
    def detached_sum(Z, a):  # right values, but the normaliser is cut from the graph
        K = _off((1 + _d2(Z) / a) ** (-(a + 1) / 2))
        return K / K.sum().detach()

    with pytest.raises(ExerciseCheckError, match="gradient with respect to Z is not"):
        checks.check_student_t_similarities(detached_sum)
    with pytest.raises(ExerciseCheckError, match="not a torch tensor"):
        checks.check_student_t_similarities(lambda Z, a: student_t_similarities(Z, a).detach()
                                            .numpy())


def test_cross_entropy_check_rejects_a_float():
    with pytest.raises(ExerciseCheckError, match="differentiable"):
        checks.check_pairwise_cross_entropy(lambda P, Q: pairwise_cross_entropy(P, Q).item())


def test_fused_loss_check_compares_the_gradient_with_the_library():
    def kl_half_detached(x, lo, mu, lv, d, wa, wr):  # right value, KL's variance term cut
        rec = F.binary_cross_entropy_with_logits(lo, x, reduction="none").flatten(1).sum(1)
        kl = -0.5 * (1.0 + lv - mu ** 2 - lv.exp().detach()).sum(1)
        return wr * rec.mean() + kl.mean() + wa * sp(-d).mean()

    with pytest.raises(ExerciseCheckError, match="gradient with respect to logvar is not"):
        checks.check_fused_loss(kl_half_detached)
    with pytest.raises(ExerciseCheckError, match="not a torch tensor"):
        checks.check_fused_loss(lambda *a: _lib(*a).item())
