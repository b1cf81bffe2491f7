"""The diagonal Gaussian mixture (chapter 00): EM against scikit-learn, parameters, restarts."""

import numpy as np
import pytest
import torch

from dclearn import GMM, KMeans
from dclearn.methods.classic.gmm import gmm_m_step, gmm_responsibilities


def test_gmm_em_against_sklearn_on_toy():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(6, 0.5, (200, 2))])
    ours = GMM(2, reg_covar=1e-6, random_state=0, device="cpu", verbose=False).fit(X)
    sk = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    assert ours.lower_bound_ == pytest.approx(sk.score(X), abs=1e-3)
    Xt = torch.from_numpy(X)
    gamma, _ = gmm_responsibilities(Xt, ours.weights_, ours.means_, ours.variances_)
    assert torch.allclose(gamma.sum(1), torch.ones(500, dtype=gamma.dtype))
    w, mu, var = gmm_m_step(Xt, gamma, 1e-6)
    assert torch.allclose(w, ours.weights_, atol=1e-3)


def test_gmm_bad_params(digits):
    with pytest.raises(ValueError, match="reg_covar must be a positive number"):
        GMM(reg_covar=0, verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="n_init and max_iter"):
        KMeans(n_init=0, verbose=False).fit(digits.X)


def test_fit_diag_gmm_restart_rules():
    from dclearn.methods.classic.gmm import fit_diag_gmm

    g = torch.Generator().manual_seed(0)
    Z = torch.randn(400, 3, generator=g)
    Z[:200] += torch.tensor([6.0, 0.0, 0.0])
    Z[200:] *= torch.tensor([1.0, 3.0, 0.5])  # second cluster: very different variances
    w, mu, var, ll = fit_diag_gmm(Z, 2, torch.Generator().manual_seed(1), n_init=4)
    assert w.dtype == torch.float64 and w.shape == (2,) and mu.shape == var.shape == (2, 3)
    assert torch.allclose(w.sum(), torch.tensor(1.0, dtype=torch.float64))
    order = mu[:, 0].argsort()
    assert torch.allclose(w[order], torch.tensor([0.5, 0.5], dtype=torch.float64), atol=0.02)
    assert torch.allclose(var[order][0, 1:], torch.tensor([9.0, 0.25], dtype=torch.float64),
                          rtol=0.25)
    # "likelihood" keeps the best of its runs: never below any single run from the same stream
    single = fit_diag_gmm(Z, 3, torch.Generator().manual_seed(2), n_init=1,
                          select="likelihood")[3]
    best = fit_diag_gmm(Z, 3, torch.Generator().manual_seed(2), n_init=5,
                        select="likelihood")[3]
    assert best >= single
    with pytest.raises(ValueError, match="select must be 'inertia' or 'likelihood'"):
        fit_diag_gmm(Z, 2, g, select="bic")
