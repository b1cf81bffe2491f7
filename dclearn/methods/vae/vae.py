"""The variational autoencoder (Kingma and Welling, ICLR 2014), building block of chapter 03.

"Auto-Encoding Variational Bayes", taught in notebook 03. A VAE is a generative
model ``p(z) p_theta(x | z)`` with a standard normal prior ``p(z) = N(0, I)`` and a
decoder network that gives the parameters of ``p_theta(x | z)``. Inference uses an
encoder network ``q_phi(z | x) = N(mu_phi(x), diag sigma_phi^2(x))`` and both are
trained by maximising the evidence lower bound (the paper's eq. 3, in the form of
its eq. 10 for a Gaussian encoder and a standard normal prior):

    ELBO(x) = E_{q(z|x)}[ log p_theta(x | z) ] - KL( q_phi(z | x) || p(z) )

    KL = -1/2 sum_j ( 1 + log sigma_j^2 - mu_j^2 - sigma_j^2 )        (appendix B)

The expectation is estimated with one sample drawn by the reparameterisation trick
(section 2.4): ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``, which makes the
sample a differentiable function of ``mu`` and ``sigma``.

Likelihoods: ``"bernoulli"`` (the decoder outputs logits; data in [0, 1], as the
paper's MNIST experiments and VaDE use) or ``"gaussian"`` (the decoder outputs the
mean, unit variance, so ``log p = -1/2 ||x - mean||^2 + const``).

``VAE`` is the clustering baseline of the chapter: train the VAE, then k-means on
the posterior means ``mu_phi(x)``. Its ``sample(n)`` draws new images from the prior.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...nets import ConvDecoder, ConvEncoder, mlp_decoder, mlp_encoder
from ...train import (
    EpochLog,
    adam,
    autocast,
    batch_indices,
    make_generator,
    predict_in_batches,
    train_epochs,
)
from ..base import BaseClusterer
from ..classic.kmeans import assign_clusters, kmeans

__all__ = ["VAE", "VAENet", "reparameterize", "gaussian_kl", "log_likelihood", "elbo",
           "decoder_mean"]

_LOG_2PI = math.log(2.0 * math.pi)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """One sample ``z = mu + sigma * eps``, ``eps ~ N(0, I)`` (Kingma and Welling, section 2.4).

    mu, logvar : (N, d) mean and log-variance of ``q(z | x)``. Differentiable in both.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps  # (N, d)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag exp(logvar)) || N(0, I))`` per sample, in nats: (N,).

    Closed form of the paper's appendix B: ``-1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))``.
    """
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def log_likelihood(x: torch.Tensor, out: torch.Tensor, likelihood: str = "bernoulli"
                   ) -> torch.Tensor:
    """``log p(x | z)`` per sample, summed over features: (N,).

    ``"bernoulli"``: ``out`` are logits; ``sum_i x_i log s_i + (1 - x_i) log(1 - s_i)``
    with ``s = sigmoid(out)`` (computed stably from the logits; data in [0, 1]).
    ``"gaussian"``: ``out`` is the mean of a unit-variance Gaussian;
    ``-1/2 sum_i ((x_i - out_i)^2 + log 2 pi)``.
    """
    x, out = x.float().flatten(1), out.float().flatten(1)
    if likelihood == "bernoulli":
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(1)
    if likelihood == "gaussian":
        return -0.5 * ((x - out).pow(2) + _LOG_2PI).sum(1)
    raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}.")


def decoder_mean(out: torch.Tensor, likelihood: str = "bernoulli") -> torch.Tensor:
    """The mean of ``p(x | z)`` from the decoder's output: sigmoid of logits, or the mean."""
    return torch.sigmoid(out) if likelihood == "bernoulli" else out


def elbo(x: torch.Tensor, out: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
         likelihood: str = "bernoulli", beta: float = 1.0) -> torch.Tensor:
    """One-sample ELBO per sample (N,): ``log p(x | z) - beta * KL(q(z | x) || N(0, I))``.

    ``out`` is the decoder's output for ``z`` drawn from ``q(z | x)``; ``beta = 1`` is
    the paper's bound (other values give the beta-VAE of Higgins et al. 2017).
    """
    return log_likelihood(x, out, likelihood) - beta * gaussian_kl(mu, logvar)


