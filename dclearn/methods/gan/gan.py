"""GAN: Generative Adversarial Nets (Goodfellow et al., NeurIPS 2014).

A generator G maps noise z ~ N(0, I) to samples; a discriminator D(x) = sigmoid(f(x))
gives the probability that x is real. They play the minimax game of eq. 1,

    min_G max_D  V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))).

With logits f, ``log D = -softplus(-f)`` and ``log(1 - D) = -softplus(f)``, so D
minimises ``softplus(-f(x)) + softplus(f(G(z)))`` (binary cross-entropy, real = 1).
The generator has two losses (Sec. 3):

* ``"minimax"``: minimise ``E log(1 - D(G(z))) = -E softplus(f(G(z)))``, the game
  itself; it saturates early, when D rejects the samples with confidence;
* ``"non_saturating"``: maximise ``E log D(G(z))``, i.e. minimise
  ``E softplus(-f(G(z)))``: same fixed point, strong gradients early (the paper's
  recommendation and the default everywhere in this chapter).

``GAN`` is not a clusterer: it has no ``n_clusters`` and no ``labels_``, so it
subclasses scikit-learn's ``BaseEstimator`` (parameters, ``get_params``) and not
``BaseClusterer``. ``fit(X)`` trains, ``sample(n)`` draws images. It is the chapter's
baseline; the clusterers (CatGAN, InfoGAN, ClusterGAN) reuse its losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ..._validation import as_tensor
from ...train import (
    EpochLog,
    adam,
    batch_indices,
    configure_backend,
    get_device,
    make_generator,
    seed_everything,
    train_epochs,
)
from ..feedforward.rim import mutual_information
from ..restarts import RestartMixin
from .health import GANHealth
from .nets import Discriminator, Generator, check_gan_shape, gan_widths

__all__ = ["GAN", "GANRestartMixin", "discriminator_loss", "generator_loss", "gradient_penalty",
           "real_fake_accuracy", "GENERATOR_LOSSES", "sample_images"]

GENERATOR_LOSSES = ("non_saturating", "minimax")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``-E log D(x) - E log(1 - D(G(z)))`` from logits (B, 1) of real and generated samples."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The generator's loss from D's logits on generated samples (see the module docstring)."""
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()  # -E log D(G(z))
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()  # E log(1 - D(G(z)))
    raise ValueError(f"kind must be one of {GENERATOR_LOSSES}, got {kind!r}.")


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator) -> torch.Tensor:
    """WGAN-GP's penalty ``E (||grad_x critic(x_hat)||_2 - 1)^2`` (Gulrajani et al. 2017, eq. 3).

    ``x_hat = eps x + (1 - eps) x_tilde`` with one ``eps ~ U(0, 1)`` per sample, between a real
    batch and a generated batch of the same shape (B, ...). The graph is kept (``create_graph``)
    so that the penalty trains the critic: the double backward pass that makes WGAN-GP's critic
    step cost about three ordinary ones.
    """
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator,
                     device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def real_fake_accuracy(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D's accuracy on a real and a fake batch together (a 0-d tensor, no sync)."""
    hits = (real_logits > 0).float().sum() + (fake_logits <= 0).float().sum()
    return hits / (real_logits.numel() + fake_logits.numel())


@torch.no_grad()
def sample_images(generator: torch.nn.Module, latent: torch.Tensor) -> torch.Tensor:
    """Generated samples for the latent codes (N, latent_dim), in eval mode, batch by batch."""
    generator.eval()
    return torch.cat([generator(latent[i:i + 4096]) for i in range(0, latent.shape[0], 4096)])



class GANRestartMixin(RestartMixin):
    """Restarts of a GAN clusterer (``n_restarts``), the most informative partition kept.

    A GAN's own losses say nothing comparable across fits (each game ends where its two
    players balance), so each restart is scored on the training data by the clusterer the
    method reads its labels from, ``p(y | x)`` (CatGAN's discriminator, InfoGAN's Q,
    ClusterGAN's encoder): the empirical mutual information ``H(mean_x p(y|x)) - mean_x
    H(p(y|x))``, RIM's objective (chapter 01), high for a partition that is both confident
    and balanced. For CatGAN it is exactly the real-data half of the discriminator's
    objective (eq. 7). The labels are never read. A subclass implements
    ``_cluster_probs(X) -> (N, K)`` and ``_fit_once(X, seed)``.
    """

    def _restart_objective(self, X) -> float:
        return float(mutual_information(self._cluster_probs(X).double())[0])

class GAN(BaseEstimator):
    """A plain GAN with the InfoGAN-sized networks of ``nets.py`` (Goodfellow et al. 2014).

    Parameters
    ----------
    latent_dim : size of the noise z ~ N(0, I).
    loss : generator loss, ``"non_saturating"`` (default) or ``"minimax"``.
    n_epochs, batch_size : one D step and one G step per batch of real data.
    lr_d, lr_g : Adam learning rates (beta1 = 0.5), InfoGAN's 2e-4 and 1e-3.
    hidden, channels : widths of the networks, None for ``nets.gan_widths``'s
        defaults (the paper's 1024 and 64/128 from 16x16 up, 256 and 32/64 on 8x8).
    mode_classifier : optional callable mapping a batch of samples to (B,) integer
        categories in [0, n_modes); with it the fit watches for mode collapse.
    n_modes : number of categories ``mode_classifier`` returns.
    random_state, device, verbose : as every dclearn estimator.

    Attributes: ``generator_``, ``discriminator_``, ``history_`` (per-epoch losses,
    D accuracy, health entries), ``health_`` (the ``GANHealth`` monitor).
    """

    def __init__(self, latent_dim: int = 64, loss: str = "non_saturating", n_epochs: int = 30,
                 batch_size: int = 64, lr_d: float = 2e-4, lr_g: float = 1e-3,
                 hidden: int | None = None, channels=None, mode_classifier=None,
                 n_modes: int = 10,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.latent_dim = latent_dim
        self.loss = loss
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr_d = lr_d
        self.lr_g = lr_g
        self.hidden = hidden
        self.channels = channels
        self.mode_classifier = mode_classifier
        self.n_modes = n_modes
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate(self, X: torch.Tensor) -> None:
        if self.loss not in GENERATOR_LOSSES:
            raise ValueError(f"loss must be one of {GENERATOR_LOSSES}, got {self.loss!r}.")
        for name in ("latent_dim", "n_epochs", "batch_size", "n_modes"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or int(v) < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}.")
        for name in ("lr_d", "lr_g"):
            v = getattr(self, name)
            if not v > 0:
                raise ValueError(f"{name} must be a positive number, got {v!r}.")
        gan_widths(check_gan_shape(X.shape[1:]), self.hidden, self.channels)

    def fit(self, X, y=None):
        """Train on ``X`` (N x D or N x C x H x W in [0, 1]); ``y`` is ignored."""
        X = as_tensor(X)
        self._validate(X)
        self.input_shape_ = tuple(X.shape[1:])
        self.device_ = get_device(self.device)
        configure_backend(self.device_)
        self.seed_ = seed_everything(self.random_state)
        X = X.to(self.device_)
        dev, n = self.device_, X.shape[0]
        G = self.generator_ = Generator(self.latent_dim, self.input_shape_, self.hidden,
                                        self.channels).to(dev)
        D = self.discriminator_ = Discriminator(self.input_shape_, 1, self.hidden,
                                                self.channels).to(dev)
        opt_d = adam(D.parameters(), lr=self.lr_d, betas=(0.5, 0.999))
        opt_g = adam(G.parameters(), lr=self.lr_g, betas=(0.5, 0.999))
        g = make_generator(self.seed_, dev)
        bs = min(int(self.batch_size), n)
        self.health_ = GANHealth("GAN", self.n_modes if self.mode_classifier else None)
        self.history_: list[dict] = []

        def epoch(ep):
            G.train()
            D.train()
            log = EpochLog()
            for idx in batch_indices(n, bs, g, dev, drop_last=True):
                xb = X[idx]  # (B, ...)
                z = torch.randn(bs, self.latent_dim, generator=g, device=dev)  # (B, latent)
                fake = G(z)
                real_logits, fake_logits = D(xb), D(fake.detach())  # (B, 1) each
                loss_d = discriminator_loss(real_logits, fake_logits)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                loss_g = generator_loss(D(fake), self.loss)
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                acc = real_fake_accuracy(real_logits.detach(), fake_logits.detach())
                cats = self.mode_classifier(fake.detach()) if self.mode_classifier else None
                self.health_.step({"loss_d": loss_d, "loss_g": loss_g}, acc, cats)
                log.add(loss_d=loss_d, loss_g=loss_g)
            return {**log.means(), **self.health_.end_epoch(ep)}

        train_epochs(epoch, int(self.n_epochs), desc=f"GAN ({self.loss})",
                     verbose=self.verbose, history=self.history_)
        return self

    def sample(self, n: int, random_state: int | None = None):
        """``n`` generated samples as a float32 numpy array (n, *input shape) in [0, 1]."""
        if not hasattr(self, "generator_"):
            raise NotFittedError("This GAN instance is not fitted yet. Call 'fit' first.")
        g = make_generator(self.seed_ if random_state is None else random_state, self.device_)
        z = torch.randn(int(n), self.latent_dim, generator=g, device=self.device_)
        return sample_images(self.generator_, z).cpu().numpy()
