"""DEC: Deep Embedded Clustering (Xie, Girshick and Farhadi, ICML 2016).

"Unsupervised Deep Embedding for Clustering Analysis", taught in notebook 02.

DEC clusters the embedding ``z_i = f(x_i)`` of a pretrained autoencoder's encoder
by self-training:

* soft assignment (DEC eq. 1), a Student's t kernel between embedding and centroid:

      q_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha+1)/2) / sum_j' (same for j')

* target distribution (eq. 3), which sharpens q and divides by the soft cluster
  frequency f_j = sum_i q_ij so that large clusters do not swallow the rest:

      p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')

* clustering loss (eq. 2): ``L_c = KL(P || Q) = sum_i sum_j p_ij log(p_ij / q_ij)``,
  minimised over the encoder's weights and the centroids mu with P held fixed.

Centroids start from k-means (``n_init=20``) on the pretrained embedding. P is
recomputed over the whole dataset every ``update_interval`` iterations (the
authors' code; not per batch) and training stops when fewer than a fraction
``tol`` of the labels changed between two updates (section 3.1.3).

IDEC (``idec.py``) subclasses ``DEC``: it keeps the decoder and adds the
reconstruction loss, through the two weights ``_rec_weight`` and ``_clus_weight``
that the training loop here reads.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ...train import BatchStream, EpochLog, adam, autocast, make_generator, train_epochs
from ..base import BaseClusterer
from ..classic.kmeans import kmeans
from .pretrain import _AEMixin
from .reconstruction import reconstruction_loss

__all__ = ["DEC", "soft_assignment", "target_distribution", "kl_clustering_loss"]


def soft_assignment(z: torch.Tensor, centroids: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Student's t soft assignment of DEC eq. 1: ``q`` (N, K), rows summing to 1.

    z : (N, d) embedded points; centroids : (K, d); alpha : degrees of freedom (1 in
    the paper).
    """
    d2 = (z.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(-1)  # (N, K) squared distances
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)  # (N, K) unnormalised kernel
    return q / q.sum(1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's target distribution (eq. 3): ``p_ij ~ q_ij^2 / f_j`` with ``f_j = sum_i q_ij``.

    q : (N, K) soft assignments over the *whole* dataset (f_j is a dataset sum).
    Returns p (N, K), rows summing to 1.
    """
    weight = q.pow(2) / q.sum(0, keepdim=True)  # (N, K)
    return weight / weight.sum(1, keepdim=True)


def kl_clustering_loss(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """DEC's clustering loss (eq. 2): ``KL(P || Q)``, summed over clusters, averaged over samples.

    p, q : (N, K). Terms with ``p_ij = 0`` contribute 0 (the limit of p log p).
    """
    p, q = p.float(), q.float()
    terms = torch.where(p > 0, p * (p.clamp_min(eps).log() - q.clamp_min(eps).log()),
                        torch.zeros_like(p))
    return terms.sum(1).mean()


class _ClusterLayer(nn.Module):
    """The encoder plus the trainable centroids mu (K, d); forward gives (z, q)."""

    def __init__(self, encoder: nn.Module, centroids: torch.Tensor, alpha: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.centroids = nn.Parameter(centroids.clone())
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)  # (B, d)
        return z, soft_assignment(z.float(), self.centroids, self.alpha)  # (B, K)


class DEC(_AEMixin, BaseClusterer):
    """Deep Embedded Clustering (Xie, Girshick and Farhadi 2016).

    Pretrain an autoencoder (shared cache, see ``pretrain_autoencoder``), initialise
    the centroids by k-means on the embedding, then minimise ``KL(P || Q)`` (eq. 2)
    over the encoder and the centroids, with the targets P (eq. 3) recomputed over
    the whole dataset every ``update_interval`` iterations. The decoder is dropped.

    Parameters
    ----------
    n_clusters : number of clusters K.
    alpha : degrees of freedom of the Student's t kernel (eq. 1).
    arch, hidden, latent, loss : the autoencoder (default ``d-128-128-512-10``; the
        paper's ``hidden=(500, 500, 2000)`` for MNIST; see ``autoencoder.py``).
    pretrain_epochs, pretrain_lr, pretrain_noise : autoencoder pretraining, end-to-end
        stage (Adam; masking-noise rate, see ``pretrain_autoencoder``).
    pretrain_layerwise_epochs : epochs per layer of the greedy layer-wise denoising stage
        that comes first (DEC, section 3.2; ``arch="mlp"`` only; 0 skips it).
    pretrain_solver, pretrain_input_scale : ``"adam"`` and 1 (default), or DEC's
        reference recipe, ``"sgd"`` with the data scaled by 5 (``pretrain_autoencoder``).
    batch_size : minibatch size of pretraining and clustering.
    lr, optimizer : clustering phase; ``"sgd"`` (momentum 0.9, the paper's) or ``"adam"``.
    max_iter : maximum clustering iterations (minibatches).
    update_interval : iterations between two recomputations of P.
    tol : stop when fewer than this fraction of labels changed between P updates.
    n_init : k-means restarts for the initial centroids (20 in the paper).
    snapshot_every : store the embedding every this many P updates in
        ``embeddings_history_`` (with ``labels_history_``); 0 (default) stores none.

    Defaults: the paper's clustering phase (SGD, lr 0.01, momentum 0.9, tol 0.1%) after the
    shared pretraining (``d-128-128-512-10``; 20 layer-wise epochs per layer, then 120 end
    to end, batches of 64); ``update_interval=30`` iterations is about one pass over digits
    (1,797 samples). Measured on digits (1 thread), seeds 0-4 (the results store): ACC 0.880
    / NMI 0.856 (0.868 0.849 0.918 0.930 0.833) in about 10 s a fit (pretraining included),
    from AE + k-means ACC 0.833 on the same embeddings (IDEC: 0.875 / 0.847); with
    end-to-end pretraining only, 0.834 in 8.9 s (the build that added the layer-wise stage,
    whose DEC scored 0.873). On MNIST with the papers' network and DEC's reference
    pretraining recipe (``dclearn.methods.registry.PAPER_SCALE``), seeds 0 and 1: DEC 0.870,
    0.858 (paper 0.843), IDEC 0.861, 0.847 (paper 0.881; reconstruction error on [0, 1]
    pixels; with the authors' units, see ``idec.IDEC``, seed 0 reaches 0.884), from AE +
    k-means 0.825, 0.815; with the earlier short Adam layer-wise stage (seeds 0 and 1) DEC
    0.829, 0.820 and IDEC 0.799, 0.788; see docs/results.md.

    Fitted attributes: ``labels_`` (argmax q), ``cluster_centers_`` (K, d),
    ``init_labels_`` (the k-means partition of the pretrained embedding that training
    starts from), ``encoder_``, ``n_iter_``, ``history_``.
    """

    def __init__(self, n_clusters: int = 10, alpha: float = 1.0, arch: str = "mlp",
                 hidden: tuple = (128, 128, 512), latent: int = 10, loss: str = "mse",
                 pretrain_epochs: int = 120, pretrain_lr: float = 1e-3,
                 pretrain_noise: float = 0.0, pretrain_layerwise_epochs: int = 20,
                 pretrain_solver: str = "adam", pretrain_input_scale: float = 1.0,
                 batch_size: int = 64,
                 lr: float = 0.01, optimizer: str = "sgd", max_iter: int = 2000,
                 update_interval: int = 30, tol: float = 0.001, n_init: int = 20,
                 snapshot_every: int = 0, random_state: int | None = None,
                 device: str = "auto", verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.alpha = alpha
        self.arch = arch
        self.hidden = hidden
        self.latent = latent
        self.loss = loss
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_noise = pretrain_noise
        self.pretrain_layerwise_epochs = pretrain_layerwise_epochs
        self.pretrain_solver = pretrain_solver
        self.pretrain_input_scale = pretrain_input_scale
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.update_interval = update_interval
        self.tol = tol
        self.n_init = n_init
        self.snapshot_every = snapshot_every
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # --- validation -------------------------------------------------------------------
    def _validate_params(self, X):
        self._validate_ae_params(X)
        self._check_positive(alpha=self.alpha, lr=self.lr, max_iter=self.max_iter,
                             update_interval=self.update_interval)
        self._check_nonnegative(tol=self.tol, snapshot_every=self.snapshot_every)
        for name in ("max_iter", "update_interval", "snapshot_every"):
            v = getattr(self, name)
            if int(v) != v:
                raise ValueError(f"{name} must be an integer, got {v!r}.")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}.")

    # --- training -----------------------------------------------------------------------
    def _rec_weight(self) -> float:
        return 0.0

    def _clus_weight(self) -> float:
        return 1.0

    def _fit(self, X, y):
        dev = self.device_
        name = type(self).__name__
        self._pretrain(X)
        g = make_generator(self.seed_, "cpu")

        # centroids: k-means on the pretrained embedding (section 3.2)
        Z = self._embed(X)  # (N, d)
        C, km_labels, _ = kmeans(Z, self.n_clusters, int(self.n_init), generator=g)
        self.init_labels_ = km_labels.cpu().numpy().astype(np.int64)
        self.history_.append({"phase": f"{name} init", **self._metrics(km_labels)})
        model = _ClusterLayer(self.encoder_, C, float(self.alpha)).to(dev)
        self.model_ = model
        params = list(model.parameters())
        rec_w, clus_w = self._rec_weight(), self._clus_weight()
        if rec_w > 0:
            params += list(self.decoder_.parameters())
        if self.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=self.lr, momentum=0.9, foreach=True)
        else:
            opt = adam(params, lr=self.lr)

        n, bs, interval = X.shape[0], int(self.batch_size), int(self.update_interval)
        self.embeddings_history_: list[np.ndarray] = []
        self.labels_history_: list[np.ndarray] = []

        stream = BatchStream(n, bs, g, dev)  # index slices of fresh permutations, endless
        state = {"labels": km_labels.to(dev), "P": None, "iters": 0}

        def update_targets(k: int) -> float:
            """Recompute P over the dataset; return the fraction of labels that changed."""
            model.eval()
            Z = self._embed(X)  # (N, d)
            with torch.inference_mode():
                q = soft_assignment(Z, model.centroids.detach(), model.alpha)  # (N, K)
                state["P"] = target_distribution(q)
                labels = q.argmax(1)
                changed = (labels != state["labels"]).float().mean()
            state["labels"] = labels
            if self.snapshot_every and k % int(self.snapshot_every) == 0:
                self.embeddings_history_.append(Z.cpu().numpy())
                self.labels_history_.append(labels.cpu().numpy())
            return float(changed)

        def interval_fn(k: int) -> dict:
            changed = update_targets(k)
            if k > 0 and changed < self.tol:
                return {"delta_label": changed, "stop": 1.0}
            model.train()
            self.decoder_.train()
            log = EpochLog()
            P = state["P"]
            steps = min(interval, int(self.max_iter) - k * interval)
            state["iters"] += steps
            for _ in range(steps):
                idx = next(stream)
                xb = X[idx]
                with autocast(dev):
                    z, q = model(xb)
                    clus = kl_clustering_loss(P[idx], q)
                    if rec_w > 0:
                        rec = reconstruction_loss(self.decoder_(z), xb, self.loss)
                        total = rec_w * rec + clus_w * clus
                    else:
                        total = clus
                opt.zero_grad(set_to_none=True)
                total.backward()
                opt.step()
                if rec_w > 0:
                    log.add(loss=total, kl=clus, rec=rec)
                else:
                    log.add(kl=clus)
            return {**log.means(), "delta_label": changed, "stop": 0.0}

        def callback(k: int, entry: dict) -> bool:
            entry.update(self._metrics(state["labels"]))
            return entry.pop("stop") > 0

        n_updates = math.ceil(int(self.max_iter) / interval)
        train_epochs(interval_fn, n_updates, desc=name, verbose=self.verbose,
                     history=self.history_, callback=callback,
                     state={"model": model, "decoder": self.decoder_, "optimizer": opt,
                            "generator": g, "batches": stream, "targets": state})
        model.eval()
        self.decoder_.eval()
        self.n_iter_ = state["iters"]
        self.cluster_centers_ = model.centroids.detach()
        labels = self._proba(X).argmax(1)
        if self.snapshot_every:
            self.embeddings_history_.append(self._embed(X).cpu().numpy())
            self.labels_history_.append(labels.cpu().numpy())
        self.history_.append({"phase": f"{name} final", **self._metrics(labels)})
        return labels

    # --- inference ----------------------------------------------------------------------
    def _proba(self, X: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return soft_assignment(self._embed(X), self.cluster_centers_, float(self.alpha))

    def _predict(self, X):
        return self._proba(X).argmax(1)

    def predict_proba(self, X) -> np.ndarray:
        """Soft assignments q (N, K) of DEC eq. 1, as a float32 numpy array."""
        Xt = self._check_fitted_input(X)
        return self._proba(Xt).cpu().numpy()