class VAENet(nn.Module):
    """Gaussian encoder and decoder for ``input_shape``.

    ``arch="mlp"``: ``d - hidden - 2*latent`` (the last layer gives ``mu`` and
    ``log sigma^2``, two linear heads on a shared trunk) and the mirror decoder;
    ``arch="conv"``: ``nets.ConvEncoder``/``ConvDecoder`` (images only). The decoder
    returns logits (Bernoulli) or means (Gaussian) with the input's shape.
    """

    def __init__(self, input_shape: Sequence[int], latent: int = 10,
                 hidden: Sequence[int] = (128, 128, 512), arch: str = "mlp") -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        self.input_shape, self.latent = shape, int(latent)
        hidden = tuple(int(h) for h in hidden)
        if arch == "mlp":
            d = math.prod(shape)
            self.encoder = nn.Sequential(nn.Flatten(), mlp_encoder(d, hidden, 2 * self.latent))
            self.decoder = nn.Sequential(mlp_decoder(self.latent, hidden[::-1], d),
                                         nn.Unflatten(1, shape))
        elif arch == "conv":
            if len(shape) != 3:
                raise ValueError(f"arch='conv' needs images (C, H, W), got input shape {shape}.")
            self.encoder = ConvEncoder(shape, 2 * self.latent)
            self.decoder = ConvDecoder(shape, self.latent, out_act="identity")
        else:
            raise ValueError(f"arch must be 'mlp' or 'conv', got {arch!r}.")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z | x)``, each (N, latent)."""
        h = self.encoder(x).float()  # (N, 2 * latent)
        return h[:, :self.latent], h[:, self.latent:]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output (logits or means), shaped like the input: (N, *input_shape)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """``(out, z, mu, logvar)`` with ``z`` one reparameterised sample of ``q(z | x)``."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        return self.decode(z), z, mu, logvar


class _VAEMixin:
    """Validation of the network parameters, sampling and reconstruction shared by VAE models.

    A subclass sets ``net_`` (a ``VAENet``) in ``_fit``.
    """

    def _validate_vae_params(self, X: torch.Tensor) -> None:
        if self.arch not in ("mlp", "conv"):
            raise ValueError(f"arch must be 'mlp' or 'conv', got {self.arch!r}.")
        if self.arch == "conv" and X.ndim != 4:
            raise ValueError("arch='conv' needs images (N x C x H x W), got a 2-D X.")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', got "
                             f"{self.likelihood!r}.")
        if self.likelihood == "bernoulli" and (float(X.min()) < 0 or float(X.max()) > 1):
            raise ValueError("likelihood='bernoulli' needs data in [0, 1]; got values in "
                             f"[{float(X.min()):.3g}, {float(X.max()):.3g}]. Rescale X or "
                             "use likelihood='gaussian'.")
        for name in ("latent", "epochs", "batch_size"):
            v = getattr(self, name)
            if v is None or int(v) != v or int(v) < (0 if name == "epochs" else 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}.")
        self._check_positive(lr=self.lr)
        if len(tuple(self.hidden)) < 1 or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden must be a non-empty tuple of positive ints, got "
                             f"{self.hidden!r}.")

    def _encode_mean(self, X: torch.Tensor) -> torch.Tensor:
        self.net_.eval()
        return predict_in_batches(lambda xb: self.net_.encode(xb)[0], X)  # (N, latent)

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        return self._encode_mean(X)

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' before sampling or reconstructing.")

    @torch.inference_mode()
    def _decode_mean(self, z: torch.Tensor) -> np.ndarray:
        self.net_.eval()
        out = predict_in_batches(lambda zb: decoder_mean(self.net_.decode(zb).float(),
                                                         self.likelihood), z)
        return out.cpu().numpy()

    def decode(self, Z) -> np.ndarray:
        """Decoder mean ``E[x | z]`` for latent codes ``Z`` (n, latent): images as numpy."""
        self._check_fitted()
        Zt = torch.as_tensor(np.asarray(Z, dtype=np.float32))
        if Zt.ndim != 2 or Zt.shape[1] != self.net_.latent or not torch.isfinite(Zt).all():
            raise ValueError(f"Z must be a finite (n, {self.net_.latent}) array of latent "
                             f"codes, got shape {tuple(Zt.shape)}.")
        return self._decode_mean(Zt.to(self.device_))

    def reconstruct(self, X) -> np.ndarray:
        """Decoder mean at the posterior mean, ``E[x | z = mu(x)]``, shaped like ``X`` (numpy)."""
        Xt = self._check_fitted_input(X)
        with torch.inference_mode():
            return self._decode_mean(self._encode_mean(Xt))


