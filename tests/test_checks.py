"""Each exercise check passes the library's own function and fails wrong ones, in words."""

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from dclearn import checks
from dclearn.checks import ExerciseCheckError
from dclearn.methods.classic.gmm import gmm_responsibilities
from dclearn.methods.classic.kmeans import assign_clusters, update_centroids
from dclearn.metrics import cluster_acc


def test_cluster_acc_check(capsys):
    checks.check_cluster_acc(cluster_acc)
    assert "OK" in capsys.readouterr().out
    with pytest.raises(ExerciseCheckError, match="relabelling the clusters"):
        checks.check_cluster_acc(lambda t, p: float(np.mean(t == p)))

    def square_only(t, p):  # assumes as many clusters as classes
        k = max(t.max(), p.max()) + 1
        m = np.zeros((k, k))
        np.add.at(m, (p, t), 1)
        r, c = linear_sum_assignment(-m)
        return m[r, c].sum()  # forgot to divide by N

    with pytest.raises(ExerciseCheckError, match=r"must lie in \[0, 1\]"):
        checks.check_cluster_acc(square_only)
    with pytest.raises(ExerciseCheckError, match="return statement"):
        checks.check_cluster_acc(lambda t, p: None)

    def raw_ids(t, p):  # a table indexed by the raw ids: -1 wraps onto the last row
        m = np.zeros((p.max() + 1, t.max() + 1))
        np.add.at(m, (p, t), 1)
        r, c = linear_sum_assignment(-m)
        return m[r, c].sum() / len(t)

    def sized_by_unique(t, p):  # sized by the number of ids, indexed by the ids themselves
        m = np.zeros((len(np.unique(p)), len(np.unique(t))))
        np.add.at(m, (p, t), 1)
        r, c = linear_sum_assignment(-m)
        return m[r, c].sum() / len(t)

    for wrong in (raw_ids, sized_by_unique):
        with pytest.raises(ExerciseCheckError, match="labels, not positions"):
            checks.check_cluster_acc(wrong)


def test_kmeans_step_check():
    def ref(X, C):
        labels = assign_clusters(X, C)
        return labels, update_centroids(X, labels, C.shape[0], previous=C)

    checks.check_kmeans_step(ref)

    def zero_empty(X, C):
        labels = assign_clusters(X, C)
        return labels, update_centroids(X, labels, C.shape[0])  # empty cluster -> zeros

    with pytest.raises(ExerciseCheckError, match="keep its old position"):
        checks.check_kmeans_step(zero_empty)
    with pytest.raises(ExerciseCheckError, match="nearest centroid"):
        checks.check_kmeans_step(lambda X, C: (torch.cdist(X, C).argmax(1), C))
    with pytest.raises(ExerciseCheckError, match="pair"):
        checks.check_kmeans_step(lambda X, C: C)

    def no_minlength(X, C):  # bincount without minlength: short when the last cluster is empty
        labels = torch.cdist(X, C).argmin(1)
        counts = torch.bincount(labels)
        sums = torch.zeros_like(C).index_add_(0, labels, X)
        return labels, torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], C)

    with pytest.raises(ExerciseCheckError, match="minlength=k"):
        checks.check_kmeans_step(no_minlength)


def test_gmm_check():
    checks.check_gmm_responsibilities(lambda *a: gmm_responsibilities(*a)[0])
    with pytest.raises(ExerciseCheckError, match="mixing weights"):
        checks.check_gmm_responsibilities(
            lambda X, w, m, v: gmm_responsibilities(X, torch.ones_like(w) / len(w), m, v)[0])

    def naive(X, w, m, v):  # exponentiates before normalising: 0/0 far from the centres
        d = ((X[:, None] - m[None]) ** 2 / v[None]).sum(-1)
        p = w * torch.exp(-0.5 * d) / torch.sqrt((2 * torch.pi * v).prod(1))
        return p / p.sum(1, keepdim=True)

    with pytest.raises(ExerciseCheckError, match="logsumexp"):
        checks.check_gmm_responsibilities(naive)


