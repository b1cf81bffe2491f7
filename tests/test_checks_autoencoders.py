"""Chapter 02's exercise checks pass the references and name each classic mistake."""

import pytest
import torch

from dclearn.checks import ExerciseCheckError
from dclearn.checks import autoencoders as ck
from dclearn.methods.autoencoder.dcn import dcn_centroid_update
from dclearn.methods.autoencoder.dec import (
    kl_clustering_loss,
    soft_assignment,
    target_distribution,
)
from dclearn.methods.autoencoder.depict_objective import balanced_target_distribution
from dclearn.methods.autoencoder.reconstruction import reconstruction_loss


def _kl(p, q):
    return (p * (p / q).log()).sum(1).mean()


# --- DEC's three functions ---------------------------------------------------------------------
def test_dec_checks_pass_the_library(capsys):
    ck.check_soft_assignment(soft_assignment)
    ck.check_target_distribution(target_distribution)
    ck.check_kl_clustering_loss(kl_clustering_loss)
    assert capsys.readouterr().out.count("OK") == 3


def _numpy_q(z, mu, alpha=1.0):
    d2 = ((z[:, None] - mu[None]) ** 2).sum(-1).detach().numpy()
    k = (1 + d2 / alpha) ** (-(alpha + 1) / 2)
    return torch.as_tensor(k / k.sum(1, keepdims=True))


@pytest.mark.parametrize("wrong, words", [
    (lambda z, mu, alpha=1.0: soft_assignment(z, mu, 1.0), "alpha"),
    (lambda z, mu, alpha=1.0: (lambda k: k / k.sum(1, keepdim=True))(
        (1 + torch.cdist(z, mu) / alpha) ** (-(alpha + 1) / 2)), "squared distance"),
    (lambda z, mu, alpha=1.0: soft_assignment(z, mu, alpha).detach(), "autograd"),
    (lambda z, mu, alpha=1.0: _numpy_q(z, mu, alpha), "autograd"),
    (lambda z, mu, alpha=1.0: soft_assignment(z, mu.detach(), alpha), "centroids"),
    (lambda z, mu, alpha=1.0: None, "return statement"),
])
def test_soft_assignment_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_soft_assignment(wrong)


def _norm(w, axis=1):
    return w / w.sum(axis, keepdim=True)


@pytest.mark.parametrize("wrong, words", [
    (lambda q: _norm(q ** 2), "left out"),
    (lambda q: _norm(q ** 2 / q.sum(1, keepdim=True)), r"summed over the clusters \(axis 1\)"),
    (lambda q: _norm(q ** 2 / q.sum(0), axis=0), "each row must sum to 1"),
    (lambda q: q ** 2 / q.sum(0), "did not renormalise"),
    (lambda q: _norm(q ** 2 / (q ** 2).sum(0)), "from q\\^2"),
    (lambda q: _norm(q / q.sum(0)), "squaring"),
    (lambda q: _norm(q ** 3 / q.sum(0)), "largest difference"),
])
def test_target_distribution_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_target_distribution(wrong)


@pytest.mark.parametrize("wrong, words", [
    (lambda p, q: kl_clustering_loss(q, p), r"KL\(Q \|\| P\)"),
    (lambda p, q: kl_clustering_loss(p, q) * p.shape[0], "average"),
    (lambda p, q: kl_clustering_loss(p, q) / p.shape[1], "do not average over them"),
    (lambda p, q: kl_clustering_loss(p, q).item(), "torch tensor"),
    (lambda p, q: torch.tensor(float(kl_clustering_loss(p, q.detach()))), "autograd"),
    (lambda p, q: (p * (p / q).log()).sum(1), "one number"),
])
def test_kl_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_kl_clustering_loss(wrong)


# --- p without f, and the learner's predictions -----------------------------------------------
RIGHT = {"argmax_changes_without_f": False, "argmax_changes_with_f": True,
         "uniform_point_without_f": "uniform", "uniform_point_with_f": "favours small clusters",
         "largest_cluster_with_f_vs_without": "lower"}


