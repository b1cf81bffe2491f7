"""DAC (Chang et al. 2017): pair selection, the schedule, the pairwise loss and the estimator."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.feedforward.dac import (
    DAC,
    label_features,
    lambda_schedule,
    lower_threshold,
    pairwise_bce,
    select_pairs,
    upper_threshold,
)


@pytest.fixture(scope="module")
def fitted(digits):
    return DAC(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(digits.X, digits.y)


def test_select_pairs_hand_matrix():
    sim = torch.tensor([[1.00, 0.96, 0.30, 0.60],
                        [0.96, 1.00, 0.45, 0.95],
                        [0.30, 0.45, 1.00, 0.50],
                        [0.60, 0.95, 0.50, 1.00]])
    pos, neg = select_pairs(sim, upper=0.95, lower=0.455)
    assert pos.dtype == torch.bool and neg.dtype == torch.bool
    expected_pos = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 1], [0, 0, 1, 0], [0, 1, 0, 1]]).bool()
    expected_neg = torch.tensor([[0, 0, 1, 0], [0, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]]).bool()
    assert torch.equal(pos, expected_pos)  # sim >= u: "same cluster"
    assert torch.equal(neg, expected_neg)  # sim < l: "different clusters"
    assert not (pos & neg).any()  # 0.50 and 0.60 lie between l and u: not selected


def test_schedule_tightens_and_stops():
    assert upper_threshold(0.0) == pytest.approx(0.95)
    assert lower_threshold(0.0) == pytest.approx(0.455)
    assert upper_threshold(0.1) == pytest.approx(0.85)
    assert lower_threshold(0.1) == pytest.approx(0.465)
    lams = lambda_schedule()
    assert lams[0] == 0.0 and len(lams) == 46  # 1.1 lambda < 0.495 with steps of 0.0099
    assert all(upper_threshold(lam) > lower_threshold(lam) for lam in lams)
    nxt = len(lams) * 1.1 * 0.009
    assert upper_threshold(nxt) <= lower_threshold(nxt)  # the loop stops at u <= l


def test_label_features_and_loss():
    f = label_features(torch.tensor([[20.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 20.0]]))
    assert torch.allclose(f.norm(dim=1), torch.ones(3))
    sim = f @ f.T
    assert sim[0, 0].item() == pytest.approx(1.0, abs=1e-6)  # one-hot with itself: 1
    assert sim[0, 2].item() == pytest.approx(0.0, abs=1e-6)  # two different one-hots: 0
    assert sim[1, 1].item() == pytest.approx(1.0, abs=1e-6)
    assert sim[0, 1].item() == pytest.approx(1 / math.sqrt(3), abs=1e-4)
    s = torch.tensor([[0.9, 0.2], [0.2, 0.9]])
    pos = torch.tensor([[True, False], [False, True]])
    neg = ~pos
    expected = -(2 * math.log(0.9) + 2 * math.log(0.8)) / 4
    assert pairwise_bce(s, pos, neg).item() == pytest.approx(expected, abs=1e-6)
    assert pairwise_bce(s, pos & False, neg & False).item() == 0.0


def test_fit_contract(fitted, digits):
    assert fitted.labels_.dtype == np.int64 and fitted.labels_.shape == (1797,)
    feats = fitted.transform(digits.X[:11])
    assert feats.shape == (11, 10) and feats.dtype == np.float32
    assert np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    assert np.array_equal(feats.argmax(1), fitted.labels_[:11])
    assert np.array_equal(fitted.predict(digits.X[:200]), fitted.labels_[:200])
    assert len(fitted.history_) == len(fitted.lambdas_) == 46
    assert {"lambda", "u", "l", "pos", "neg", "loss"} <= set(fitted.history_[0])
    assert "acc" in fitted.history_[-1]
    assert fitted.predict(digits.X[:20] * 0.9).shape == (20,)


def test_deterministic_images_and_flat(digits):
    X = digits.X[:256]
    kw = dict(channels=(8, 8), fc=16, lambda_step=0.1, steps_per_stage=2, batch_size=64,
              random_state=4, device="cpu", verbose=False)
    a, b = DAC(5, **kw).fit(X), DAC(5, **kw).fit(X.numpy())
    assert np.array_equal(a.labels_, b.labels_)
    flat = DAC(5, **kw).fit(digits.flat()[:256])
    assert flat.transform(digits.flat()[:3]).shape == (3, 5)
    aug = DAC(5, augment="affine", **kw).fit(X)
    assert aug.labels_.shape == (256,)


def test_errors(digits):
    est = DAC(n_clusters=10, channels=(4, 4), fc=8, lambda_step=0.3, steps_per_stage=1,
              device="cpu", verbose=False)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    bad = digits.X.clone()
    bad[1, 0, 2, 2] = float("inf")
    with pytest.raises(ValueError, match="infinite"):
        est.fit(bad)
    bad[1, 0, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    with pytest.raises(ValueError, match="must be 2-D"):
        est.fit(digits.X[:, 0])
    with pytest.raises(ValueError, match="n_clusters"):
        DAC(n_clusters=2000, verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="lower < upper"):
        DAC(upper=0.4, lower=0.5, verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="augment must be 'auto', 'affine' or None, got 'nope'"):
        DAC(augment="nope", verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match="too small"):
        DAC(channels=(4, 4, 4, 4), verbose=False).fit(digits.X)
    est.fit(digits.X[:64])
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        est.predict(digits.flat())


def test_quality_on_digits(fitted, digits):
    # measured ACC, defaults (lr 1e-3, affine augmentation, pairs chosen on clean images),
    # seeds 0-4 (results/digits.json): 0.784 0.936 0.845 0.930 0.826 (mean 0.864, NMI 0.887);
    # with lr 1e-4 and no augmentation the mean was 0.744. In an earlier build seed 0 gave
    # ACC 0.850 / NMI 0.905 with one thread and 0.760 / 0.857 with two (0.784 / 0.848 now):
    # float sums differ with the thread count and DAC's self-training amplifies it, so the
    # thresholds sit under the two-thread run (NMI moves less than ACC).
    scores = evaluate(digits.y, fitted.labels_)
    assert scores["acc"] > 0.72 and scores["nmi"] > 0.82, scores
