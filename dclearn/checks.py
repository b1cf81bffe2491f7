"""Checks for the exercise notebooks.

Each ``check_xxx(fn)`` runs a learner's function on random inputs, compares the
result with dclearn's own implementation and, on a mismatch, raises an
``AssertionError`` that says in words what is wrong (wrong shape, rows that do
not sum to one, a value out of range, ...). On success it prints one line.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["check_cluster_acc", "check_kmeans_step", "check_gmm_responsibilities",
           "check_soft_assignment", "check_target_distribution", "check_kl_clustering_loss",
           "check_dcn_centroid_update"]


class ExerciseCheckError(AssertionError):
    """A learner's function disagrees with the reference; the message explains how."""


def _fail(what: str, detail: str) -> None:
    raise ExerciseCheckError(f"{what}: {detail}")


def _np(a, name: str, what: str) -> np.ndarray:
    if a is None:
        _fail(what, f"{name} is None: did you forget a return statement?")
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(what, f"{name} could not be read as numbers (got {type(a).__name__}).")


def _same_shape(got: np.ndarray, want: np.ndarray, name: str, what: str) -> None:
    if got.shape != want.shape:
        _fail(what, f"{name} has shape {got.shape}, expected {want.shape}.")


def _passed(what: str, n: int) -> None:
    print(f"OK: {what} agrees with dclearn on {n} random cases.")


# --- chapter 00 ----------------------------------------------------------------------

def check_cluster_acc(fn, n_cases: int = 20, seed: int = 0) -> None:
    """``fn(y_true, y_pred) -> float``: accuracy under the best one-to-one matching."""
    from .metrics import cluster_acc

    what = "cluster_acc"
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 30)
    perm = rng.permutation(4)
    got = fn(y.copy(), perm[y])
    if got is None:
        _fail(what, "returned None: did you forget a return statement?")
    got = float(got)
    if not 0.0 <= got <= 1.0:
        _fail(what, f"accuracy must lie in [0, 1], got {got:.4f}: divide the matched "
                    f"count by the number of samples.")
    if abs(got - 1.0) > 1e-9:
        _fail(what, f"relabelling the clusters of a perfect clustering must give 1.0, got "
                    f"{got:.4f}. Cluster ids are arbitrary: match them to classes first "
                    f"(scipy.optimize.linear_sum_assignment on the contingency table).")
    for case in range(n_cases):
        n = int(rng.integers(5, 60))
        k_true, k_pred = int(rng.integers(2, 6)), int(rng.integers(2, 7))
        y_true = rng.integers(0, k_true, n)
        y_pred = rng.integers(0, k_pred, n)
        want = cluster_acc(y_true, y_pred)
        got = fn(y_true.copy(), y_pred.copy())
        try:
            got = float(got)
        except (TypeError, ValueError):
            _fail(what, f"should return one number, got {type(got).__name__}.")
        if not 0.0 <= got <= 1.0:
            _fail(what, f"accuracy must lie in [0, 1], got {got:.4f}: divide the matched "
                        f"count by the number of samples.")
        if abs(got - want) > 1e-9:
            hint = ""
            if k_true != k_pred:
                hint = (f" Here there are {k_pred} clusters for {k_true} classes: the "
                        f"contingency table is rectangular, and unmatched clusters count as "
                        f"errors.")
            elif got < want:
                hint = (" A greedy or identity matching is not the best one: use the "
                        "Hungarian method.")
            _fail(what, f"case {case}: got {got:.4f}, expected {want:.4f} for y_true="
                        f"{y_true.tolist()}, y_pred={y_pred.tolist()}.{hint}")
    _passed(what, n_cases + 1)


