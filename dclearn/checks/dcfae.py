"""Checks for chapter 05 (DCFAE): Student-t pair similarities, their cross-entropy, fused loss."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._base import _differentiable, _fail, _np, _passed, _same_shape

__all__ = ["check_student_t_similarities", "check_pairwise_cross_entropy", "check_fused_loss"]


def _sq_dist(Z: torch.Tensor) -> torch.Tensor:
    return ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)  # (B, B)


def _scalar(value, name: str, what: str) -> float:
    if isinstance(value, dict):
        if "loss" not in value:
            _fail(what, f"{name} is a dict without a 'loss' entry; return the loss itself.")
        value = value["loss"]
    elif isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        value = value[0]
    got = _np(value, name, what)
    if got.size != 1:
        _fail(what, f"{name} has shape {got.shape}: return one number, the batch's loss "
                    "(a scalar tensor), not one value per sample or per pair.")
    return float(got.reshape(()))


def _loss_tensor(value):
    if isinstance(value, dict):
        return value.get("loss")
    if isinstance(value, (tuple, list)) and value:
        return value[0]
    return value


# --- Exercise 1: Student-t similarities ---------------------------------------------------------
def check_student_t_similarities(fn, n_cases: int = 8, seed: int = 0) -> None:
    """``fn(Z, alpha) -> (B, B)``: Student-t kernels of the pairs of rows of ``Z``, the diagonal
    set to 0, normalised so that the whole matrix sums to 1 (``similarity.py``)."""
    from ..methods.dcfae.similarity import student_t_similarities

    what = "student_t_similarities"
    g = torch.Generator().manual_seed(seed)
    alphas = [1.0, 100.0, 5.0, 1.0, 100.0, 2.5, 1.0, 100.0]
    for case in range(n_cases):
        b = 3 if case % 3 == 0 else 9  # a 3-point batch among them
        alpha = alphas[case % len(alphas)]
        scale = 3.0 if alpha > 10 else 1.0  # distances that tell the mistakes apart
        Z = torch.randn(b, 4, generator=g, dtype=torch.float64) * scale
        want = student_t_similarities(Z, alpha).numpy()
        got = _np(fn(Z.clone(), alpha), "P", what)
        _same_shape(got, want, "the similarity matrix", what)
        if not np.isfinite(got).all():
            _fail(what, f"the matrix has NaN or inf (alpha = {alpha:g}, a batch of {b}).")
        if np.allclose(got, want, atol=1e-8, rtol=1e-5):
            continue
        D = _sq_dist(Z)
        expo = -(alpha + 1.0) / 2.0
        eye = torch.eye(b, dtype=torch.bool)

        def norm_all(K, keep_diag=False, eye=eye):
            K = K if keep_diag else K.masked_fill(eye, 0.0)
            return (K / K.sum()).numpy()

        k = (1.0 + D / alpha) ** expo
        k_off = k.masked_fill(eye, 0.0)
        mistakes = {
            "the diagonal must be 0: a point is not its own neighbour. Set k_ii = 0 before "
            "normalising (dclearn's default, as in t-SNE; the authors' code keeps it)":
                norm_all(k, keep_diag=True),
            "you normalised each row to sum to 1 (t-SNE's conditional p_j|i); here the whole "
            "(B, B) matrix sums to 1, a joint distribution over the pairs":
                (k_off / k_off.sum(1, keepdim=True)).numpy(),
            "the exponent is -(alpha + 1) / 2; you left out the division by 2":
                norm_all((1.0 + D / alpha) ** (-(alpha + 1.0))),
            "the exponent is -(alpha + 1) / 2; you used -alpha / 2":
                norm_all((1.0 + D / alpha) ** (-alpha / 2.0)),
            "the exponent is -(alpha + 1) / 2; you used -1 whatever alpha is":
                norm_all(1.0 / (1.0 + D / alpha)),
            "the exponent must be negative, -(alpha + 1) / 2: near points are the similar ones":
                norm_all((1.0 + D / alpha) ** (-expo)),
            "the kernel uses the squared distance ||z_i - z_j||^2; you used the distance itself":
                norm_all((1.0 + D.sqrt() / alpha) ** expo),
            "inside the kernel the squared distance is divided by alpha: "
            "(1 + ||z_i - z_j||^2 / alpha)":
                norm_all((1.0 + D) ** expo),
            "the matrix is not normalised: divide by the sum of all its entries":
                k_off.numpy(),
        }
        for msg, wrong in mistakes.items():
            if np.allclose(got, wrong, atol=1e-8, rtol=1e-5):
                _fail(what, msg + f" (alpha = {alpha:g}).")
        if abs(got.sum() - 1.0) > 1e-5:
            _fail(what, f"the entries sum to {got.sum():.4g}; the whole matrix must sum to 1.")
        if np.abs(np.diag(got)).max() > 1e-12:
            _fail(what, "the diagonal must be 0: a point is not its own neighbour.")
        if not np.allclose(got, got.T, atol=1e-10):
            _fail(what, "the matrix must be symmetric: the kernel depends on the distance only.")
        _fail(what, f"largest difference {np.abs(got - want).max():.3g} (alpha = {alpha:g}).")
    # back-propagation: the grouper learns through Q = fn(g(mu), 1)
    Z = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    P = fn(Z, 1.0)
    _differentiable(P, "the result", what,
                    "Q is computed from the grouper's outputs and training back-propagates "
                    "through it, so build it with torch operations (no numpy, no .item()).",
                    "the result must stay differentiable with respect to Z, but it is cut from "
                    "the autograd graph (requires_grad is False): no .detach(), torch.no_grad() "
                    "or round trip through numpy. Q is computed from the grouper's outputs, and "
                    "training needs its gradient.")
    W = torch.rand(5, 5, generator=g, dtype=torch.float64)  # the matrix sums to 1: weigh it
    (grad,) = torch.autograd.grad((P * W).sum(), Z, allow_unused=True)
    Z_ref = Z.detach().clone().requires_grad_(True)
    (ref,) = torch.autograd.grad((student_t_similarities(Z_ref, 1.0) * W).sum(), Z_ref)
    if grad is None or not torch.isfinite(grad).all():
        _fail(what, "back-propagating through the matrix gives no finite gradient for Z: "
                    "compute it from Z with torch operations, without .detach() on the way.")
    if not torch.allclose(grad, ref, rtol=1e-4, atol=1e-10):
        _fail(what, "the values are right but the gradient with respect to Z is not the "
                    "library's: part of the expression is cut from the graph (for example the "
                    "normalising sum detached), so the grouper would learn the wrong direction.")
    _passed(what, n_cases)


# --- Exercise 2: the cross-entropy between P and Q -----------------------------------------------
def check_pairwise_cross_entropy(fn, n_cases: int = 8, seed: int = 0) -> None:
    """``fn(P, Q) -> scalar``: ``-sum_ij p_ij log q_ij`` over the (B, B) matrices (the sum, not
    the mean: P already sums to 1), with 0 where ``p_ij = 0`` (the diagonal)."""
    from ..methods.dcfae.similarity import pairwise_cross_entropy, student_t_similarities

    what = "pairwise_cross_entropy"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        b = 3 if case % 3 == 0 else 8
        mu = torch.randn(b, 4, generator=g, dtype=torch.float64) * 2.0
        emb = torch.randn(b, 4, generator=g, dtype=torch.float64)
        P = student_t_similarities(mu, 100.0)
        Q = student_t_similarities(emb, 1.0)
        want = float(pairwise_cross_entropy(P, Q))
        got = _scalar(fn(P.clone(), Q.clone()), "the loss", what)
        if np.isnan(got):
            _fail(what, "the loss is NaN: on the diagonal p_ii = q_ii = 0, and 0 * log 0 gives "
                        "0 * (-inf) = NaN. Guard the log, e.g. torch.log(Q.clamp_min(1e-30)), "
                        "or leave the pairs with p_ij = 0 out of the sum.")
        if np.isclose(got, want, rtol=1e-5, atol=1e-8):
            continue
        off = ~torch.eye(b, dtype=torch.bool)
        lp, lq = torch.log(P[off]), torch.log(Q[off])
        p, q = P[off], Q[off]
        ce = float(-(p * lq).sum())
        mistakes = {
            "P and Q are swapped: the target P (from the latent means) weighs the log of the "
            "embedding's Q, -sum p_ij log q_ij": float(-(q * lp).sum()),
            "you took the log of P instead of Q: -sum p_ij log p_ij is the entropy of P, "
            "a constant the grouper cannot change": float(-(p * lp).sum()),
            "you took -sum q_ij log q_ij, the entropy of Q; the target P must weigh log Q":
                float(-(q * lq).sum()),
            "the sign is flipped: a cross-entropy is -sum p_ij log q_ij, which is positive":
                -ce,
            "you averaged over the B * B pairs; the library sums them (P already sums to 1, "
            "so the sum is an expectation under P)": ce / b ** 2,
            "you averaged over the B * (B - 1) pairs off the diagonal; the library sums them "
            "(P already sums to 1)": ce / (b * (b - 1)),
            "you averaged over the B rows; the library sums every pair": ce / b,
            "you computed KL(P || Q) = sum p_ij log(p_ij / q_ij): it differs from the "
            "cross-entropy by the entropy of P. Same gradient in Q, but the loss asked for "
            "(and logged) is the cross-entropy -sum p_ij log q_ij": float((p * (lp - lq)).sum()),
        }
        for msg, wrong in mistakes.items():
            if np.isclose(got, wrong, rtol=1e-5, atol=1e-8):
                _fail(what, msg + ".")
        _fail(what, f"got {got:.6g}, expected {want:.6g} (a batch of {b}).")
    # differentiable in Q, with the library's gradient
    mu = torch.randn(6, 3, generator=g, dtype=torch.float64)
    emb = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    P = student_t_similarities(mu, 100.0)
    loss = _loss_tensor(fn(P, student_t_similarities(emb, 1.0)))
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        _fail(what, "the loss must stay differentiable with respect to Q (torch operations "
                    "only): it is what trains the grouper.")
    (grad,) = torch.autograd.grad(loss, emb)
    (ref,) = torch.autograd.grad(pairwise_cross_entropy(P, student_t_similarities(emb, 1.0)),
                                 emb)
    if not torch.isfinite(grad).all():
        _fail(what, "the gradient has NaN or inf: guard the log where q_ij = 0 (the diagonal). "
                    "torch.xlogy, nan_to_num and nansum repair the value but not the gradient "
                    "(their backward still divides by q_ij = 0); take the log of "
                    "q.clamp_min(1e-12) instead.")
    if not torch.allclose(grad, ref, rtol=1e-4, atol=1e-8):
        _fail(what, "the value is right but the gradient with respect to Q differs from the "
                    "library's: did you detach (or .item()) part of the expression?")
    _passed(what, n_cases)


# --- Exercise 3: the fused encoder/decoder loss --------------------------------------------------
def check_fused_loss(fn, n_cases: int = 8, seed: int = 0) -> None:
    """``fn(x, logits, mu, logvar, d_fake, adversarial_weight, rec_weight) -> scalar``: the FAE's
    encoder/decoder objective ``w_rec * rec + KL + w_adv * gen`` (batch means; ``fusion.py``)."""
    from ..methods.dcfae.fusion import fused_autoencoder_loss

    what = "fused_loss"
    g = torch.Generator().manual_seed(seed)
    weights = [(10.0, 16.0), (100.0, 1.0), (3.0, 2.0), (0.5, 4.0)]
    sp = F.softplus
    for case in range(n_cases + 1):
        confident = case == n_cases  # the last case: float32, |logits| and |d| near 100
        n = 3 if case % 3 == 0 else 10
        c = 3 if case % 2 else 1  # grey and colour images
        w_adv, w_rec = weights[case % len(weights)]
        f64 = dict(generator=g, dtype=torch.float32 if confident else torch.float64)
        scale = 50.0 if confident else 2.0
        x = torch.rand(n, c, 3, 5, **f64)  # 15 or 45 pixels: no weight equals their number
        logits = torch.randn(n, c, 3, 5, **f64) * scale
        mu = torch.randn(n, 3, **f64)
        logvar = torch.randn(n, 3, **f64)
        d_fake = torch.randn(n, 1, **f64) * scale
        want = float(fused_autoencoder_loss(x, logits, mu, logvar, d_fake, w_adv, w_rec)["loss"])
        got = _scalar(fn(x.clone(), logits.clone(), mu.clone(), logvar.clone(), d_fake.clone(),
                         w_adv, w_rec), "the loss", what)
        if not np.isfinite(got):
            _fail(what, "the loss is NaN or inf" + (" for confident logits (|logit| ~ 100, "
                        "float32)" if confident else "") + ": compute the cross-entropies from "
                        "the logits (F.binary_cross_entropy_with_logits, F.softplus), not from "
                        "log(sigmoid(...)), which underflows to log(0).")
        if np.isclose(got, want, rtol=1e-4 if confident else 1e-5, atol=1e-6):
            continue
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)
        rec = bce.sum(1).mean()
        kl_terms = -0.5 * (1.0 + logvar - mu ** 2 - logvar.exp())
        kl = kl_terms.sum(1).mean()
        gen = sp(-d_fake).mean()  # -log sigmoid(d)
        mistakes = {
            "the generator term saturates: you minimised log(1 - D(x_hat)) (the minimax form), "
            "whose gradient vanishes exactly when the discriminator spots the reconstructions. "
            "Use the non-saturating -log D(x_hat)":
                w_rec * rec + kl - w_adv * sp(d_fake).mean(),
            "the generator term points the wrong way: -log(1 - D(x_hat)) rewards "
            "reconstructions the discriminator calls fake. Use -log D(x_hat), the cross-entropy "
            "with the label 1 ('real')": w_rec * rec + kl + w_adv * sp(d_fake).mean(),
            "the KL term has the wrong sign: the loss adds KL(q(z|x) || N(0, I)) (it is "
            "the negative ELBO), so KL must enter with +": w_rec * rec - kl + w_adv * gen,
            "the adversarial weight multiplies the reconstruction term; it belongs to the "
            "generator term: w_rec * rec + KL + w_adv * gen": w_adv * rec + kl + w_rec * gen,
            "the adversarial weight multiplies the whole loss; it belongs to the generator "
            "term only": w_adv * (w_rec * rec + kl + gen),
            "you left out rec_weight: the reconstruction term is w_rec * rec":
                rec + kl + w_adv * gen,
            "rec_weight multiplies the KL term too; it belongs to the reconstruction only":
                w_rec * (rec + kl) + w_adv * gen,
            "you forgot the adversarial weight on the generator term": w_rec * rec + kl + gen,
            "the reconstruction cross-entropy is summed over the pixels of an image (then "
            "averaged over the batch); you averaged it over the pixels":
                w_rec * bce.mean() + kl + w_adv * gen,
            "the reconstruction cross-entropy is summed over every value of an image, its "
            "channels included; you summed over height and width only and averaged over the "
            "channels": w_rec * bce.view(n, c, -1).sum(2).mean() + kl + w_adv * gen,
            "the KL is summed over the latent dimensions (then averaged over the batch); you "
            "averaged it over the dimensions": w_rec * rec + kl_terms.mean() + w_adv * gen,
            "you summed over the batch; every term is a mean over the batch":
                n * (w_rec * rec + kl + w_adv * gen),
            "you applied a sigmoid before a cross-entropy that expects logits: the decoder's "
            "output and D's output are logits here":
                w_rec * F.binary_cross_entropy_with_logits(torch.sigmoid(logits), x,
                                                           reduction="none").flatten(1)
                .sum(1).mean() + kl + w_adv * sp(-torch.sigmoid(d_fake)).mean(),
            "the discriminator's output is a logit: use -log sigmoid(D), not -log D "
            "(softplus(-d) = -log sigmoid(d))":
                w_rec * rec + kl + w_adv * sp(-torch.sigmoid(d_fake)).mean(),
            "the decoder's output is a logit: the cross-entropy takes sigmoid(logits) as the "
            "pixel probabilities (F.binary_cross_entropy_with_logits)":
                w_rec * F.binary_cross_entropy_with_logits(torch.sigmoid(logits), x,
                                                           reduction="none").flatten(1)
                .sum(1).mean() + kl + w_adv * gen,
        }
        for msg, wrong in mistakes.items():
            if np.isclose(got, float(wrong), rtol=1e-5, atol=1e-6):
                _fail(what, msg + f" (w_adv = {w_adv:g}, w_rec = {w_rec:g}).")
        _fail(what, f"got {got:.6g}, expected {want:.6g} (w_adv = {w_adv:g}, "
                    f"w_rec = {w_rec:g}, a batch of {n}).")
    # differentiable in everything the encoder, decoder and generator term depend on
    x = torch.rand(4, 1, 4, 4, generator=g)
    inputs = [torch.randn(4, 1, 4, 4, generator=g).requires_grad_(),
              torch.randn(4, 3, generator=g).requires_grad_(),
              torch.randn(4, 3, generator=g).requires_grad_(),
              torch.randn(4, 1, generator=g).requires_grad_()]
    loss = _loss_tensor(fn(x, *inputs, 10.0, 16.0))
    _differentiable(loss, "the loss", what,
                    "the encoder and decoder learn by back-propagating through it, so keep it "
                    "a tensor (no .item(), float() or numpy).",
                    "the loss must stay differentiable, but it is cut from the autograd graph "
                    "(requires_grad is False): no .detach(), torch.no_grad() or numpy.")
    grads = torch.autograd.grad(loss.reshape(()), inputs, allow_unused=True)
    ref_inputs = [t.detach().clone().requires_grad_() for t in inputs]
    refs = torch.autograd.grad(fused_autoencoder_loss(x, *ref_inputs, 10.0, 16.0)["loss"],
                               ref_inputs)
    for name, gr, ref in zip(("logits", "mu", "logvar", "d_fake"), grads, refs):
        if gr is None or not torch.any(gr != 0):
            _fail(what, f"the loss does not depend on {name}: gradients cannot reach it.")
        if not torch.allclose(gr, ref, rtol=1e-4, atol=1e-6):
            _fail(what, f"the value is right but the gradient with respect to {name} is not the "
                        "library's: part of the expression is cut from the graph (.detach(), "
                        ".item(), a term computed under torch.no_grad or in numpy).")
    _passed(what, n_cases)
