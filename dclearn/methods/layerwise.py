"""DEC's greedy layer-wise denoising pretraining (Xie et al. 2016, section 3.2).

The first stage of ``autoencoder.pretrain_autoencoder`` (and of DEN's pretraining):
each encoder layer and its mirror decoder layer are trained alone, as a
one-hidden-layer denoising autoencoder of the clean output of the layers below
(Vincent et al. 2010's stacked denoising autoencoders), before the whole stack is
fine-tuned end to end.
"""

from __future__ import annotations

import torch
from torch import nn

from ..train import EpochLog, adam, autocast, batch_indices, train_epochs

__all__ = ["layerwise_pretrain"]


def layerwise_pretrain(enc: nn.Module, dec: nn.Module, X: torch.Tensor, epochs: int,
                        noise: float, batch_size: int, lr: float, loss: str,
                        g: torch.Generator, g_noise: torch.Generator, verbose: bool
                        ) -> list[dict]:
    """DEC's greedy stage: train each (encoder layer, mirror decoder layer) pair alone.

    Pair ``l`` maps the clean output ``h_l`` of the layers below (``h_0 = x``) to
    ``f_l(h) = act(W_l h + b_l)`` and back with ``g_l``; the loss is the squared error
    (the chosen ``loss`` for the input layer) of ``g_l(drop(f_l(drop(h_l))))`` against
    ``h_l``. Activations follow the deep network: ReLU, except the embedding layer
    (linear) and the output layer (linear, or sigmoid for ``loss="bce"``).
    """
    from .autoencoder import reconstruction_loss  # autoencoder.py imports this module

    enc_lin = [m for m in enc.modules() if isinstance(m, nn.Linear)]
    dec_lin = [m for m in dec.modules() if isinstance(m, nn.Linear)][::-1]  # [l]: l+1 -> l
    n_pairs = len(enc_lin)
    dev = X.device
    relu = torch.relu

    def drop(h: torch.Tensor) -> torch.Tensor:
        if noise == 0:
            return h
        keep = torch.rand(h.shape, generator=g_noise, device=dev) >= noise
        return h * keep / (1.0 - noise)

    history: list[dict] = []
    h = X.flatten(1)  # (N, d): clean input of the current pair
    for l in range(n_pairs):
        f, g_l = enc_lin[l], dec_lin[l]
        top, bottom = l == n_pairs - 1, l == 0
        opt = adam([*f.parameters(), *g_l.parameters()], lr)

        def epoch_fn(epoch: int, h=h, f=f, g_l=g_l, top=top, bottom=bottom, opt=opt) -> dict:
            log = EpochLog()
            for idx in batch_indices(h.shape[0], batch_size, g, dev):
                hb = h[idx]
                with autocast(dev):
                    code = f(drop(hb))
                    code = code if top else relu(code)
                    out = g_l(drop(code))
                    if bottom:
                        out = torch.sigmoid(out) if loss == "bce" else out
                        rec = reconstruction_loss(out, hb, loss)
                    else:
                        rec = reconstruction_loss(relu(out), hb, "mse")
                opt.zero_grad(set_to_none=True)
                rec.backward()
                opt.step()
                log.add(rec=rec)
            return log.means()

        train_epochs(epoch_fn, epochs, desc=f"AE layer {l + 1}/{n_pairs}", verbose=verbose,
                     history=history)
        with torch.no_grad():
            h = f(h)
            h = h if top else relu(h)
    return history
