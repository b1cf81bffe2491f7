"""LTVAE (notebook 03): the tree prior's equations, structure learning, estimator contract."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.vae.ltvae import LTVAE
from dclearn.methods.vae.ltvae_structure import learn_structure
from dclearn.methods.vae.ltvae_tree import (
    LatentTreePrior,
    facet_log_likelihood,
    gaussian_entropy,
    ltvae_kl,
    tree_log_marginal,
    tree_posteriors,
)

SMALL = dict(hidden=(32, 32), latent=4, pretrain_epochs=3, epochs=3, batch_size=128)


@pytest.fixture(scope="module")
def small(digits):
    return LTVAE(10, random_state=0, device="cpu", verbose=False, **SMALL).fit(
        digits.X[:500], digits.y[:500])


# --- equations (numpy by hand) ----------------------------------------------------------
def _log_normal(z, mu, var):
    return -0.5 * np.sum(np.log(2 * np.pi * var) + (z - mu) ** 2 / var)


def _tiny_prior():
    """Facet 0: dims (0, 2), 2 states; facet 1: dim 1, 3 states; star tree."""
    prior = LatentTreePrior([[0, 2], [1]], [2, 3], tree="star")
    with torch.no_grad():
        prior.means[0].copy_(torch.tensor([[0.0, 1.0], [2.0, -1.0]]))
        prior.log_vars[0].copy_(torch.log(torch.tensor([[1.0, 0.5], [2.0, 1.0]])))
        prior.means[1].copy_(torch.tensor([[-1.0], [0.0], [3.0]]))
        prior.log_vars[1].copy_(torch.log(torch.tensor([[0.5], [1.0], [4.0]])))
        prior.root_logits.copy_(torch.log(torch.tensor([0.3, 0.7])))
        prior.cpt_logits[0].copy_(torch.log(torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])))
    return prior


def _brute_force(z, prior):
    """All (y0, y1) combinations: joint log p(y, z) as a (2, 3) array."""
    pi = np.array([0.3, 0.7])
    cpt = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    m0, v0 = np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[1.0, 0.5], [2.0, 1.0]])
    m1, v1 = np.array([-1.0, 0.0, 3.0]), np.array([0.5, 1.0, 4.0])
    joint = np.zeros((2, 3))
    for a, b in itertools.product(range(2), range(3)):
        joint[a, b] = (np.log(pi[a] * cpt[a, b]) + _log_normal(z[[0, 2]], m0[a], v0[a])
                       + _log_normal(z[1], m1[b], v1[b]))
    return joint


def test_tree_log_marginal_and_posteriors_by_enumeration():
    prior = _tiny_prior()
    z = np.array([[0.5, -0.3, 0.2], [1.5, 2.0, -0.7]])
    with torch.no_grad():
        logp = prior.log_prob(torch.tensor(z, dtype=torch.float32)).numpy()
        post = prior.posteriors(torch.tensor(z, dtype=torch.float32))
    for i in range(2):
        joint = _brute_force(z[i], prior)
        assert logp[i] == pytest.approx(np.log(np.exp(joint).sum()), rel=1e-5)
        p = np.exp(joint - np.log(np.exp(joint).sum()))
        np.testing.assert_allclose(post[0][i].detach().numpy(), p.sum(1), atol=1e-5)
        np.testing.assert_allclose(post[1][i].detach().numpy(), p.sum(0), atol=1e-5)


def test_forest_factorises():
    """Independent Y's: log p(z) = sum of the facets' GMM log-densities."""
    leaves = [torch.randn(4, 3, generator=torch.Generator().manual_seed(0)),
              torch.randn(4, 2, generator=torch.Generator().manual_seed(1))]
    log_root = torch.log(torch.tensor([0.2, 0.3, 0.5]))
    log_cpt = torch.log(torch.tensor([[0.4, 0.6]]))  # one row: p(y_1) independent of y_0
    logp, _ = tree_log_marginal(leaves, log_root, [log_cpt])
    expected = (torch.logsumexp(log_root + leaves[0], 1)
                + torch.logsumexp(log_cpt[0] + leaves[1], 1))
    assert torch.allclose(logp, expected, atol=1e-6)
    post = tree_posteriors(leaves, log_root, [log_cpt])
    assert torch.allclose(post[1], torch.softmax(log_cpt[0] + leaves[1], 1), atol=1e-6)


def test_expected_leaf_and_kl_hand_values():
    prior = _tiny_prior()
    m = np.array([[0.5, -0.3, 0.2]])
    s2 = np.array([[0.4, 0.9, 0.25]])
    mu_t, lv_t = torch.tensor(m, dtype=torch.float32), torch.tensor(np.log(s2), dtype=torch.float32)
    # E_q log N(z_b | mu, var) = log N(m | mu, var) - 1/2 sum s^2 / var
    e0 = facet_log_likelihood(mu_t[:, [0, 2]], prior.means[0].detach(),
                              prior.log_vars[0].detach(), lv_t[:, [0, 2]]).numpy()
    v0 = np.array([[1.0, 0.5], [2.0, 1.0]])
    m0 = np.array([[0.0, 1.0], [2.0, -1.0]])
    for k in range(2):
        hand = _log_normal(m[0, [0, 2]], m0[k], v0[k]) - 0.5 * np.sum(s2[0, [0, 2]] / v0[k])
        assert e0[0, k] == pytest.approx(hand, rel=1e-5)
    # analytic KL = -H[q] - log sum_y p(y) exp(sum_b E_q log N(z_b | y_b))
    pi = np.array([0.3, 0.7])
    cpt = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    m1, v1 = np.array([-1.0, 0.0, 3.0]), np.array([0.5, 1.0, 4.0])
    e1 = np.array([_log_normal(m[0, 1], m1[b], v1[b]) - 0.5 * s2[0, 1] / v1[b] for b in range(3)])
    cross = np.log(sum(pi[a] * cpt[a, b] * np.exp(e0[0, a] + e1[b])
                       for a in range(2) for b in range(3)))
    entropy = 0.5 * np.sum(1 + np.log(2 * np.pi) + np.log(s2))
    assert gaussian_entropy(lv_t).item() == pytest.approx(entropy, rel=1e-6)
    kl = ltvae_kl(mu_t, lv_t, prior).item()
    assert kl == pytest.approx(-entropy - cross, rel=1e-5)
    # the one-sample estimate uses log p_tree at the sample
    z = np.array([[0.1, 0.4, -0.2]])
    kl_s = ltvae_kl(mu_t, lv_t, prior, torch.tensor(z, dtype=torch.float32)).item()
    assert kl_s == pytest.approx(-entropy - np.log(np.exp(_brute_force(z[0], prior)).sum()),
                                 rel=1e-5)


def test_analytic_cross_term_is_a_lower_bound():
    """Jensen: the analytic term <= E_q[log p_tree(z)] (Monte Carlo with many samples)."""
    prior = _tiny_prior()
    mu = torch.tensor([[0.5, -0.3, 0.2]])
    logvar = torch.log(torch.tensor([[0.4, 0.9, 0.25]]))
    g = torch.Generator().manual_seed(0)
    z = mu + (0.5 * logvar).exp() * torch.randn(200_000, 3, generator=g)
    with torch.no_grad():
        mc = prior.log_prob(z).mean().item()
        bound = prior.log_prob(mu, logvar).item()
    assert bound <= mc + 1e-3
    assert bound > mc - 1.0  # and not a loose one (gap 0.56 here)


# --- structure learning -----------------------------------------------------------------
def test_structure_recovers_two_independent_groups():
    """Dims (0, 2, 5) cluster by Y_a (4 states), dims (1, 3, 4, 6) by an independent Y_b
    (2 states): the MI grouping finds them, and BIC picks Y_b's 2 states."""
    rng = np.random.default_rng(0)
    n = 1500
    ya, yb = rng.integers(0, 4, n), rng.integers(0, 2, n)
    ca, cb = rng.normal(0, 4, (4, 3)), rng.normal(0, 4, (2, 4))
    Z = np.zeros((n, 7))
    Z[:, [0, 2, 5]] = ca[ya] + rng.normal(0, 0.5, (n, 3))
    Z[:, [1, 3, 4, 6]] = cb[yb] + rng.normal(0, 0.5, (n, 4))
    st = learn_structure(torch.tensor(Z, dtype=torch.float32), 2, 4, max_facet_clusters=5,
                         generator=torch.Generator().manual_seed(0))
    assert st["groups"] == [[0, 2, 5], [1, 3, 4, 6]]  # facet 0: the 4-state group
    assert st["ks"] == [4, 2]
    assert st["mi"][0, 2] > 5 * st["mi"][0, 1]
    fixed = learn_structure(torch.tensor(Z, dtype=torch.float32), 2, 4, facet_clusters=(4, 3),
                            search=False)
    assert fixed["groups"] == [[0, 1, 2, 3], [4, 5, 6]] and fixed["ks"] == [4, 3]


