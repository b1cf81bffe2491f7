"""Autoencoder pretraining shared by DEC, IDEC, DCN (and VaDE, DGG), and AE + k-means.

Taught in notebook 02. The autoencoder-based methods of the chapter (DEC: Xie,
Girshick and Farhadi 2016; IDEC: Guo et al. 2017; DCN: Yang et al. 2017) all start
the same way: train an encoder ``f`` and a decoder ``g`` to reconstruct the data,

    min_{f, g}  1/N sum_i  l(x_i, g(f(x_i)))        (l: squared error or cross-entropy)

then cluster the embedding ``z_i = f(x_i)``. The papers use the fully connected
``d-500-500-2000-10`` encoder (ReLU, linear embedding layer) and its mirror as the
decoder. ``pretrain_autoencoder`` trains it in DEC's two stages (section 3.2 of the
DEC paper): a greedy layer-wise stage, where each layer and its mirror are trained
alone as a one-layer denoising autoencoder (dropout 20%) of the layer below, then
end-to-end fine-tuning of the whole stack with Adam, the only stage of IDEC's and
DCN's reference code (``layerwise_epochs=0`` gives that).

The layer-wise stage (20 epochs per layer by default for the estimators) was chosen
by the pretraining's own loss at a fixed time budget, never by clustering: on digits
(seeds 0-2, mean squared error after the whole pretraining) 120 end-to-end epochs
alone reach 0.0052; 20 layer-wise epochs + 120 reach 0.0039 in 1.27x the time; 30 + 90
0.0043 (1.18x), 15 + 100 0.0046, 40 + 80 0.0043, 30 + 120 0.0037 (1.44x, over the
budget). Measured afterwards: the embedding clusters better too (AE + k-means, see
``AEKMeans``), as does everything built on it (DEC, IDEC, DCN).

Default size, for the 2-core CPU of the course: ``d-128-128-512-10``, the papers'
shape at a quarter of the widths, trained end to end for 120 epochs of batches of 64
(about 3,400 Adam steps on digits, 6-7 s on one CPU thread). 120 epochs is what fits the
course's time budget of about 10 s per DEC fit; 200 epochs lowers the reconstruction
error further (0.0051 vs 0.0067 mean squared error) without changing what the
methods reach (measured on seeds 0-4: DEC ACC 0.833 vs 0.835, not a selection by
labels: the budget fixed the number). Within that budget the small network
reconstructs far better than the papers' one (seeds 0-2: mean squared error 0.0068 in
6.3 s, against 0.020 for ``d-500-500-2000-10`` after 30 epochs of batches of 256 in
8 s), which is why it is the default on digits; measured afterwards, AE + k-means ACC
0.79 against 0.74. (These comparisons were measured with torch's default weight
initialisation and without the layer-wise stage, before the changes described above
and in ``pretrain_autoencoder``.)
Pass ``hidden=(500, 500, 2000)`` for the papers' network (MNIST).

DEC's own recipe for MNIST (the authors' reference code, whose pretrained weights
IDEC's MNIST figures also start from) is available as an option and is what
``bench`` uses at paper scale (``dclearn.methods.registry.PAPER_SCALE``): 50,000 layer-wise steps
per layer and 100,000 fine-tuning steps of batches of 256, SGD with momentum 0.9 at
lr 0.1 divided by 10 every 20,000 steps (``solver="sgd"``), on pixels scaled by 5
(``input_scale=5``; the reference multiplies 0-255 pixels by 0.02). Measured on
MNIST, seed 0 (2 CPU threads, 72 minutes): AE + k-means 0.825, against 0.748 with 20
Adam layer-wise epochs per layer and 200 end-to-end ones, although it reconstructs
worse (0.0114 against 0.0076 mean squared error). With ``loss="bce"`` (the sigmoid
decoder VaDE's Bernoulli likelihood needs) the same recipe trains the output against
the unscaled pixels, and only the first layer absorbs the scale.

``pretrain_autoencoder`` keeps its results in an in-process cache keyed by a cheap
fingerprint of the data, the configuration and the seed: DEC, IDEC and DCN fitted
with the same settings in one notebook reuse one pretraining. It returns deep copies,
so fine-tuning one method never alters what the next one starts from. With
``DCLEARN_PRETRAIN_CACHE`` set to a folder, results are also kept on disk for later
processes (both caches live in ``pretrain_store``).

``_AEMixin`` gives an estimator the parameters, checks and embedding of that
pretraining; ``AEKMeans`` (``aekmeans.py``), DEC, IDEC and DCN use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ...nets import glorot_init_, make_autoencoder_nets
from ...train import (
    INTERRUPT,
    EpochLog,
    autocast,
    batch_indices,
    get_device,
    make_generator,
    predict_in_batches,
    train_epochs,
)
from .layerwise import SOLVERS, fold_input_scale, layerwise_pretrain, make_solver, solver_loss
from .pretrain_store import (
    clear_pretrain_cache,
    fingerprint,
    load_pretrained,
    recall,
    remember,
    save_pretrained,
    store_path,
)
from .reconstruction import reconstruction_loss

__all__ = ["pretrain_autoencoder", "clear_pretrain_cache",
           "PRETRAIN_DEFAULTS"]

#: Defaults of the pretraining shared by AEKMeans, DEC, IDEC and DCN (chosen without
#: labels, for speed on the 2-core CPU of the course; see the estimators' docstrings).
PRETRAIN_DEFAULTS = dict(arch="mlp", latent=10, hidden=(128, 128, 512), epochs=120,
                         batch_size=64, lr=1e-3, loss="mse", noise=0.0, layerwise_epochs=20,
                         layerwise_noise=0.2)

def pretrain_autoencoder(X: torch.Tensor, *, arch: str = "mlp", latent: int = 10,
                         hidden: Sequence[int] = (128, 128, 512), epochs: int = 120,
                         batch_size: int = 64, lr: float = 1e-3, loss: str = "mse",
                         noise: float = 0.0, layerwise_epochs: int = 0,
                         layerwise_noise: float = 0.2, solver: str = "adam",
                         input_scale: float = 1.0, seed: int = 0,
                         device: str | torch.device = "auto", verbose: bool = True,
                         use_cache: bool = True
                         ) -> tuple[nn.Module, nn.Module, list[dict]]:
    """Train an autoencoder on ``X`` to reconstruct it; return ``(encoder, decoder, history)``.

    X : float tensor, N x D or N x C x H x W (moved to ``device`` as one tensor).
    arch : ``"mlp"`` (``d-hidden-latent``, the papers' network for flat input) or
        ``"conv"`` (``nets.ConvEncoder``/``ConvDecoder``, images only).
    loss : ``"mse"`` (linear output) or ``"bce"`` (sigmoid output, data in [0, 1]).
    noise : denoising pretraining as in DEC (section 3.2): each input value is zeroed
        with this probability (the rest scaled by ``1 / (1 - noise)``, i.e. dropout)
        and the clean input is reconstructed. 0 trains a plain autoencoder.
    layerwise_epochs, layerwise_noise : DEC's greedy layer-wise stage (Xie et al. 2016,
        section 3.2, after Vincent et al. 2010's stacked denoising autoencoders), run
        before the end-to-end ``epochs`` when ``layerwise_epochs > 0`` (``arch="mlp"``
        only): each encoder layer and its mirror decoder layer are trained alone, for
        ``layerwise_epochs`` epochs, as a one-hidden-layer denoising autoencoder of the
        previous layer's clean output, ``min ||h - g(drop(f(drop(h))))||^2``, with
        dropout at rate ``layerwise_noise`` (the paper's 20%) on its input and on its
        hidden layer; then the stack is fine-tuned end to end without noise. The
        activations are the deep network's (ReLU, linear embedding, linear or sigmoid
        output), so the stacked layers compute exactly what they were trained to.
    solver : ``"adam"`` (Adam at ``lr``, the default) or ``"sgd"``, the solver of DEC's
        reference pretraining (``layerwise.make_solver``: SGD, momentum 0.9, ``lr``
        divided by 10 every 20,000 steps, descending the loss of MXNet's output layers,
        ``layerwise.solver_loss``: half the mean squared error, or the mean
        cross-entropy for ``loss="bce"``).
    input_scale : train on ``input_scale * X`` (DEC's reference code feeds MNIST pixels
        times 0.02, i.e. ``5 * X`` for pixels in [0, 1]; with SGD the scale sets the
        effective step size). With ``loss="mse"`` the target is the scaled input too;
        with ``loss="bce"`` the sigmoid output reconstructs the unscaled ``X``. After
        training the scale is folded into the first encoder layer (weights times
        ``input_scale``) and, for ``"mse"``, the last decoder layer (weights and bias
        divided by it), so the returned networks take and give back unscaled data and
        compute exactly what was trained (``layerwise.fold_input_scale``).
        ``arch="mlp"`` only; the logged ``rec`` is in the unscaled units.
    seed : seeds the weight initialisation and the batch order.

    Weights start from Glorot uniform with zero biases (``nets.glorot_init_``), the
    initialisation of the papers' reference code (Keras, Lasagne). Chosen by the
    pretraining's own objective, not by clustering: after the same epochs it reconstructs
    better than torch's default, on digits (120 epochs, seeds 0-4: mean squared error
    0.0053 against 0.0067) and on MNIST (d-500-500-2000-10, 200 epochs: 0.0078 against
    0.0089). Measured afterwards on MNIST, seed 0: AE + k-means ACC 0.833 (0.791 before),
    DEC 0.884, IDEC 0.883 (papers 0.843 and 0.881).

    The encoder and decoder come back in eval mode on ``device``; ``history`` is the
    list of per-epoch ``{"phase", "epoch", "rec"}`` dicts. With ``use_cache`` a second
    call with the same data (by fingerprint), configuration and seed returns deep
    copies of the first result instead of training again.
    """
    if arch not in ("mlp", "conv"):
        raise ValueError(f"arch must be 'mlp' or 'conv', got {arch!r}.")
    if loss not in ("mse", "bce"):
        raise ValueError(f"loss must be 'mse' or 'bce', got {loss!r}.")
    for name, value in (("latent", latent), ("epochs", epochs), ("batch_size", batch_size)):
        if int(value) != value or int(value) < (0 if name == "epochs" else 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}.")
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1), got {noise!r}.")
    if int(layerwise_epochs) != layerwise_epochs or layerwise_epochs < 0:
        raise ValueError(f"layerwise_epochs must be a non-negative integer, got "
                         f"{layerwise_epochs!r}.")
    if not 0.0 <= layerwise_noise < 1.0:
        raise ValueError(f"layerwise_noise must be in [0, 1), got {layerwise_noise!r}.")
    if layerwise_epochs and arch != "mlp":
        raise ValueError("layer-wise pretraining (layerwise_epochs > 0) needs arch='mlp'.")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    if not (math.isfinite(input_scale) and input_scale > 0):
        raise ValueError(f"input_scale must be a positive number, got {input_scale!r}.")
    if input_scale != 1.0 and arch != "mlp":
        raise ValueError("input_scale != 1 needs arch='mlp' (the scale is folded into the "
                         "first linear layer).")
    dev = get_device(device)
    hidden = tuple(int(h) for h in hidden)
    key = (fingerprint(X), arch, int(latent), hidden, int(epochs), int(batch_size),
           float(lr), loss, float(noise), int(layerwise_epochs), float(layerwise_noise),
           solver, float(input_scale), int(seed), str(dev))
    cached = recall(key) if use_cache else None
    if cached is not None:
        return cached
    path = store_path(key) if use_cache else None

    with torch.random.fork_rng(devices=[]):  # weights depend on `seed` only
        torch.manual_seed(int(seed))
        enc, dec = make_autoencoder_nets(X.shape[1:], int(latent), arch, hidden,
                                         out_act="sigmoid" if loss == "bce" else "identity")
        glorot_init_(enc)
        glorot_init_(dec)
    if path is not None and path.exists():  # trained by an earlier process
        history = load_pretrained(path, enc, dec)
        enc, dec = enc.to(dev).eval(), dec.to(dev).eval()
        remember(key, enc, dec, history)
        return enc, dec, history
    X = X.to(dev, torch.float32)
    scale = float(input_scale)
    if scale != 1.0:
        X = X * scale
    # squared errors are logged in unscaled units; the sigmoid decoder ("bce") is
    # trained against the unscaled data
    log_div, target_div = (scale * scale, 1.0) if loss == "mse" else (1.0, scale)
    enc, dec = enc.to(dev), dec.to(dev)
    params = [*enc.parameters(), *dec.parameters()]
    opt, sched = make_solver(params, solver, lr)
    g = make_generator(seed, "cpu")
    g_noise = make_generator(int(seed) + 1, dev)
    n, bs = X.shape[0], int(batch_size)

    def epoch_fn(epoch: int) -> dict:
        log = EpochLog()
        for idx in batch_indices(n, bs, g, dev):
            xb = X[idx]
            xin = xb
            if noise > 0:  # masking noise (dropout) on the input; reconstruct the clean xb
                keep = torch.rand(xb.shape, generator=g_noise, device=dev) >= noise
                xin = xb * keep / (1.0 - noise)
            with autocast(dev):
                rec = reconstruction_loss(dec(enc(xin)), xb / target_div, loss)
            opt.zero_grad(set_to_none=True)
            solver_loss(rec, solver, loss).backward()
            opt.step()
            if sched is not None:
                sched.step()
            log.add(rec=rec.detach() / log_div)
        return log.means()

    history: list[dict] = []
    if layerwise_epochs:
        history = layerwise_pretrain(enc, dec, X, int(layerwise_epochs), float(layerwise_noise),
                                     bs, float(lr), loss, g, g_noise, verbose, solver=solver,
                                     input_scale=scale)
    enc.train()
    dec.train()
    train_epochs(epoch_fn, int(epochs), desc="AE pretrain", verbose=verbose, history=history,
                 state={"encoder": enc, "decoder": dec, "optimizer": opt, "scheduler": sched,
                        "batches": g, "noise": g_noise})
    enc.eval()
    dec.eval()
    if scale != 1.0:
        fold_input_scale(enc, dec, scale, output=loss == "mse")
    if INTERRUPT.active:  # a partial pretraining is never reused by another fit
        return enc, dec, history
    if use_cache:
        remember(key, enc, dec, history)
    if path is not None:
        save_pretrained(path, enc, dec, history)
    return enc, dec, history



class _AEMixin:
    """Parameter checks, pretraining call and embedding shared by AEKMeans, DEC, IDEC, DCN."""

    def _unit_interval_reason(self):
        if self.loss == "bce":
            return ("with loss='bce' reconstructs each value as the probability of a sigmoid "
                    "decoder (use loss='mse' for other data)")
        return None

    def _validate_ae_params(self, X: torch.Tensor) -> None:
        if self.arch not in ("mlp", "conv"):
            raise ValueError(f"arch must be 'mlp' or 'conv', got {self.arch!r}.")
        if self.arch == "conv" and X.ndim != 4:
            raise ValueError("arch='conv' needs images (N x C x H x W), got a 2-D X.")
        if self.loss not in ("mse", "bce"):
            raise ValueError(f"loss must be 'mse' or 'bce', got {self.loss!r}.")
        self._check_positive(latent=self.latent, batch_size=self.batch_size,
                             pretrain_lr=self.pretrain_lr, n_init=self.n_init)
        self._check_nonnegative(pretrain_epochs=self.pretrain_epochs,
                                pretrain_layerwise_epochs=self.pretrain_layerwise_epochs)
        self._check_rate(pretrain_noise=self.pretrain_noise)
        if self.pretrain_solver not in SOLVERS:
            raise ValueError(f"pretrain_solver must be one of {SOLVERS}, got "
                             f"{self.pretrain_solver!r}.")
        self._check_positive(pretrain_input_scale=self.pretrain_input_scale)
        for name in ("latent", "batch_size", "n_init", "pretrain_epochs",
                     "pretrain_layerwise_epochs"):
            v = getattr(self, name)
            if int(v) != v:
                raise ValueError(f"{name} must be an integer, got {v!r}.")
        if len(tuple(self.hidden)) < 1 or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden must be a non-empty tuple of positive ints, got "
                             f"{self.hidden!r}.")

    def _pretrain(self, X: torch.Tensor) -> None:
        enc, dec, hist = pretrain_autoencoder(
            X, arch=self.arch, latent=int(self.latent), hidden=tuple(self.hidden),
            epochs=int(self.pretrain_epochs), batch_size=int(self.batch_size),
            lr=float(self.pretrain_lr), loss=self.loss, noise=float(self.pretrain_noise),
            layerwise_epochs=int(self.pretrain_layerwise_epochs) if self.arch == "mlp" else 0,
            solver=self.pretrain_solver, input_scale=float(self.pretrain_input_scale),
            seed=self.seed_, device=self.device_, verbose=self.verbose)
        self.encoder_, self.decoder_ = enc, dec
        self.history_.extend(hist)

    def _embed(self, X: torch.Tensor) -> torch.Tensor:
        """The encoder's embedding (N, latent), in large batches under inference mode."""
        self.encoder_.eval()
        return predict_in_batches(lambda xb: self.encoder_(xb).float(), X)

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        return self._embed(X)
