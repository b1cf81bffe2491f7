"""From a pretrained autoencoder to a VAE: the weight transfer VaDE (and DGG) start from.

VaDE (``vade.py``) pretrains a plain autoencoder, then starts its VAE from it: the
encoder trunk and the ``mu~`` half of the last layer take the pretrained encoder's
weights (``copy_encoder``), the decoder takes the pretrained decoder's, and the
``log sigma~^2`` half of the last layer, which has no pretrained counterpart, gets its
own start (``init_logvar_head``).
"""

from __future__ import annotations

import torch
from torch import nn

from ...train import make_generator

__all__ = ["last_linear", "copy_encoder", "init_logvar_head"]


def last_linear(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of the last ``nn.Linear`` in ``module`` (the embedding layer)."""
    last = [m for m in module.modules() if isinstance(m, nn.Linear)][-1]
    return last.weight, last.bias


@torch.no_grad()
def init_logvar_head(encoder: nn.Module, latent: int, logvar_init: float | None,
                     seed: int) -> None:
    """Start the ``log sigma~^2`` half (rows ``latent:``) of the encoder's last layer.

    ``logvar_init`` a number: zero weights and that bias, the same small posterior
    variance for every input. ``None``: Glorot-uniform weights (bound
    ``sqrt(6 / (fan_in + latent))``, drawn from ``seed``) and zero bias, as Keras
    initialises the head in the VaDE authors' code.
    """
    w, b = last_linear(encoder)
    if logvar_init is None:
        g = make_generator(seed, "cpu")
        bound = (6.0 / (w.shape[1] + latent)) ** 0.5
        head = torch.empty(w[latent:].shape).uniform_(-bound, bound, generator=g)
        w[latent:].copy_(head)
        b[latent:].zero_()
    else:
        w[latent:].zero_()
        b[latent:].fill_(float(logvar_init))


def copy_encoder(src: nn.Module, dst: nn.Module, latent: int) -> None:
    """Copy a pretrained encoder (output ``latent``) into a VAE encoder (output ``2*latent``).

    Parameters of equal shape are copied; the last layer's ``(latent, ...)`` weight and
    bias fill the first (``mu~``) half of the VAE's ``(2*latent, ...)`` ones.
    """
    src_state, dst_state = src.state_dict(), dst.state_dict()
    if set(src_state) != set(dst_state):
        raise ValueError("pretrained encoder and VAE encoder have different layers.")
    with torch.no_grad():
        for key, value in src_state.items():
            target = dst_state[key]
            if target.shape == value.shape:
                target.copy_(value)
            elif target.shape[0] == 2 * latent and value.shape[0] == latent \
                    and target.shape[1:] == value.shape[1:]:
                target[:latent].copy_(value)
            else:
                raise ValueError(f"cannot copy pretrained {key}: {tuple(value.shape)} into "
                                 f"{tuple(target.shape)}.")