# --- estimator contract -----------------------------------------------------------------
def test_fit_contract(small, digits):
    X = digits.X[:500]
    assert small.labels_.dtype == np.int64 and small.labels_.shape == (500,)
    assert len(small.facet_labels_) == 2 and small.facet_clusters_[0] == 10
    assert np.array_equal(small.labels_, small.facet_labels_[0])
    for lab, k in zip(small.facet_labels_, small.facet_clusters_):
        assert lab.dtype == np.int64 and lab.shape == (500,) and lab.max() < k
    dims = np.sort(np.concatenate(small.facet_groups_))
    assert np.array_equal(dims, np.arange(4))  # the facets partition the latent dims
    Z = small.transform(X[:7])
    assert Z.dtype == np.float32 and Z.shape == (7, 4)
    assert np.array_equal(small.predict(X), small.labels_)
    facets = small.predict_facets(X)
    assert all(np.array_equal(a, b) for a, b in zip(facets, small.facet_labels_))
    assert np.array_equal(small.predict(X, facet=1), small.facet_labels_[1])
    proba = small.predict_proba(X[:9], facet=1)
    assert proba.shape == (9, small.facet_clusters_[1]) and np.allclose(proba.sum(1), 1, atol=1e-5)
    pred = small.predict(digits.X[500:540].numpy())  # new data
    assert pred.dtype == np.int64 and pred.shape == (40,)
    phases = {h["phase"] for h in small.history_}
    assert {"LTVAE pretrain", "structure", "LTVAE", "facets"} <= phases
    assert "acc" in small.history_[-2] and "acc_facet1" in small.history_[-1]
    assert small.reconstruct(X[:3]).shape == (3, 1, 8, 8)
    assert np.isfinite(small.score_samples(X[:5])).all()


