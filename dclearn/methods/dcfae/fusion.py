"""The fusion autoencoder's objective: a VAE and a GAN on its reconstructions (notebook 05).

DCFAE's fusion autoencoder (FAE; Chang, arXiv 2201.04727, 2022) is a VAE whose decoder
is also the generator of a GAN. The encoder gives ``q(z | x) = N(mu, diag sigma^2)``,
``z = mu + sigma * eps`` (reparameterisation) and the decoder ``x_hat = sigmoid(f(z))``.
A discriminator ``D`` (logits) sees real images, labelled 1, and reconstructions,
labelled 0. The encoder and decoder minimise

    L_FAE = E[ BCE(x, x_hat) ] + E[ KL(q(z | x) || N(0, I)) ] + w_adv * E[ -log sigmoid D(x_hat) ]
            (rec: summed over pixels)  (kl: summed over dims)     (gen: non-saturating)

and the discriminator minimises its own cross-entropy

    L_D = E[ BCE(t_real, D(x)) ] + E[ BCE(t_fake, D(x_hat)) ]

with slightly noisy targets: the authors' code adds ``0.05 * U(0, 1)`` to both labels
(so real targets reach 1.05, outside a probability's range); here the noise moves each
target towards the other class instead (``t_fake = 0.05 U``, ``t_real = 1 - 0.05 U``),
the usual one-sided form of label smoothing. The code's weight is ``w_adv = 100`` on
32 x 32 images.

The discriminator is trained on reconstructions, not on samples from the prior: the
adversarial term sharpens what the encoder keeps of each image rather than the
generative model's samples. Both players are updated from the same forward pass, as
in the authors' ``train.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..vae.vae import gaussian_kl  # chapter 03's closed-form KL

__all__ = ["reconstruction_cross_entropy",
           "generator_loss", "discriminator_loss", "fused_autoencoder_loss",
           "noisy_labels"]


def reconstruction_cross_entropy(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``x`` in [0, 1] under ``sigmoid(logits)``, summed per sample: (N,).

    Computed from the logits (stable); the authors' code takes the sigmoid first and
    clips it at 1e-7, the same value wherever the clip is inactive.
    """
    return F.binary_cross_entropy_with_logits(logits.flatten(1), x.flatten(1),
                                              reduction="none").sum(1)


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``mean(-log sigmoid D(x_hat))`` from logits (N, 1)."""
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def noisy_labels(n: int, value: float, noise: float, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, 1) targets ``value`` moved towards 0.5 by ``noise * U(0, 1)`` (label smoothing)."""
    u = torch.rand((n, 1), generator=generator, device=device)
    return value + (1.0 - 2.0 * value) * noise * u


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor, label_noise: float = 0.05,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Cross-entropy of the discriminator: real images -> 1, reconstructions -> 0 (logits (N, 1)).

    The mean over the ``2N`` images, as a single batch of both kinds (the authors' code
    concatenates them); targets smoothed by ``label_noise`` (``noisy_labels``).
    """
    logits = torch.cat([d_fake, d_real])  # (2N, 1)
    targets = torch.cat([
        noisy_labels(d_fake.shape[0], 0.0, label_noise, generator, d_fake.device),
        noisy_labels(d_real.shape[0], 1.0, label_noise, generator, d_real.device)])
    return F.binary_cross_entropy_with_logits(logits, targets)


def fused_autoencoder_loss(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
                           logvar: torch.Tensor, d_fake: torch.Tensor | None,
                           adversarial_weight: float = 100.0,
                           rec_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """The encoder-decoder objective of the FAE and its terms (batch means).

    x : (N, ...) images in [0, 1]; logits : the decoder's output for ``z ~ q(z | x)``,
    shaped like x; mu, logvar : (N, d); d_fake : the discriminator's logits (N, 1) on
    ``sigmoid(logits)``, or None when ``adversarial_weight`` is 0 (a plain VAE).
    Returns ``{"loss", "rec", "kl", "gen"}`` with
    ``loss = rec_weight * rec + kl + adversarial_weight * gen``.
    """
    rec = reconstruction_cross_entropy(x, logits).mean()
    kl = gaussian_kl(mu, logvar).mean()
    if d_fake is None:
        if adversarial_weight:
            raise ValueError("d_fake is needed when adversarial_weight is not 0.")
        gen = torch.zeros((), device=x.device)
    else:
        gen = generator_loss(d_fake)
    loss = float(rec_weight) * rec + kl + float(adversarial_weight) * gen
    return {"loss": loss, "rec": rec, "kl": kl, "gen": gen}
