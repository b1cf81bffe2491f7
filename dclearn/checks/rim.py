"""Checks for chapter 01's RIM and IMSAT: the mutual information and VAT's perturbation.

``check_mutual_information`` tests RIM's empirical I(X; Y) = H(Y) - H(Y|X) (and that it
back-propagates to the logits), ``check_vat_perturbation`` IMSAT's virtual adversarial
direction (its norms, its direction, its handling of images).
"""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape

__all__ = ["check_mutual_information", "check_vat_perturbation"]


def _check_backward(out, inputs: dict, what: str, name: str, why: str) -> dict:
    """Back-propagate ``out.sum()`` to ``inputs`` (name -> leaf tensor); return their grads.

    Fails in words when ``out`` is not a tensor or is cut from the inputs' graph
    (``.item()``, ``float()``, numpy, ``detach`` or ``torch.no_grad``), or when a
    gradient comes back missing or not finite. ``why`` is a sentence saying who
    back-propagates through ``out``.
    """
    if not isinstance(out, torch.Tensor):
        _fail(what, f"{name} is a {type(out).__name__}, not a torch tensor. {why}: keep it a "
                    f"tensor computed with torch operations (no .item(), float(), numpy or "
                    f"math functions on the way).")
    if not out.requires_grad:
        _fail(what, f"{name} is cut from the autograd graph of its inputs (requires_grad is "
                    f"False). {why}: no .detach(), torch.no_grad() or round trip through numpy.")
    for t in inputs.values():
        t.grad = None
    out.sum().backward()
    grads = {}
    for key, t in inputs.items():
        if t.grad is None or not bool(torch.isfinite(t.grad).all()):
            _fail(what, f"back-propagating through {name} gives no finite gradient for {key}, "
                        f"which it depends on. {why}: compute it from every input with torch "
                        f"operations, without .detach() on the way.")
        grads[key] = t.grad.detach().clone()
    return grads


def _three_numbers(out, what: str) -> tuple[float, float, float]:
    if out is None:
        _fail(what, "returned None: did you forget a return statement?")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        _fail(what, "should return three numbers, in this order: (mi, h_y, h_y_x).")
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
    from ..methods.feedforward.rim import entropy, mutual_information

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

    # differentiability: RIM and IMSAT train the network through I(X; Y)
    logits = torch.randn(25, 4, generator=g, dtype=torch.float64, requires_grad=True)
    out = fn(torch.softmax(logits, 1))
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        _fail(what, "should return three numbers (mi, h_y, h_y_x).")
    got = _check_backward(out[0], {"the logits": logits}, what, "mi",
                          "RIM and IMSAT train their network by back-propagating through "
                          "it")["the logits"]
    (want,) = torch.autograd.grad(mutual_information(torch.softmax(logits, 1))[0], logits)
    if not torch.allclose(got, want, atol=1e-6):
        _fail(what, f"mi has the right value but not the right gradient (largest difference "
                    f"{float((got - want).abs().max()):.3g}): compute every term from probs "
                    f"with torch operations, without constants taken from a detached copy.")
    _passed(what, len(cases) + 1)


def _vat_model(k: int, d: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, k))


def _abs_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise |cosine| between two (N, ...) arrays of directions (sign-free, as VAT's is)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.abs((a * b).sum(1)) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


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
    from ..methods.feedforward.imsat import random_perturbation, vat_perturbation

    what = "vat_perturbation"
    g = torch.Generator().manual_seed(seed)
    b, d = 48, 6
    x = torch.randn(b, d, generator=g)
    eps_t = torch.linspace(0.05, 0.3, b)
    # the direction tests use radii of 1-3: probing with eps * d instead of xi * d finds
    # nearly the same direction while eps is small (the KL is still quadratic there)
    eps_dir = torch.linspace(1.0, 3.0, b)

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
    want = vat_perturbation(model, x, 1e-2, eps_dir, 1,
                            generator=torch.Generator().manual_seed(seed)).numpy()
    _, got = call(model, x, 1e-2, eps_dir, 1)
    cos = _abs_cosines(got, want)
    if np.median(cos) < 0.99:
        kl_got = _row_kl(model, x, torch.as_tensor(got, dtype=x.dtype))
        kl_rand = _row_kl(model, x, random_perturbation(x, eps_dir, g))
        hint = (" Your direction does not raise the KL more than a random one: it looks like "
                "the random starting vector d was returned without the gradient step (d <- "
                "grad_d KL(p(y|x) || p(y|x + xi d)), normalised)."
                if float(kl_got.mean()) < 2 * float(kl_rand.mean()) else
                " If you probed the network at x + eps * d, probe at x + xi * d: the gradient "
                "is taken at the small step xi, and eps only scales the result.")
        _fail(what, f"with two classes one power iteration must find the most sensitive "
                    f"direction; the median |cosine| with dclearn's r_adv is {np.median(cos):.3f} "
                    f"(expected > 0.99).{hint}")

    # 3. direction, four classes: many power iterations converge to the dominant eigenvector
    model = _vat_model(4, d, seed + 1)
    want = vat_perturbation(model, x, 1e-2, eps_dir, 30,
                            generator=torch.Generator().manual_seed(seed)).numpy()
    _, got = call(model, x, 1e-2, eps_dir, 30)
    cos = _abs_cosines(got, want)
    if np.median(cos) < 0.99:
        _fail(what, f"with n_power=30 the direction should converge to dclearn's; median "
                    f"|cosine| {np.median(cos):.3f}. Repeat the gradient step n_power times, "
                    f"normalising d each time, and probe with xi * d (not eps * d).")
    _, got = call(model, x, 1e-2, eps_t, 30)
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