def test_determinism(small, digits):
    again = LTVAE(10, random_state=0, device="cpu", verbose=False, **SMALL).fit(digits.X[:500])
    assert np.array_equal(again.labels_, small.labels_)
    assert all(np.array_equal(a, b) for a, b in zip(again.facet_labels_, small.facet_labels_))


def test_fixed_structure_and_options(digits):
    opts = {**SMALL, "latent": 6}
    est = LTVAE(6, n_facets=3, facet_clusters=(6, 2, 3), structure_search=False,
                tree="forest", kl_estimate="sample", facet=2, random_state=1, device="cpu",
                verbose=False, **opts).fit(digits.flat()[:300])
    assert [g.tolist() for g in est.facet_groups_] == [[0, 1], [2, 3], [4, 5]]
    assert est.facet_clusters_ == (6, 2, 3)
    assert np.array_equal(est.labels_, est.facet_labels_[2]) and est.labels_.max() < 3
    assert est.prior_.cpt_logits[0].shape == (1, 2)  # forest: one CPT row
    one = LTVAE(4, n_facets=1, random_state=0, device="cpu", verbose=False,
                **{**SMALL, "latent": 3}).fit(digits.X[:200])
    assert len(one.facet_labels_) == 1 and one.facet_clusters_ == (4,)


