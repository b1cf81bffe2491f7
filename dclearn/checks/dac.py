"""Checks for chapter 01's DAC: the pair selection and the expected share of positive pairs."""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape

__all__ = ["check_select_pairs", "check_positive_fraction"]


def check_select_pairs(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(sim, upper, lower) -> (positive, negative)``: DAC's pair selection (DAC eq. 6).

    ``positive = sim >= upper`` (same cluster), ``negative = sim < lower`` (different
    clusters), pairs in between are in neither mask (not used for training).
    """
    from ..methods.feedforward.dac import select_pairs

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


def check_positive_fraction(fn, seed: int = 0) -> None:
    """``fn(n_clusters, batch_size) -> float``: DAC's expected share of positive pairs.

    At DAC's optimum the label features are one-hot (Chang et al. 2017 prove it), so
    ``l_i . l_j`` is 1 for two images of the same cluster and 0 otherwise, and
    ``select_pairs`` marks a pair positive exactly when both images share a cluster. For a
    batch of ``B`` images drawn independently and uniformly over ``K`` clusters, the
    expected share of the ``B x B`` pairs (the diagonal included, as in the library's
    similarity matrix) selected as positive has a closed form (the exercise asks for it).
    The check compares with that value and with a simulation of the library's
    ``select_pairs``.
    """
    from ..methods.feedforward.dac import select_pairs

    what = "positive_fraction"
    rng = np.random.default_rng(seed)
    for k, b in ((10, 256), (2, 8), (4, 1), (5, 20), (3, 1000)):
        out = fn(k, b)
        if out is None:
            _fail(what, "returned None: did you forget a return statement?")
        try:
            got = float(out)
        except (TypeError, ValueError):
            _fail(what, f"should return one number, got {type(out).__name__}.")
        want = 1.0 / b + (1.0 - 1.0 / b) / k
        if abs(got - want) < 1e-9:
            continue
        labels = rng.integers(0, k, size=(400, b))                 # 400 random batches
        feats = torch.nn.functional.one_hot(torch.as_tensor(labels), k).double()  # (400, B, K)
        sim = feats @ feats.transpose(1, 2)                         # (400, B, B) l_i . l_j
        simulated = float(select_pairs(sim, 0.95, 0.455)[0].double().mean())
        where = (f" For K={k} clusters and a batch of B={b} images a simulation of 400 "
                 f"random batches with dclearn's select_pairs gives {simulated:.4f}.")
        if abs(got - 1.0 / k) < 1e-9:
            _fail(what, f"you gave 1/K = {got:.4f}; that ignores the B diagonal pairs (i, i), "
                        f"which are always positive (l_i . l_i = 1).{where}")
        if abs(got - (1.0 - 1.0 / b) / k) < 1e-9 or abs(got - (b - 1) / (b * k)) < 1e-9:
            _fail(what, "you counted the off-diagonal pairs but left out the diagonal: each "
                        "of the B pairs (i, i) is positive too, adding 1/B." + where)
        if abs(got - 1.0 / k ** 2) < 1e-9:
            _fail(what, "1/K^2 is the chance that both images fall in one given cluster; "
                        "summed over the K clusters the chance of sharing a cluster is "
                        "1/K." + where)
        _fail(what, f"for K={k}, B={b} you gave {got:.4f}, expected {want:.4f}.{where} Split "
                    f"the B^2 pairs into the B diagonal ones and the B(B - 1) others.")
    print("OK: positive_fraction matches the expected share of DAC's positive pairs.")
