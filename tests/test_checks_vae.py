"""Chapter 03's checks: differentiability, VaDE's ELBO, DGG's graph term and its limit."""

import math

import pytest
import torch

from dclearn.checks import ExerciseCheckError
from dclearn.checks.vae import (
    check_gaussian_kl,
    check_graph_counterexample,
    check_graph_term,
    check_vade_elbo,
    check_vade_responsibilities,
)
from dclearn.methods.vae.dgg import graph_divergence
from dclearn.methods.vae.mixture_prior import responsibilities, vade_elbo_terms
from dclearn.methods.vae.vae import gaussian_kl


def test_gaussian_kl_and_gamma_must_stay_differentiable():
    check_gaussian_kl(gaussian_kl)
    check_vade_responsibilities(responsibilities)
    with pytest.raises(ExerciseCheckError, match="cut from the autograd graph"):
        check_gaussian_kl(lambda mu, lv: gaussian_kl(mu, lv).detach())
    with pytest.raises(ExerciseCheckError, match="not the right gradient"):
        check_gaussian_kl(lambda mu, lv: -0.5 * (1 + lv - mu * mu.detach() - lv.exp()).sum(1))
    with pytest.raises(ExerciseCheckError, match="ndarray, not a torch tensor"):
        check_vade_responsibilities(lambda *a: responsibilities(*a).detach().numpy())
    with pytest.raises(ExerciseCheckError, match="no finite gradient for mu_c"):
        check_vade_responsibilities(lambda z, pi, m, lv: responsibilities(z, pi, m.detach(), lv))


def _elbo(x, logits, mu, logvar, z, pi, mu_c, logvar_c, at=None, drop=None, flip=None,
          no_entropy_of_c=False, pixel_mean=False):
    """An independent eq. 10, with switches for the classic mistakes."""
    gamma = responsibilities(z if at is None else at, pi, mu_c, logvar_c).double()
    rec = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    var_c = logvar_c.exp()
    inner = (logvar_c[None] + logvar.exp()[:, None] / var_c[None]
             + (mu[:, None] - mu_c[None]) ** 2 / var_c[None]).sum(-1)
    log_gamma = 0 if no_entropy_of_c else (gamma + 1e-10).log()
    terms = {"rec": rec.mean(1) if pixel_mean else rec.sum(1),
             "z_prior": -0.5 * (gamma * inner).sum(1),
             "c_prior": (gamma * (pi.log()[None] - log_gamma)).sum(1),
             "z_entropy": 0.5 * (1 + logvar).sum(1)}
    if drop:
        terms[drop] = 0 * terms[drop]
    if flip:
        terms[flip] = -terms[flip]
    return sum(terms.values())


def test_vade_elbo_check_names_each_mistake(capsys):
    check_vade_elbo(lambda x, lo, mu, lv, z, pi, m, lvc: vade_elbo_terms(
        x, lo, mu, lv, responsibilities(z, pi, m, lvc), pi, m, lvc)["elbo"])
    check_vade_elbo(_elbo)
    assert capsys.readouterr().out.count("OK") == 2
    wrong = {
        "evaluated at the posterior mean": lambda *a: _elbo(*a, at=a[2]),
        "averaged over the pixels": lambda *a: _elbo(*a, pixel_mean=True),
        "entropy of q\\(c \\| x\\)": lambda *a: _elbo(*a, no_entropy_of_c=True),
        "log 2 pi": lambda *a: _elbo(*a) + 0.5 * a[2].shape[1] * math.log(2 * math.pi),
        "one ELBO per sample": lambda *a: _elbo(*a).mean(),
        "cut from the autograd graph": lambda *a: _elbo(*a).detach(),
    }
    for term in ("reconstruction", "prior", "cluster", "entropy"):
        key = {"reconstruction": "rec", "prior": "z_prior", "cluster": "c_prior",
               "entropy": "z_entropy"}[term]
        wrong[f"the {term} term .* is missing"] = lambda *a, k=key: _elbo(*a, drop=k)
        wrong[f"the {term} term .* has the wrong sign"] = lambda *a, k=key: _elbo(*a, flip=k)
    for words, fn in wrong.items():
        with pytest.raises(ExerciseCheckError, match=words):
            check_vade_elbo(fn)


def test_graph_term_check():
    check_graph_term(graph_divergence)

    def kl(p, q):
        return (p * (p.log() - q.log())).sum(-1)

    wrong = {
        "wrong way": lambda g, n, w: kl((w[..., None] * n).sum(1), g),
        "pairwise divergences": lambda g, n, w: (w * kl(g[:, None], n)).sum(1),
        "without their weights": lambda g, n, w: kl(g, n.mean(1)),
        "cut from the autograd graph": lambda g, n, w: graph_divergence(g, n, w).detach(),
        "one value per sample": lambda g, n, w: graph_divergence(g, n, w).mean(),
    }
    for words, fn in wrong.items():
        with pytest.raises(ExerciseCheckError, match=words):
            check_graph_term(fn)


def test_graph_counterexample_check(capsys):
    split = (torch.tensor([0.5, 0.5]), torch.eye(2), torch.tensor([0.5, 0.5]))
    check_graph_counterexample(lambda: split)
    assert "OK" in capsys.readouterr().out
    agreeing = (torch.tensor([0.5, 0.5]), torch.full((2, 2), 0.5), torch.tensor([0.5, 0.5]))
    with pytest.raises(ExerciseCheckError, match="only 0.000 nats"):
        check_graph_counterexample(lambda: agreeing)
    off = (torch.tensor([0.9, 0.1]), torch.eye(2), torch.tensor([0.5, 0.5]))
    with pytest.raises(ExerciseCheckError, match="make it \\(nearly\\) zero"):
        check_graph_counterexample(lambda: off)
    with pytest.raises(ExerciseCheckError, match="sum to 1"):
        check_graph_counterexample(lambda: (torch.tensor([0.5, 0.6]), torch.eye(2),
                                            torch.tensor([0.5, 0.5])))
    with pytest.raises(ExerciseCheckError, match="three things"):
        check_graph_counterexample(lambda: split[:2])