def test_target_without_f_check_passes_the_right_answers(capsys):
    ck.check_target_without_f(lambda q: _norm(q ** 2), lambda: dict(RIGHT))
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize("key, value, words", [
    ("argmax_changes_without_f", True, "keeps the order"),
    ("argmax_changes_with_f", False, "can switch"),
    ("uniform_point_without_f", "favours large clusters", "no push"),
    ("uniform_point_with_f", "uniform", "smallest soft frequency"),
    ("largest_cluster_with_f_vs_without", "higher", "share drops"),
    ("uniform_point_with_f", "small", "should be one of"),
])
def test_target_without_f_check_explains_a_wrong_prediction(key, value, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_target_without_f(lambda q: _norm(q ** 2), {**RIGHT, key: value})


def test_target_without_f_check_catches_the_function():
    with pytest.raises(ExerciseCheckError, match="division by f_j"):
        ck.check_target_without_f(target_distribution, RIGHT)
    with pytest.raises(ExerciseCheckError, match="sum to 1"):
        ck.check_target_without_f(lambda q: q ** 2, RIGHT)
    with pytest.raises(ExerciseCheckError, match="no answer"):
        ck.check_target_without_f(lambda q: _norm(q ** 2), {})


# --- IDEC ------------------------------------------------------------------------------------
def idec_loss(x_hat, x, p, q, gamma=0.1):
    return reconstruction_loss(x_hat, x) + gamma * kl_clustering_loss(p, q)


def test_idec_check_passes_the_reference(capsys):
    ck.check_idec_loss(idec_loss)
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda xh, x, p, q, gamma=0.1: gamma * reconstruction_loss(xh, x) + _kl(p, q),
     "gamma weighs the clustering term"),
    (lambda xh, x, p, q, gamma=0.1: reconstruction_loss(xh, x) + _kl(p, q), "left out gamma"),
    (lambda xh, x, p, q, gamma=0.1: reconstruction_loss(xh, x) + gamma * _kl(q, p),
     r"KL\(Q \|\| P\)"),
    (lambda xh, x, p, q, gamma=0.1: gamma * _kl(p, q), "L_r is missing"),
    (lambda xh, x, p, q, gamma=0.1: ((xh - x) ** 2).sum(1).mean() + gamma * _kl(p, q),
     "features of each sample"),
    (lambda xh, x, p, q, gamma=0.1: idec_loss(xh, x, p, q, gamma).detach(), "autograd"),
    (lambda xh, x, p, q, gamma=0.1: idec_loss(xh.detach(), x, p, q, gamma), "x_hat"),
])
def test_idec_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_idec_loss(wrong)


# --- DCN -------------------------------------------------------------------------------------
def test_dcn_check_passes_the_library(capsys):
    ck.check_dcn_centroid_update(dcn_centroid_update)
    assert "OK" in capsys.readouterr().out


def _batch_sums(M, s, z):
    n = torch.bincount(s, minlength=M.shape[0]).to(M.dtype)
    return n, torch.zeros_like(M).index_add_(0, s, z)


def unguarded(M, c, z, s):  # right formula, but 0/0 for a count-0 cluster without samples
    n, S = _batch_sums(M, s, z)
    new = torch.where((n > 0)[:, None], (c[:, None] * M + S) / (c + n)[:, None], M)
    return torch.where(((c + n) > 0)[:, None], new, (c[:, None] * M + S) / (c + n)[:, None]), c + n


def fresh_stays(M, c, z, s):  # a count-0 cluster keeps its old centroid even with samples
    n, S = _batch_sums(M, s, z)
    new = (c[:, None] * M + S) / (c + n).clamp_min(1)[:, None]
    keep = (n == 0) | (c == 0)
    return torch.where(keep[:, None], M, new), c + n


def moves_empty(M, c, z, s):  # plain mean of the batch, empties pulled to zero
    n, S = _batch_sums(M, s, z)
    return S / n.clamp_min(1)[:, None], c + n


def zeroes_empty(M, c, z, s):  # right for clusters with samples, empties pulled to zero
    n, S = _batch_sums(M, s, z)
    return (c[:, None] * M + S) / (c + n).clamp_min(1)[:, None] * (n > 0)[:, None], c + n


def step_by_old_count(M, c, z, s):  # step 1/c_k with the count before adding the samples
    n, S = _batch_sums(M, s, z)
    mean = S / n.clamp_min(1)[:, None]
    new = M - (n / c.clamp_min(1))[:, None] * (M - mean)
    return torch.where((n > 0)[:, None], new, M), c + n


@pytest.mark.parametrize("wrong, words", [
    (unguarded, "divides 0 by 0"),
    (fresh_stays, "had count 0"),
    (moves_empty, "running mean"),
    (zeroes_empty, "must not move"),
    (step_by_old_count, "running mean"),
    (lambda M, c, z, s: (M, c), "grow by the number"),
    (lambda M, c, z, s: M, "pair"),
])
def test_dcn_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_dcn_centroid_update(wrong)


# --- DEPICT ----------------------------------------------------------------------------------
def depict_objective(q, p):
    f = q.mean(0)
    return _kl(q, p) + (f * (f * q.shape[1]).log()).sum()


def test_depict_checks_pass_the_references(capsys):
    ck.check_depict_objective(depict_objective)
    ck.check_depict_targets(balanced_target_distribution)
    assert capsys.readouterr().out.count("OK") == 2


