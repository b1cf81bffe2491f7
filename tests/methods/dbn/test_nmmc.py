"""Max-margin clustering: the hinge by hand, the balance constraint, the CRP mode, toys."""

import pytest
import torch

from dclearn.methods.dbn.nmmc import (
    balanced_assign,
    crp_assign,
    fit_max_margin,
    max_margin_loss,
    multiclass_hinge,
    nmmc,
)
from dclearn.train import adam


def test_multiclass_hinge_by_hand():
    scores = torch.tensor([[3.0, 1.0, 0.5], [0.0, 0.2, 0.1], [1.0, 1.0, -2.0]])
    labels = torch.tensor([0, 2, 1])
    # row 0: 1 + 1 - 3 < 0 -> 0; row 1: 1 + 0.2 - 0.1 = 1.1; row 2: 1 + 1 - 1 = 1
    assert multiclass_hinge(scores, labels).tolist() == pytest.approx([0.0, 1.1, 1.0])
    Z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    W = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    b = torch.zeros(2)
    # scores [[2, 0], [0, 2]]: both margins met -> loss is the penalty 0.5 * 0.1 * 8
    assert max_margin_loss(Z, torch.tensor([0, 1]), W, b, 0.1).item() == pytest.approx(0.4)
    # the wrong labels: hinge 1 + 2 - 0 = 3 each
    assert max_margin_loss(Z, torch.tensor([1, 0]), W, b, 0.0).item() == pytest.approx(3.0)


def _two_blobs(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 2, generator=g) * 0.3 + torch.tensor([-2.0, 0.0])
    b = torch.randn(n, 2, generator=g) * 0.3 + torch.tensor([2.0, 0.0])
    return torch.cat([a, b]), torch.cat([torch.zeros(n), torch.ones(n)]).long()


def test_classifier_separates_and_clustering_finds_the_groups():
    Z, y = _two_blobs()
    W, b = fit_max_margin(Z, y, 2, reg=1e-3, n_steps=200, lr=0.05)
    assert torch.equal(torch.addmm(b, Z, W).argmax(1), y)
    # from a bad start (a quarter of the points swapped), the alternation recovers the groups
    start = y.clone()
    start[::4] = 1 - start[::4]
    res = nmmc(Z, 2, reg=1e-3, balance=0.5, n_steps=100, lr=0.05, max_iter=20,
               generator=torch.Generator().manual_seed(0), labels=start)
    agree = (res["labels"] == y).float().mean().item()
    assert max(agree, 1 - agree) == 1.0
    assert res["n_changed"][-1] == 0 and res["n_found"] == 2
    # from k-means (no labels given)
    res = nmmc(Z, 2, generator=torch.Generator().manual_seed(0))
    agree = (res["labels"] == y).float().mean().item()
    assert max(agree, 1 - agree) == 1.0


def test_balanced_assign_fills_every_cluster():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(100, 4, generator=g)
    scores[:, 0] += 10.0  # the argmax puts everything in cluster 0
    assert torch.bincount(scores.argmax(1), minlength=4).tolist() == [100, 0, 0, 0]
    labels = balanced_assign(scores, 12)
    counts = torch.bincount(labels, minlength=4)
    assert counts.min().item() == 12 and counts.sum().item() == 100
    # each filled cluster took the samples that lose least by moving to it
    cost = scores[:, 0] - scores[:, 3]
    moved = labels == 3
    assert cost[moved].max() <= cost[labels == 0].min()
    # already balanced scores are left as the argmax
    even = torch.eye(4).repeat(5, 1)
    assert torch.equal(balanced_assign(even, 5), even.argmax(1))
    with pytest.raises(ValueError, match="min_size"):
        balanced_assign(scores, 26)


def test_crp_assign_prior_new_cluster_and_dropping():
    scores = torch.tensor([[1.0, 0.9], [0.0, 0.1], [-5.0, -5.0]])
    counts = torch.tensor([1, 30])
    # log 30 outweighs a 0.1 score gap: both first samples join the big cluster
    assert crp_assign(scores, counts, alpha=1e-3).tolist()[:2] == [1, 1]
    # the third sample fits nowhere: with alpha = 1 (log alpha = 0) it opens cluster 2
    assert crp_assign(scores, counts, alpha=1.0).tolist() == [1, 1, 2]
    assert crp_assign(scores, counts, alpha=1.0, allow_new=False).tolist() == [1, 1, 1]
    # an empty cluster (count 0) is never chosen
    assert crp_assign(scores, torch.tensor([0, 5]), alpha=1e-3).tolist() == [1, 1, 1]


def test_nonparametric_mode_truncates_and_drops():
    Z, _ = _two_blobs()
    # truncation level 5 on two groups: the CRP prior merges the extra clusters away
    res = nmmc(Z, 5, alpha=1e-3, generator=torch.Generator().manual_seed(0))
    assert 2 <= res["n_found"] < 5
    assert res["labels"].max().item() == res["n_found"] - 1  # labels are 0..found-1
    assert res["W"].shape == (2, res["n_found"])


def test_fit_max_margin_is_plain_adam_on_the_loss():
    """The transposed storage of W (for the fast gradient layout) changes nothing but speed:
    the same steps on an ordinary (d, K) parameter give the same classifier, warm start too."""
    g = torch.Generator().manual_seed(0)
    Z = torch.randn(50, 6, generator=g)
    labels = torch.randint(0, 3, (50,), generator=g)
    W, b = fit_max_margin(Z, labels, 3, reg=1e-2, n_steps=20, lr=0.05)
    assert W.shape == (6, 3) and b.shape == (3,)
    W_ref = torch.zeros(6, 3, requires_grad=True)
    b_ref = torch.zeros(3, requires_grad=True)
    opt = adam([W_ref, b_ref], lr=0.05)
    for _ in range(20):
        loss = max_margin_loss(Z, labels, W_ref, b_ref, 1e-2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.testing.assert_close(W, W_ref.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b, b_ref.detach(), rtol=1e-5, atol=1e-6)
    before = W.clone()
    W2, b2 = fit_max_margin(Z, labels, 3, reg=1e-2, n_steps=5, lr=0.05, W=W, b=b)
    assert W2.shape == (6, 3) and not torch.equal(W2, W)
    assert torch.equal(W, before), "a warm start must not train the caller's W in place"
