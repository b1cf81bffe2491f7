"""Checks for chapter 04 (GANs): the GAN losses and InfoGAN's bound (CatGAN's in ``catgan.py``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._base import _fail, _np, _passed

__all__ = ["check_gan_losses", "check_infogan_mi"]


def _scalar(value, name: str, what: str) -> float:
    """A learner's loss as a float; a loss must be one number (a 0-d tensor)."""
    if isinstance(value, tuple) and value:  # (loss, terms) like the library's CatGAN losses
        value = value[0]
    got = _np(value, name, what)
    if got.shape not in ((), (1,)):
        _fail(what, f"{name} has shape {got.shape}; a loss is one number: average over the "
                    "batch (.mean()).")
    return float(got.reshape(()))


def _loss_tensor(value):
    return value[0] if isinstance(value, tuple) and value else value


def _differentiable(fn, args: tuple, what: str, name: str, ref=None) -> None:
    """``fn(*args)`` must back-propagate to the logits in ``args`` as ``ref(*args)`` does.

    Called with logits that require grad: fails in words when the learner's loss is not a
    tensor (``.item()``, ``float()``, numpy), is cut from the graph (``.detach()``,
    ``torch.no_grad``), gives no finite gradient, or, with ``ref`` (the library's loss),
    when its gradient differs from the library's although its value agrees (a part of the
    expression detached or computed outside torch).
    """
    leaves = [a.detach().clone().requires_grad_(True) if a.is_floating_point() else a
              for a in args]
    out = _loss_tensor(fn(*leaves))
    if not isinstance(out, torch.Tensor):
        _fail(what, f"{name} is a {type(out).__name__}, not a torch tensor, so it is not "
                    "differentiable: the networks learn by back-propagating through it, so "
                    "keep it a tensor computed with torch operations (no .item(), float(), "
                    "numpy or math functions on the logits).")
    if not out.requires_grad:
        _fail(what, f"{name} must stay differentiable with respect to the logits, but it is cut "
                    "from their autograd graph (requires_grad is False): no .detach(), "
                    "torch.no_grad() or round trip through numpy, or the networks cannot "
                    "learn from it.")
    out.reshape(()).backward()
    floats = [leaf for leaf in leaves if leaf.is_floating_point()]
    for leaf in floats:
        if leaf.grad is None or not torch.isfinite(leaf.grad).all():
            _fail(what, f"the gradient of {name} with respect to the logits is missing or not "
                        "finite: a part of the expression is detached, or a log meets 0.")
    if ref is None:
        return
    ref_leaves = [a.detach().clone().requires_grad_(True) if a.is_floating_point() else a
                  for a in args]
    _loss_tensor(ref(*ref_leaves)).reshape(()).backward()
    for leaf, want in zip(floats, [r for r in ref_leaves if r.is_floating_point()]):
        if not torch.allclose(leaf.grad, want.grad, rtol=1e-4, atol=1e-6):
            _fail(what, f"the value of {name} is right but its gradient with respect to the "
                        "logits is not the library's: part of the expression is cut from the "
                        "graph (.detach(), .item(), a term computed under torch.no_grad or in "
                        "numpy), so training would follow the wrong direction.")


def _match(got: float, mistakes: dict, what: str, atol: float = 1e-4) -> None:
    """Fail with the message of the first mistake (one value or a list of them) ``got`` equals."""
    for msg, wrong in mistakes.items():
        values = wrong if isinstance(wrong, (list, tuple)) else [wrong]
        if any(abs(got - float(v)) < atol for v in values):
            _fail(what, msg)


# --- the GAN game (Goodfellow et al. 2014) ---------------------------------------------------

