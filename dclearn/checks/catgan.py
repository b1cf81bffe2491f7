"""Checks for chapter 04's CatGAN exercise: the discriminator's and generator's entropy terms."""

from __future__ import annotations

import math

import torch

from ._base import _fail, _passed
from .gan import _differentiable, _match, _scalar

__all__ = ["check_catgan_losses"]


# --- CatGAN (Springenberg 2016, eqs. 7-8) -------------------------------------------------------

def _h(p: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(p.clamp_min(1e-12))).sum(-1)


def check_catgan_losses(d_fn, g_fn, n_cases: int = 10, seed: int = 0) -> None:
    """CatGAN's losses from the discriminator's logits (B, K) (Springenberg 2016, eqs. 7-8).

    ``d_fn(real_logits, fake_logits)`` returns ``-L_D = -(H_X[p(y|D)] - E_x H[p(y|x,D)]
    + E_z H[p(y|G(z),D)])``; ``g_fn(fake_logits)`` returns ``L_G = -H_G[p(y|D)]
    + E_z H[p(y|G(z),D)]``. Either may also return ``(loss, terms)``.
    """
    from ..methods.gan.catgan import catgan_discriminator_loss, catgan_generator_loss

    g = torch.Generator().manual_seed(seed)
    for _ in range(n_cases):
        real = torch.randn(20, 5, generator=g) * 2
        fake = torch.randn(20, 5, generator=g) * 2
        _check_catgan_d(d_fn, float(catgan_discriminator_loss(real, fake)[0]), real, fake)
        _check_catgan_g(g_fn, float(catgan_generator_loss(fake)[0]), fake)
    # confident logits: a softmax gives exact zeros, where p * log(p) is 0 * log 0 = nan
    real, fake = torch.randn(20, 5, generator=g) * 100, torch.randn(20, 5, generator=g) * 100
    for name, loss in (("catgan_discriminator_loss", d_fn(real.clone(), fake.clone())),
                       ("catgan_generator_loss", g_fn(fake.clone()))):
        if not math.isfinite(_scalar(loss, "the loss", name)):
            _fail(name, "the loss is NaN or infinite for confident logits (|logit| ~ 100): the "
                        "softmax gives probabilities of exactly 0, and 0 * log(0) is nan. Take "
                        "log p from F.log_softmax, or clamp p before the log "
                        "(p.clamp_min(1e-12)), so that 0 log 0 counts as 0.")
    real, fake = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    _differentiable(d_fn, (real, fake), "catgan_discriminator_loss", "the discriminator's loss",
                    catgan_discriminator_loss)
    _differentiable(g_fn, (fake,), "catgan_generator_loss", "the generator's loss",
                    catgan_generator_loss)
    _passed("catgan_discriminator_loss and catgan_generator_loss", n_cases)


