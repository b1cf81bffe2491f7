"""Bernoulli-Bernoulli restricted Boltzmann machines and their greedy stacking into a DBN.

Taught in notebook 06. An RBM over binary visible units ``v`` (D) and hidden units ``h`` (H)
has the energy and, summing ``h`` out, the free energy

    E(v, h) = -b_vis^T v - b_hid^T h - v^T W h,
    F(v)    = -b_vis^T v - sum_j softplus(b_hid_j + v^T W_:j),      p(v) = exp(-F(v)) / Z,

with the factorised conditionals ``p(h_j = 1 | v) = sigmoid(b_hid_j + v^T W_:j)`` and
``p(v_i = 1 | h) = sigmoid(b_vis_i + W_i: h)``. The log-likelihood gradient
``<v h^T>_data - <v h^T>_model`` needs samples of the model; contrastive divergence CD-1
(Hinton 2002) replaces them by one Gibbs step started at the data:

    h0 ~ p(h | v0),   v1 = p(v | h0),   p1 = p(h | v1),
    dW = (v0^T p(h | v0) - v1^T p1) / B,   db_vis = mean(v0 - v1),   db_hid = mean(p(h|v0) - p1),

following Hinton's practical guide (2010): hidden states are sampled on the way up, the
reconstruction and the statistics use probabilities (less noise, same expectation).

Grey-level pixels in [0, 1] are used as the probabilities of Bernoulli visible units, as in
the DBN papers' MNIST runs: ``v0`` is the grey level itself, never thresholded. The layers
above take the mean-field probabilities ``p(h | v)`` of the layer below as their data, and the
features of the stack are the top layer's probabilities (``dbn_features``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ...train import EpochLog, batch_indices, train_epochs

__all__ = ["free_energy", "hidden_probs", "visible_probs", "cd1_gradients", "init_rbm",
           "train_rbm", "train_dbn", "dbn_features"]


def hidden_probs(v: torch.Tensor, W: torch.Tensor, b_hid: torch.Tensor) -> torch.Tensor:
    """``p(h = 1 | v) = sigmoid(v W + b_hid)``: (B, D) x (D, H) -> (B, H)."""
    return torch.sigmoid(torch.addmm(b_hid, v, W))


def visible_probs(h: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor) -> torch.Tensor:
    """``p(v = 1 | h) = sigmoid(h W^T + b_vis)``: (B, H) -> (B, D)."""
    return torch.sigmoid(torch.addmm(b_vis, h, W.T))


def free_energy(v: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor,
                b_hid: torch.Tensor) -> torch.Tensor:
    """``F(v) = -b_vis^T v - sum_j softplus(b_hid_j + v^T W_:j)`` of every row, shape (B,)."""
    return -(v @ b_vis) - F.softplus(torch.addmm(b_hid, v, W)).sum(1)


def _cd1(v0, W, b_vis, b_hid, generator):
    p0 = hidden_probs(v0, W, b_hid)  # (B, H) p(h | v0)
    u = torch.rand(p0.shape, generator=generator, device=generator.device).to(p0.device)
    h0 = (u < p0).to(v0.dtype)  # binary hidden states: the information bottleneck
    v1 = visible_probs(h0, W, b_vis)  # (B, D) reconstruction
    p1 = hidden_probs(v1, W, b_hid)  # (B, H)
    b = v0.shape[0]
    dW = (v0.T @ p0 - v1.T @ p1) / b  # <v h>_data - <v h>_model, (D, H)
    return dW, (v0 - v1).mean(0), (p0 - p1).mean(0), v1


def cd1_gradients(v0: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor, b_hid: torch.Tensor,
                  generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CD-1 estimates of the log-likelihood gradient of a batch ``v0`` (B, D) in [0, 1].

    The hidden states are drawn as ``h0 = (u < p(h | v0))`` with ``u = torch.rand(B, H,
    generator=generator)``, so a seeded generator fixes them. Returns ``(dW, db_vis, db_hid)``
    of shapes (D, H), (D,), (H,): the ascent directions ``<.>_data - <.>_recon`` averaged
    over the batch (add them, times a learning rate, to the parameters).
    """
    dW, db_vis, db_hid, _ = _cd1(v0, W, b_vis, b_hid, generator)
    return dW, db_vis, db_hid