def check_gan_losses(discriminator_loss_fn, generator_loss_fn, n_cases: int = 10,
                     seed: int = 0) -> None:
    """``d(real_logits, fake_logits)`` and non-saturating ``g(fake_logits)`` from logits (B, 1).

    The discriminator minimises ``-E log D(x) - E log(1 - D(G(z)))``; the generator
    minimises ``-E log D(G(z))`` (Goodfellow et al. 2014, eq. 1 and section 3), with
    ``D = sigmoid(logit)``.
    """
    from ..methods.gan.gan import discriminator_loss, generator_loss

    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        scale = 200.0 if case == n_cases - 1 else 3.0  # last case: confident logits
        real = torch.randn(16, 1, generator=g) * scale
        fake = torch.randn(16, 1, generator=g) * scale
        _check_d(discriminator_loss_fn, discriminator_loss, real, fake)
        _check_g(generator_loss_fn, generator_loss, fake)
    real, fake = torch.randn(8, 1, generator=g), torch.randn(8, 1, generator=g)
    _differentiable(discriminator_loss_fn, (real, fake), "discriminator_loss",
                    "the discriminator's loss", discriminator_loss)
    _differentiable(generator_loss_fn, (fake,), "generator_loss", "the generator's loss",
                    lambda f: generator_loss(f, "non_saturating"))
    _passed("discriminator_loss and generator_loss", n_cases)


def _check_d(fn, ref, real: torch.Tensor, fake: torch.Tensor) -> None:
    what = "discriminator_loss"
    want = float(ref(real, fake))
    got = _scalar(fn(real.clone(), fake.clone()), "the loss", what)
    if not math.isfinite(got):
        _fail(what, "the loss is NaN or infinite for confident logits (|logit| ~ 200): "
                    "log(sigmoid(s)) underflows to log(0). Compute log D = -softplus(-s) "
                    "and log(1 - D) = -softplus(s) (or use F.binary_cross_entropy_with_logits).")
    if abs(got - want) < 1e-4 * max(1.0, abs(want)):
        return
    sp = F.softplus
    mistakes = {
        "the labels are swapped: the discriminator must call real samples real (D(x) -> 1) "
        "and generated ones fake (D(G(z)) -> 0); you reward the opposite.":
            sp(real).mean() + sp(-fake).mean(),
        "the sign is flipped: you return V(D, G), which the discriminator maximises; a loss "
        "to minimise is -V = -E log D(x) - E log(1 - D(G(z))).":
            -want,
        "you applied a sigmoid before a function that expects logits (the probabilities were "
        "passed as logits): D = sigmoid(logit) once only.":
            sp(-torch.sigmoid(real)).mean() + sp(torch.sigmoid(fake)).mean(),
        "the generated samples' term -E log(1 - D(G(z))) is missing.": sp(-real).mean(),
        "the real samples' term -E log D(x) is missing.": sp(fake).mean(),
        "you summed over the batch; average instead (.mean()), so the loss does not grow with "
        "the batch size.": sp(-real).sum() + sp(fake).sum(),
        "you averaged the two terms ((a + b) / 2); eq. 1 adds them.": want / 2,
    }
    _match(got, mistakes, what, atol=1e-4 * max(1.0, abs(want)))
    _fail(what, f"got {got:.5g}, expected {want:.5g} = -E log sigmoid(real) "
                "- E log(1 - sigmoid(fake)).")


def _check_g(fn, ref, fake: torch.Tensor) -> None:
    what = "generator_loss"
    want = float(ref(fake, "non_saturating"))
    got = _scalar(fn(fake.clone()), "the loss", what)
    if not math.isfinite(got):
        _fail(what, "the loss is NaN or infinite for confident logits (|logit| ~ 200): "
                    "log(sigmoid(s)) underflows to log(0), and log(1 + exp(-s)) overflows "
                    "in exp. Compute -log D = softplus(-s).")
    if abs(got - want) < 1e-4 * max(1.0, abs(want)):
        return
    sp = F.softplus
    mistakes = {
        "this is the minimax loss E log(1 - D(G(z))), which saturates when D rejects the "
        "samples; the non-saturating loss is -E log D(G(z)) = E softplus(-logit).":
            -sp(fake).mean(),
        "the sign is flipped: the generator minimises -E log D(G(z)); you return "
        "E log D(G(z)), which rewards samples that D rejects.":
            -want,
        "you minimise -E log(1 - D(G(z))), the discriminator's term for fakes: that pushes "
        "D(G(z)) towards 0, the wrong way; use -E log D(G(z)).":
            sp(fake).mean(),
        "you applied a sigmoid before a function that expects logits (the probabilities were "
        "passed as logits): D = sigmoid(logit) once only.":
            sp(-torch.sigmoid(fake)).mean(),
        "you summed over the batch; average instead (.mean()).": sp(-fake).sum(),
    }
    _match(got, mistakes, what, atol=1e-4 * max(1.0, abs(want)))
    _fail(what, f"got {got:.5g}, expected {want:.5g} = -E log sigmoid(fake logits).")


