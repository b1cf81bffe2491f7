"""DCFAE: deep clustering with a fusion autoencoder (Chang, arXiv 2201.04727, 2022).

"Deep clustering with fusion autoencoder", the capstone of the course (notebook 05).
Three parts, each a switch of the estimator so the chapter can measure it:

1. the fusion autoencoder (FAE, ``fusion.py``): a VAE whose reconstructions are also
   judged by a discriminator, ``L = w_rec * rec + KL + w_adv * gen``
   (``adversarial_weight=0`` is a plain VAE);
2. residual networks (``networks.py``): stride-2 convolutions each followed by a
   residual block (``residual=False`` keeps the convolutions only);
3. the grouper (``similarity.py``): a dense network ``g`` on the latent means, trained
   so that the Student-t similarities of ``g(mu)`` (alpha = 1) follow those of ``mu``
   (alpha = 100), ``L_pair = -sum p_ij log q_ij`` with weight 10 (``grouper=False``
   clusters the means themselves).

Training, as the authors' code does it (github.com/AeroAsukara/DCFAE_07_04-J,
``controller.py``, ``train.py``): stage 1 trains the FAE alone (``pretrain_epochs``);
stage 2 (``epochs``) adds the pairwise term and trains everything together, nothing
frozen, on randomly rotated and shifted images (``augment.py``). Then the grouper's
outputs are clustered: k-means as the paper's text says, or spectral clustering as its
code does (``cluster``).

Decisions where the code and a clean reading differ, or where digits needed a change
(figures: digits, k-means or spectral clustering as stated, measured as in the class
docstring):

* The grouper's L2 penalties (``kernel_regularizer=l2(0.001)``) and its dropout (0.3)
  never act in the code: the custom training loop does not add ``model.losses`` and
  calls the grouper without ``training=True``. Neither is implemented.
* The code normalises the kernels over the whole (B, B) matrix, diagonal included;
  here the diagonal is left out (``include_diagonal=False``, as in t-SNE). Measured on
  seeds 0-1 (defaults otherwise): spectral 0.800 / 0.852 with the code's diagonal
  against 0.807 / 0.870 without; k-means on the same embeddings 0.858 / 0.915 against
  0.870 / 0.875. No clear difference on two seeds; the default stays t-SNE's.
* In the code the target P, computed from the encoder's means, is not detached, so the
  pairwise loss also moves the encoder to make P agree with Q. Here P is a target
  (``detach_target=True``). Measured (seed 0, plain VAE + grouper, stages of 30 + 20
  epochs, k-means): 0.826 with the target detached, 0.728 with the code's version, whose
  pairwise loss falls lower (4.3 against 7.1) while the KL term nearly doubles (14 to
  26 nats): the encoder bends P towards Q.
* The reconstruction term is weighted as if the image had the code's 32 x 32 pixels
  (``rec_weight="auto"``: 1024 / (H W), 16 on digits), which keeps the code's balance of
  reconstruction, KL, adversarial and pairwise terms. Unweighted on 8 x 8 digits the
  KL term wins: the posterior collapsed in every run tried (KL under 0.05 nats after
  40 epochs, k-means on the means 0.44-0.50).
* The adversarial weight: the code's 100 (with its Adam, at the rate a CPU fit needs)
  lets the discriminator win (its loss near 0.2), and the FAE collapses (seed 0: KL
  0.3 nats, every image in one cluster). With Adam's beta1 = 0.5 (the usual GAN setting)
  100 trains; its stability (mean ARI between the partitions of seeds 0-2, stages of
  30 + 20 epochs) is 0.775 against 0.780 for ``adversarial_weight=10`` with the code's
  optimiser, the default.
* Discriminator label noise moves targets towards 0.5 rather than above 1 (``fusion.py``).
* Spectral clustering: the code calls scikit-learn's default (an RBF affinity with
  gamma = 1 on the raw outputs, whose scale the grouper does not fix); here a
  10-nearest-neighbour graph by default (``affinity``), which has no scale to set. On
  digits (seed 0) the outputs lie a median distance of 95 apart, every RBF affinity
  underflows to 0, and ``affinity="rbf"`` gives ACC 0.10 after minutes of eigensolver.
  ``cluster="spectral"`` is the default, the more stable of the two on digits (mean ARI
  between the partitions of seeds 0-4: 0.882 against 0.844 for k-means on the same
  embeddings), although k-means scores the higher ACC there (see the class docstring).
* The code clusters the MNIST test split only, after training on all 70,000 images;
  here ``labels_`` cover the data given to ``fit``.
* The code resizes MNIST to 32 x 32 (``tf.image.resize``, bilinear) before everything;
  ``image_size=32`` does the same (``PAPER_SCALE``), the default keeps the images' size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.cluster import KMeans as _SKKMeans
from sklearn.cluster import SpectralClustering

from ...nets import glorot_init_
from ...train import (
    EpochLog,
    adam,
    autocast,
    batch_indices,
    make_generator,
    train_epochs,
)
from ..base import BaseClusterer
from ..vae.vae import reparameterize
from .augment import random_rotate_shift
from .dcfae_model import _DCFAEModelMixin, _is_int
from .fusion import discriminator_loss, fused_autoencoder_loss
from .networks import Discriminator, FusionAutoencoder, Grouper, fae_channels
from .similarity import pairwise_cross_entropy, student_t_similarities

__all__ = ["DCFAE", "CLUSTERERS", "AFFINITIES"]

CLUSTERERS = ("kmeans", "spectral")
AFFINITIES = ("nearest_neighbors", "rbf")


class DCFAE(_DCFAEModelMixin, BaseClusterer):
    """Deep clustering with a fusion autoencoder (Chang 2022); see the module docstring.

    Parameters
    ----------
    n_clusters : number of clusters.
    latent : latent dimension of the FAE and output dimension of the grouper (code: 50).
    channels, disc_channels : widths of the stride-2 stages of the encoder (mirrored by the
        decoder) and of the discriminator; ``None`` picks them from the image size
        (``networks.fae_channels``: the code's (64, 128, 256, 512) and (32, 64, 512) from
        28 x 28 up, (16, 32) and (8, 16) on 8 x 8 digits).
    residual : a residual block after every stride-2 stage (the paper's ResNet).
    grouper_hidden : hidden widths of the grouper (code: (2048, 512, 512); digits:
        (512, 256, 256)).
    adversarial_weight : ``w_adv`` (code: 100; default 10, see the module docstring); 0
        gives a plain VAE (no discriminator).
    rec_weight : ``w_rec``; ``"auto"`` is 1024 / (H W), the code's balance of terms at
        32 x 32 (1 there, 16 on digits).
    label_noise : smoothing of the discriminator's targets (code: 0.05).
    grouper : train the grouper and cluster its outputs; False clusters the FAE's means
        after the same two stages without the pairwise term.
    pairwise_weight : weight of ``L_pair`` (code: 10).
    target_alpha, embed_alpha : Student-t degrees of freedom of P (latent means, code: 100)
        and Q (grouper outputs, code: 1).
    include_diagonal, detach_target : see the module docstring (defaults: t-SNE's reading).
    pretrain_epochs, epochs : the two stages (FAE alone; FAE + grouper on augmented data).
    batch_size, lr : Adam, the same rate for both players (code: 256, 1e-4 on MNIST;
        digits: 128, 1e-3).
    augment, rotation, shift : stage-2 augmentation (code: +-10 degrees, 1/32 of the side).
    cluster : ``"kmeans"`` (the paper's text) or ``"spectral"`` (its code; the default,
        the more stable on digits).
    affinity : the spectral graph, ``"nearest_neighbors"`` (10 neighbours) or ``"rbf"``
        (gamma 1, the code's).
    n_init : restarts of k-means (and of the k-means inside spectral clustering).
    image_size : None (the images as given), or the side they are resized to (bilinear) before
        the networks, in ``fit`` and after it; the code resizes MNIST to 32 (``PAPER_SCALE``).

    Fitted attributes: ``fae_`` (``FusionAutoencoder``), ``discriminator_`` (or None),
    ``grouper_`` (or None), ``cluster_centers_`` (K, latent) in the embedding (for
    spectral clustering the mean of each cluster, used by ``predict``), ``labels_``,
    ``history_`` (per epoch: ``loss``, ``rec``, ``kl``, ``gen``, ``disc``, ``pair``).
    Methods beyond the estimator API: ``sample(n)``, ``reconstruct(X)``, ``decode(Z)``;
    ``transform(X)`` is the grouper's embedding (the FAE's means when ``grouper=False``).

    Defaults, chosen without labels: stage 1 of 20 epochs, stage 2 of 60 (the pairwise
    loss falls from about 7.2 to 6.7 over its first 35 epochs and is flat after), batches
    of 128, Adam 1e-3; spectral clustering (the more stable: mean ARI between the
    partitions of seeds 0-4, 0.882 against 0.844 for k-means on the same embeddings).
    Measured on digits (seeds 0-4, one CPU thread, 37-50 s of CPU a fit): ACC 0.815 +-
    0.028, NMI 0.832; k-means on the same embeddings 0.852 +- 0.026. The chapter's
    ablations (stages of 30 + 20 epochs): VAE + k-means 0.764, FAE + k-means 0.769, FAE
    + grouper 0.812 (spectral), the same without residual blocks 0.845 (spectral).
    On MNIST's 10,000 test images, the digits network with one more stage
    (``channels=(16, 32, 64), disc_channels=(8, 16, 32)``) and these defaults otherwise
    gives ACC 0.937, NMI 0.869 (seed 0, 1,144 CPU s on one thread; docs/results.md).
    """

    def __init__(self, n_clusters: int = 10, latent: int = 50,
                 channels: Sequence[int] | None = None,
                 disc_channels: Sequence[int] | None = None, residual: bool = True,
                 grouper_hidden: Sequence[int] = (512, 256, 256),
                 adversarial_weight: float = 10.0, rec_weight: float | str = "auto",
                 label_noise: float = 0.05,
                 grouper: bool = True, pairwise_weight: float = 10.0,
                 target_alpha: float = 100.0, embed_alpha: float = 1.0,
                 include_diagonal: bool = False, detach_target: bool = True,
                 pretrain_epochs: int = 20, epochs: int = 60, batch_size: int = 128,
                 lr: float = 1e-3, augment: bool = True, rotation: float = 10.0,
                 shift: float = 1 / 32, cluster: str = "spectral",
                 affinity: str = "nearest_neighbors", n_init: int = 20,
                 image_size: int | None = None, random_state: int | None = None,
                 device: str = "auto", verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.latent = latent
        self.channels = channels
        self.disc_channels = disc_channels
        self.residual = residual
        self.grouper_hidden = grouper_hidden
        self.adversarial_weight = adversarial_weight
        self.rec_weight = rec_weight
        self.label_noise = label_noise
        self.grouper = grouper
        self.pairwise_weight = pairwise_weight
        self.target_alpha = target_alpha
        self.embed_alpha = embed_alpha
        self.include_diagonal = include_diagonal
        self.detach_target = detach_target
        self.pretrain_epochs = pretrain_epochs
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.augment = augment
        self.rotation = rotation
        self.shift = shift
        self.cluster = cluster
        self.affinity = affinity
        self.n_init = n_init
        self.image_size = image_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # --- validation ---------------------------------------------------------------------
    def _validate_params(self, X: torch.Tensor) -> None:
        if X.ndim != 4 or X.shape[2] != X.shape[3]:
            raise ValueError(
                f"DCFAE needs square images N x C x H x W, got X of shape {tuple(X.shape)}; "
                "reshape vectors, e.g. X.reshape(-1, 1, 8, 8) for digits.")
        lo, hi = float(X.min()), float(X.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"DCFAE needs X in [0, 1] (its decoder is a sigmoid trained with "
                f"cross-entropy); got values in [{lo:.3g}, {hi:.3g}]. Rescale X, e.g. "
                "(X - X.min()) / (X.max() - X.min()).")
        if self.image_size is not None and not _is_int(self.image_size, 8):
            raise ValueError(f"image_size must be None or an integer >= 8 (the side the images "
                             f"are resized to), got {self.image_size!r}.")
        for name, low in (("latent", 1), ("pretrain_epochs", 0), ("epochs", 0),
                          ("batch_size", 2), ("n_init", 1)):
            if not _is_int(getattr(self, name), low):
                raise ValueError(f"{name} must be an integer >= {low}, got "
                                 f"{getattr(self, name)!r}.")
        for name in ("channels", "disc_channels", "grouper_hidden"):
            v = getattr(self, name)
            if v is None and name != "grouper_hidden":
                continue
            if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or len(v) < 1 \
                    or not all(_is_int(c, 1) for c in v):
                raise ValueError(f"{name} must be a non-empty tuple of positive integers"
                                 f"{' or None' if name != 'grouper_hidden' else ''}, got {v!r}.")
        self._check_nonnegative(adversarial_weight=self.adversarial_weight)
        if self.rec_weight != "auto":
            self._check_positive(rec_weight=self.rec_weight)
        self._check_nonnegative(pairwise_weight=self.pairwise_weight, rotation=self.rotation)
        self._check_positive(target_alpha=self.target_alpha, embed_alpha=self.embed_alpha,
                             lr=self.lr)
        if not 0.0 <= float(self.label_noise) <= 0.5:
            raise ValueError(f"label_noise must be in [0, 0.5], got {self.label_noise!r}.")
        if not 0.0 <= float(self.shift) < 0.5:
            raise ValueError(f"shift must be in [0, 0.5) (a fraction of the image side), "
                             f"got {self.shift!r}.")
        for name in ("residual", "grouper", "include_diagonal", "detach_target", "augment"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}.")
        if self.cluster not in CLUSTERERS:
            raise ValueError(f"cluster must be one of {CLUSTERERS}, got {self.cluster!r}.")
        if self.affinity not in AFFINITIES:
            raise ValueError(f"affinity must be one of {AFFINITIES}, got {self.affinity!r}.")
        if self.grouper and int(self.epochs) < 1:
            raise ValueError("grouper=True needs epochs >= 1 (the grouper is trained in the "
                             "second stage); set grouper=False to cluster the FAE's means.")

    # --- pieces -------------------------------------------------------------------------
    def _rec_weight(self, shape: tuple) -> float:
        if self.rec_weight == "auto":  # as many pixels as the code's 32 x 32 images
            return 1024.0 / (shape[1] * shape[2])
        return float(self.rec_weight)

    def _build(self, X: torch.Tensor) -> None:
        shape = tuple(int(s) for s in X.shape[1:])  # the networks' size (after image_size)
        enc_ch, disc_ch = fae_channels(shape[1])
        enc_ch = tuple(self.channels) if self.channels is not None else enc_ch
        disc_ch = tuple(self.disc_channels) if self.disc_channels is not None else disc_ch
        dev = self.device_
        self.adversarial_weight_ = float(self.adversarial_weight)
        self.rec_weight_ = self._rec_weight(shape)
        self.fae_ = FusionAutoencoder(shape, int(self.latent), enc_ch,
                                      bool(self.residual)).to(dev)
        self.discriminator_ = (Discriminator(shape, disc_ch, bool(self.residual)).to(dev)
                               if self.adversarial_weight_ > 0 else None)
        self.grouper_ = (Grouper(int(self.latent), tuple(self.grouper_hidden)).to(dev)
                         if self.grouper else None)
        for m in (self.fae_, self.discriminator_, self.grouper_):
            if m is not None:
                glorot_init_(m)  # Keras' default, the authors' initialisation

    # --- training -----------------------------------------------------------------------
    def _fit(self, X, y):
        dev = self.device_
        X = self._sized(X)  # (N, C, s, s) when image_size is set
        self._build(X)
        fae, disc, grp = self.fae_, self.discriminator_, self.grouper_
        fae_params = list(fae.parameters())
        grp_params = list(grp.parameters()) if grp is not None else []
        opt = adam(fae_params + grp_params, lr=float(self.lr))
        opt_d = adam(disc.parameters(), lr=float(self.lr)) if disc is not None else None
        disc_params = list(disc.parameters()) if disc is not None else []
        g_order = make_generator(self.seed_, "cpu")
        g_dev = make_generator(self.seed_ + 1, dev)
        n, bs = X.shape[0], int(self.batch_size)
        w_adv, w_pair, w_rec = (self.adversarial_weight_, float(self.pairwise_weight),
                                self.rec_weight_)

        def step(xb: torch.Tensor, log: EpochLog, stage2: bool) -> None:
            if stage2 and self.augment:
                xb = random_rotate_shift(xb, float(self.rotation), float(self.shift), g_dev)
            with autocast(dev):
                mu, logvar = fae.encode(xb)
                logits = fae.decode(reparameterize(mu, logvar, g_dev))
                d_fake = d_real = None
                if disc is not None:  # one pass over reconstructions and real images
                    d_out = disc(torch.cat([torch.sigmoid(logits), xb]))  # (2B, 1)
                    d_fake, d_real = d_out[:xb.shape[0]].float(), d_out[xb.shape[0]:].float()
            terms = fused_autoencoder_loss(xb, logits.float(), mu.float(), logvar.float(),
                                           d_fake, w_adv, w_rec)
            loss, params = terms["loss"], fae_params
            pair = torch.zeros((), device=dev)
            if stage2 and grp is not None:
                mu32 = mu.float()
                P = student_t_similarities(mu32.detach() if self.detach_target else mu32,
                                           float(self.target_alpha), bool(self.include_diagonal))
                Q = student_t_similarities(grp(mu32), float(self.embed_alpha),
                                           bool(self.include_diagonal))
                pair = pairwise_cross_entropy(P, Q)
                loss, params = loss + w_pair * pair, fae_params + grp_params
            opt.zero_grad(set_to_none=True)
            d_loss = torch.zeros((), device=dev)
            if disc is not None:
                d_loss = discriminator_loss(d_real, d_fake, float(self.label_noise), g_dev)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward(inputs=disc_params, retain_graph=True)
            loss.backward(inputs=params)  # simultaneous updates, as the authors' code
            opt.step()
            if opt_d is not None:
                opt_d.step()
            log.add(loss=loss, rec=terms["rec"], kl=terms["kl"], gen=terms["gen"],
                    disc=d_loss, pair=pair)

        def run_stage(stage2: bool):
            def epoch_fn(epoch: int) -> dict:
                log = EpochLog()
                for idx in batch_indices(n, bs, g_order, dev, drop_last=stage2):
                    step(X[idx], log, stage2)
                return log.means()
            return epoch_fn

        for m in (fae, disc, grp):
            if m is not None:
                m.train()
        state = {"autoencoder": fae, "discriminator": disc, "grouper": grp, "optimizer": opt,
                 "optimizer_d": opt_d, "batches": g_order, "noise": g_dev}
        train_epochs(run_stage(False), int(self.pretrain_epochs), desc="DCFAE stage 1 (FAE)",
                     verbose=self.verbose, history=self.history_, state=state)
        if self._y_eval is not None and self.grouper:  # display only: the FAE's means
            self.history_.append({"phase": "fae_kmeans",
                                  **self._metrics(self._kmeans(self._encode_mean(X))[1])})
        train_epochs(run_stage(True), int(self.epochs), desc="DCFAE stage 2 (grouper)",
                     verbose=self.verbose, history=self.history_, state=state)
        Z = self._embed(X).cpu().numpy().astype(np.float64)
        labels = self._cluster(Z)
        self.history_.append({"phase": "cluster", **self._metrics(labels)})
        return labels

    # --- clustering ---------------------------------------------------------------------
    def _kmeans(self, Z) -> tuple[np.ndarray, np.ndarray]:
        Z = Z.cpu().numpy().astype(np.float64) if isinstance(Z, torch.Tensor) else Z
        km = _SKKMeans(int(self.n_clusters), n_init=int(self.n_init),
                       random_state=self.seed_ % (2**32)).fit(Z)
        return km.cluster_centers_, km.labels_.astype(np.int64)

    def _cluster(self, Z: np.ndarray) -> np.ndarray:
        if self.cluster == "kmeans":
            centers, labels = self._kmeans(Z)
        else:
            sc = SpectralClustering(int(self.n_clusters), affinity=self.affinity,
                                    n_neighbors=10, gamma=1.0, n_init=int(self.n_init),
                                    assign_labels="kmeans", random_state=self.seed_ % (2**32))
            labels = sc.fit_predict(Z).astype(np.int64)
            centers = np.stack([Z[labels == k].mean(0) if (labels == k).any()
                                else np.full(Z.shape[1], np.inf)
                                for k in range(int(self.n_clusters))])
        self.cluster_centers_ = centers.astype(np.float32)
        return labels
