"""Health checks for GAN training (notebook 04): collapse, a runaway discriminator, NaN.

GAN training fails in three recognisable ways, and every GAN of this chapter watches
for them while it trains:

* **mode collapse**: the generator covers a few modes only. Measured as the entropy
  of the histogram of the categories that the model's classifier predicts for the
  generated samples of an epoch, divided by ``log K`` (1 = every category equally
  often, 0 = one category only). Below ``collapse_threshold`` -> warning, except in
  an epoch that ends within the first ``warmup_steps`` steps of the fit (default 0),
  when the classifier has not yet learnt to tell the categories apart.
* **the discriminator wins outright**: its real/fake accuracy stays pinned near 1
  (above ``d_acc_threshold``) for ``patience`` consecutive steps; the generator
  then receives vanishing (minimax) or uninformative gradients. -> warning.
* **divergence**: a NaN or infinite loss stops the fit with
  ``dclearn.train.TrainingDivergedError`` naming the first bad step and its epoch.

Per-step values stay on the device during an epoch (no ``.item()`` in the batch loop)
and are read once at the end of the epoch. Findings go to the epoch's ``history_``
entry (``d_acc``, ``d_win_steps``, ``fake_entropy``) and, once per fit and kind, to a
``GANHealthWarning``.
"""

from __future__ import annotations

import math
import warnings

import torch

from ...train import TrainingDivergedError

__all__ = ["GANHealthWarning", "GANHealth", "entropy", "category_entropy",
           "longest_run_above", "first_nonfinite_step"]


class GANHealthWarning(UserWarning):
    """A GAN trains badly: mode collapse or a discriminator that wins outright."""


def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Shannon entropy (nats) of probability vectors along ``dim``; 0 log 0 counted as 0."""
    return -(p * torch.log(p.clamp_min(1e-12))).sum(dim)


def category_entropy(counts: torch.Tensor, normalized: bool = True) -> float:
    """Entropy of a histogram of predicted categories (K,), divided by log K when ``normalized``."""
    counts = counts.detach().double().cpu()
    k = counts.numel()
    total = float(counts.sum())
    if total <= 0:
        return float("nan")
    h = float(entropy(counts / total))
    return h / math.log(k) if normalized and k > 1 else h


def longest_run_above(values: torch.Tensor, threshold: float, start: int = 0) -> tuple[int, int]:
    """Lengths (final, longest) of the runs of ``values > threshold``.

    ``start`` is the length of a run carried over from before ``values`` (the previous
    epoch's final run), so runs that span epochs are counted whole.
    """
    run, longest = int(start), int(start)
    for above in (values.detach().cpu() > threshold).tolist():
        run = run + 1 if above else 0
        longest = max(longest, run)
    return run, longest


def first_nonfinite_step(values: torch.Tensor) -> int | None:
    """Index of the first row of ``values`` (S,) or (S, L) holding a NaN or inf, else None."""
    bad = ~torch.isfinite(values.detach())
    if bad.ndim > 1:
        bad = bad.any(1)
    idx = bad.nonzero().flatten()
    return int(idx[0]) if idx.numel() else None


class GANHealth:
    """Collects per-step GAN losses and discriminator accuracies; judges them once an epoch.

    ``step(losses, d_acc, fake_categories)`` in the batch loop (tensors, no sync);
    ``end_epoch(epoch)`` returns the entries to add to ``history_``, warns and raises
    as described in the module docstring. ``n_classes`` enables the collapse check.
    """

    def __init__(self, name: str = "GAN", n_classes: int | None = None,
                 collapse_threshold: float = 0.5, d_acc_threshold: float = 0.99,
                 patience: int = 200, warmup_steps: int = 0) -> None:
        self.name = name
        self.warmup_steps = int(warmup_steps)
        self.n_classes = n_classes
        self.collapse_threshold = float(collapse_threshold)
        self.d_acc_threshold = float(d_acc_threshold)
        self.patience = int(patience)
        self.global_step = 0
        self.win_run = 0
        self.warned: set[str] = set()
        self.events: list[dict] = []
        self._reset()

    def state_dict(self) -> dict:
        """What carries over between epochs, for checkpoints (``dclearn.train``)."""
        return {"global_step": self.global_step, "win_run": self.win_run,
                "warned": sorted(self.warned), "events": [dict(e) for e in self.events]}

    def load_state_dict(self, state: dict) -> None:
        self.global_step, self.win_run = int(state["global_step"]), int(state["win_run"])
        self.warned = set(state["warned"])
        self.events = [dict(e) for e in state["events"]]
        self._reset()

    def _reset(self) -> None:
        self._losses: list[torch.Tensor] = []
        self._names: tuple[str, ...] | None = None
        self._acc: list[torch.Tensor] = []
        self._counts: torch.Tensor | None = None

    def step(self, losses: dict[str, torch.Tensor], d_acc: torch.Tensor | None = None,
             fake_categories: torch.Tensor | None = None) -> None:
        """Record one optimisation step (all arguments stay on the device)."""
        if self._names is None:
            self._names = tuple(losses)
        self._losses.append(torch.stack([losses[k].detach().float() for k in self._names]))
        if d_acc is not None:
            self._acc.append(d_acc.detach().float())
        if fake_categories is not None and self.n_classes:
            c = torch.bincount(fake_categories.detach().flatten(), minlength=self.n_classes)
            self._counts = c if self._counts is None else self._counts + c

    def end_epoch(self, epoch: int) -> dict:
        """Judge the epoch: raise on a non-finite loss, warn on collapse or a winning D."""
        entry: dict = {}
        n_steps = len(self._losses)
        if n_steps:
            losses = torch.stack(self._losses)  # (S, L)
            bad = first_nonfinite_step(losses)
            if bad is not None:
                row = losses[bad].cpu().tolist()
                names = ", ".join(f"{k}={v}" for k, v in zip(self._names, row)
                                  if not math.isfinite(v))
                step = self.global_step + bad
                raise TrainingDivergedError(
                    f"{self.name}: loss became non-finite at step {step} (epoch {epoch}): "
                    f"{names}. Try a smaller learning rate or another seed.")
        if self._acc:
            acc = torch.stack(self._acc)  # (S,)
            self.win_run, longest = longest_run_above(acc, self.d_acc_threshold, self.win_run)
            entry["d_acc"] = float(acc.mean())
            entry["d_win_steps"] = self.win_run
            if longest >= self.patience:
                self._warn("d_wins", epoch,
                           f"{self.name}: the discriminator's real/fake accuracy stayed above "
                           f"{self.d_acc_threshold} for {longest} steps (epoch {epoch}); the "
                           f"generator gets little useful gradient. Lower D's learning rate or "
                           f"use the non-saturating generator loss.")
        if self._counts is not None:
            h = category_entropy(self._counts)
            entry["fake_entropy"] = h
            # a classifier that has had fewer than ``warmup_steps`` updates cannot tell the
            # categories apart yet: its histogram is recorded but not judged
            if h < self.collapse_threshold and self.global_step + n_steps > self.warmup_steps:
                self._warn("collapse", epoch,
                           f"{self.name}: mode collapse at epoch {epoch}: the generated samples "
                           f"fall into few categories (normalised entropy of their histogram "
                           f"{h:.3f} < {self.collapse_threshold}).")
        self.global_step += n_steps
        self._reset()
        return entry

    def _warn(self, kind: str, epoch: int, message: str) -> None:
        self.events.append({"kind": kind, "epoch": epoch, "message": message})
        if kind not in self.warned:
            self.warned.add(kind)
            warnings.warn(message, GANHealthWarning, stacklevel=3)
