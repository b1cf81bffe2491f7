"""DCFAE's networks: residual encoder, decoder and discriminator, and the dense grouper.

The authors' code (github.com/AeroAsukara/DCFAE_07_04-J, ``core.py``) builds, for 32 x 32
images, an encoder of four stride-2 3x3 convolutions (64, 128, 256, 512 channels, ReLU)
each followed by a residual block (two 3x3 convolutions, identity shortcut, ReLU after
the sum), then two linear heads for ``mu`` and ``log sigma^2``; a decoder from a dense
2 x 2 x 512 start through stride-2 transposed convolutions (512, 256, 128, 64), each
followed by a residual block, and a final 3x3 convolution to logits; a discriminator of
the same kind as the encoder with 32, 64 and 512 channels and one logit; and the
grouper, a dense ReLU network ``latent-2048-512-512-latent``. No normalisation layer.

Two departures, both for a CPU:

* The decoder is the encoder run backwards: a residual block, then the transposed
  convolution, the last one straight to the logits. The code's order (upsample, then
  the block) runs every block at twice the resolution, plus a 3x3 convolution at full
  size; on 8 x 8 digits that made the decoder more than twice as slow as the encoder.
* ``fae_channels(size)`` gives the code's widths from 28 x 28 up and narrower ones on
  the 8 x 8 digits (two stages, 8 -> 4 -> 2), so that a fit takes about a minute.

Residual blocks are ``nets.ResidualBlock`` without batch normalisation; ``residual=False``
removes them (the chapter's ablation). The estimator initialises every layer with Keras'
Glorot-uniform default, as the authors' networks start.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...nets import MLP, ResidualBlock

__all__ = ["FusionAutoencoder", "ResidualConvStack", "Discriminator", "Grouper",
           "fae_channels", "stage_sizes"]


def stage_sizes(size: int, n_stages: int) -> list[int]:
    """Spatial sizes after each stride-2 3x3 convolution with padding 1: [size, ..., last]."""
    sizes = [int(size)]
    for _ in range(n_stages):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def fae_channels(size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(encoder channels, discriminator channels) for square images of side ``size``.

    28 x 28 and larger: the authors' widths, (64, 128, 256, 512) and (32, 64, 512); below,
    as many stages as halve the image to 2 x 2 (8 x 8: two) with 16, 32, ... channels,
    and half as many in the discriminator (digits: (16, 32) and (8, 16)).
    """
    if size >= 28:
        return (64, 128, 256, 512), (32, 64, 512)
    n, s = 0, int(size)
    while s > 2:
        s, n = (s + 1) // 2, n + 1
    enc = tuple(16 * 2 ** i for i in range(max(n, 1)))
    return enc, tuple(ch // 2 for ch in enc)


def _residual(ch: int) -> nn.Module:
    return ResidualBlock(ch, batch_norm=False, act="relu")


class ResidualConvStack(nn.Module):
    """Stride-2 3x3 convolutions with ReLU, each followed by a residual block (or not)."""

    def __init__(self, in_ch: int, channels: Sequence[int], residual: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_ch
        for ch in channels:
            layers += [nn.Conv2d(prev, ch, 3, stride=2, padding=1), nn.ReLU()]
            if residual:
                layers.append(_residual(ch))
            prev = ch
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FusionAutoencoder(nn.Module):
    """The FAE's encoder ``x -> (mu, log sigma^2)`` and decoder ``z -> logits`` (N, C, H, W)."""

    def __init__(self, input_shape: Sequence[int], latent: int = 50,
                 channels: Sequence[int] = (32, 64), residual: bool = True) -> None:
        super().__init__()
        c, h, w = (int(s) for s in input_shape)
        if h != w:
            raise ValueError(f"DCFAE expects square images, got {h}x{w}.")
        channels = tuple(int(ch) for ch in channels)
        self.input_shape, self.latent = (c, h, w), int(latent)
        sizes = stage_sizes(h, len(channels))
        self.start = (channels[-1], sizes[-1], sizes[-1])
        flat = channels[-1] * sizes[-1] ** 2
        self.features = ResidualConvStack(c, channels, residual)
        self.heads = nn.Linear(flat, 2 * self.latent)  # mu and log sigma^2, two linear heads
        self.fc = nn.Linear(self.latent, flat)
        up: list[nn.Module] = [nn.ReLU()]
        outs = channels[::-1][1:] + (c,)
        for i, (ch, out) in enumerate(zip(channels[::-1], outs)):  # the encoder in reverse
            if residual:
                up.append(_residual(ch))
            s_in, s_out = sizes[-1 - i], sizes[-2 - i]
            up.append(nn.ConvTranspose2d(ch, out, 3, stride=2, padding=1,
                                         output_padding=s_out - (2 * s_in - 1)))
            if i < len(channels) - 1:
                up.append(nn.ReLU())
        self.upsample = nn.Sequential(*up)  # ends in logits (N, C, H, W)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z | x)``, each (N, latent)."""
        h = self.heads(self.features(x).flatten(1))  # (N, 2 * latent)
        return h[:, :self.latent], h[:, self.latent:]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of ``x_hat`` (N, C, H, W); ``sigmoid`` gives the image."""
        return self.upsample(self.fc(z).view(-1, *self.start))


class Discriminator(nn.Module):
    """Residual convolutional discriminator: images (N, C, H, W) -> one logit (N, 1)."""

    def __init__(self, input_shape: Sequence[int], channels: Sequence[int] = (32, 64),
                 residual: bool = True) -> None:
        super().__init__()
        c, h, _ = (int(s) for s in input_shape)
        channels = tuple(int(ch) for ch in channels)
        self.features = ResidualConvStack(c, channels, residual)
        self.head = nn.Linear(channels[-1] * stage_sizes(h, len(channels))[-1] ** 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class Grouper(nn.Module):
    """The dense embedding network ``latent - hidden - out`` with ReLU (linear output).

    The code's ``latent-2048-512-512-latent``; its L2 penalties and dropout are never
    applied in its training loop (see ``dcfae.py``), so they are not here.
    """

    def __init__(self, latent: int, hidden: Sequence[int] = (2048, 512, 512),
                 out: int | None = None) -> None:
        super().__init__()
        self.net = MLP([int(latent), *(int(h) for h in hidden), int(out or latent)])

    def forward(self, mu: torch.Tensor) -> torch.Tensor:
        return self.net(mu)