# --- InfoGAN (Chen et al. 2016, eq. 5, from eq. 4 and Lemma 5.1) ----------------------------------

def check_infogan_mi(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(logits_q (B, K), c (B,) int64) -> L_I = E log Q(c|x) + H(c)``, uniform c, in nats."""
    from ..methods.gan.infogan import mutual_information_bound

    what = "mutual_information_bound"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        k = 4 + case % 5
        logits = torch.randn(24, k, generator=g) * 3
        if case == n_cases - 1:
            logits = logits * 40  # confident Q: log(softmax) underflows
        # case 1: a batch without the last code, so that K cannot be read from the codes
        c = torch.randint(k - 1 if case == 1 else k, (24,), generator=g)
        want = float(mutual_information_bound(logits, c))
        got = _scalar(fn(logits.clone(), c.clone()), "L_I", what)
        if not math.isfinite(got):
            if case == n_cases - 1:
                _fail(what, "L_I is NaN or infinite for confident logits: log(softmax(x)) "
                            "underflows to log(0). Use F.log_softmax (or F.cross_entropy).")
            _fail(what, "L_I is NaN or infinite: did you take the log of the logits as if they "
                        "were probabilities? Q's outputs are logits; use F.log_softmax.")
        if abs(got - want) < 1e-4:
            continue
        log_q = F.log_softmax(logits, 1).gather(1, c[:, None]).squeeze(1)
        twice = -F.cross_entropy(torch.softmax(logits, 1), c)
        hc = math.log(k)
        mistakes = {
            "the softmax is applied twice (probabilities passed where logits are expected, "
            "e.g. F.cross_entropy(softmax(logits), c)): that flattens Q and caps the bound far "
            "below log K. Normalise once, with F.log_softmax or F.cross_entropy on the logits.":
                [twice + hc, twice],
            "the constant H(c) = log K is missing: for a uniform code over K categories the "
            "bound is E log Q(c|x) + log K (zero when Q guesses, log K when it is certain).":
                [want - hc],
            "the sign is flipped: you return the cross-entropy (a loss), but L_I is the bound "
            "E log Q(c|x) + H(c), which InfoGAN maximises.":
                [-want, -(want - hc), -want + 2 * hc],
            "you summed over the batch: L_I is an expectation (.mean()).":
                [float(log_q.sum()) + hc, float(log_q.sum())],
            "H(c) = log K comes from the prior over the K categories (the number of Q's "
            "outputs, logits.shape[1]), not from the codes that happen to be in the batch.":
                [float(log_q.mean()) + math.log(int(c.max()) + 1),
                 float(log_q.mean()) + math.log(len(torch.unique(c)))],
            "you used log base 2 (bits); the library measures the bound in nats (natural "
            "log).":
                [want / math.log(2)],
            "log Q(c|x) must be read at the code c that produced each sample (gather column "
            "c of log_softmax), not averaged over all K columns.":
                [float(F.log_softmax(logits, 1).mean()) + hc],
            "you used probabilities where log-probabilities are needed (e.g. F.nll_loss on "
            "softmax(logits): nll_loss expects log_softmax). The bound averages log Q(c|x).":
                [float(torch.softmax(logits, 1).gather(1, c[:, None]).mean()) + s * hc
                 for s in (1, 0)],
        }
        _match(got, mistakes, what)
        _fail(what, f"got {got:.5g}, expected {want:.5g} = mean log_softmax(logits)[c] + log K.")
    logits, c = torch.randn(6, 3, generator=g), torch.randint(3, (6,), generator=g)
    _differentiable(fn, (logits, c), what, "L_I", mutual_information_bound)
    _passed(what, n_cases)
