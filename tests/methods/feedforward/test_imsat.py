"""IMSAT (Hu et al. 2017): VAT perturbations, augmentations and the estimator contract."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.feedforward.imsat import (
    IMSAT,
    kl_divergence,
    knn_radius,
    random_affine,
    random_perturbation,
    vat_perturbation,
)


@pytest.fixture(scope="module")
def fitted(digits):
    return IMSAT(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(
        digits.X, digits.y)


def _toy_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))


def test_vat_perturbation_norm_and_strength():
    model = _toy_model()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=g)
    eps = torch.linspace(0.1, 0.5, 64)
    r = vat_perturbation(model, x, xi=1e-1, eps=eps, n_power=2, generator=g)
    assert r.shape == x.shape
    assert torch.allclose(r.norm(dim=1), eps, atol=1e-5)  # each sample has norm eps_i
    with torch.no_grad():
        p = torch.softmax(model(x), 1)
        per_sample = lambda r_: (p * (p.log() - torch.log_softmax(model(x + r_), 1))).sum(1)  # noqa: E731
        kl_adv = per_sample(r)
        kl_rand = per_sample(random_perturbation(x, eps, g))
    assert kl_adv.mean() > 3 * kl_rand.mean()  # the adversarial direction hurts much more
    assert (kl_adv > kl_rand).float().mean() > 0.9
    r_scalar = vat_perturbation(model, x, xi=1.0, eps=0.3)
    assert torch.allclose(r_scalar.norm(dim=1), torch.full((64,), 0.3), atol=1e-5)
    assert all(p.grad is None for p in model.parameters())  # no gradient left on weights


def test_kl_divergence_hand_value():
    p = torch.tensor([[0.5, 0.5]])
    logits_q = torch.log(torch.tensor([[0.25, 0.75]]))
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl_divergence(p, logits_q).item() == pytest.approx(expected, abs=1e-6)
    assert kl_divergence(p, torch.zeros(1, 2)).item() == pytest.approx(0.0, abs=1e-7)


def test_knn_radius_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(50, 3, generator=g)
    D = torch.cdist(X, X)
    expected = D.sort(1).values[:, 4]  # column 0 is the point itself
    assert torch.allclose(knn_radius(X, k=4, block=7), expected, atol=1e-5)
    X1 = torch.tensor([[0.0], [1.0], [3.0]])
    assert knn_radius(X1, k=1).tolist() == pytest.approx([1.0, 1.0, 2.0])


def test_random_affine_shapes_and_identity():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 8, 8, generator=g)
    y = random_affine(x, generator=g)
    assert y.shape == x.shape and not torch.allclose(x, y)
    same = random_affine(x, max_rotation=0, max_scale=0, max_shift=0)
    assert torch.allclose(same, x, atol=1e-5)
    with pytest.raises(ValueError, match="images"):
        random_affine(torch.rand(6, 64))


def test_fit_contract(fitted, digits):
    assert fitted.labels_.dtype == np.int64 and fitted.labels_.shape == (1797,)
    probs = fitted.transform(digits.X[:9])
    assert probs.shape == (9, 10) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.array_equal(fitted.predict(digits.X[:200]), fitted.labels_[:200])
    assert fitted.eps_.shape == (1797,) and bool((fitted.eps_ > 0).all())
    assert "acc" in fitted.history_[-1] and {"r_sat", "h_y", "h_y_x"} <= set(fitted.history_[0])
    assert fitted.predict(digits.X[:20] * 0.9).shape == (20,)


@pytest.mark.parametrize("augment", ["random", "affine"])
def test_other_augmentations_deterministic(augment, digits):
    X = digits.X[:200]
    kw = dict(augment=augment, hidden=(32,), n_epochs=2, batch_size=50, random_state=1,
              device="cpu", verbose=False)
    a, b = IMSAT(5, **kw).fit(X), IMSAT(5, **kw).fit(X.numpy())
    assert np.array_equal(a.labels_, b.labels_)
    assert a.transform(X).shape == (200, 5)


def test_vat_deterministic_flat_input(digits):
    X = digits.flat()[:200]
    kw = dict(hidden=(32,), n_epochs=2, batch_size=50, eps=0.5, random_state=2, device="cpu",
              verbose=False)
    a, b = IMSAT(5, **kw).fit(X), IMSAT(5, **kw).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert torch.all(a.eps_ == 0.5)


def test_errors(digits):
    est = IMSAT(n_clusters=10, hidden=(8,), n_epochs=1, device="cpu", verbose=False)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    bad = digits.X.clone()
    bad[2, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match="must be 2-D"):
        est.fit(digits.X[:, 0])
    with pytest.raises(ValueError, match="n_clusters"):
        IMSAT(n_clusters=0, verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="augment must be one of .*'nope'"):
        IMSAT(augment="nope", verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="augment='affine' needs images"):
        IMSAT(augment="affine", verbose=False).fit(digits.flat())
    with pytest.raises(ValueError, match="xi must be a positive number"):
        IMSAT(xi=0, verbose=False).fit(digits.X)
    est.fit(digits.X[:100])
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        est.predict(digits.flat())


def test_quality_on_digits(fitted, digits):
    # measured ACC, defaults (VAT; lam, xi, eps_scale chosen by stability, not labels),
    # seeds 0-4: 0.812 0.948 0.893 0.903 0.895 (mean 0.890, NMI 0.886). Seed 0, tested here,
    # is the lowest of the five; its NMI (0.870) is far above k-means' 0.75.
    scores = evaluate(digits.y, fitted.labels_)
    assert scores["acc"] > 0.78 and scores["nmi"] > 0.83, scores
