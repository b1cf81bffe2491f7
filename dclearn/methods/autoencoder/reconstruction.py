"""The reconstruction error every autoencoder of chapters 02 and 03 is pretrained on."""

from __future__ import annotations

import torch

__all__ = ["reconstruction_loss"]


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, loss: str = "mse") -> torch.Tensor:
    """Mean reconstruction error of a batch: squared error or binary cross-entropy.

    ``"mse"``: mean over samples and features of ``(x_hat - x)^2``.
    ``"bce"``: mean of ``-x log x_hat - (1 - x) log(1 - x_hat)`` for a decoder with a
    sigmoid output and data in [0, 1]. Computed in float32 (safe under autocast).
    """
    x_hat, x = x_hat.float(), x.float()
    if loss == "mse":
        return (x_hat - x).pow(2).mean()
    if loss == "bce":
        x_hat = x_hat.clamp(1e-6, 1.0 - 1e-6)
        return -(x * x_hat.log() + (1.0 - x) * (1.0 - x_hat).log()).mean()
    raise ValueError(f"loss must be 'mse' or 'bce', got {loss!r}.")
