"""DAC: Deep Adaptive Image Clustering (Chang, Wang, Meng, Xiang, Pan, ICCV 2017).

Taught in notebook 01 (feedforward clustering). Clustering is recast as binary
pairwise classification: "do x_i and x_j belong to the same cluster?".

* A CNN maps each image to a *label feature* ``l_i`` = softmax of K outputs,
  divided by its L2 norm (the paper's constraint ``||l_i||_2 = 1``, Sec. 3.1), so
  ``l_i . l_j`` lies in [0, 1] and equals 1 exactly for two identical one-hot
  features. The predicted similarity is ``g(x_i, x_j) = l_i . l_j`` (cosine,
  Sec. 3.1).
* Adaptive learning (Sec. 3.2): with the current network, pairs whose
  similarity is at least ``u(lambda)`` are labelled "same" (r_ij = 1), pairs
  below ``l(lambda)`` "different" (r_ij = 0), the others are not used
  (v_ij = 0). The network is trained with the binary cross-entropy
  ``L(r_ij, g) = -r_ij log g - (1 - r_ij) log(1 - g)`` on the selected pairs,
  i.e. ``min sum_ij v_ij L(r_ij, l_i . l_j)`` (the paper's objective with the
  ``u(lambda) - l(lambda)`` term that drives lambda).
* lambda grows after every stage, so ``u(lambda) = 0.95 - lambda`` falls and
  ``l(lambda) = 0.455 + 0.1 lambda`` rises (the authors' schedule, lambda += 1.1 *
  0.009 per stage): more and more pairs take part; training stops when
  ``u(lambda) <= l(lambda)`` (Algorithm 1).
* Clusters: ``argmax_k l_ik``.
* Augmentation (the authors' MNIST code, not part of the objective): the pair labels
  r_ij come from the network's label features of the clean images; the loss is
  computed on randomly rotated, scaled and shifted copies of the same images, so the
  network must give transformed copies the labels it gives the originals.

Pairs are formed within a batch: a (B, B) similarity matrix, fully vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...nets import MLP
from ...train import (
    BatchStream,
    EpochLog,
    autocast,
    make_generator,
    predict_in_batches,
    train_epochs,
)
from ..base import BaseClusterer
from .imsat import random_affine

__all__ = ["DAC", "select_pairs", "label_features", "pairwise_bce", "upper_threshold",
           "lower_threshold", "lambda_schedule", "DACNet"]


def label_features(logits: torch.Tensor) -> torch.Tensor:
    """Softmax then L2 normalisation: (B, K) unit-norm label features (Sec. 3.1)."""
    return F.normalize(torch.softmax(logits, 1), dim=1)


def select_pairs(sim: torch.Tensor, upper: float, lower: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Confident pairs of a (B, B) similarity matrix (DAC Sec. 3.2).

    ``positive_mask = sim >= upper`` (r_ij = 1: same cluster) and
    ``negative_mask = sim < lower`` (r_ij = 0: different clusters); pairs in
    between are not selected (v_ij = 0). Both masks are bool tensors shaped as sim.
    """
    return sim >= upper, sim < lower


def pairwise_bce(sim: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 eps: float = 1e-7) -> torch.Tensor:
    """``1/B^2 sum_ij v_ij L(r_ij, sim_ij)``: BCE on the selected pairs, 0 elsewhere."""
    sim = sim.clamp(eps, 1 - eps)
    loss = -(positive * torch.log(sim) + negative * torch.log1p(-sim))  # (B, B)
    return loss.mean()


def upper_threshold(lam: float, start: float = 0.95) -> float:
    """``u(lambda) = start - lambda``: pairs at least this similar count as "same"."""
    return start - lam


def lower_threshold(lam: float, start: float = 0.455, rate: float = 0.1) -> float:
    """``l(lambda) = start + rate * lambda``: pairs less similar count as "different"."""
    return start + rate * lam


def lambda_schedule(step: float = 1.1 * 0.009, upper: float = 0.95, lower: float = 0.455,
                    rate: float = 0.1) -> list[float]:
    """The lambdas of all stages: ``0, step, 2 step, ...`` while ``u(lambda) > l(lambda)``."""
    lams: list[float] = []
    lam = 0.0
    while upper_threshold(lam, upper) > lower_threshold(lam, lower, rate):
        lams.append(lam)
        lam = len(lams) * step
    return lams