def test_dec_checks_catch_classic_mistakes():
    from dclearn.methods.autoencoder.dec import (
        kl_clustering_loss,
        soft_assignment,
        target_distribution,
    )

    checks.check_soft_assignment(soft_assignment)
    checks.check_target_distribution(target_distribution)
    checks.check_kl_clustering_loss(kl_clustering_loss)
    with pytest.raises(ExerciseCheckError, match="alpha"):
        checks.check_soft_assignment(lambda z, mu, alpha=1.0: soft_assignment(z, mu, 1.0))
    with pytest.raises(ExerciseCheckError, match="soft cluster frequency"):
        checks.check_target_distribution(lambda q: q**2 / (q**2).sum(1, keepdim=True))
    with pytest.raises(ExerciseCheckError, match=r"KL\(Q \|\| P\)"):
        checks.check_kl_clustering_loss(lambda p, q: kl_clustering_loss(q, p))
    with pytest.raises(ExerciseCheckError, match="average"):
        checks.check_kl_clustering_loss(lambda p, q: kl_clustering_loss(p, q) * p.shape[0])
    with pytest.raises(ExerciseCheckError, match="differentiable"):
        checks.check_kl_clustering_loss(
            lambda p, q: torch.tensor(float(kl_clustering_loss(p, q.detach()))))
    with pytest.raises(ExerciseCheckError, match="0 \\* log\\(0\\) is nan"):
        checks.check_kl_clustering_loss(lambda p, q: (p * (p / q).log()).sum(1).mean())


def test_dcn_check():
    from dclearn.methods.autoencoder.dcn import dcn_centroid_update

    checks.check_dcn_centroid_update(dcn_centroid_update)

    def moves_empty(M, c, z, s):  # plain mean of the batch, empties pulled to zero
        n = torch.bincount(s, minlength=M.shape[0]).to(M.dtype)
        S = torch.zeros_like(M).index_add_(0, s, z)
        return S / n.clamp_min(1)[:, None], c + n

    with pytest.raises(ExerciseCheckError, match="running mean"):
        checks.check_dcn_centroid_update(moves_empty)
    with pytest.raises(ExerciseCheckError, match="grow by the number"):
        checks.check_dcn_centroid_update(lambda M, c, z, s: (M, c))


# --- chapter 01 ----------------------------------------------------------------------

def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: replace this line with your solution.")


def test_mutual_information_check_catches_classic_mistakes(capsys):
    from dclearn.methods.feedforward.rim import entropy, mutual_information

    checks.check_mutual_information(mutual_information)
    assert "OK" in capsys.readouterr().out

    def per_sample_h_y(p):  # H(Y) as the mean per-sample entropy: MI is always 0
        h = entropy(p).mean()
        return h - h, h, h

    with pytest.raises(ExerciseCheckError, match="per-sample entropy instead of the entropy of "
                                                 "the mean prediction"):
        checks.check_mutual_information(per_sample_h_y)

    def wrong_sign(p):
        mi, h_y, h_y_x = mutual_information(p)
        return h_y_x - h_y, h_y, h_y_x

    with pytest.raises(ExerciseCheckError, match="wrong sign"):
        checks.check_mutual_information(wrong_sign)

    def no_clamp(p):  # log(0) * 0 = nan on one-hot rows
        h = lambda q: -(q * torch.log(q)).sum(-1)  # noqa: E731
        return h(p.mean(0)) - h(p).mean(), h(p.mean(0)), h(p).mean()

    with pytest.raises(ExerciseCheckError, match="0 log 0 = 0"):
        checks.check_mutual_information(no_clamp)

    def bits(p):
        return tuple(v / np.log(2) for v in mutual_information(p))

    with pytest.raises(ExerciseCheckError, match="bits"):
        checks.check_mutual_information(bits)

    def summed(p):
        mi, h_y, h_y_x = mutual_information(p)
        return h_y - h_y_x * len(p), h_y, h_y_x * len(p)

    with pytest.raises(ExerciseCheckError, match="mean of the per-sample entropies"):
        checks.check_mutual_information(summed)
    with pytest.raises(ExerciseCheckError, match="minus sign"):
        checks.check_mutual_information(lambda p: tuple(-v for v in mutual_information(p)))
    with pytest.raises(ExerciseCheckError, match="three numbers"):
        checks.check_mutual_information(lambda p: mutual_information(p)[0])
    with pytest.raises(ExerciseCheckError, match="return statement"):
        checks.check_mutual_information(lambda p: None)
    with pytest.raises(NotImplementedError):
        checks.check_mutual_information(_stub)


