"""Checks for chapter 03 (VAEs): reparameterisation, Gaussian KL, VaDE's responsibilities
and ELBO, DGG's graph term and what it does not control."""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape
from .rim import _check_backward  # the same differentiability test as chapter 01's

__all__ = ["check_reparameterize", "check_gaussian_kl", "check_vade_responsibilities",
           "check_vade_elbo", "check_graph_term", "check_graph_counterexample"]


def check_reparameterize(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(mu, logvar, eps) -> z``: the reparameterisation trick (Kingma and Welling, 2.4)."""
    what = "reparameterize"
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_cases):
        mu = torch.randn(12, 3, generator=g)
        logvar = torch.randn(12, 3, generator=g)
        eps = torch.randn(12, 3, generator=g)
        want = (mu + torch.exp(0.5 * logvar) * eps).numpy()
        got = _np(fn(mu.clone(), logvar.clone(), eps.clone()), "z", what)
        _same_shape(got, want, "z", what)
        if np.allclose(got, want, atol=1e-5):
            continue
        mistakes = {
            "you scaled eps by the variance exp(logvar); the standard deviation is "
            "exp(logvar / 2)": mu + torch.exp(logvar) * eps,
            "you used logvar itself as the standard deviation; sigma = exp(logvar / 2)":
                mu + logvar * eps,
            "you forgot to add the mean mu": torch.exp(0.5 * logvar) * eps,
            "you returned mu + eps, without scaling eps by sigma = exp(logvar / 2)": mu + eps,
        }
        for msg, wrong in mistakes.items():
            if np.allclose(got, wrong.numpy(), atol=1e-5):
                _fail(what, msg + ".")
        _fail(what, f"largest difference {np.abs(got - want).max():.3g} from "
                    "mu + exp(logvar / 2) * eps.")
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.randn(4, 2, generator=g).requires_grad_(True)
    eps = torch.randn(4, 2, generator=g)
    z = fn(mu, logvar, eps)
    if not isinstance(z, torch.Tensor) or not z.requires_grad:
        _fail(what, "z must stay differentiable with respect to mu and logvar (torch "
                    "operations only): that is the whole point of the trick.")
    z.sum().backward()
    # dz/dmu = 1 and dz/dlogvar = eps * exp(logvar / 2) / 2, element by element
    want_lv = (0.5 * torch.exp(0.5 * logvar.detach()) * eps).numpy()
    for name, grad, want in (("mu", mu.grad, np.ones((4, 2))), ("logvar", logvar.grad, want_lv)):
        if grad is None or not np.allclose(grad.numpy(), want, atol=1e-5):
            _fail(what, f"the gradient of z with respect to {name} is "
                        f"{'missing' if grad is None else 'wrong'}: z must be computed from mu "
                        f"and logvar with torch operations, without .detach() on either "
                        f"(the trick exists so that both receive gradients).")
    _passed(what, n_cases)


def check_gaussian_kl(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(mu, logvar) -> (N,)``: KL(N(mu, diag exp(logvar)) || N(0, I)) per sample."""
    from ..methods.vae.vae import gaussian_kl

    what = "gaussian_kl"
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_cases):
        mu = torch.randn(10, 4, generator=g)
        logvar = torch.randn(10, 4, generator=g)
        want = gaussian_kl(mu, logvar).numpy()
        got = _np(fn(mu.clone(), logvar.clone()), "kl", what)
        if got.shape == ():
            _fail(what, "return one KL per sample, shape (N,): sum over the latent dimensions "
                        "only, not over the samples.")
        _same_shape(got, want, "kl", what)
        if np.allclose(got, want, atol=1e-4):
            continue
        terms = (1 + logvar - mu ** 2 - logvar.exp())
        if np.allclose(got, -want, atol=1e-4):
            _fail(what, "the sign is flipped: a KL divergence is never negative; the closed "
                        "form is -1/2 sum (1 + logvar - mu^2 - exp(logvar)).")
        if np.allclose(got, 2 * want, atol=1e-4):
            _fail(what, "you forgot the factor 1/2.")
        if np.allclose(got, (-0.5 * terms).mean(1).numpy(), atol=1e-4):
            _fail(what, "you averaged over the latent dimensions; the KL of independent "
                        "dimensions is their sum.")
        if np.allclose(got, want + 0.5 * mu.shape[1], atol=1e-4):
            _fail(what, "you forgot the constant 1 inside the sum: "
                        "-1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)).")
        _fail(what, f"largest difference {np.abs(got - want).max():.3g}.")

    # differentiability: the ELBO's gradient reaches the encoder through this term
    mu = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    grads = _check_backward(fn(mu, logvar), {"mu": mu, "logvar": logvar}, what, "the KL",
                            "Training back-propagates through it to the encoder's mu and "
                            "logvar")
    want_mu, want_lv = mu.detach(), 0.5 * (logvar.detach().exp() - 1.0)   # d KL / d mu, d logvar
    if not (torch.allclose(grads["mu"], want_mu, atol=1e-6)
            and torch.allclose(grads["logvar"], want_lv, atol=1e-6)):
        _fail(what, "the KL has the right values but not the right gradient: d KL / d mu = mu "
                    "and d KL / d logvar = (exp(logvar) - 1) / 2; compute it from mu and "
                    "logvar with torch operations only.")
    _passed(what, n_cases + 1)


