"""Checks for chapter 03 (VAEs): reparameterisation, Gaussian KL, VaDE's responsibilities."""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape

__all__ = ["check_reparameterize", "check_gaussian_kl", "check_vade_responsibilities"]


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
    logvar = torch.zeros(4, 2, requires_grad=True)
    z = fn(mu, logvar, torch.randn(4, 2, generator=g))
    if not isinstance(z, torch.Tensor) or not z.requires_grad:
        _fail(what, "z must stay differentiable with respect to mu and logvar (torch "
                    "operations only): that is the whole point of the trick.")
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
    _passed(what, n_cases)


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
    _passed(what, n_cases)
