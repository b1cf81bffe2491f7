"""What every exercise check shares: the error type and the comparisons."""

from __future__ import annotations

import numpy as np
import torch


class ExerciseCheckError(AssertionError):
    """A learner's function disagrees with the reference; the message explains how."""


def _fail(what: str, detail: str) -> None:
    raise ExerciseCheckError(f"{what}: {detail}")


def _np(a, name: str, what: str) -> np.ndarray:
    if a is None:
        _fail(what, f"{name} is None: did you forget a return statement?")
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    elif isinstance(a, (list, tuple)):  # e.g. a history of loss tensors that require grad
        a = [v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v for v in a]
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(what, f"{name} could not be read as numbers (got {type(a).__name__}).")


def _same_shape(got: np.ndarray, want: np.ndarray, name: str, what: str) -> None:
    if got.shape != want.shape:
        _fail(what, f"{name} has shape {got.shape}, expected {want.shape}.")


def _differentiable(value, name: str, what: str, why: str, detached: str) -> None:
    """Fail unless ``value`` is a torch tensor still in the autograd graph.

    ``name`` ("the loss") starts the message for a value that is not a tensor, ``why`` ends
    it; ``detached`` is the whole message for a tensor cut from the graph.
    """
    if not isinstance(value, torch.Tensor):
        _fail(what, f"{name} is a {type(value).__name__}, not a torch tensor: {why}")
    if not value.requires_grad:
        _fail(what, detached)


def _needs_grad(what: str, out, inputs: dict, name: str) -> None:
    """Back-propagate from ``out`` and fail unless every tensor in ``inputs`` gets a gradient."""
    if not isinstance(out, torch.Tensor):
        _fail(what, f"{name} must be a torch tensor that autograd can differentiate, got "
                    f"{type(out).__name__} (no .item(), float() or numpy inside).")
    if not out.requires_grad:
        _fail(what, f"{name} is not differentiable: it does not depend on its inputs through "
                    "autograd (was it detached, or built with numpy or a new tensor?); use "
                    "torch operations only.")
    weights = torch.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
    (out * weights).sum().backward()
    for arg, t in inputs.items():
        if t.grad is None:
            _fail(what, f"no gradient reaches {arg}: the training step needs d {name} / d {arg}.")
        if not torch.isfinite(t.grad).all():
            _fail(what, f"the gradient with respect to {arg} is not finite.")


def _passed(what: str, n: int) -> None:
    print(f"OK: {what} agrees with dclearn on {n} random cases.")
