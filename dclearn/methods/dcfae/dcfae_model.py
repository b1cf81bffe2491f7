"""DCFAE's fitted model: the embedding, labels of new images, decoding and sampling.

The estimator and its training are in ``dcfae.py``; this mixin holds what a fitted
``DCFAE`` computes from its networks (``fae_``, ``grouper_``) and cluster centres.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import NotFittedError

from ...train import make_generator, predict_in_batches

__all__ = ["_DCFAEModelMixin"]


def _is_int(v, low: int) -> bool:
    return not isinstance(v, bool) and v is not None and np.isscalar(v) and int(v) == v \
        and int(v) >= low


class _DCFAEModelMixin:
    """Inference and generation of a fitted DCFAE."""

    # --- inference ----------------------------------------------------------------------
    def _sized(self, X: torch.Tensor) -> torch.Tensor:
        """X (N, C, H, W) resized bilinearly to ``image_size`` squared when that is set."""
        s = getattr(self, "image_size", None)
        if s is None or tuple(X.shape[-2:]) == (int(s), int(s)):
            return X
        return F.interpolate(X, size=(int(s), int(s)), mode="bilinear",
                             align_corners=False).clamp_(0.0, 1.0)

    def _encode_mean(self, X: torch.Tensor) -> torch.Tensor:
        X = self._sized(X)
        self.fae_.eval()
        return predict_in_batches(lambda xb: self.fae_.encode(xb)[0].float(), X)  # (N, latent)

    def _embed(self, X: torch.Tensor) -> torch.Tensor:
        mu = self._encode_mean(X)
        if self.grouper_ is None:
            return mu
        self.grouper_.eval()
        return predict_in_batches(self.grouper_, mu)  # (N, latent)

    def _transform(self, X):
        return self._embed(X)

    def _predict(self, X):
        Z = self._embed(X)
        C = torch.as_tensor(self.cluster_centers_, device=Z.device)
        return torch.cdist(Z, C).argmin(1)

    def _check_fitted(self) -> None:
        if not hasattr(self, "fae_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' before sampling or reconstructing.")

    @torch.inference_mode()
    def _decode(self, z: torch.Tensor) -> np.ndarray:
        self.fae_.eval()
        return predict_in_batches(lambda zb: torch.sigmoid(self.fae_.decode(zb).float()),
                                  z).cpu().numpy()

    def decode(self, Z) -> np.ndarray:
        """Images ``sigmoid(decoder(z))`` in [0, 1] for latent codes ``Z`` (n, latent)."""
        self._check_fitted()
        Zt = torch.as_tensor(np.asarray(Z, dtype=np.float32))
        if Zt.ndim != 2 or Zt.shape[1] != self.fae_.latent or not torch.isfinite(Zt).all():
            raise ValueError(f"Z must be a finite (n, {self.fae_.latent}) array of latent "
                             f"codes, got shape {tuple(Zt.shape)}.")
        return self._decode(Zt.to(self.device_))

    def reconstruct(self, X) -> np.ndarray:
        """The decoder's image at the posterior mean, ``sigmoid(decoder(mu(x)))``.

        Shaped like ``X``, or ``image_size`` squared when that is set.
        """
        Xt = self._check_fitted_input(X)
        with torch.inference_mode():
            return self._decode(self._encode_mean(Xt))

    def sample(self, n: int, random_state: int | None = None) -> np.ndarray:
        """``n`` images from the generative model: ``z ~ N(0, I)``, then the decoder (numpy)."""
        self._check_fitted()
        if not _is_int(n, 1):
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        g = make_generator(0 if random_state is None else int(random_state), "cpu")
        z = torch.randn(int(n), self.fae_.latent, generator=g).to(self.device_)
        return self._decode(z)
