"""DEPICT (dclearn/methods/autoencoder/depict*.py): objectives, network, contract, quality."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.autoencoder.depict import DEPICT
from dclearn.methods.autoencoder.depict_net import DEPICTNet
from dclearn.methods.autoencoder.depict_objective import (
    balanced_target_distribution,
    depict_clustering_loss,
)

FAST = dict(pretrain_epochs=3, init_epochs=1, epochs=2, random_state=0, device="cpu",
            verbose=False)


@pytest.fixture(scope="module")
def small(digits):
    return digits.subset(300, seed=0)


@pytest.fixture(scope="module")
def fitted(small):
    return DEPICT(n_clusters=10, **FAST).fit(small.X, small.y)


def test_balanced_target_by_hand():
    q = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    # column sums 1.4 and 0.6: row 1 -> (0.5/sqrt(1.4), 0.5/sqrt(0.6)) = (0.42258, 0.64550)
    expected = torch.tensor([[0.42258 / 1.06808, 0.64550 / 1.06808],
                             [0.76064 / 0.88974, 0.12910 / 0.88974]])
    p = balanced_target_distribution(q)
    assert torch.allclose(p, expected, atol=1e-4)
    assert torch.allclose(p.sum(1), torch.ones(2))
    # the released-code variant q^2 / f: row 1 -> (0.25/1.4, 0.25/0.6) normalised = (0.3, 0.7)
    ps = balanced_target_distribution(q, sharpen=True)
    assert torch.allclose(ps[0], torch.tensor([0.3, 0.7]), atol=1e-5)


def test_balanced_target_favours_small_clusters():
    q = torch.tensor([[0.5, 0.5]] + [[0.9, 0.1]] * 5)  # cluster 0 is much larger
    p = balanced_target_distribution(q)
    assert p[0, 1] > 0.5  # the undecided sample is pushed to the small cluster
    assert torch.allclose(balanced_target_distribution(torch.full((4, 2), 0.5)),
                          torch.full((4, 2), 0.5))  # balanced and undecided: unchanged


def test_clustering_loss_by_hand():
    logits = torch.zeros(1, 2)
    assert depict_clustering_loss(torch.tensor([[1.0, 0.0]]), logits).item() == pytest.approx(
        math.log(2))
    t = torch.tensor([[0.25, 0.75]])
    lg = torch.tensor([[1.0, 2.0]])
    ref = -(0.25 * torch.log_softmax(lg, 1)[0, 0] + 0.75 * torch.log_softmax(lg, 1)[0, 1])
    assert depict_clustering_loss(t, lg).item() == pytest.approx(ref.item())


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 7, 7), (64,)])
def test_net_reconstructs_every_layer(shape):
    net = DEPICTNet(shape, n_clusters=4, embedding_dim=4, channels=(6, 5))
    x = torch.rand(3, *shape)
    layers, logits, recons = net(x, noisy=True)
    assert logits.shape == (3, 4)
    assert [r.shape for r in recons] == [t.shape for t in layers]
    assert layers[0].shape == x.shape
    clean, _ = net.encode(x)
    assert torch.equal(clean[0], x)  # the clean pathway is not corrupted
    net.dropout = 0.5  # noisy pathway: every encoder layer corrupted but the last
    torch.manual_seed(0)
    noisy, _ = net.encode(x, noisy=True)
    assert not torch.equal(noisy[1], net.act(net.encoder[0](noisy[0])))
    assert torch.equal(noisy[2], net.act(net.encoder[1](noisy[1])))


def test_contract(fitted, small):
    assert fitted.labels_.dtype == np.int64 and fitted.labels_.shape == (300,)
    assert fitted.init_labels_.dtype == np.int64 and fitted.init_labels_.shape == (300,)
    Z = fitted.transform(small.X[:7])
    assert Z.dtype == np.float32 and Z.shape == (7, 10)  # embedding_dim defaults to K
    proba = fitted.predict_proba(small.X[:7])
    assert proba.shape == (7, 10) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert np.array_equal(fitted.predict(small.X), fitted.labels_)  # argmax of the clean q
    assert fitted.predict(np.random.default_rng(0).random((5, 1, 8, 8))).shape == (5,)
    phases = {h["phase"] for h in fitted.history_}
    assert {"DEPICT pretrain", "DEPICT init", "DEPICT"} <= phases
    assert "acc" in fitted.history_[-1]


def test_deterministic(fitted, small):
    again = DEPICT(n_clusters=10, **FAST).fit(small.X.numpy())
    assert np.array_equal(again.labels_, fitted.labels_)


def test_vector_input(small):
    est = DEPICT(n_clusters=3, channels=(16,), **FAST).fit(small.flat()[:60])
    assert est.labels_.shape == (60,) and est.transform(small.flat()[:2]).shape == (2, 3)


def test_errors(fitted, small):
    with pytest.raises(NotFittedError):
        DEPICT(verbose=False).predict(small.X)
    bad = small.X.clone()
    bad[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        DEPICT(**FAST).fit(bad)
    with pytest.raises(ValueError, match="must be 2-D"):
        DEPICT(**FAST).fit(small.X[:, 0])
    for k in (1, 301):
        with pytest.raises(ValueError, match="n_clusters"):
            DEPICT(n_clusters=k, **FAST).fit(small.X)
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        fitted.predict(small.flat())
    for bad_param in (dict(dropout=1.0), dict(target="dec"), dict(init="spectral"),
                      dict(lr=0.0), dict(batch_size=0), dict(channels=()),
                      dict(epochs=-1), dict(clus_weight=0), dict(init_patience=-1),
                      dict(init_patience=1.5)):
        with pytest.raises(ValueError, match="|".join(bad_param)):
            DEPICT(**{**FAST, **bad_param}).fit(small.X)


def test_init_phase_stops_when_held_out_agreement_stops_improving(small):
    # the authors' rule: fit the head to the k-means labels on 90% of the data, watch the
    # NMI with those labels on the other 10%, stop after more than init_patience epochs without gain
    cfg = {**FAST, "init_epochs": 40, "init_patience": 1, "epochs": 0}
    est = DEPICT(n_clusters=10, **cfg).fit(small.X)
    init = [h for h in est.history_ if h["phase"] == "DEPICT init"]
    assert 3 <= len(init) < 40  # at least the best epoch and two without gain
    nmis = [h["held_out_nmi_to_init"] for h in init]
    assert all(0.0 <= v <= 1.0 for v in nmis)
    assert max(nmis[-2:]) <= max(nmis[:-2])  # stopped because it stopped improving
    # init_patience=0: a fixed number of epochs on all the data, no held-out score
    est = DEPICT(n_clusters=10, **{**cfg, "init_epochs": 3, "init_patience": 0}).fit(small.X)
    init = [h for h in est.history_ if h["phase"] == "DEPICT init"]
    assert len(init) == 3 and "held_out_nmi_to_init" not in init[0]


def test_target_parameter_reaches_the_self_training(small):
    # same seed, same start: only the targets of the self-training phase differ
    runs = {t: DEPICT(n_clusters=10, **{**FAST, "target": t}).fit(small.X)
            for t in ("sharpened", "paper")}
    assert DEPICT().target == "sharpened"  # the authors' code's form, chosen by stability
    starts = [r.init_labels_ for r in runs.values()]
    assert (starts[0] == starts[1]).all()
    clus = [[h["clus"] for h in r.history_ if h["phase"] == "DEPICT"] for r in runs.values()]
    assert clus[0] != clus[1]


def test_quality_on_digits(digits):
    # Measured with the defaults, seeds 0-4: ACC 0.817 0.831 0.804 0.704 0.819 (mean 0.795),
    # NMI 0.747-0.795 (seed 0: 0.786). About k-means' 0.79 on average: DEPICT's labels stay close to
    # the k-means partition of its small conv-DAE embedding (0.68-0.80 on digits).
    # Seed 0 is tested.
    est = DEPICT(n_clusters=10, random_state=0, device="cpu", verbose=False).fit(digits.X)
    scores = evaluate(digits.y, est.labels_)
    assert scores["acc"] > 0.79 and scores["nmi"] > 0.77
    first = next(h for h in est.history_ if h["phase"] == "DEPICT init")
    last = [h for h in est.history_ if h["phase"] == "DEPICT init"][-1]
    assert last["clus"] < first["clus"]  # the head learns the initial clusters