def _bal(q):
    f = q.mean(0)
    return (f * (f * q.shape[1]).log()).sum()


@pytest.mark.parametrize("wrong, words", [
    (lambda q, p: _kl(p, q) + _bal(q), r"KL\(P \|\| Q\)"),
    (lambda q, p: _kl(q, p), "balance term KL\\(f \\|\\| u\\) is missing"),
    (lambda q, p: _kl(q, p) + (q.sum(0) * (q.sum(0) * q.shape[1]).log()).sum(), "an average"),
    (lambda q, p: _kl(q, p) + (q.mean(1) * (q.mean(1) * q.shape[1]).log()).sum(), "axis 1"),
    (lambda q, p: _kl(q, p) * q.shape[0] + _bal(q), "summed KL"),
    (lambda q, p: _kl(q, p) + ((1 / q.shape[1]) * ((1 / q.shape[1]) / q.mean(0)).log()).sum(),
     r"KL\(u \|\| f\)"),
    (lambda q, p: float(depict_objective(q, p).detach()), "torch tensor"),
])
def test_depict_objective_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_depict_objective(wrong)


@pytest.mark.parametrize("wrong, words", [
    (lambda p: _norm(p / p.sum(0)), "square root"),
    (target_distribution, "DEC's target"),
    (lambda p: p / p.sum(0).sqrt(), "renormalise"),
    (lambda p: _norm(p / p.sum(1, keepdim=True).sqrt()), "axis 1"),
])
def test_depict_targets_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_depict_targets(wrong)


# --- DEC's training loop ----------------------------------------------------------------------
def fit_dec(X, encoder, centroids, q_fn, p_fn, kl_fn, n_updates=10, steps_per_update=20,
            batch_size=64, lr=0.01, generator=None, detach_p=True, whole_data=True,
            train_centroids=True, ascend=False, stale_mu=False, stale_z=False,
            loss_tensors=False, per_step=False):
    mu = torch.nn.Parameter(centroids.detach().clone())
    params = list(encoder.parameters()) + ([mu] if train_centroids else [])
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
    history = []
    with torch.no_grad():
        Z0 = encoder(X)
    for _ in range(n_updates):
        with torch.no_grad() if detach_p else torch.enable_grad():
            Z = Z0 if stale_z else encoder(X)
            P = p_fn(q_fn(Z, centroids if stale_mu else mu)) if whole_data else None
        total = 0.0
        for _ in range(steps_per_update):
            idx = torch.randint(0, len(X), (batch_size,), generator=generator)
            q = q_fn(encoder(X[idx]), mu)
            target = P[idx] if whole_data else p_fn(q)
            loss = kl_fn(target, q)
            opt.zero_grad()
            (-loss if ascend else loss).backward(retain_graph=not detach_p)
            opt.step()
            total = total + (loss if loss_tensors else float(loss.detach()))
            if per_step:
                history.append(float(loss.detach()))
        if not per_step:
            history.append(total / steps_per_update)
    return mu.detach(), history


def test_dec_loop_check_passes_the_reference(capsys):
    ck.check_dec_training_loop(fit_dec)
    ck.check_dec_training_loop(ck._reference("fit_dec"))
    # a history of loss tensors that still require grad is read, not a RuntimeError
    ck.check_dec_training_loop(lambda *a, **k: fit_dec(*a, **k, loss_tensors=True))
    assert capsys.readouterr().out.count("OK") == 3


@pytest.mark.parametrize("options, words", [
    ({"whole_data": False}, "computed .* times"),
    ({"detach_p": False}, "carries a gradient"),
    ({"train_centroids": False}, "centroids did not move"),
    ({"ascend": True}, "instead of down"),
    ({"stale_mu": True}, "centroids the loop started with"),
    ({"stale_z": True}, "embedding of the data taken before training"),
    ({"per_step": True}, "one mean loss per update"),
])
def test_dec_loop_check_names_the_mistake(options, words):
    def wrong(*args, **kwargs):
        return fit_dec(*args, **{**kwargs, **options})

    with pytest.raises(ExerciseCheckError, match=words):
        ck.check_dec_training_loop(wrong)


def test_use_solved_takes_yours_only_when_it_passes(capsys):
    def stub(*args):
        raise NotImplementedError

    fns = ck.use_solved(soft_assignment=lambda z, mu, alpha=1.0: soft_assignment(z, mu, alpha),
                        target_distribution=stub)
    assert fns.target_distribution is target_distribution
    assert fns.soft_assignment is not soft_assignment
    out = capsys.readouterr().out
    assert "soft_assignment: yours" in out and "target_distribution: dclearn's" in out
    with pytest.raises(ValueError, match="unknown"):
        ck.use_solved(nothing=stub)
