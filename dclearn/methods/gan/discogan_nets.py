"""DiscoGAN's networks (Kim et al., ICML 2017): the translators and the domain discriminators.

A translator is an encoder-decoder (a conv-deconv network on images, an MLP on vectors) from
one domain to the other; a domain discriminator returns its features and its real-or-fake
logit, so that ``discogan.py`` can add feature matching to the GAN loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ...nets import MLP, ConvEncoder

__all__ = ["Translator", "DomainDiscriminator"]


class Translator(nn.Module):
    """A generator ``G``: encoder-decoder from one domain's images to the other's.

    ``arch="conv"``, the paper's conv-deconv generator without a fully connected
    layer: stride-2 3x3 convolutions down (``channels``; 8x8 -> 4x4 -> 2x2 with the
    defaults), transposed convolutions back up, LeakyReLU inside, a sigmoid at the
    end. The code stays a (coarse) image, so translations tend to keep the layout of
    their input. ``arch="mlp"``: ``d - hidden - d`` (one hidden layer, LeakyReLU).
    Outputs lie in [0, 1].
    """

    def __init__(self, shape: Sequence[int], hidden: int = 256,
                 channels: Sequence[int] | None = None, arch: str = "conv") -> None:
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if arch == "conv":
            c, size = shape[0], shape[1]
            channels = tuple(channels) if channels is not None else (
                (32, 64) if size <= 16 else (64, 128, 256))
            sizes = [size]
            for _ in channels:
                sizes.append((sizes[-1] + 1) // 2)
            layers: list[nn.Module] = []
            prev = c
            for ch in channels:  # down: (N, ch, s/2, s/2) each
                layers += [nn.Conv2d(prev, ch, 3, 2, 1), nn.LeakyReLU(0.2)]
                prev = ch
            outs = [*channels[::-1][1:], c]
            for i, ch in enumerate(outs):  # up, landing on the encoder's sizes exactly
                s_in, s_out = sizes[-1 - i], sizes[-2 - i]
                layers.append(nn.ConvTranspose2d(prev, ch, 3, 2, 1,
                                                 output_padding=s_out - (2 * s_in - 1)))
                layers.append(nn.LeakyReLU(0.2) if i < len(outs) - 1 else nn.Sigmoid())
                prev = ch
            self.net = nn.Sequential(*layers)
        else:
            d = math.prod(shape)
            self.net = nn.Sequential(
                nn.Flatten(), MLP([d, int(hidden), d], act="leaky_relu", out_act="sigmoid"),
                nn.Unflatten(1, shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (N, *shape) in [0, 1]


class DomainDiscriminator(nn.Module):
    """``x -> (features, logit)``: is ``x`` a real image of this domain?

    ``arch="conv"``: LeakyReLU stride-2 convolutions then a linear head; ``mlp``:
    a LeakyReLU MLP. The features (last hidden layer) serve feature matching.
    """

    def __init__(self, shape: Sequence[int], channels: Sequence[int] | None = None,
                 arch: str = "conv") -> None:
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if arch == "conv":
            enc = ConvEncoder(shape, 1, channels, act="leaky_relu")
            self.features, self.head = nn.Sequential(enc.features, nn.Flatten()), enc.fc
        else:
            widths = tuple(channels) if channels is not None else (256, 256)
            self.features = nn.Sequential(nn.Flatten(), MLP([math.prod(shape), *widths],
                                                            act="leaky_relu",
                                                            out_act="leaky_relu"))
            self.head = nn.Linear(widths[-1], 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)  # (N, F)
        return f, self.head(f).squeeze(1)  # (N, F), (N,) logits