def check_vade_responsibilities(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(z, pi, mu_c, logvar_c) -> gamma (N, K)``: VaDE's q(c | x) (VaDE eq. 16)."""
    from ..methods.vae.vade import responsibilities

    what = "responsibilities"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        n, k, d = 15, 4, 3
        f64 = dict(generator=g, dtype=torch.float64)
        z = torch.randn(n, d, **f64)
        pi = torch.softmax(torch.randn(k, **f64), 0)
        mu_c = torch.randn(k, d, **f64) * 2
        logvar_c = torch.randn(k, d, **f64) * 0.5
        if case == n_cases - 1:  # far from every component: needs the log-sum-exp
            z = z + 60.0
        want = responsibilities(z, pi, mu_c, logvar_c).numpy()
        got = _np(fn(z.clone(), pi.clone(), mu_c.clone(), logvar_c.clone()), "gamma", what)
        _same_shape(got, want, "gamma", what)
        if not np.isfinite(got).all():
            _fail(what, "gamma has NaN or inf for points far from every component: the "
                        "densities underflow to 0/0. Work with log-densities and normalise "
                        "with torch.logsumexp (or a softmax over the clusters).")
        if not np.allclose(got.sum(1), 1.0, atol=1e-5):
            _fail(what, "each row of gamma must sum to 1 over the clusters.")
        if np.allclose(got, want, atol=1e-5):
            continue
        var = logvar_c.exp()
        logdens = -0.5 * (((z[:, None] - mu_c[None]) ** 2) / var[None]
                          + logvar_c[None] + np.log(2 * np.pi)).sum(-1)       # (N, K)
        no_pi = torch.softmax(logdens, 1).numpy()
        if np.allclose(got, no_pi, atol=1e-5):
            _fail(what, "you left out the mixing weights pi_c: gamma_c is proportional to "
                        "pi_c N(z | mu_c, sigma_c^2).")
        no_logdet = torch.softmax(logdens + 0.5 * logvar_c.sum(1)[None] + pi.log()[None],
                                  1).numpy()
        if np.allclose(got, no_logdet, atol=1e-5):
            _fail(what, "the normalising constant of each Gaussian differs between clusters: "
                        "keep the -1/2 sum_j log sigma_cj^2 term.")
        std_as_var = torch.softmax(
            -0.5 * (((z[:, None] - mu_c[None]) ** 2) / var.sqrt()[None]
                    + logvar_c[None]).sum(-1) + pi.log()[None], 1).numpy()
        if np.allclose(got, std_as_var, atol=1e-5):
            _fail(what, "you divided the squared distance by the standard deviation; divide "
                        "by the variance sigma_c^2 = exp(logvar_c).")
        _fail(what, f"largest difference {np.abs(got - want).max():.3g}.")

    # differentiability: VaDE's ELBO weighs its terms by gamma, trained with everything else
    f64 = dict(generator=g, dtype=torch.float64)
    inputs = {"z": torch.randn(8, 3, **f64), "pi (through its logits)": torch.randn(4, **f64),
              "mu_c": torch.randn(4, 3, **f64), "logvar_c": 0.3 * torch.randn(4, 3, **f64)}
    for t in inputs.values():
        t.requires_grad_(True)
    weights = torch.randn(8, 4, **f64)                     # a random linear read-out of gamma

    def read_out(f):
        z, pi_logits, mu_c, logvar_c = inputs.values()
        gamma = f(z, torch.softmax(pi_logits, 0), mu_c, logvar_c)
        return gamma * weights if isinstance(gamma, torch.Tensor) else gamma

    grads = _check_backward(read_out(fn), inputs, what, "gamma",
                            "VaDE's ELBO weighs its terms by gamma, and training "
                            "back-propagates through it to the encoder and the mixture")
    want = torch.autograd.grad(read_out(responsibilities).sum(), list(inputs.values()))
    for (key, got_g), want_g in zip(grads.items(), want):
        if not torch.allclose(got_g, want_g, atol=1e-4):
            _fail(what, f"gamma has the right values but not the right gradient with respect "
                        f"to {key}: compute it from all four inputs with torch operations "
                        f"(no constant taken from a detached copy).")
    _passed(what, n_cases + 1)


# --- VaDE's ELBO (eq. 10) ----------------------------------------------------------------
_TERMS = {"rec": "the reconstruction term log p(x | z)",
          "z_prior": "the prior term -1/2 sum_c gamma_c sum_j (log sigma_cj^2 + sigma~_j^2 / "
                     "sigma_cj^2 + (mu~_j - mu_cj)^2 / sigma_cj^2)",
          "c_prior": "the cluster term sum_c gamma_c log(pi_c / gamma_c)",
          "z_entropy": "the entropy term 1/2 sum_j (1 + log sigma~_j^2)"}


def _vade_case(g, n: int = 12, d: int = 3, k: int = 4, pixels: int = 10):
    f64 = dict(generator=g, dtype=torch.float64)
    x = torch.rand(n, pixels, **f64)                         # grey levels in [0, 1]
    logits = 2 * torch.randn(n, pixels, **f64)               # the decoder's output at z
    mu, logvar = torch.randn(n, d, **f64), 0.5 * torch.randn(n, d, **f64) - 1.0
    z = mu + torch.exp(0.5 * logvar) * torch.randn(n, d, **f64)   # one sample of q(z | x)
    pi = torch.softmax(torch.randn(k, **f64), 0)
    mu_c, logvar_c = 1.5 * torch.randn(k, d, **f64), 0.3 * torch.randn(k, d, **f64)
    return x, logits, mu, logvar, z, pi, mu_c, logvar_c


def check_vade_elbo(fn, n_cases: int = 8, seed: int = 0) -> None:
    """``fn(x, logits, mu, logvar, z, pi, mu_c, logvar_c) -> (N,)``: VaDE's ELBO (eq. 10).

    ``logits`` is the decoder's output at the sample ``z`` of ``q(z | x) = N(mu,
    diag exp(logvar))``; the Bernoulli reconstruction term is evaluated there, and
    ``gamma`` (eq. 16) too. Compared with ``vade_elbo_terms``; a difference that equals a
    multiple of one of the four terms, or the ``log 2 pi`` constant, is named.
    """
    from ..methods.vae.mixture_prior import responsibilities, vade_elbo_terms

    what = "vade_elbo"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        args = _vade_case(g, d=2 + case % 3, k=2 + case % 4)
        x, logits, mu, logvar, z, pi, mu_c, logvar_c = args
        terms = vade_elbo_terms(x, logits, mu, logvar, responsibilities(z, pi, mu_c, logvar_c),
                                pi, mu_c, logvar_c)
        terms = {key: v.double() for key, v in terms.items()}
        want = terms["elbo"].numpy()
        got = _np(fn(*(a.clone() for a in args)), "elbo", what)
        if got.shape == ():
            _fail(what, "return one ELBO per sample, shape (N,): do not average over the batch.")
        _same_shape(got, want, "elbo", what)
        if np.allclose(got, want, rtol=1e-5, atol=1e-4):
            continue
        diff = got - want
        gamma_mu = responsibilities(mu, pi, mu_c, logvar_c)
        at_mu = vade_elbo_terms(x, logits, mu, logvar, gamma_mu, pi, mu_c, logvar_c)
        if np.allclose(got, at_mu["elbo"].double().numpy(), rtol=1e-5, atol=1e-4):
            _fail(what, "gamma was evaluated at the posterior mean mu; eq. 10 is a one-sample "
                        "estimate at z = mu + sigma * eps, and gamma (eq. 16) is computed at "
                        "that same z (the mean is what prediction uses, not training).")
        d = mu.shape[1]
        for c in (0.5 * d * np.log(2 * np.pi), d * np.log(2 * np.pi)):
            if np.allclose(np.abs(diff), c, rtol=1e-5, atol=1e-4):
                _fail(what, f"off by a constant {diff[0]:+.4f} = (a multiple of) d/2 log 2 pi: "
                            f"the log 2 pi of log N(z | mu_c, sigma_c^2) and that of the "
                            f"entropy of q(z | x) cancel; keep both or neither.")
        for key, name in _TERMS.items():
            term = terms[key].numpy()
            if np.abs(term).max() < 1e-8:
                continue
            if np.allclose(diff, -term, rtol=1e-5, atol=1e-4):
                _fail(what, f"{name} is missing.")
            if np.allclose(diff, -2 * term, rtol=1e-5, atol=1e-4):
                _fail(what, f"{name} has the wrong sign.")
        rec_mean = terms["rec"].numpy() / x.shape[1]
        if np.allclose(got, want - terms["rec"].numpy() + rec_mean, rtol=1e-5, atol=1e-4):
            _fail(what, "the reconstruction term is averaged over the pixels; log p(x | z) of "
                        "independent pixels is their sum.")
        gamma = responsibilities(z, pi, mu_c, logvar_c).double()
        sum_g_log_g = (gamma * pi.log()).sum(1).numpy() - terms["c_prior"].numpy()
        if np.allclose(diff, sum_g_log_g, rtol=1e-5, atol=1e-4):
            _fail(what, "the cluster term lacks its -sum_c gamma_c log gamma_c part (the "
                        "entropy of q(c | x)): it is sum_c gamma_c log(pi_c / gamma_c), not "
                        "sum_c gamma_c log pi_c.")
        _fail(what, f"case {case}: largest difference {np.abs(diff).max():.4g} nats from eq. 10 "
                    f"(rec + z_prior + c_prior + z_entropy; see vade_elbo_terms' docstring).")

    # differentiability: VaDE trains the networks and the mixture through this value
    args = [a.clone().requires_grad_(True) for a in _vade_case(g)]
    names = ["x", "logits", "mu", "logvar", "z", "pi", "mu_c", "logvar_c"]
    inputs = {n: a for n, a in zip(names, args) if n not in ("x", "pi")}
    _check_backward(fn(*args), inputs, what, "the ELBO",
                    "VaDE maximises it over the encoder, the decoder and the mixture by "
                    "back-propagation")
    _passed(what, n_cases + 1)


# --- DGG's graph term --------------------------------------------------------------------
def check_graph_term(fn, n_cases: int = 8, seed: int = 0) -> None:
    """``fn(gamma, gamma_neighbors, weights) -> (B,)``: ``KL(gamma_i || sum_j w_ij gamma_j)``.

    gamma (B, K), gamma_neighbors (B, k, K), weights (B, k) with rows summing to 1: the
    library's DGG graph term (``dgg.graph_divergence``).
    """
    from ..methods.vae.dgg import graph_divergence

    what = "graph_term"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        b, k, n_k = 7, 2 + case % 4, 3 + case % 3
        f64 = dict(generator=g, dtype=torch.float64)
        gamma = torch.softmax(2 * torch.randn(b, k, **f64), 1)
        nbrs = torch.softmax(2 * torch.randn(b, n_k, k, **f64), 2)
        w = torch.rand(b, n_k, **f64) + 0.05
        w = w / w.sum(1, keepdim=True)
        want = graph_divergence(gamma, nbrs, w).numpy()
        got = _np(fn(gamma.clone(), nbrs.clone(), w.clone()), "graph term", what)
        if got.shape == ():
            _fail(what, "return one value per sample, shape (B,).")
        _same_shape(got, want, "graph term", what)
        if np.allclose(got, want, atol=1e-6):
            continue
        gbar = (w[..., None] * nbrs).sum(1)
        kl = lambda p, q: (p * (p.log() - q.log())).sum(-1)      # noqa: E731
        if np.allclose(got, kl(gbar, gamma).numpy(), atol=1e-6):
            _fail(what, "the divergence runs the wrong way: the term is KL(gamma_i || gbar_i), "
                        "with gamma_i first (the expectation is under gamma_i).")
        pairwise = (w * kl(gamma[:, None, :], nbrs)).sum(1).numpy()
        if np.allclose(got, pairwise, atol=1e-6):
            _fail(what, "that is the weighted sum of pairwise divergences sum_j w_ij KL(gamma_i "
                        "|| gamma_j); the library's term is the divergence from the weighted "
                        "average, KL(gamma_i || sum_j w_ij gamma_j), which is never larger.")
        plain = kl(gamma, nbrs.mean(1)).numpy()
        if np.allclose(got, plain, atol=1e-6):
            _fail(what, "the neighbours' posteriors were averaged without their weights w_ij.")
        _fail(what, f"case {case}: largest difference {np.abs(got - want).max():.3g}.")
    gamma = torch.softmax(torch.randn(5, 3, generator=g, dtype=torch.float64), 1)
    gamma.requires_grad_(True)
    nbrs = torch.softmax(torch.randn(5, 4, 3, generator=g, dtype=torch.float64), 2)
    _check_backward(fn(gamma, nbrs, torch.full((5, 4), 0.25, dtype=torch.float64)),
                    {"gamma": gamma}, what, "the graph term",
                    "DGG adds it to the loss and back-propagates through gamma_i")
    _passed(what, n_cases + 1)


def check_graph_counterexample(fn) -> None:
    """``fn() -> (gamma_i (K,), gamma_neighbors (k, K), weights (k,))``.

    A case where the library's graph term ``KL(gamma_i || sum_j w_ij gamma_j)`` is
    (nearly) zero while the weighted pairwise divergence ``sum_j w_ij KL(gamma_i ||
    gamma_j)`` is at least one nat: minimising the first does not make neighbours agree.
    """
    what = "graph_counterexample"
    out = fn()
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        _fail(what, "should return three things: (gamma_i, gamma_neighbors, weights).")
    gamma, nbrs, w = (_np(a, n, what) for a, n in zip(out, ("gamma_i", "gamma_neighbors",
                                                            "weights")))
    if gamma.ndim != 1 or nbrs.ndim != 2 or w.ndim != 1 or nbrs.shape != (len(w), len(gamma)):
        _fail(what, f"expected shapes (K,), (k, K), (k,); got {gamma.shape}, {nbrs.shape}, "
                    f"{w.shape}.")
    for name, p in (("gamma_i", gamma[None]), ("each neighbour's posterior", nbrs),
                    ("weights", w[None])):
        if (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-6):
            _fail(what, f"{name} must be non-negative and sum to 1.")
    eps = 1e-10
    graph = float((gamma * (np.log(gamma + eps) - np.log(w @ nbrs + eps))).sum())
    pair = float((w * (gamma[None] * (np.log(gamma[None] + eps)
                                      - np.log(nbrs + eps))).sum(1)).sum())
    if graph > 1e-3:
        _fail(what, f"the graph term is {graph:.4f} nats here; make it (nearly) zero: it "
                    f"vanishes exactly when gamma_i equals the weighted average of its "
                    f"neighbours' posteriors.")
    if pair < 1.0:
        _fail(what, f"the graph term is {graph:.2g}, but the weighted pairwise divergence is "
                    f"only {pair:.3f} nats (at least 1 wanted): neighbours that agree with "
                    f"gamma_i one by one prove nothing. Let the neighbours disagree with each "
                    f"other so that only their average matches gamma_i.")
    print(f"OK: graph term {graph:.2g} nats while the weighted pairwise divergence is "
          f"{pair:.2f} nats: minimising the library's term does not make every neighbour agree.")
