"""VaDE's fitted model: the mixture prior's parameters and what is computed from them.

``_VaDENet`` holds the VAE and the prior (pi, mu_c, sigma_c^2) that VaDE trains;
``_MixtureModelMixin`` gives VaDE (and DGG) the collapse guard and, once fitted, the
inference methods built on the equations in ``mixture_prior.py``: gamma (eq. 16) at
the posterior mean, sampling from the generative model (eqs. 1-3), the ELBO (eq. 10)
per sample. The estimator itself is in ``vade.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from ...train import make_generator, predict_in_batches
from .mixture_prior import (
    ClusterCollapseError,
    ClusterCollapseWarning,
    check_collapse,
    responsibilities,
    vade_elbo_terms,
)
from .vae import VAENet

__all__ = ["_VaDENet", "_MixtureModelMixin"]


class _VaDENet(nn.Module):
    """The VAE (``VAENet``) plus the mixture prior's parameters (pi logits, mu_c, log sigma_c^2)."""

    def __init__(self, vae: VAENet, weights: torch.Tensor, means: torch.Tensor,
                 variances: torch.Tensor) -> None:
        super().__init__()
        self.vae = vae
        self.pi_logits = nn.Parameter(torch.log(weights).clone())          # (K,)
        self.mu_c = nn.Parameter(means.clone())                              # (K, d)
        self.logvar_c = nn.Parameter(torch.log(variances).clone())          # (K, d)

    @property
    def pi(self) -> torch.Tensor:
        return torch.softmax(self.pi_logits, 0)                              # (K,) on the simplex

    def prior(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.pi, self.mu_c, self.logvar_c


class _MixtureModelMixin:
    """The collapse guard, and inference once fitted (``net_``, ``model_``, ``weights_``...)."""

    def _guard(self, labels, when: str) -> None:
        problem = check_collapse(labels, int(self.n_clusters), float(self.collapse_fraction))
        if problem is None:
            return
        self.collapsed_ = True
        msg = (f"{type(self).__name__}: cluster collapse {when}: {problem}. Try more "
               f"pretraining (pretrain_epochs), a lower learning rate (lr), or another "
               f"random_state.")
        if self.on_collapse == "raise":
            raise ClusterCollapseError(msg)
        warnings.warn(msg, ClusterCollapseWarning, stacklevel=4)

    def _store_prior(self) -> None:
        with torch.no_grad():
            pi, mu_c, logvar_c = self.model_.prior()
            self.weights_ = pi.detach().clone()                   # (K,)
            self.means_ = mu_c.detach().clone()                   # (K, d)
            self.variances_ = logvar_c.detach().exp()             # (K, d)

    def _proba(self, X: torch.Tensor) -> torch.Tensor:
        """gamma (N, K) of eq. 16 at the posterior mean mu~."""
        mu = self._encode_mean(X)                                                # (N, d)
        with torch.inference_mode():
            return responsibilities(mu, self.weights_, self.means_, self.variances_.log())

    def _predict(self, X):
        return self._proba(X).argmax(1)

    def predict_proba(self, X) -> np.ndarray:
        """``q(c | x)`` (eq. 16 at the posterior mean), (N, K) float32 numpy, rows summing to 1."""
        Xt = self._check_fitted_input(X)
        return self._proba(Xt).float().cpu().numpy()

    def sample(self, n: int, cluster: int | None = None,
               random_state: int | None = None) -> np.ndarray:
        """Draw ``n`` samples from the generative model (eqs. 1-3), decoder means as numpy.

        ``c ~ Cat(pi)`` (or ``c = cluster`` when given, an int in [0, K)), then
        ``z ~ N(mu_c, sigma_c^2)`` and the decoder mean ``E[x | z]`` (in [0, 1] for the
        Bernoulli likelihood), shaped ``(n, *input_shape)``.
        """
        self._check_fitted()
        if isinstance(n, bool) or int(n) != n or int(n) < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        K = int(self.n_clusters)
        if cluster is not None and (isinstance(cluster, bool) or int(cluster) != cluster
                                    or not 0 <= int(cluster) < K):
            raise ValueError(f"cluster must be an integer in [0, {K}), got {cluster!r}.")
        g = make_generator(0 if random_state is None else int(random_state), "cpu")
        if cluster is None:
            c = torch.multinomial(self.weights_.cpu(), int(n), replacement=True, generator=g)
        else:
            c = torch.full((int(n),), int(cluster), dtype=torch.long)
        eps = torch.randn(int(n), int(self.latent), generator=g)
        mu, var = self.means_.cpu()[c], self.variances_.cpu()[c]
        z = (mu + var.sqrt() * eps).to(self.device_)                              # (n, d)
        return self._decode_mean(z)

    def score_samples(self, X) -> np.ndarray:
        """One-sample ELBO (eq. 10) of each row of ``X`` in nats, a lower bound of log p(x)."""
        return self._elbo(self._check_fitted_input(X)).cpu().numpy()

    def _elbo(self, X: torch.Tensor) -> torch.Tensor:
        """Eq. 10 per sample (N,) with one ``z`` each, from a fixed generator, in batches."""
        g = make_generator(0, self.device_)
        self.net_.eval()
        pi, mu_c, logvar_c = self.weights_, self.means_, self.variances_.log()

        def one_batch(xb):
            out, z, mu, logvar = self.net_(xb, g)
            gamma = responsibilities(z, pi, mu_c, logvar_c)
            return vade_elbo_terms(xb, out, mu, logvar, gamma, pi, mu_c, logvar_c,
                                   self.likelihood)["elbo"]
        with torch.inference_mode():
            return predict_in_batches(one_batch, X)

    def _restart_objective(self, X: torch.Tensor) -> float:
        """The mean ELBO of the training data: what ``n_restarts`` maximises."""
        return float(self._elbo(X).mean())
