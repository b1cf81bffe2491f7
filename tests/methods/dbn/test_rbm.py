"""Bernoulli RBM: free energy and CD-1 gradients against hand-computed values, greedy DBN."""

import math

import pytest
import torch

from dclearn.methods.dbn.rbm import (
    cd1_gradients,
    dbn_features,
    free_energy,
    hidden_probs,
    train_dbn,
    train_rbm,
    visible_probs,
)


def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def _softplus(x):
    return math.log1p(math.exp(x))


W = torch.tensor([[0.5, -1.0], [2.0, 0.25]])  # 2 visible x 2 hidden
B_VIS = torch.tensor([0.1, -0.2])
B_HID = torch.tensor([0.3, -0.4])


def test_free_energy_by_hand():
    v = torch.tensor([[1.0, 0.0], [0.2, 0.7]])
    got = free_energy(v, W, B_VIS, B_HID)
    want = []
    for v1, v2 in v.tolist():
        a1 = 0.3 + 0.5 * v1 + 2.0 * v2
        a2 = -0.4 - 1.0 * v1 + 0.25 * v2
        want.append(-(0.1 * v1 - 0.2 * v2) - _softplus(a1) - _softplus(a2))
    assert got.tolist() == pytest.approx(want, abs=1e-6)
    # F(v) = -log sum_h exp(-E(v, h)): check against the explicit sum over the 4 hidden states
    v1, v2 = 1.0, 0.0
    total = 0.0
    for h1 in (0.0, 1.0):
        for h2 in (0.0, 1.0):
            e = -(0.1 * v1 - 0.2 * v2) - (0.3 * h1 - 0.4 * h2) - (
                v1 * (0.5 * h1 - 1.0 * h2) + v2 * (2.0 * h1 + 0.25 * h2))
            total += math.exp(-e)
    assert got[0].item() == pytest.approx(-math.log(total), abs=1e-6)


def test_conditionals_by_hand():
    v = torch.tensor([[1.0, 1.0]])
    assert hidden_probs(v, W, B_HID).tolist()[0] == pytest.approx(
        [_sig(0.3 + 2.5), _sig(-0.4 - 0.75)], abs=1e-6)
    h = torch.tensor([[1.0, 0.0]])
    assert visible_probs(h, W, B_VIS).tolist()[0] == pytest.approx(
        [_sig(0.1 + 0.5), _sig(-0.2 + 2.0)], abs=1e-6)


def test_cd1_gradients_by_hand():
    v0 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    dW, db_vis, db_hid = cd1_gradients(v0, W, B_VIS, B_HID, torch.Generator().manual_seed(7))
    u = torch.rand(2, 2, generator=torch.Generator().manual_seed(7)).tolist()  # the same draws
    dw_sum = [[0.0, 0.0], [0.0, 0.0]]
    dbv_sum, dbh_sum = [0.0, 0.0], [0.0, 0.0]
    for n, (x1, x2) in enumerate(v0.tolist()):
        p0 = [_sig(0.3 + 0.5 * x1 + 2.0 * x2), _sig(-0.4 - 1.0 * x1 + 0.25 * x2)]
        h0 = [1.0 if u[n][j] < p0[j] else 0.0 for j in range(2)]
        r = [_sig(0.1 + 0.5 * h0[0] - 1.0 * h0[1]), _sig(-0.2 + 2.0 * h0[0] + 0.25 * h0[1])]
        p1 = [_sig(0.3 + 0.5 * r[0] + 2.0 * r[1]), _sig(-0.4 - 1.0 * r[0] + 0.25 * r[1])]
        for i, (x, xr) in enumerate(zip((x1, x2), r)):
            dbv_sum[i] += x - xr
            for j in range(2):
                dw_sum[i][j] += x * p0[j] - xr * p1[j]
        for j in range(2):
            dbh_sum[j] += p0[j] - p1[j]
    assert dW.shape == (2, 2) and db_vis.shape == (2,) and db_hid.shape == (2,)
    assert dW.flatten().tolist() == pytest.approx([x / 2 for row in dw_sum for x in row],
                                                   abs=1e-6)
    assert db_vis.tolist() == pytest.approx([x / 2 for x in dbv_sum], abs=1e-6)
    assert db_hid.tolist() == pytest.approx([x / 2 for x in dbh_sum], abs=1e-6)


def test_cd1_with_all_hidden_on_is_deterministic():
    # hidden biases of +50 make p(h|v) = 1, so the sampled states are all ones whatever the draw
    b_hid = torch.tensor([50.0, 50.0])
    v0 = torch.tensor([[1.0, 0.0]])
    a = cd1_gradients(v0, W, B_VIS, b_hid, torch.Generator().manual_seed(0))
    b = cd1_gradients(v0, W, B_VIS, b_hid, torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    r = [_sig(0.1 + 0.5 - 1.0), _sig(-0.2 + 2.0 + 0.25)]
    assert a[1].tolist() == pytest.approx([1.0 - r[0], 0.0 - r[1]], abs=1e-6)
    assert a[2].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)  # p0 = p1 = 1


def test_training_lowers_reconstruction_and_stacks(digits):
    X = digits.flat()[:400]
    hist = []
    g = torch.Generator().manual_seed(0)
    W1, bv, bh = train_rbm(X, 32, n_epochs=15, batch_size=50, lr=0.1, generator=g,
                           verbose=False, history=hist)
    assert W1.shape == (64, 32) and bv.shape == (64,) and bh.shape == (32,)
    assert hist[-1]["recon"] < 0.7 * hist[0]["recon"]  # measured 4.17 -> 2.17
    assert {"recon", "free_energy", "epoch", "phase"} <= set(hist[0])
    layers = train_dbn(X, (32, 8), n_epochs=2, batch_size=50, lr=0.1,
                       generator=torch.Generator().manual_seed(0), verbose=False)
    assert [w.shape for w, _, _ in layers] == [(64, 32), (32, 8)]
    Z = dbn_features(X, layers)
    assert Z.shape == (400, 8) and bool(((Z > 0) & (Z < 1)).all())