def _entropy_variants(logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """The right marginal and conditional entropies, and the classic wrong versions."""
    p = torch.softmax(logits, 1)
    return {
        "marg": _h(p.mean(0)),               # H(mean_x p)
        "cond": _h(p).mean(),                # mean_x H(p)
        "marg_logits": -(p.mean(0) * logits.mean(0)).sum(),  # log p replaced by the logits
        # the mean of log p where the log of the mean p belongs
        "marg_meanlog": -(p.mean(0) * torch.log_softmax(logits, 1).mean(0)).sum(),
        "cond_logits": -(p * logits).sum(1).mean(),
        "cond_sum": _h(p).sum(),             # summed over the batch
    }


def _check_catgan_d(fn, want: float, real: torch.Tensor, fake: torch.Tensor) -> None:
    what = "catgan_discriminator_loss"
    got = _scalar(fn(real.clone(), fake.clone()), "the loss", what)
    if not math.isfinite(got):
        _fail(what, "the loss is NaN or infinite: apply a softmax to the logits before the "
                    "entropies (the logits are not probabilities and can be negative).")
    if abs(got - want) < 1e-4:
        return
    r, f = _entropy_variants(real), _entropy_variants(fake)
    mistakes = {
        "the sign is flipped: you return L_D, which the discriminator maximises; the loss to "
        "minimise is -L_D = -H_X[p(y|D)] + E_x H[p(y|x,D)] - E_z H[p(y|G(z),D)].":
            -want,
        "the entropy of the mean and the mean of the entropies are swapped: H_X[p(y|D)] is the "
        "entropy of the batch-averaged p(y|x,D) (balanced clusters), E_x H[p(y|x,D)] the "
        "average of each sample's entropy (confident predictions).":
            [-(r["cond"] - r["marg"] + f["marg"]), -(r["cond"] - r["marg"] + f["cond"])],
        "the marginal term is the entropy of the mean of p(y|x,D) over the batch, not of the "
        "mean of the logits; apply the softmax first, then average.":
            -(_h(torch.softmax(real.mean(0), 0)) - r["cond"] + f["cond"]),
        "you used the logits where the entropy needs log-probabilities: H(p) = -sum p log p "
        "with log p = log_softmax(logits), not the logits themselves.":
            -(r["marg_logits"] - r["cond_logits"] + f["cond_logits"]),
        "the marginal entropy H_X[p(y|D)] is H of the batch-averaged p: -sum_k pbar_k log "
        "pbar_k, with the log of the mean probability, not the mean of the log-probabilities.":
            -(r["marg_meanlog"] - r["cond"] + f["cond"]),
        "the generated samples' term has the wrong sign: the discriminator must be UNcertain "
        "about generated samples, so it maximises E_z H[p(y|G(z),D)] (the loss has "
        "-E_z H[...]).":
            -(r["marg"] - r["cond"] - f["cond"]),
        "the generated samples' term E_z H[p(y|G(z),D)] is missing.":
            -(r["marg"] - r["cond"]),
        "the real data's marginal entropy H_X[p(y|D)] is missing: without it the "
        "discriminator can put every real sample into one class (chapter 01's collapse).":
            -(-r["cond"] + f["cond"]),
        "the conditional entropy of real data has the wrong sign: the discriminator must be "
        "certain about real samples, so it minimises E_x H[p(y|x,D)].":
            -(r["marg"] + r["cond"] + f["cond"]),
        "you summed the conditional entropies over the batch; they are expectations (.mean())":
            -(r["marg"] - r["cond_sum"] + f["cond_sum"]),
    }
    _match(got, mistakes, what)
    _fail(what, f"got {got:.5g}, expected {want:.5g}.")


def _check_catgan_g(fn, want: float, fake: torch.Tensor) -> None:
    what = "catgan_generator_loss"
    got = _scalar(fn(fake.clone()), "the loss", what)
    if not math.isfinite(got):
        _fail(what, "the loss is NaN or infinite: apply a softmax to the logits before the "
                    "entropies (the logits are not probabilities and can be negative).")
    if abs(got - want) < 1e-4:
        return
    f = _entropy_variants(fake)
    mistakes = {
        "the sign of the generator's marginal-entropy term is wrong: the generator MAXIMISES "
        "H_G[p(y|D)] (samples spread evenly over the classes), so L_G has -H_G[p(y|D)]. With "
        "+H_G every generated sample is pushed into one class: mode collapse.":
            f["marg"] + f["cond"],
        "the whole loss has the wrong sign, or (the same number) the entropy of the mean and "
        "the mean of the entropies are swapped. The generator minimises L_G = -H_G[p(y|D)] + "
        "E_z H[p(y|G(z),D)], where H_G[p(y|D)] is the entropy of the batch-averaged "
        "p(y|G(z),D) and E_z H[...] the average of each sample's entropy.":
            -want,
        "the marginal term is the entropy of the mean of p(y|G(z),D) over the batch, not of "
        "the mean of the logits; apply the softmax first, then average.":
            -_h(torch.softmax(fake.mean(0), 0)) + f["cond"],
        "you used the logits where the entropy needs log-probabilities (H(p) = -sum p log p "
        "with log p = log_softmax(logits)), or, the same number, the mean of the "
        "log-probabilities where the marginal entropy needs the log of the mean probability "
        "(H_G is -sum_k pbar_k log pbar_k).":
            -f["marg_logits"] + f["cond_logits"],
        "the conditional-entropy term has the wrong sign: the generator wants samples that D "
        "classifies with certainty, so it minimises E_z H[p(y|G(z),D)].":
            -f["marg"] - f["cond"],
        "the conditional entropy E_z H[p(y|G(z),D)] is missing.": -f["marg"],
        "the marginal entropy -H_G[p(y|D)] is missing.": f["cond"],
        "you summed the conditional entropies over the batch; it is an expectation (.mean()).":
            -f["marg"] + f["cond_sum"],
    }
    _match(got, mistakes, what)
    _fail(what, f"got {got:.5g}, expected {want:.5g}.")