def init_rbm(X: torch.Tensor, n_hidden: int, generator: torch.Generator
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hinton's (2010) start: ``W ~ N(0, 0.01^2)``, ``b_hid = 0``, ``b_vis = logit(mean(X))``."""
    W = torch.randn(X.shape[1], n_hidden, generator=generator,
                    device=generator.device).to(X.device) * 0.01
    p = X.mean(0).clamp(1e-3, 1 - 1e-3)
    return W, torch.log(p / (1 - p)), torch.zeros(n_hidden, device=X.device)


def train_rbm(X: torch.Tensor, n_hidden: int, *, n_epochs: int, batch_size: int, lr: float,
              momentum: float = 0.9, weight_decay: float = 2e-4,
              generator: torch.Generator, verbose: bool = True, history: list | None = None,
              desc: str = "RBM") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train one RBM on ``X`` (N, D) in [0, 1] by CD-1 with momentum and weight decay.

    Minibatches are slices of a random permutation of the on-device data. The momentum is 0.5
    for the first 5 epochs, then ``momentum`` (Hinton's recipe); the L2 weight decay applies
    to ``W`` only. Each epoch logs the mean squared reconstruction error ``recon`` and the
    mean free energy of the data ``free_energy``. Returns ``(W, b_vis, b_hid)``.
    """
    W, b_vis, b_hid = init_rbm(X, n_hidden, generator)
    vel = [torch.zeros_like(W), torch.zeros_like(b_vis), torch.zeros_like(b_hid)]
    n = X.shape[0]

    def epoch(e):
        log = EpochLog()
        mom = 0.5 if e < 5 else momentum
        for idx in batch_indices(n, batch_size, generator, X.device):
            v0 = X[idx]
            dW, dbv, dbh, v1 = _cd1(v0, W, b_vis, b_hid, generator)
            dW = dW - weight_decay * W
            for p, vl, g in zip((W, b_vis, b_hid), vel, (dW, dbv, dbh)):
                vl.mul_(mom).add_(g, alpha=lr)
                p.add_(vl)
            log.add(recon=((v0 - v1) ** 2).sum(1).mean())
        log.add(free_energy=free_energy(X, W, b_vis, b_hid).mean())
        return log.means()

    train_epochs(epoch, int(n_epochs), desc=desc, verbose=verbose, history=history,
                 state={"W": W, "b_vis": b_vis, "b_hid": b_hid, "velocity_W": vel[0],
                        "velocity_b_vis": vel[1], "velocity_b_hid": vel[2],
                        "generator": generator})
    return W, b_vis, b_hid


def train_dbn(X: torch.Tensor, hidden: Sequence[int], **kwargs) -> list[tuple]:
    """Greedy layer-wise DBN (Hinton, Osindero, Teh 2006): each RBM trained by ``train_rbm``
    on the mean-field hidden probabilities of the one below. Returns ``[(W, b_vis, b_hid)]``."""
    layers, data = [], X
    for i, h in enumerate(hidden):
        layer = train_rbm(data, int(h), desc=f"RBM {i + 1}/{len(hidden)}", **kwargs)
        layers.append(layer)
        data = hidden_probs(data, layer[0], layer[2])
    return layers


def dbn_features(X: torch.Tensor, layers: Sequence[tuple]) -> torch.Tensor:
    """Top-layer mean-field probabilities of the stack: an upward pass of sigmoids."""
    for W, _, b_hid in layers:
        X = hidden_probs(X, W, b_hid)
    return X
