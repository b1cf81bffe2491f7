"""IDEC: Improved Deep Embedded Clustering (Guo, Gao, Liu and Yin, IJCAI 2017).

"Improved Deep Embedded Clustering with Local Structure Preservation", taught in
notebook 02 after DEC. IDEC keeps DEC's decoder and trains on ``L = L_r + gamma L_c``
(IDEC eq. 7), with ``L_r`` the reconstruction loss (eq. 4) and ``L_c`` DEC's
``KL(P || Q)`` (``dec.py``), so that the embedding keeps the local structure of the
data while DEC's loss pulls it into clusters. The training loop is DEC's.
"""

from __future__ import annotations

import numpy as np
import torch

from .dec import DEC

__all__ = ["IDEC"]


class IDEC(DEC):
    """Improved DEC (Guo et al. 2017): ``L = L_r + gamma L_c`` (IDEC eq. 7), decoder kept.

    Same parameters as ``DEC`` plus ``gamma``, the weight of the clustering loss
    (0.1 in the paper). The paper trains the clustering phase with Adam (lr 0.001).
    Fitted attributes add ``decoder_`` (used, e.g., to show reconstructions).

    ``L_r`` (eq. 4, squared error averaged over pixels) is measured on the data in the
    units the autoencoder was pretrained in: with ``pretrain_input_scale=s`` (DEC's
    recipe, s = 5) it is ``s^2`` times the error on [0, 1] pixels. That is the authors'
    setting (github.com/XifengGuo/IDEC, ``datasets.load_mnist`` divides the 0-255 pixels
    by 50, "as in the DEC paper", and the MNIST run loads DEC's weights trained on that
    scale), so gamma weighs the two terms as in the paper. ``history_`` logs ``rec`` on
    [0, 1] pixels and ``loss`` as trained. With the default scale 1 nothing changes.
    Measured on MNIST (``bench --dataset mnist``, DEC's recipe, s = 5), seed 0: ACC 0.884 /
    NMI 0.875 (paper 0.881) from the k-means start 0.825, against 0.861 / 0.828 with the
    error on [0, 1] pixels; the labels keep moving by 0.2-0.3% per target update, so
    ``tol`` does not fire and the run uses all of ``max_iter`` (1164 s on two threads).
    """

    def __init__(self, n_clusters: int = 10, gamma: float = 0.1, alpha: float = 1.0,
                 arch: str = "mlp", hidden: tuple = (128, 128, 512), latent: int = 10,
                 loss: str = "mse", pretrain_epochs: int = 120, pretrain_lr: float = 1e-3,
                 pretrain_noise: float = 0.0, pretrain_layerwise_epochs: int = 20,
                 pretrain_solver: str = "adam", pretrain_input_scale: float = 1.0,
                 batch_size: int = 64, lr: float = 1e-3, optimizer: str = "adam",
                 max_iter: int = 2000, update_interval: int = 30, tol: float = 0.001,
                 n_init: int = 20, snapshot_every: int = 0, random_state: int | None = None,
                 device: str = "auto", verbose: bool = True) -> None:
        super().__init__(n_clusters=n_clusters, alpha=alpha, arch=arch, hidden=hidden,
                         latent=latent, loss=loss, pretrain_epochs=pretrain_epochs,
                         pretrain_lr=pretrain_lr,
                         pretrain_noise=pretrain_noise,
                         pretrain_layerwise_epochs=pretrain_layerwise_epochs,
                         pretrain_solver=pretrain_solver,
                         pretrain_input_scale=pretrain_input_scale,
                         batch_size=batch_size, lr=lr,
                         optimizer=optimizer, max_iter=max_iter,
                         update_interval=update_interval, tol=tol, n_init=n_init,
                         snapshot_every=snapshot_every, random_state=random_state,
                         device=device, verbose=verbose)
        self.gamma = gamma

    def _validate_params(self, X):
        super()._validate_params(X)
        self._check_positive(gamma=self.gamma)

    def _rec_weight(self) -> float:
        # L_r in the pretraining's units: (s x_hat - s x)^2 = s^2 (x_hat - x)^2 for "mse";
        # the cross-entropy is computed against the unscaled pixels in any case.
        s = float(self.pretrain_input_scale) if self.loss == "mse" else 1.0
        return s * s

    def _clus_weight(self) -> float:
        return float(self.gamma)

    def reconstruct(self, X) -> np.ndarray:
        """``g(f(x))``: the decoder's reconstruction of ``X`` (same shape as X), numpy."""
        Xt = self._check_fitted_input(X)
        with torch.inference_mode():
            return self.decoder_(self._embed(Xt)).float().cpu().numpy()
