"""GAN health checks: entropy of generated categories, a runaway discriminator, NaN steps."""

import math
import warnings

import pytest
import torch

import dclearn.methods.gan.gan as gan_module
from dclearn.methods.gan.gan import GAN
from dclearn.methods.gan.health import (
    GANHealth,
    GANHealthWarning,
    category_entropy,
    entropy,
    first_nonfinite_step,
    longest_run_above,
)
from dclearn.train import TrainingDivergedError

TINY = dict(hidden=32, channels=(8, 16), n_epochs=2, batch_size=50, device="cpu",
            verbose=False)


def test_entropies_hand_values():
    p = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    assert entropy(p).tolist() == pytest.approx([math.log(2), 0.0], abs=1e-6)
    assert category_entropy(torch.tensor([5, 5, 5, 5])) == pytest.approx(1.0)
    assert category_entropy(torch.tensor([8, 0, 0, 0])) == pytest.approx(0.0, abs=1e-9)
    assert category_entropy(torch.tensor([1, 1, 0, 0])) == pytest.approx(0.5)
    assert category_entropy(torch.tensor([1, 1, 0, 0]), normalized=False) == pytest.approx(
        math.log(2))


def test_runs_and_nonfinite_steps():
    acc = torch.tensor([1.0, 1.0, 0.5, 1.0, 1.0, 1.0])
    assert longest_run_above(acc, 0.99) == (3, 3)
    assert longest_run_above(acc, 0.99, start=4) == (3, 6)  # a run carried over from before
    assert first_nonfinite_step(torch.tensor([[1.0, 2.0], [3.0, float("inf")]])) == 1
    assert first_nonfinite_step(torch.ones(4)) is None


def test_forced_collapse_is_detected():
    health = GANHealth("toy", n_classes=10)
    with pytest.warns(GANHealthWarning, match="mode collapse at epoch 0"):
        for _ in range(3):
            health.step({"loss": torch.tensor(1.0)}, fake_categories=torch.zeros(32,
                                                                                 dtype=torch.long))
        entry = health.end_epoch(0)
    assert entry["fake_entropy"] == pytest.approx(0.0, abs=1e-9)
    balanced = GANHealth("toy", n_classes=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        balanced.step({"loss": torch.tensor(1.0)}, fake_categories=torch.arange(4).repeat(8))
        assert balanced.end_epoch(0)["fake_entropy"] == pytest.approx(1.0)


def test_collapse_not_judged_during_warmup():
    # an epoch ending within the first warmup_steps steps records its histogram without a
    # warning; the first epoch past them is judged
    health = GANHealth("toy", n_classes=10, warmup_steps=10)
    one_class = torch.zeros(32, dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            health.step({"loss": torch.tensor(1.0)}, fake_categories=one_class)
        assert health.end_epoch(0)["fake_entropy"] == pytest.approx(0.0, abs=1e-9)
    with pytest.warns(GANHealthWarning, match="mode collapse at epoch 1"):
        for _ in range(6):
            health.step({"loss": torch.tensor(1.0)}, fake_categories=one_class)
        health.end_epoch(1)


def test_winning_discriminator_is_detected_across_epochs():
    health = GANHealth("toy", patience=5)
    for epoch in range(2):  # 3 pinned steps per epoch: the run of 6 spans the two epochs
        for _ in range(3):
            health.step({"loss": torch.tensor(0.1)}, d_acc=torch.tensor(1.0))
        if epoch == 0:
            assert health.end_epoch(epoch)["d_win_steps"] == 3
    with pytest.warns(GANHealthWarning, match="stayed above 0.99 for 6 steps"):
        assert health.end_epoch(1)["d_win_steps"] == 6
    assert [e["kind"] for e in health.events] == ["d_wins"]


def test_nan_loss_stops_the_fit_naming_the_step(digits, monkeypatch):
    calls = {"n": 0}
    original = gan_module.discriminator_loss

    def poisoned(real, fake):
        calls["n"] += 1
        loss = original(real, fake)
        return loss * float("nan") if calls["n"] == 6 else loss  # the 6th step is step 5

    monkeypatch.setattr(gan_module, "discriminator_loss", poisoned)
    # 200 samples in batches of 50: 4 steps an epoch, so step 5 is in epoch 1
    with pytest.raises(TrainingDivergedError, match=r"step 5 \(epoch 1\).*loss_d=nan"):
        GAN(random_state=0, **TINY).fit(digits.X[:200])


def test_collapse_recorded_in_a_fit(digits):
    def one_class(x):  # a classifier that sees one category in everything: forced collapse
        return torch.zeros(x.shape[0], dtype=torch.long)

    with pytest.warns(GANHealthWarning, match="mode collapse"):
        est = GAN(mode_classifier=one_class, n_modes=10, random_state=0, **TINY).fit(
            digits.X[:200])
    assert all(h["fake_entropy"] == 0.0 for h in est.history_)
    assert est.health_.events[0]["kind"] == "collapse"
