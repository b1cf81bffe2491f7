"""DCN: Deep Clustering Network (Yang, Fu, Sidiropoulos and Hong, ICML 2017).

"Towards K-means-friendly Spaces: Simultaneous Deep Learning and Clustering",
taught in notebook 02. DCN trains an autoencoder whose embedding should suit
k-means, with hard assignments ``s_i`` (one-hot) and centroids ``M`` (d x K):

    min_{W, M, s}  sum_i  l(g(f(x_i)), x_i) + (lambda / 2) ||f(x_i) - M s_i||^2      (eq. 5)

It is solved by the paper's alternating scheme (section 3.2, Algorithm 1), one
minibatch at a time:

1. network step (eq. 10): with M and s fixed, one gradient step on the batch loss;
2. assignment step (eq. 13): ``s_i = argmin_k ||f(x_i) - M_k||`` with the new network;
3. centroid step (eq. 14): for every sample of the batch assigned to k,
   ``c_k <- c_k + 1`` then ``M_k <- M_k - (1 / c_k)(M_k - f(x_i))``. The per-cluster
   count ``c_k`` is the step size: each centroid is a running mean of the embeddings
   assigned to it, its k-means start counted as ``init_count`` of them (below;
   ``dcn_centroid_update``, vectorised).

The reconstruction term is the paper's squared error summed over the features of a
sample (averaged over the batch), so ``lamda`` has the paper's meaning: the weight that
"balances" the reconstruction and the clustering terms (section 3). The paper sets it
per dataset (0.05 on MNIST's 784 pixels with its own pretraining); its scale depends on
the data's dimension and on the embedding's scale, which pretraining leaves arbitrary.
The default ``lamda="auto"`` takes that sentence literally and without labels: after
the k-means initialisation, ``lamda = 2 R / C`` with ``R`` the mean reconstruction error
and ``C`` the mean squared distance to the assigned centroid, so both terms of eq. 5
start equal (about 0.25 on digits). The value used is ``lamda_``.

Initialisation: autoencoder pretraining (shared cache, see ``autoencoder.py``), then
k-means on the embedding for M and s. Counts start at ``init_count`` (100, as in the
authors' code), so the first batches do not throw the centroids around.
"""

from __future__ import annotations

import numpy as np
import torch

from ...train import (
    EpochLog,
    adam,
    autocast,
    batch_indices,
    make_generator,
    train_epochs,
)
from ..base import BaseClusterer
from ..classic.kmeans import assign_clusters, kmeans, squared_distances
from .pretrain import _AEMixin
from .reconstruction import reconstruction_loss

__all__ = ["DCN", "dcn_centroid_update"]