def check_kmeans_step(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(X, C) -> (labels, new_C)``: one Lloyd iteration (assign, then update)."""
    from .methods.kmeans import assign_clusters, update_centroids

    what = "kmeans_step"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        n, d, k = 40 + 5 * case, 2 + case % 3, 3 + case % 3
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        C = X[torch.randperm(n, generator=g)[:k]].clone()
        if case == n_cases - 1:  # a centroid far away gets no point: it must stay put
            C[0] = 100.0
        want_l = assign_clusters(X, C)
        want_C = update_centroids(X, want_l, k, previous=C)
        out = fn(X.clone(), C.clone())
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail(what, "should return a pair (labels, new_centroids).")
        labels = _np(out[0], "labels", what)
        new_C = _np(out[1], "new_centroids", what)
        _same_shape(labels, want_l.numpy().astype(np.float64), "labels", what)
        if not np.array_equal(labels, want_l.numpy()):
            bad = int((labels != want_l.numpy()).sum())
            _fail(what, f"case {case}: {bad} of {n} points are not assigned to their nearest "
                        f"centroid (argmin over the squared Euclidean distances to the "
                        f"centroids, one row per point).")
        _same_shape(new_C, want_C.numpy(), "new_centroids", what)
        if not np.allclose(new_C, want_C.numpy(), atol=1e-6):
            if case == n_cases - 1 and not np.allclose(new_C[0], C[0].numpy()):
                _fail(what, "a centroid with no assigned point must keep its old position "
                            "(the mean of zero points is undefined; yours gave "
                            f"{new_C[0].round(3).tolist()}).")
            err = np.abs(new_C - want_C.numpy()).max()
            _fail(what, f"case {case}: the new centroids are not the means of the points "
                        f"assigned to them (largest error {err:.3g}).")
    _passed(what, n_cases)


def check_gmm_responsibilities(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(X, weights, means, variances) -> gamma (N, K)``: the E-step of a diagonal GMM."""
    from .methods.gmm import gmm_responsibilities

    what = "gmm_responsibilities"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        n, d, k = 30, 2 + case % 4, 2 + case % 3
        X = torch.randn(n, d, generator=g, dtype=torch.float64) * (1 + 5 * (case % 2))
        w = torch.rand(k, generator=g, dtype=torch.float64) + 0.1
        w = w / w.sum()
        mu = torch.randn(k, d, generator=g, dtype=torch.float64)
        var = torch.rand(k, d, generator=g, dtype=torch.float64) * 0.5 + 0.05
        want = gmm_responsibilities(X, w, mu, var)[0].numpy()
        got = _np(fn(X.clone(), w.clone(), mu.clone(), var.clone()), "gamma", what)
        _same_shape(got, want, "gamma", what)
        if not np.all(np.isfinite(got)):
            _fail(what, f"case {case}: gamma has NaN or inf. Far from every centre the "
                        f"densities underflow to 0: work with log-densities and normalise "
                        f"with logsumexp.")
        if not np.allclose(got.sum(1), 1.0, atol=1e-6):
            _fail(what, "each row of gamma must sum to 1 (normalise over the components).")
        if not np.allclose(got, want, atol=1e-6):
            hint = (" Check the mixing weights pi_k multiply the densities, and that var is "
                    "a variance (not a standard deviation).")
            _fail(what, f"case {case}: largest difference {np.abs(got - want).max():.3g}.{hint}")
    _passed(what, n_cases)


# --- chapter 02 ----------------------------------------------------------------------

def check_soft_assignment(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(z, centroids, alpha=1.0) -> q (N, K)``: DEC's Student-t kernel (DEC eq. 1)."""
    from .methods.dec import soft_assignment

    what = "soft_assignment"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        z = torch.randn(25, 3, generator=g)
        mu = torch.randn(4, 3, generator=g)
        alpha = 1.0 if case < n_cases // 2 else 2.0
        want = soft_assignment(z, mu, alpha).numpy()
        got = _np(fn(z.clone(), mu.clone(), alpha), "q", what)
        _same_shape(got, want, "q", what)
        if not np.allclose(got.sum(1), 1.0, atol=1e-5):
            _fail(what, "each row of q must sum to 1 over the clusters.")
        if not np.allclose(got, want, atol=1e-5):
            hint = (" With alpha=2 the kernel is (1 + d^2/alpha)^(-(alpha+1)/2): check that "
                    "alpha enters both places." if alpha != 1.0 else
                    " Use squared distances in (1 + ||z - mu||^2 / alpha)^(-(alpha+1)/2).")
            _fail(what, f"alpha={alpha}: largest difference {np.abs(got - want).max():.3g}.{hint}")
    _passed(what, n_cases)


def check_target_distribution(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(q) -> p``: DEC's auxiliary target (DEC eq. 3)."""
    from .methods.dec import target_distribution

    what = "target_distribution"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        q = torch.softmax(torch.randn(20, 5, generator=g) * (1 + case), dim=1)
        want = target_distribution(q).numpy()
        got = _np(fn(q.clone()), "p", what)
        _same_shape(got, want, "p", what)
        if not np.allclose(got.sum(1), 1.0, atol=1e-5):
            _fail(what, "each row of p must sum to 1: normalise q^2/f over the clusters.")
        if not np.allclose(got, want, atol=1e-5):
            sq = (q ** 2 / (q ** 2).sum(1, keepdim=True)).numpy()
            hint = (" You squared and renormalised q but forgot to divide by the soft cluster "
                    "frequency f_j = sum_i q_ij." if np.allclose(got, sq, atol=1e-5) else "")
            _fail(what, f"largest difference {np.abs(got - want).max():.3g}.{hint}")
    _passed(what, n_cases)


def check_kl_clustering_loss(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(p, q) -> scalar``: KL(P || Q), summed over clusters, averaged over samples."""
    from .methods.dec import kl_clustering_loss

    what = "kl_clustering_loss"
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_cases):
        q = torch.softmax(torch.randn(16, 4, generator=g), 1)
        p = torch.softmax(torch.randn(16, 4, generator=g) * 2, 1)
        want = float(kl_clustering_loss(p, q))
        out = fn(p.clone(), q.clone())
        got = _np(out, "loss", what)
        if got.size != 1:
            _fail(what, f"should return one number (a scalar tensor), got shape {got.shape}.")
        got = float(got.reshape(()))
        if abs(got - want) > 1e-5:
            swapped = float((q * (q / p).log()).sum(1).mean())
            if abs(got - swapped) < 1e-5:
                _fail(what, "you computed KL(Q || P): DEC minimises KL(P || Q) = "
                            "sum p log(p / q).")
            if abs(got - want * p.shape[0]) < 1e-4:
                _fail(what, "sum over clusters, then average (not sum) over samples.")
            _fail(what, f"got {got:.5f}, expected {want:.5f}.")
    if isinstance(out, torch.Tensor):
        p = torch.softmax(torch.randn(8, 3, generator=g), 1)
        q = torch.softmax(torch.randn(8, 3, generator=g), 1).requires_grad_(True)
        loss = fn(p, q)
        if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
            _fail(what, "the loss must stay differentiable with respect to q (use torch "
                        "operations, no .item() or numpy).")
    _passed(what, n_cases)


def check_dcn_centroid_update(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(centroids, counts, z, assignments) -> (centroids, counts)``: DCN's centroid step."""
    from .methods.dcn import dcn_centroid_update

    what = "dcn_centroid_update"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        k, d, b = 4, 3, 12
        M = torch.randn(k, d, generator=g, dtype=torch.float64)
        counts = torch.randint(1, 20, (k,), generator=g).to(torch.float64)
        z = torch.randn(b, d, generator=g, dtype=torch.float64)
        s = torch.randint(0, k - (case % 2), (b,), generator=g)  # odd cases leave one empty
        want_M, want_c = dcn_centroid_update(M.clone(), counts.clone(), z, s)
        out = fn(M.clone(), counts.clone(), z.clone(), s.clone())
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail(what, "should return a pair (new_centroids, new_counts).")
        got_M, got_c = _np(out[0], "centroids", what), _np(out[1], "counts", what)
        _same_shape(got_c, want_c.numpy(), "counts", what)
        if not np.allclose(got_c, want_c.numpy()):
            _fail(what, "each count must grow by the number of samples assigned to that "
                        "cluster in the batch.")
        _same_shape(got_M, want_M.numpy(), "centroids", what)
        if not np.allclose(got_M, want_M.numpy(), atol=1e-6):
            hint = ""
            if case % 2 and not np.allclose(got_M[k - 1], M[k - 1].numpy()):
                hint = " A centroid with no sample in the batch must not move."
            _fail(what, f"case {case}: centroids differ by up to "
                        f"{np.abs(got_M - want_M.numpy()).max():.3g}. With step 1/c_k (c_k "
                        f"counted after adding the sample) the update is a running mean.{hint}")
    _passed(what, n_cases)


# --- chapter 01 ----------------------------------------------------------------------

__all__ += ["check_mutual_information", "check_vat_perturbation", "check_select_pairs"]


def _three_numbers(out, what: str) -> tuple[float, float, float]:
    if out is None:
        _fail(what, "returned None: did you forget a return statement?")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        _fail(what, "should return three numbers (mi, h_y, h_y_x), like "
                    "dclearn.methods.rim.mutual_information.")
    vals = []
    for name, v in zip(("mi", "h_y", "h_y_x"), out):
        a = _np(v, name, what)
        if a.size != 1:
            _fail(what, f"{name} should be one number (a scalar), got shape {a.shape}: average "
                        f"over the samples and sum over the clusters.")
        vals.append(float(a.reshape(())))
    return vals[0], vals[1], vals[2]


def check_mutual_information(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(probs) -> (mi, h_y, h_y_x)``: RIM's empirical I(X; Y) = H(Y) - H(Y|X) (RIM Sec. 3).

    ``probs`` (N, K) are softmax outputs; ``h_y`` the entropy of the mean prediction,
    ``h_y_x`` the mean per-sample entropy, all in nats.
    """
    from .methods.rim import entropy, mutual_information

    what = "mutual_information"
    g = torch.Generator().manual_seed(seed)
    cases = []
    for case in range(n_cases):
        n, k = 20 + 7 * case, 2 + case % 5
        cases.append(torch.softmax(torch.randn(n, k, generator=g) * (0.5 + case), 1))
    one_hot = torch.eye(4)[torch.randint(0, 4, (30,), generator=g)]  # exact zeros: 0 log 0 = 0
    cases.append(one_hot)
    for case, probs in enumerate(cases):
        want = [float(v) for v in mutual_information(probs)]
        got = _three_numbers(fn(probs.clone()), what)
        if not all(np.isfinite(got)):
            _fail(what, f"case {case}: got NaN or inf {got} for probabilities with exact zeros. "
                        f"By convention 0 log 0 = 0: clamp p before the log "
                        f"(torch.log(p.clamp_min(1e-12))).")
        if np.allclose(got, want, atol=1e-5):
            continue
        mi, h_y, h_y_x = got
        n = probs.shape[0]
        per_sample = float(entropy(probs).mean())
        if min(h_y, h_y_x) < -1e-6:
            _fail(what, f"an entropy came out negative (h_y={h_y:.4f}, h_y_x={h_y_x:.4f}): "
                        f"H(p) = -sum_k p_k log p_k has a minus sign.")
        if abs(h_y - per_sample) < 1e-5 and abs(want[1] - per_sample) > 1e-4:
            _fail(what, "your H(Y) uses the per-sample entropy instead of the entropy of the mean "
                        "prediction: average the rows first, p_hat = probs.mean(0), then take "
                        "H(p_hat). (With your version H(Y) = H(Y|X) and the MI is always 0.)")
        if abs(mi + want[0]) < 1e-5 and abs(want[0]) > 1e-4:
            _fail(what, "the mutual information has the wrong sign: I(X; Y) = H(Y) - H(Y|X).")
        if np.allclose(got, np.asarray(want) / np.log(2), atol=1e-5):
            _fail(what, "the values are in bits: RIM and dclearn use the natural log (nats), "
                        "torch.log, not torch.log2.")
        if abs(h_y_x - want[2] * n) < 1e-3 and n > 1:
            _fail(what, "H(Y|X) must be the mean of the per-sample entropies over the N samples, "
                        "not their sum.")
        if abs(h_y - want[1]) > 1e-5:
            _fail(what, f"case {case}: H(Y) is {h_y:.5f}, expected {want[1]:.5f}: the entropy "
                        f"of the mean prediction p_hat(y) = 1/N sum_i p(y | x_i).")
        if abs(h_y_x - want[2]) > 1e-5:
            _fail(what, f"case {case}: H(Y|X) is {h_y_x:.5f}, expected {want[2]:.5f}: the mean "
                        f"over samples of H(p(y | x_i)).")
        _fail(what, f"case {case}: mi is {mi:.5f}, expected H(Y) - H(Y|X) = {want[0]:.5f}.")
    _passed(what, len(cases))


def _vat_model(k: int, d: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, k))


def _row_kl(model, x, r) -> torch.Tensor:
    """(B,) KL(p(y|x) || p(y|x + r)) per sample."""
    with torch.no_grad():
        logp = torch.log_softmax(model(x), 1)
        logq = torch.log_softmax(model(x + r), 1)
        return (logp.exp() * (logp - logq)).sum(1)


def check_vat_perturbation(fn, seed: int = 0) -> None:
    """``fn(model, x, xi, eps, n_power=1) -> r_adv``: VAT's adversarial direction (IMSAT Sec. 3.1).

    Randomness differs between implementations, so the check tests what does not depend
    on it: the shape, the norm ``eps_i`` of every sample, the direction (with two classes
    the Hessian of the KL has rank one and one power iteration finds it; with more classes
    many iterations converge to it), that no gradient is left on the model, and that the
    KL grows more along ``r_adv`` than along a random direction of the same length.
    """
    from .methods.imsat import random_perturbation, vat_perturbation

    what = "vat_perturbation"
    g = torch.Generator().manual_seed(seed)
    b, d = 48, 6
    x = torch.randn(b, d, generator=g)
    eps_t = torch.linspace(0.05, 0.3, b)

    def call(model, x, xi, eps, n_power):
        try:
            out = fn(model, x.clone(), xi, eps, n_power)
        except (RuntimeError, ValueError) as err:
            if isinstance(eps, torch.Tensor):
                _fail(what, f"failed with a (B,) tensor of radii eps ({err}). eps may be one "
                            f"number or one radius per sample: reshape it to (B, 1, ...) "
                            f"before multiplying, e.g. eps.view(-1, *[1] * (x.ndim - 1)).")
            raise
        r = _np(out, "r_adv", what)
        _same_shape(r, np.zeros(tuple(x.shape)), "r_adv", what)
        return out, r

    # 1. norms: a float eps, then per-sample radii
    model = _vat_model(2, d, seed)
    for eps in (0.25, eps_t):
        out, r = call(model, x, 1e-2, eps, 1)
        norms = np.linalg.norm(r.reshape(b, -1), axis=1)
        want = np.broadcast_to(np.asarray(eps, dtype=np.float64), (b,))
        if not np.allclose(norms, want, atol=1e-4):
            shifted = np.linalg.norm((r - x.numpy()).reshape(b, -1), axis=1)
            if np.allclose(shifted, want, atol=1e-4):
                _fail(what, "return the perturbation r_adv itself, not the perturbed point "
                            "x + r_adv.")
            if np.allclose(norms, 1.0, atol=1e-4):
                _fail(what, "every sample has norm 1: scale the unit direction by eps.")
            if abs(np.linalg.norm(r) - np.linalg.norm(want)) < 1e-3 or np.isclose(
                    np.linalg.norm(r), float(np.asarray(eps).max()), atol=1e-4):
                _fail(what, "the norm of the whole batch is eps, not the norm of each sample: "
                            "normalise every row separately (norm over all dimensions but the "
                            "first).")
            _fail(what, f"each sample of r_adv must have norm eps_i; got norms from "
                        f"{norms.min():.4f} to {norms.max():.4f}, expected {want.min():.4f} to "
                        f"{want.max():.4f}.")
    if all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.parameters()):
        _fail(what, "gradients were left on the model's weights: take the gradient with respect "
                    "to d only, with torch.autograd.grad(kl, d), not kl.backward().")
    if isinstance(out, torch.Tensor) and out.requires_grad:
        _fail(what, "r_adv still requires grad: detach it (the perturbation is a constant when "
                    "the network is trained on x + r_adv).")

    # 2. direction, two classes: the Hessian of the KL has rank one
    want = vat_perturbation(model, x, 1e-2, eps_t, 1,
                            generator=torch.Generator().manual_seed(seed)).numpy()
    _, got = call(model, x, 1e-2, eps_t, 1)
    cos = np.abs((got * want).sum(1)) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1)
                                         + 1e-12)
    if np.median(cos) < 0.99:
        kl_got = _row_kl(model, x, torch.as_tensor(got, dtype=x.dtype))
        kl_rand = _row_kl(model, x, random_perturbation(x, eps_t, g))
        hint = (" Your direction does not raise the KL more than a random one: it looks like "
                "the random starting vector d was returned without the gradient step (d <- "
                "grad_d KL(p(y|x) || p(y|x + xi d)), normalised)."
                if float(kl_got.mean()) < 2 * float(kl_rand.mean()) else "")
        _fail(what, f"with two classes one power iteration must find the most sensitive "
                    f"direction; the median |cosine| with dclearn's r_adv is {np.median(cos):.3f} "
                    f"(expected > 0.99).{hint}")

    # 3. direction, four classes: many power iterations converge to the dominant eigenvector
    model = _vat_model(4, d, seed + 1)
    want = vat_perturbation(model, x, 1e-2, eps_t, 30,
                            generator=torch.Generator().manual_seed(seed)).numpy()
    _, got = call(model, x, 1e-2, eps_t, 30)
    cos = np.abs((got * want).sum(1)) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1)
                                         + 1e-12)
    if np.median(cos) < 0.99:
        _fail(what, f"with n_power=30 the direction should converge to dclearn's; median "
                    f"|cosine| {np.median(cos):.3f}. Repeat the gradient step n_power times, "
                    f"normalising d each time, and probe with xi * d (not eps * d).")
    kl_got = _row_kl(model, x, torch.as_tensor(got, dtype=x.dtype))
    kl_rand = _row_kl(model, x, random_perturbation(x, eps_t, g))
    if float(kl_got.mean()) < 2 * float(kl_rand.mean()):
        _fail(what, "r_adv should change the prediction much more than a random direction of the "
                    "same length does.")

    # 4. images (B, C, H, W): the norm is over all of a sample's pixels
    xi_img = torch.rand(12, 1, 2, 3, generator=g)
    model = _vat_model(2, 6, seed)
    _, r = call(model, xi_img, 1e-2, 0.2, 1)
    norms = np.linalg.norm(r.reshape(12, -1), axis=1)
    if not np.allclose(norms, 0.2, atol=1e-4):
        _fail(what, "for images (B, C, H, W) each sample must have norm eps over all its pixels: "
                    "normalise with d.flatten(1).norm(dim=1), reshaped to (B, 1, 1, 1).")
    print("OK: vat_perturbation has the right norms, finds dclearn's direction and raises the "
          "KL more than a random direction.")


def check_select_pairs(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(sim, upper, lower) -> (positive, negative)``: DAC's pair selection (DAC eq. 6).

    ``positive = sim >= upper`` (same cluster), ``negative = sim < lower`` (different
    clusters), pairs in between are in neither mask (not used for training).
    """
    from .methods.dac import select_pairs

    what = "select_pairs"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases + 1):
        if case < n_cases:
            b = 6 + case
            f = torch.nn.functional.normalize(torch.rand(b, 4, generator=g) ** 3, dim=1)
            sim = f @ f.T  # (B, B) in [0, 1], ones on the diagonal
            upper, lower = 0.95 - 0.04 * case, 0.455 + 0.004 * case
        else:  # exact ties with both thresholds
            sim = torch.tensor([[1.0, 0.75, 0.25, 0.5], [0.75, 1.0, 0.125, 0.25],
                                [0.25, 0.125, 1.0, 0.875], [0.5, 0.25, 0.875, 1.0]])
            upper, lower = 0.75, 0.25
        want_p, want_n = (m.numpy() for m in select_pairs(sim, upper, lower))
        out = fn(sim.clone(), upper, lower)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail(what, "should return a pair of masks (positive, negative).")
        pos, neg = _np(out[0], "positive", what), _np(out[1], "negative", what)
        _same_shape(pos, want_p.astype(np.float64), "positive", what)
        _same_shape(neg, want_n.astype(np.float64), "negative", what)
        for name, m in (("positive", pos), ("negative", neg)):
            if not np.isin(m, (0.0, 1.0)).all():
                _fail(what, f"{name} must be a mask (True/False), e.g. sim >= upper; got other "
                            f"values.")
        pos, neg = pos.astype(bool), neg.astype(bool)
        if np.array_equal(pos, want_p) and np.array_equal(neg, want_n):
            continue
        if np.array_equal(pos, want_n) and np.array_equal(neg, want_p):
            _fail(what, "the two masks are swapped: positive (same cluster, r_ij = 1) holds the "
                        "pairs with sim >= upper, negative (r_ij = 0) those with sim < lower.")
        if (pos & neg).any():
            _fail(what, "some pairs are in both masks: a pair is either 'same' (sim >= u), "
                        "'different' (sim < l) or not used.")
        middle = (sim.numpy() > lower) & (sim.numpy() < upper)
        if middle.any() and ((pos | neg) & middle).any():
            _fail(what, f"pairs with lower <= sim < upper (here l={lower:.3f}, u={upper:.3f}) "
                        f"must be in neither mask: DAC ignores them (v_ij = 0) until the "
                        f"thresholds relax.")
        if case == n_cases:
            if not np.array_equal(pos, want_p):
                _fail(what, "a pair whose similarity equals upper exactly is 'same': use "
                            "sim >= upper (not >).")
            if not np.array_equal(neg, want_n):
                _fail(what, "a pair whose similarity equals lower exactly is not 'different': "
                            "use the strict sim < lower (not <=).")
        if not np.array_equal(np.diag(pos), np.diag(want_p)):
            _fail(what, "keep the diagonal: l_i . l_i = 1 >= u, so every image is paired with "
                        "itself as 'same', as in dclearn's select_pairs.")
        _fail(what, f"case {case}: {int((pos != want_p).sum())} positive and "
                    f"{int((neg != want_n).sum())} negative entries differ from "
                    f"positive = sim >= upper, negative = sim < lower.")
    _passed(what, n_cases + 1)


# --- chapter 03 ----------------------------------------------------------------------

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
    from .methods.vae import gaussian_kl

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
    from .methods.vade import responsibilities

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


__all__ += ["check_reparameterize", "check_gaussian_kl", "check_vade_responsibilities"]