class VAE(_VAEMixin, BaseClusterer):
    """Variational autoencoder (Kingma and Welling 2014), then k-means on the posterior means.

    Trains encoder and decoder by maximising the one-sample ELBO (eq. 10 of the
    paper, see the module docstring) with Adam; ``labels_`` come from k-means
    (``n_init`` restarts) on ``mu_phi(x)``. This is the chapter's baseline: the
    prior ``N(0, I)`` knows nothing of clusters, which is what VaDE changes.

    Parameters
    ----------
    n_clusters : number of clusters for the k-means step.
    latent, hidden, arch : the networks (``VAENet``); default ``d-128-128-512-10``.
    likelihood : ``"bernoulli"`` (data in [0, 1]) or ``"gaussian"``.
    beta : weight of the KL term (1 is the ELBO).
    epochs, batch_size, lr : Adam training.
    n_init : k-means restarts.

    Fitted attributes: ``net_``, ``cluster_centers_`` (K, latent), ``labels_``,
    ``history_`` (per-epoch ``elbo``, ``rec`` = E log p(x|z), ``kl``).
    Methods beyond the estimator API: ``sample(n)``, ``reconstruct(X)``,
    ``score_samples(X)`` (the ELBO per sample).
    """

    def __init__(self, n_clusters: int = 10, latent: int = 10,
                 hidden: tuple = (128, 128, 512), arch: str = "mlp",
                 likelihood: str = "bernoulli", beta: float = 1.0, epochs: int = 100,
                 batch_size: int = 64, lr: float = 1e-3, n_init: int = 20,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.latent = latent
        self.hidden = hidden
        self.arch = arch
        self.likelihood = likelihood
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._validate_vae_params(X)
        self._check_nonnegative(beta=self.beta)
        self._check_positive(n_init=self.n_init)

    def _fit(self, X, y):
        dev = self.device_
        self.net_ = net = VAENet(X.shape[1:], int(self.latent), tuple(self.hidden),
                                 self.arch).to(dev)
        opt = adam(net.parameters(), lr=float(self.lr))
        g = make_generator(self.seed_, "cpu")
        g_eps = make_generator(self.seed_ + 1, dev)
        n, bs = X.shape[0], int(self.batch_size)

        def epoch_fn(epoch: int) -> dict:
            log = EpochLog()
            for idx in batch_indices(n, bs, g, dev):
                xb = X[idx]
                with autocast(dev):
                    out, _, mu, logvar = net(xb, g_eps)
                rec = log_likelihood(xb, out, self.likelihood).mean()
                kl = gaussian_kl(mu, logvar).mean()
                loss = -(rec - float(self.beta) * kl)  # maximise the ELBO
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                log.add(elbo=rec - kl, rec=rec, kl=kl)
            return log.means()

        net.train()
        train_epochs(epoch_fn, int(self.epochs), desc="VAE", verbose=self.verbose,
                     history=self.history_,
                     state={"model": net, "optimizer": opt, "batches": g, "noise": g_eps})
        net.eval()
        Z = self._encode_mean(X)  # (N, latent)
        C, labels, _ = kmeans(Z, self.n_clusters, int(self.n_init), generator=g)
        self.cluster_centers_ = C
        self.history_.append({"phase": "kmeans", **self._metrics(labels)})
        return labels

    def _predict(self, X):
        return assign_clusters(self._encode_mean(X), self.cluster_centers_)

    def sample(self, n: int, random_state: int | None = None) -> np.ndarray:
        """Draw ``n`` images from the model: ``z ~ N(0, I)``, then the decoder mean (numpy)."""
        self._check_fitted()
        if int(n) != n or int(n) < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        g = make_generator(0 if random_state is None else int(random_state), "cpu")
        z = torch.randn(int(n), int(self.latent), generator=g).to(self.device_)
        return self._decode_mean(z)

    def score_samples(self, X) -> np.ndarray:
        """One-sample ELBO of each row of ``X`` (nats), a lower bound of ``log p(x)``."""
        Xt = self._check_fitted_input(X)
        g = make_generator(0, self.device_)
        with torch.inference_mode():
            out, _, mu, logvar = self.net_(Xt, g)
            return elbo(Xt, out, mu, logvar, self.likelihood).cpu().numpy()
