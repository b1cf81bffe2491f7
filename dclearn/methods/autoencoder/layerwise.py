"""DEC's greedy layer-wise denoising pretraining (Xie et al. 2016, section 3.2).

The first stage of ``autoencoder.pretrain_autoencoder`` (and of DEN's pretraining):
each encoder layer and its mirror decoder layer are trained alone, as a
one-hidden-layer denoising autoencoder of the clean output of the layers below
(Vincent et al. 2010's stacked denoising autoencoders), before the whole stack is
fine-tuned end to end. Also the pieces of DEC's reference pretraining recipe that
both stages share: its SGD solver (``make_solver``, ``solver_loss``) and the folding
of its input scale into the trained networks (``fold_input_scale``).
"""

from __future__ import annotations

import torch
from torch import nn

from ...train import EpochLog, adam, autocast, batch_indices, train_epochs
from .reconstruction import reconstruction_loss

__all__ = ["layerwise_pretrain", "make_solver", "solver_loss", "fold_input_scale", "SOLVERS"]

SOLVERS = ("adam", "sgd")
# DEC's reference solver (the authors' MXNet/Caffe pretraining of the MNIST autoencoder):
# SGD with momentum 0.9, the learning rate divided by 10 every 20,000 steps.
SGD_MOMENTUM, SGD_STEP, SGD_GAMMA = 0.9, 20000, 0.1


def make_solver(params, solver: str, lr: float):
    """``(optimizer, scheduler or None)`` for a pretraining stage.

    ``"adam"``: Adam at ``lr`` (the library's default). ``"sgd"``: DEC's reference
    solver, SGD with momentum 0.9 whose rate drops tenfold every 20,000 steps
    (``scheduler.step()`` after every optimiser step). Each stage (every layer of the
    greedy stage, then the fine-tuning) starts its own schedule, as in the reference.
    """
    if solver == "adam":
        return adam(params, lr), None
    if solver == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM)
        return opt, torch.optim.lr_scheduler.StepLR(opt, SGD_STEP, SGD_GAMMA)
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")


def solver_loss(rec: torch.Tensor, solver: str, loss: str = "mse") -> torch.Tensor:
    """The loss a solver descends, from the mean reconstruction error of a batch.

    ``rec`` is the mean over the batch and the features of the squared error
    (``loss="mse"``) or of the binary cross-entropy (``loss="bce"``). Adam: ``rec``
    itself. SGD: the loss of the reference's output layers, whose gradient with
    respect to each output is ``(output - target) / n_outputs``, averaged over the
    batch, so that a learning rate means what it means there: for MXNet's
    ``LinearRegressionOutput`` (squared error) that is half the mean, for
    ``LogisticRegressionOutput`` (sigmoid and cross-entropy) the mean itself.
    (Half the *sum* over the 784 pixels diverged at lr 0.1 within the first epoch.)
    """
    if solver == "sgd" and loss == "mse":
        return rec * 0.5
    return rec


@torch.no_grad()
def fold_input_scale(enc: nn.Module, dec: nn.Module, scale: float, output: bool = True) -> None:
    """Make nets trained on ``scale * x`` take ``x``: ``f(x) = f_s(scale x)``.

    The first encoder layer is linear in its input, so multiplying its weights by
    ``scale`` absorbs the input scaling. With ``output=True`` (a linear decoder that was
    trained to give back ``scale * x``) the last decoder layer's weights and bias are
    divided by ``scale`` so that reconstructions come back in the unscaled units; a
    sigmoid decoder (``loss="bce"``) was trained against the unscaled ``x`` already and
    is left as it is (``output=False``).
    """
    first = next(m for m in enc.modules() if isinstance(m, nn.Linear))
    first.weight.mul_(scale)
    if output:
        last = [m for m in dec.modules() if isinstance(m, nn.Linear)][-1]
        last.weight.div_(scale)
        last.bias.div_(scale)


def layerwise_pretrain(enc: nn.Module, dec: nn.Module, X: torch.Tensor, epochs: int,
                        noise: float, batch_size: int, lr: float, loss: str,
                        g: torch.Generator, g_noise: torch.Generator, verbose: bool,
                        solver: str = "adam", input_scale: float = 1.0) -> list[dict]:
    """DEC's greedy stage: train each (encoder layer, mirror decoder layer) pair alone.

    Pair ``l`` maps the clean output ``h_l`` of the layers below (``h_0 = x``) to
    ``f_l(h) = act(W_l h + b_l)`` and back with ``g_l``; the loss is the squared error
    (the chosen ``loss`` for the input layer) of ``g_l(drop(f_l(drop(h_l))))`` against
    ``h_l``. Activations follow the deep network: ReLU, except the embedding layer
    (linear) and the output layer (linear, or sigmoid for ``loss="bce"``).
    ``solver`` picks the optimiser (``make_solver``; a fresh one for every pair).
    ``X`` is the training input, already multiplied by ``input_scale``: squared errors
    are logged divided by ``input_scale ** 2`` (unscaled units), and the input layer's
    sigmoid output (``loss="bce"``) is trained against the unscaled ``X / input_scale``.
    """
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
        opt, sched = make_solver([*f.parameters(), *g_l.parameters()], solver, lr)
        pair_loss = loss if bottom else "mse"
        log_div = 1.0 if pair_loss == "bce" else input_scale ** 2

        def epoch_fn(epoch: int, h=h, f=f, g_l=g_l, top=top, bottom=bottom, opt=opt,
                     sched=sched, pair_loss=pair_loss, log_div=log_div) -> dict:
            log = EpochLog()
            for idx in batch_indices(h.shape[0], batch_size, g, dev):
                hb = h[idx]
                with autocast(dev):
                    code = f(drop(hb))
                    code = code if top else relu(code)
                    out = g_l(drop(code))
                    if bottom and loss == "bce":
                        rec = reconstruction_loss(torch.sigmoid(out), hb / input_scale, "bce")
                    else:
                        rec = reconstruction_loss(out if bottom else relu(out), hb, "mse")
                opt.zero_grad(set_to_none=True)
                solver_loss(rec, solver, pair_loss).backward()
                opt.step()
                if sched is not None:
                    sched.step()
                log.add(rec=rec.detach() / log_div)
            return log.means()

        train_epochs(epoch_fn, epochs, desc=f"AE layer {l + 1}/{n_pairs}", verbose=verbose,
                     history=history, state={"encoder_layer": f, "decoder_layer": g_l,
                                             "optimizer": opt, "scheduler": sched,
                                             "batches": g, "noise": g_noise})
        with torch.no_grad():
            h = f(h)
            h = h if top else relu(h)
    return history