class DACNet(nn.Module):
    """A small DAC-style CNN: ``(N, C, H, W) -> (N, K)`` logits.

    Two blocks of two 3x3 convolutions (BatchNorm, ReLU) each followed by 2x2 max
    pooling, a hidden fully connected layer and a K-way output with BatchNorm
    (the paper's networks normalise every layer, the output included, which keeps
    the initial label features spread out instead of all near uniform).
    """

    def __init__(self, in_shape: Sequence[int], n_clusters: int,
                 channels: Sequence[int] = (32, 64), fc: int = 128) -> None:
        super().__init__()
        c, h, w = in_shape
        layers: list[nn.Module] = []
        prev = c
        for ch in channels:
            for _ in range(2):
                layers += [nn.Conv2d(prev, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch),
                           nn.ReLU()]
                prev = ch
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        if h < 1 or w < 1:
            raise ValueError(f"images of shape {tuple(in_shape)} are too small for "
                             f"{len(channels)} pooling stages.")
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(prev * h * w, fc, bias=False), nn.BatchNorm1d(fc),
                                  nn.ReLU(), nn.Linear(fc, n_clusters, bias=False),
                                  nn.BatchNorm1d(n_clusters))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (N, K) logits


class DAC(BaseClusterer):
    """Deep Adaptive Image Clustering (Chang et al. 2017).

    Parameters
    ----------
    n_clusters : number of clusters K.
    channels, fc : CNN widths (images); flat input uses an MLP ``d-fc-fc-K``
        with BatchNorm instead.
    upper, lower, lower_rate, lambda_step : the schedule
        ``u(lambda) = upper - lambda``, ``l(lambda) = lower + lower_rate * lambda``,
        lambda += lambda_step per stage (authors: 0.95, 0.455, 0.1, 1.1 * 0.009).
    steps_per_stage : gradient steps (batches) per lambda stage; ``None`` means
        one pass over the data.
    batch_size, lr : RMSprop on batches of pairs (authors: 128 and 0.001, the
        defaults). Between lr 1e-3 and 1e-4 the clustering stability over seeds 0-2
        (mean ARI between their partitions, ``tools/stability.py``, no labels) picks
        1e-3: 0.772 against 0.723.
    augment : ``"auto"`` (default: ``"affine"`` for images, None for flat input),
        ``"affine"`` (images only) or None. With ``"affine"`` the selected pairs come from
        the clean batch and the loss from small random affine transforms of it (rotation up
        to 10 degrees, scale and shift up to 10%), as the authors' MNIST code trains
        (rotation 10, shift 0.1, zoom 0.05). Measured on digits, seeds 0-4, with the
        defaults (the results store): ACC 0.784 0.936 0.845 0.930 0.826 (mean 0.864, NMI
        0.887) in about 17 s a fit. In the build that added it, with lr 1e-4: 0.828 with
        augmentation, 0.744 without; the variant that took the pair labels from the
        transformed images themselves was worse (0.648): the pairs must be chosen on clean
        images.
    random_state, device, verbose : as every dclearn estimator.

    Attributes
    ----------
    labels_ : (N,) int64 argmax of the label features; ``model_`` the network;
    ``lambdas_`` the stages run; ``history_`` per stage: lambda, u, l, loss and the
    fractions of positive / negative pairs selected.
    ``transform(X)`` returns the (N, K) unit-norm label features.
    """

    def __init__(self, n_clusters: int = 10, channels: Sequence[int] = (32, 64),
                 fc: int = 128, upper: float = 0.95, lower: float = 0.455,
                 lower_rate: float = 0.1, lambda_step: float = 1.1 * 0.009,
                 steps_per_stage: int | None = None, batch_size: int = 128,
                 lr: float = 1e-3, augment: str | None = "auto",
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.channels = channels
        self.fc = fc
        self.upper = upper
        self.lower = lower
        self.lower_rate = lower_rate
        self.lambda_step = lambda_step
        self.steps_per_stage = steps_per_stage
        self.batch_size = batch_size
        self.lr = lr
        self.augment = augment
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        if self.augment not in (None, "affine", "auto"):
            raise ValueError(f"augment must be 'auto', 'affine' or None, got {self.augment!r}.")
        if self.augment == "affine" and X.ndim != 4:
            raise ValueError("augment='affine' needs images (N, C, H, W); got flat X of shape "
                             f"{tuple(X.shape)}.")
        self._check_positive(lambda_step=self.lambda_step, lr=self.lr, fc=self.fc)
        self._check_nonnegative(lower_rate=self.lower_rate)
        if not 0 < self.lower < self.upper <= 1:
            raise ValueError(f"need 0 < lower < upper <= 1, got lower={self.lower}, "
                             f"upper={self.upper}.")
        if int(self.batch_size) < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.batch_size}.")
        if self.steps_per_stage is not None and int(self.steps_per_stage) < 1:
            raise ValueError(f"steps_per_stage must be >= 1, got {self.steps_per_stage}.")
        if not self.channels or any(int(c) < 1 for c in self.channels):
            raise ValueError(f"channels must be positive sizes, got {self.channels}.")

    def _build(self, X):
        if X.ndim == 4:
            return DACNet(X.shape[1:], self.n_clusters, [int(c) for c in self.channels],
                          int(self.fc))
        fc = int(self.fc)
        return nn.Sequential(MLP([X.shape[1], fc, fc, self.n_clusters], batch_norm=True),
                             nn.BatchNorm1d(self.n_clusters))

    def _fit(self, X, y):
        torch.manual_seed(self.seed_)
        n = X.shape[0]
        self.model_ = self._build(X).to(X.device)
        g = make_generator(self.seed_, X.device)
        opt = torch.optim.RMSprop(self.model_.parameters(), lr=self.lr, foreach=True)
        bs = min(int(self.batch_size), n)
        steps = (n // bs if self.steps_per_stage is None else int(self.steps_per_stage))
        self.lambdas_ = lambda_schedule(self.lambda_step, self.upper, self.lower,
                                        self.lower_rate)

        stream = BatchStream(n, bs, g, X.device, drop_last=True)  # fresh permutations, endless
        augment = self.augment == "affine" or (self.augment == "auto" and X.ndim == 4)

        def stage(t):
            lam = self.lambdas_[t]
            u = upper_threshold(lam, self.upper)
            lo = lower_threshold(lam, self.lower, self.lower_rate)
            self.model_.train()
            log = EpochLog()
            for _ in range(steps):
                xb = X[next(stream)]  # (B, ...)
                with autocast(X.device):
                    if augment:
                        # pair labels from the clean images, loss on transformed copies
                        # (the authors' MNIST code: targets from the current network,
                        # fitted on augmented images)
                        with torch.no_grad():
                            clean = label_features(self.model_(xb).float())
                            pos, neg = select_pairs(clean @ clean.T, u, lo)
                        feats = label_features(
                            self.model_(random_affine(xb, generator=g)).float())
                        sim = feats @ feats.T  # (B, B) l_i . l_j on the augmented views
                    else:
                        feats = label_features(self.model_(xb).float())  # (B, K) unit norm
                        sim = feats @ feats.T  # (B, B) l_i . l_j
                        pos, neg = select_pairs(sim.detach(), u, lo)
                    loss = pairwise_bce(sim, pos, neg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                log.add(loss=loss, pos=pos.float().mean(), neg=neg.float().mean())
            return {"lambda": lam, "u": u, "l": lo, **log.means()}

        def callback(t, entry):
            if self._y_eval is not None and (t % 10 == 9 or t == len(self.lambdas_) - 1):
                entry.update(self._metrics(self._predict(X)))

        train_epochs(stage, len(self.lambdas_), desc="DAC", verbose=self.verbose,
                     history=self.history_, callback=callback,
                     state={"model": self.model_, "optimizer": opt, "generator": g,
                            "batches": stream})
        return self._predict(X)

    def _features(self, X):
        self.model_.eval()
        return label_features(predict_in_batches(self.model_, X).float())

    def _predict(self, X):
        return self._features(X).argmax(1)

    def _transform(self, X):
        return self._features(X)  # (N, K) unit-norm label features