def dcn_centroid_update(centroids: torch.Tensor, counts: torch.Tensor, z: torch.Tensor,
                        assignments: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DCN's centroid step (eq. 14) for a batch, vectorised.

    centroids : (K, d) current M; counts : (K,) samples assigned so far (c_k);
    z : (B, d) embedded batch; assignments : (B,) cluster index of every row of z.

    Processing the batch sample by sample with ``c_k <- c_k + 1`` and
    ``M_k <- M_k - (1/c_k)(M_k - z_i)`` keeps ``M_k`` the running mean of everything
    assigned to k, so the whole batch amounts to

        M_k <- (c_k M_k + sum_{i: s_i = k} z_i) / (c_k + m_k),    c_k <- c_k + m_k

    with ``m_k`` the batch's count for cluster k (clusters with m_k = 0 unchanged).
    Returns ``(new_centroids, new_counts)``; the inputs are not modified.
    """
    k = centroids.shape[0]
    z = z.to(centroids.dtype)
    sums = torch.zeros_like(centroids).index_add_(0, assignments, z)  # (K, d)
    m = torch.bincount(assignments, minlength=k)  # (K,) batch counts
    new_counts = counts + m.to(counts.dtype)
    c_old = counts.to(centroids.dtype)[:, None]
    c_new = new_counts.to(centroids.dtype)[:, None]
    updated = (c_old * centroids + sums) / c_new.clamp_min(1e-12)
    new_centroids = torch.where(m[:, None] > 0, updated, centroids)
    return new_centroids, new_counts


class DCN(_AEMixin, BaseClusterer):
    """Deep Clustering Network (Yang et al. 2017): autoencoder + k-means loss, alternated.

    Parameters
    ----------
    n_clusters : number of clusters K.
    lamda : weight lambda of the k-means term ``(lambda/2) ||f(x) - M s||^2`` (eq. 5);
        spelled as in the authors' code (``lambda`` is a Python keyword). ``"auto"``
        (default): both terms equal at the start, see above.
    arch, hidden, latent, loss : the autoencoder (default ``d-128-128-512-10``; the
        paper's ``hidden=(500, 500, 2000)`` for MNIST; see ``autoencoder.py``).
    pretrain_epochs, pretrain_lr, pretrain_noise : autoencoder pretraining, end-to-end
        stage (Adam; masking-noise rate, see ``pretrain_autoencoder``).
    pretrain_layerwise_epochs : epochs per layer of the greedy layer-wise denoising stage
        that comes first (DEC, section 3.2; ``arch="mlp"`` only; 0 skips it).
    pretrain_solver, pretrain_input_scale : ``"adam"`` and 1 (default), or DEC's
        reference recipe, ``"sgd"`` with the data scaled by 5 (``pretrain_autoencoder``).
    batch_size : minibatch size of pretraining and clustering.
    epochs, lr : clustering phase (passes over the data, Adam learning rate).
    init_count : initial per-cluster count c_k (the centroid step's inverse step size).
    n_init : k-means restarts for the initial M.

    Fitted attributes: ``labels_`` (nearest centroid of the final embedding),
    ``cluster_centers_`` (K, d), ``counts_`` (K,), ``lamda_`` (the weight used),
    ``init_labels_`` (the k-means partition of the pretrained embedding),
    ``encoder_``, ``decoder_``, ``history_``.
    """

    def __init__(self, n_clusters: int = 10, lamda: float | str = "auto", arch: str = "mlp",
                 hidden: tuple = (128, 128, 512), latent: int = 10, loss: str = "mse",
                 pretrain_epochs: int = 120, pretrain_lr: float = 1e-3,
                 pretrain_noise: float = 0.0, pretrain_layerwise_epochs: int = 20,
                 pretrain_solver: str = "adam", pretrain_input_scale: float = 1.0,
                 batch_size: int = 64,
                 epochs: int = 20, lr: float = 1e-3, init_count: float = 100.0,
                 n_init: int = 20, random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.lamda = lamda
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
        self.epochs = epochs
        self.lr = lr
        self.init_count = init_count
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._validate_ae_params(X)
        if isinstance(self.lamda, str):
            if self.lamda != "auto":
                raise ValueError(f"lamda must be 'auto' or a positive number, got "
                                 f"{self.lamda!r}.")
        else:
            self._check_positive(lamda=self.lamda)
        self._check_positive(lr=self.lr, init_count=self.init_count)
        self._check_nonnegative(epochs=self.epochs)
        if int(self.epochs) != self.epochs:
            raise ValueError(f"epochs must be an integer, got {self.epochs!r}.")

    def _fit(self, X, y):
        dev = self.device_
        self._pretrain(X)
        enc, dec = self.encoder_, self.decoder_
        g = make_generator(self.seed_, "cpu")

        Z = self._embed(X)  # (N, d)
        M, s, _ = kmeans(Z, self.n_clusters, int(self.n_init), generator=g)  # (K, d), (N,)
        self.init_labels_ = s.cpu().numpy().astype(np.int64)
        self.history_.append({"phase": "DCN init", **self._metrics(s)})
        counts = torch.full((self.n_clusters,), float(self.init_count), device=dev)
        state = {"M": M.to(dev), "counts": counts, "s": s.to(dev)}
        opt = adam([*enc.parameters(), *dec.parameters()], lr=self.lr)
        n, bs = X.shape[0], int(self.batch_size)
        d_in = float(self.n_features_in_)
        if self.lamda == "auto":  # both terms of eq. 5 equal at the start
            with torch.inference_mode():  # the training loss's terms, over the whole data
                rec0 = sum(reconstruction_loss(dec(enc(X[i:i + 4096])), X[i:i + 4096],
                                               self.loss) * min(4096, n - i)
                           for i in range(0, n, 4096)) / n * d_in
                km0 = (Z.to(dev) - state["M"][state["s"]]).pow(2).sum(1).mean()
            self.lamda_ = float(2.0 * rec0 / km0.clamp_min(1e-12))
        else:
            self.lamda_ = float(self.lamda)
        lam = self.lamda_

        def epoch_fn(epoch: int) -> dict:
            enc.train()
            dec.train()
            log = EpochLog()
            M, counts, s = state["M"], state["counts"], state["s"]
            for idx in batch_indices(n, bs, g, dev):
                xb = X[idx]
                # 1. network step, M and s fixed (eq. 10)
                with autocast(dev):
                    z = enc(xb)
                    # l(x, g(f(x))) = ||x - g(f(x))||^2: summed over features, as in eq. 5
                    rec = reconstruction_loss(dec(z), xb, self.loss) * d_in
                    km = (z.float() - M[s[idx]]).pow(2).sum(1).mean()
                    loss = rec + 0.5 * lam * km
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                log.add(loss=loss, rec=rec, kmeans=km)
                # 2. assignment step with the updated network (eq. 13)
                with torch.no_grad():
                    zb = enc(xb).float()
                    sb = assign_clusters(zb, M)
                    s[idx] = sb
                    # 3. centroid step, counts as step sizes (eq. 14)
                    M, counts = dcn_centroid_update(M, counts, zb, sb)
            state.update(M=M, counts=counts, s=s)
            return log.means()

        def callback(epoch: int, entry: dict) -> None:
            entry.update(self._metrics(state["s"]))

        train_epochs(epoch_fn, int(self.epochs), desc="DCN", verbose=self.verbose,
                     history=self.history_, callback=callback,
                     state={"encoder": enc, "decoder": dec, "optimizer": opt, "batches": g,
                            "clusters": state})
        enc.eval()
        dec.eval()
        self.cluster_centers_ = state["M"]
        self.counts_ = state["counts"]
        labels = self._predict(X)
        self.history_.append({"phase": "DCN final", **self._metrics(labels)})
        return labels

    def _predict(self, X):
        with torch.inference_mode():
            return assign_clusters(self._embed(X), self.cluster_centers_)

    def distances(self, X):
        """Squared distances (N, K) of the embedded ``X`` to the centroids (numpy)."""
        Xt = self._check_fitted_input(X)
        with torch.inference_mode():
            return squared_distances(self._embed(Xt), self.cluster_centers_).cpu().numpy()
