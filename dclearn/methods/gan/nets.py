"""Generator and discriminator networks of the GAN chapter (notebook 04).

The image networks follow the MNIST networks of InfoGAN (Chen et al. 2016,
appendix C, Table 1), which ClusterGAN (Mukherjee et al. 2019) reuses:

    generator      z -> FC 1024, BN, ReLU -> FC 128 * s * s, BN, ReLU
                     -> 4x4 up-conv 64, stride 2, BN, ReLU -> 4x4 up-conv C, stride 2, sigmoid
    discriminator  x -> 4x4 conv 64, stride 2, leaky ReLU(0.1)
                     -> 4x4 conv 128, stride 2, BN, leaky ReLU -> FC 1024, BN, leaky ReLU
                     -> linear head

with ``s = H / 4``: the construction is driven by the input shape, so 28x28 MNIST
gets the paper's 7x7 start and 8x8 digits a 2x2 start (same layers). Widths default
by input shape too (``gan_widths``): the paper's (hidden 1024, channels 64/128) for
images of side 16 or more and for flat data, a quarter of the units and half the
channels (256, 32/64) for 8x8 digits, where the paper-sized nets are several times
slower on a CPU (convolution backward passes dominate) without fitting 1,797 images
any better. Images must be square with a side divisible by 4. Flat inputs (N x D)
get MLPs (two hidden layers of ``hidden`` units). Generators end in a sigmoid, so
samples lie in [0, 1] like the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["Generator", "Discriminator", "check_gan_shape", "gan_widths"]


def gan_widths(shape: Sequence[int], hidden: int | None = None,
               channels: Sequence[int] | None = None) -> tuple[int, tuple[int, int]]:
    """``(hidden, (c1, c2))`` for samples of ``shape``: given values, else the defaults above."""
    small = len(shape) == 3 and int(shape[1]) < 16
    hidden = int(hidden) if hidden is not None else (256 if small else 1024)
    channels = tuple(int(c) for c in channels) if channels is not None else (
        (32, 64) if small else (64, 128))
    if hidden < 1 or len(channels) != 2 or min(channels) < 1:
        raise ValueError(f"hidden must be >= 1 and channels two positive ints, got {hidden}, "
                         f"{channels}.")
    return hidden, channels


def check_gan_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Return ``shape`` (no batch axis) if the GAN networks can handle it, else raise ValueError."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return shape
    if len(shape) != 3:
        raise ValueError(f"GAN networks need flat (D,) or image (C, H, W) samples, got {shape}.")
    c, h, w = shape
    if h != w or h % 4 != 0 or h < 4:
        raise ValueError(
            f"GAN image networks need square images whose side is a multiple of 4 (8x8 "
            f"digits, 28x28 MNIST); got {h}x{w}. Flatten the data to use MLP networks.")
    return shape


class Generator(nn.Module):
    """``(N, latent_dim) -> (N, *out_shape)`` in [0, 1]; conv for images, MLP for vectors."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], hidden: int | None = None,
                 channels: Sequence[int] | None = None) -> None:
        super().__init__()
        self.out_shape = check_gan_shape(out_shape)
        self.latent_dim = int(latent_dim)
        hidden, (c2, c1) = gan_widths(self.out_shape, hidden, channels)  # c1 = wider
        if len(self.out_shape) == 1:
            d = self.out_shape[0]
            self.net = nn.Sequential(
                nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                nn.Linear(hidden, d), nn.Sigmoid())
            return
        c, h, _ = self.out_shape
        s = h // 4
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, c1 * s * s), nn.BatchNorm1d(c1 * s * s), nn.ReLU(),
            nn.Unflatten(1, (c1, s, s)),                                  # (N, c1, s, s)
            nn.ConvTranspose2d(c1, c2, 4, stride=2, padding=1), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.ConvTranspose2d(c2, c, 4, stride=2, padding=1), nn.Sigmoid())  # (N, C, H, W)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """A shared trunk ``features(x) -> (N, hidden)`` and a linear head with ``out`` logits.

    ``features`` is what InfoGAN's Q head and CatGAN's classifier build on; ``forward``
    returns the head's logits (N, out).
    """

    def __init__(self, in_shape: Sequence[int], out: int = 1, hidden: int | None = None,
                 channels: Sequence[int] | None = None, slope: float = 0.1,
                 batch_norm: bool = True) -> None:
        super().__init__()
        self.in_shape = check_gan_shape(in_shape)
        hidden, (c1, c2) = gan_widths(self.in_shape, hidden, channels)

        def norm(kind, width):  # a WGAN-GP critic has none: its penalty is per sample
            return kind(width) if batch_norm else nn.Identity()

        if len(self.in_shape) == 1:
            d = self.in_shape[0]
            self.trunk = nn.Sequential(
                nn.Linear(d, hidden), nn.LeakyReLU(slope),
                nn.Linear(hidden, hidden), norm(nn.BatchNorm1d, hidden), nn.LeakyReLU(slope))
        else:
            c, h, _ = self.in_shape
            s = h // 4
            self.trunk = nn.Sequential(
                nn.Conv2d(c, c1, 4, stride=2, padding=1), nn.LeakyReLU(slope),  # (N, c1, H/2, W/2)
                nn.Conv2d(c1, c2, 4, stride=2, padding=1), norm(nn.BatchNorm2d, c2),
                nn.LeakyReLU(slope), nn.Flatten(),                              # (N, c2 s s)
                nn.Linear(c2 * s * s, hidden), norm(nn.BatchNorm1d, hidden),
                nn.LeakyReLU(slope))
        self.head = nn.Linear(hidden, out)
        self.hidden = int(hidden)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)  # (N, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))  # (N, out) logits