def test_sampling(small):
    imgs = small.sample(5, random_state=0)
    assert imgs.shape == (5, 1, 8, 8) and imgs.dtype == np.float32
    assert imgs.min() >= 0 and imgs.max() <= 1
    assert np.array_equal(imgs, small.sample(5, random_state=0))
    for b in range(2):
        one = small.sample(4, facet=b, cluster=1, random_state=3)
        assert one.shape == (4, 1, 8, 8) and 0 <= one.min() and one.max() <= 1
    grid = small.sample_grid(1, n_per_cluster=3)
    assert grid.shape == (small.facet_clusters_[1], 3, 1, 8, 8)
    with pytest.raises(ValueError, match="cluster"):
        small.sample(2, facet=0, cluster=10)
    with pytest.raises(ValueError, match="facet"):
        small.sample(2, facet=2, cluster=0)
    with pytest.raises(ValueError, match="both"):
        small.sample(2, facet=0)
    with pytest.raises(ValueError, match="n must"):
        small.sample(0)


def test_errors(small, digits):
    X = digits.X[:100]
    est = LTVAE(10, random_state=0, device="cpu", verbose=False, **SMALL)
    with pytest.raises(NotFittedError):
        est.predict(X)
    with pytest.raises(NotFittedError):
        est.sample(3)
    bad = X.clone()
    bad[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match="n_clusters"):
        LTVAE(0, verbose=False).fit(X)
    with pytest.raises(ValueError, match="n_clusters"):
        LTVAE(11, verbose=False).fit(X[:10])
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        small.predict(digits.flat()[:5])
    with pytest.raises(ValueError, match="facet"):
        small.predict(X, facet=2)
    for params, word in ((dict(n_facets=0), "n_facets"), (dict(n_facets=5), "n_facets"),
                         (dict(facet=2), "facet"), (dict(facet=-1), "facet"),
                         (dict(facet_clusters=(10,)), "facet_clusters"),
                         (dict(facet_clusters=(10, 1)), "facet_clusters"),
                         (dict(facet_clusters=(5, 3)), "n_clusters"),
                         (dict(tree="chain"), "tree"), (dict(kl_estimate="mc"), "kl_estimate"),
                         (dict(max_facet_clusters=1), "max_facet_clusters"),
                         (dict(pretrain_epochs=-1), "pretrain_epochs"), (dict(lr=0.0), "lr"),
                         (dict(likelihood="poisson"), "likelihood")):
        with pytest.raises(ValueError, match=word):
            LTVAE(10, verbose=False, **{**SMALL, **params}).fit(X)
    assert LTVAE().get_params()["n_facets"] == 2


# --- quality ----------------------------------------------------------------------------
# Measured with the defaults, 1 thread, facet 0 (the 10-state facet, chosen without labels):
# seeds 0-4 ACC 0.728 / 0.700 / 0.751 / 0.793 / 0.632 (mean 0.721 +- 0.054, results/digits.json),
# below k-means' 0.79: see the LTVAE docstring for why. Seed 0 gives 0.728; the threshold sits
# one seed spread under it, for other machines, and far above a random 10-way split (about 0.2).
def test_quality_on_digits(digits):
    """The 10-cluster facet on digits, defaults, seed 0.

    Measured (1 thread): seed 0 ACC 0.728 / NMI 0.795; seeds 0-4 ACC 0.728, 0.700, 0.751,
    0.793, 0.632 (mean 0.721, below k-means' 0.79: the facet's clusters are fixed by the
    mixture fitted on the pretrained embedding, which ELBO training moves by only 0.01-0.05;
    a one-facet model scores the same, see ltvae.py). The threshold leaves room for the
    spread between machines, which on this seed-sensitive model can be several points.
    """
    est = LTVAE(10, random_state=0, device="cpu", verbose=False).fit(digits.X)
    acc = evaluate(digits.y, est.labels_)["acc"]
    assert acc > 0.68
    assert est.facet_clusters_[0] == 10 and len(est.facet_groups_[0]) >= 5