def test_vat_perturbation_check_catches_classic_mistakes(capsys):
    import torch.nn.functional as F

    from dclearn.methods.feedforward.imsat import vat_perturbation

    checks.check_vat_perturbation(vat_perturbation)
    assert "OK" in capsys.readouterr().out

    def unit(d):
        return d / d.flatten(1).norm(dim=1).view(-1, *[1] * (d.ndim - 1))

    def radii(eps, x):
        return torch.as_tensor(eps, dtype=x.dtype).reshape(-1, *[1] * (x.ndim - 1))

    def vat(model, x, xi, eps, n_power=1, *, backward=False, whole_batch=False, scale=True,
            skip_grad=False, plus_x=False, probe_eps=False):
        with torch.no_grad():
            p = torch.softmax(model(x), 1)
        d = unit(torch.randn_like(x))
        step = radii(eps, x) if probe_eps else xi
        for _ in range(0 if skip_grad else n_power):
            d.requires_grad_(True)
            kl = F.kl_div(torch.log_softmax(model(x + step * d), 1), p, reduction="batchmean")
            if backward:
                kl.backward()
                grad = d.grad
            else:
                (grad,) = torch.autograd.grad(kl, d)
            d = grad.detach()
            d = d / d.norm() if whole_batch else unit(d)
        r = radii(eps, x) * d if scale else d
        return x + r if plus_x else r

    checks.check_vat_perturbation(vat)  # an independent correct implementation passes
    with pytest.raises(ExerciseCheckError, match="norm 1: scale the unit direction by eps"):
        checks.check_vat_perturbation(lambda *a: vat(*a, scale=False))
    with pytest.raises(ExerciseCheckError, match="normalise every row separately"):
        checks.check_vat_perturbation(lambda *a: vat(*a, whole_batch=True))
    with pytest.raises(ExerciseCheckError, match="without the gradient step"):
        checks.check_vat_perturbation(lambda *a: vat(*a, skip_grad=True))
    with pytest.raises(ExerciseCheckError, match="autograd.grad"):
        checks.check_vat_perturbation(lambda *a: vat(*a, backward=True))
    with pytest.raises(ExerciseCheckError, match="not the perturbed point"):
        checks.check_vat_perturbation(lambda *a: vat(*a, plus_x=True))
    with pytest.raises(ExerciseCheckError, match="probe at x \\+ xi \\* d"):
        checks.check_vat_perturbation(lambda *a: vat(*a, probe_eps=True))

    def eps_unshaped(model, x, xi, eps, n_power=1):
        r = vat(model, x, xi, 1.0, n_power)
        return torch.as_tensor(eps) * r  # (B,) * (B, D): broadcasting error

    with pytest.raises(ExerciseCheckError, match="reshape it"):
        checks.check_vat_perturbation(eps_unshaped)

    def row_norm_dim1(model, x, xi, eps, n_power=1):  # norm over dim 1 only: wrong for images
        r = vat(model, x, xi, 1.0, n_power)
        r = r / r.norm(dim=1, keepdim=True)
        return radii(eps, x) * r

    with pytest.raises(ExerciseCheckError, match="images"):
        checks.check_vat_perturbation(row_norm_dim1)
    with pytest.raises(NotImplementedError):
        checks.check_vat_perturbation(_stub)


def test_select_pairs_check_catches_classic_mistakes(capsys):
    from dclearn.methods.feedforward.dac import select_pairs

    checks.check_select_pairs(select_pairs)
    assert "OK" in capsys.readouterr().out
    checks.check_select_pairs(lambda s, u, l: ((s >= u).int(), (s < l).float()))  # 0/1 is fine
    with pytest.raises(ExerciseCheckError, match="swapped"):
        checks.check_select_pairs(lambda s, u, l: select_pairs(s, u, l)[::-1])
    with pytest.raises(ExerciseCheckError, match="must be in neither mask"):
        checks.check_select_pairs(lambda s, u, l: (s >= u, s < u))
    with pytest.raises(ExerciseCheckError, match=r"sim >= upper \(not >\)"):
        checks.check_select_pairs(lambda s, u, l: (s > u, s < l))
    with pytest.raises(ExerciseCheckError, match=r"strict sim < lower \(not <=\)"):
        checks.check_select_pairs(lambda s, u, l: (s >= u, s <= l))

    def no_diagonal(s, u, lo):
        pos, neg = select_pairs(s, u, lo)
        return pos & ~torch.eye(len(s), dtype=torch.bool), neg

    with pytest.raises(ExerciseCheckError, match="keep the diagonal"):
        checks.check_select_pairs(no_diagonal)
    with pytest.raises(ExerciseCheckError, match="must be a mask"):
        checks.check_select_pairs(lambda s, u, l: (s * (s >= u), s < l))
    with pytest.raises(ExerciseCheckError, match="pair of masks"):
        checks.check_select_pairs(lambda s, u, l: s >= u)
    with pytest.raises(ExerciseCheckError, match="shape"):
        checks.check_select_pairs(lambda s, u, l: ((s >= u).flatten(), (s < l).flatten()))
    with pytest.raises(NotImplementedError):
        checks.check_select_pairs(_stub)


