"""DCN (notebook 02): the centroid step, the estimator contract, quality."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.autoencoder.dcn import DCN, dcn_centroid_update
from dclearn.methods.autoencoder.pretrain import clear_pretrain_cache

SMALL = dict(hidden=(32, 32, 64), pretrain_epochs=2, pretrain_layerwise_epochs=1,
             batch_size=128, n_init=2, epochs=2)


@pytest.fixture(scope="module")
def dcn(digits):
    return DCN(10, random_state=0, device="cpu", verbose=False, **SMALL).fit(digits.X, digits.y)


def test_centroid_update_hand_values():
    M = torch.tensor([[0.0, 0.0], [10.0, 10.0], [5.0, 5.0]])
    counts = torch.tensor([1, 2, 7])
    z = torch.tensor([[2.0, 0.0], [4.0, 0.0], [10.0, 13.0]])
    s = torch.tensor([0, 0, 1])
    M_new, c_new = dcn_centroid_update(M, counts, z, s)
    # cluster 0: (1 * 0 + 2 + 4) / 3 = 2; cluster 1: (2 * (10, 10) + (10, 13)) / 3 = (10, 11)
    assert torch.allclose(M_new, torch.tensor([[2.0, 0.0], [10.0, 11.0], [5.0, 5.0]]))
    assert torch.equal(c_new, torch.tensor([3, 3, 7])) and c_new.dtype == counts.dtype
    assert torch.equal(M, torch.tensor([[0.0, 0.0], [10.0, 10.0], [5.0, 5.0]]))  # not in place


def test_centroid_update_equals_sequential_rule():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(4, 3, generator=g, dtype=torch.float64)
    counts = torch.tensor([100.0, 1.0, 5.0, 20.0], dtype=torch.float64)
    z = torch.randn(50, 3, generator=g, dtype=torch.float64)
    s = torch.randint(0, 3, (50,), generator=g)  # cluster 3 gets no sample
    M_seq, c_seq = M.clone(), counts.clone()
    for zi, k in zip(z, s.tolist()):  # the paper's per-sample rule (eq. 14)
        c_seq[k] += 1
        M_seq[k] -= (M_seq[k] - zi) / c_seq[k]
    M_new, c_new = dcn_centroid_update(M, counts, z, s)
    assert torch.allclose(M_new, M_seq) and torch.equal(c_new, c_seq)
    assert torch.equal(M_new[3], M[3])


def test_fit_contract(dcn, digits):
    assert dcn.labels_.dtype == np.int64 and dcn.labels_.shape == (1797,)
    assert dcn.init_labels_.dtype == np.int64 and dcn.init_labels_.shape == (1797,)
    Z = dcn.transform(digits.X[:7])
    assert Z.dtype == np.float32 and Z.shape == (7, 10)
    assert np.array_equal(dcn.predict(digits.X), dcn.labels_)
    pred = dcn.predict(digits.X[:40].numpy() * 0.9)
    assert pred.dtype == np.int64 and pred.shape == (40,)
    assert dcn.cluster_centers_.shape == (10, 10)
    assert float(dcn.counts_.sum()) == pytest.approx(10 * 100 + 2 * 1797)
    entries = [h for h in dcn.history_ if h["phase"] == "DCN"]
    assert len(entries) == 2 and {"rec", "kmeans", "acc"} <= set(entries[0])


def test_determinism(dcn, digits):
    clear_pretrain_cache()  # really pretrain again, not from the first fit's cache
    again = DCN(10, random_state=0, device="cpu", verbose=False, **SMALL).fit(digits.X)
    assert np.array_equal(again.labels_, dcn.labels_)
    assert not any("acc" in h for h in again.history_)


def test_errors(dcn, digits):
    est = DCN(10, random_state=0, device="cpu", verbose=False, **SMALL)
    with pytest.raises(NotFittedError):
        est.predict(digits.X)
    bad = digits.flat().clone()
    bad[1, 1] = float("inf")
    with pytest.raises(ValueError, match="infinite"):
        est.fit(bad)
    with pytest.raises(ValueError, match="must be 2-D"):
        est.fit(digits.X[0, 0, 0])
    with pytest.raises(ValueError, match="n_clusters"):
        DCN(1, verbose=False).fit(digits.X)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 8, 8\)"):
        dcn.predict(digits.flat())
    for params in (dict(lamda=0.0), dict(lamda=-1.0), dict(lr=0.0), dict(epochs=-1),
                   dict(init_count=0), dict(batch_size=0), dict(arch="rnn")):
        with pytest.raises(ValueError, match="|".join(params)):
            DCN(10, verbose=False, **params).fit(digits.X[:100])
    with pytest.raises(ValueError, match="lamda must be 'auto' or a positive number"):
        DCN(10, lamda="balanced", verbose=False).fit(digits.X[:100])
    assert DCN().get_params()["lamda"] == "auto"


def test_quality_on_digits(digits):
    # Measured with the defaults (lamda="auto", layer-wise then end-to-end pretraining, 1
    # thread), seeds 0-4: 0.843 0.827 0.866 0.842 0.783, mean 0.832, against AE + k-means
    # 0.823 from the same pretraining and k-means 0.79 (end to end only: 0.798).
    est = DCN(10, random_state=0, device="cpu", verbose=False).fit(digits.X)
    assert evaluate(digits.y, est.labels_)["acc"] > 0.80
    # "auto" makes both terms of eq. 5 equal at the start: about 0.2-0.3 on digits
    assert 0.1 < est.lamda_ < 1.0, est.lamda_


def test_auto_lamda_balances_the_terms(digits):
    # the first epoch's logged terms: rec and (lamda / 2) * kmeans start equal under "auto"
    small = dict(hidden=(32, 32), pretrain_epochs=3, pretrain_layerwise_epochs=0, epochs=1,
                 batch_size=256, n_init=2, random_state=0, device="cpu", verbose=False)
    est = DCN(10, lr=1e-9, **small).fit(digits.X[:512])  # lr ~0: the terms stay at their start
    first = [h for h in est.history_ if h.get("phase") == "DCN"][0]
    assert first["rec"] == pytest.approx(0.5 * est.lamda_ * first["kmeans"], rel=0.05)
    fixed = DCN(10, lamda=2.5, **small).fit(digits.X[:512])
    assert fixed.lamda_ == 2.5