# --- chapter 03 ----------------------------------------------------------------------------
def test_reparameterize_check_catches_mistakes():
    checks.check_reparameterize(lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar) * eps)
    wrong = {
        "variance": lambda mu, logvar, eps: mu + torch.exp(logvar) * eps,
        "logvar itself": lambda mu, logvar, eps: mu + logvar * eps,
        "forgot to add the mean": lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps,
        "differentiable": lambda mu, logvar, eps: torch.tensor(
            (mu + torch.exp(0.5 * logvar) * eps).detach().numpy()),
        "with respect to logvar": lambda mu, logvar, eps: mu + torch.exp(
            0.5 * logvar).detach() * eps,
        "with respect to mu": lambda mu, logvar, eps: mu.detach() + torch.exp(
            0.5 * logvar) * eps,
    }
    for words, fn in wrong.items():
        with pytest.raises(checks.ExerciseCheckError, match=words):
            checks.check_reparameterize(fn)
    with pytest.raises(NotImplementedError):
        checks.check_reparameterize(_stub)


def test_gaussian_kl_check_catches_mistakes():
    from dclearn.methods.vae.vae import gaussian_kl

    checks.check_gaussian_kl(gaussian_kl)
    wrong = {
        "sign": lambda mu, lv: 0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(1),
        "factor 1/2": lambda mu, lv: -(1 + lv - mu ** 2 - lv.exp()).sum(1),
        "averaged": lambda mu, lv: -0.5 * (1 + lv - mu ** 2 - lv.exp()).mean(1),
        "constant 1": lambda mu, lv: -0.5 * (lv - mu ** 2 - lv.exp()).sum(1),
        "per sample": lambda mu, lv: -0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(),
    }
    for words, fn in wrong.items():
        with pytest.raises(checks.ExerciseCheckError, match=words):
            checks.check_gaussian_kl(fn)


def test_vade_responsibilities_check_catches_mistakes():
    import math

    from dclearn.methods.vae.mixture_prior import responsibilities

    checks.check_vade_responsibilities(responsibilities)

    def log_dens(z, mu_c, logvar_c, var_power=1.0):
        d2 = (z[:, None] - mu_c[None]) ** 2
        return -0.5 * (d2 / logvar_c.exp()[None] ** var_power + logvar_c[None]
                       + math.log(2 * math.pi)).sum(-1)

    def naive(z, pi, mu_c, logvar_c):  # right formula, but no log-sum-exp
        w = pi[None] * log_dens(z, mu_c, logvar_c).exp()
        return w / w.sum(1, keepdim=True)

    wrong = {
        "mixing weights": lambda z, pi, m, lv: torch.softmax(log_dens(z, m, lv), 1),
        "standard deviation": lambda z, pi, m, lv: torch.softmax(
            log_dens(z, m, lv, 0.5) + pi.log()[None], 1),
        "logsumexp": naive,
    }
    for words, fn in wrong.items():
        with pytest.raises(checks.ExerciseCheckError, match=words):
            checks.check_vade_responsibilities(fn)


def test_every_check_is_exported():
    """Each chapter module's check_* functions are importable from dclearn.checks."""
    import importlib
    import inspect

    import dclearn.checks as checks

    for name in ("basics", "feedforward", "rim", "dac", "autoencoders", "dec", "dec_loop",
                 "dcn", "depict", "vae", "gan", "dcfae"):
        module = importlib.import_module(f"dclearn.checks.{name}")
        for fn_name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn_name.startswith("check_") and fn.__module__ == module.__name__:
                assert fn_name in checks.__all__, f"{name}.{fn_name} missing from __all__"
                assert getattr(checks, fn_name) is fn
