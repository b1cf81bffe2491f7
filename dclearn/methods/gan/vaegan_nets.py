"""The three networks of VAE-GAN (Larsen et al., ICML 2016): encoder, decoder, discriminator.

Taught in notebook 04. The discriminator is split in two at the layer ``l`` whose
activations ``Dis_l(x)`` serve as the learned similarity metric (section 2.2 of the
paper): ``features`` computes ``Dis_l(x)``, ``head`` the real/fake logit from it.
Images use stride-2 convolutions (the paper's layout, scaled down to 8x8 digits and
28x28 MNIST); vectors, and digits by default, use MLPs. No batch normalisation: the
discriminator sees real, reconstructed and sampled images in one batch, and batch
statistics would mix the three.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ...nets import MLP, ConvDecoder, ConvEncoder

__all__ = ["VAEGANNet", "FeatureDiscriminator"]


class FeatureDiscriminator(nn.Module):
    """``x -> (Dis_l(x), logit)``: the discriminator with its ``l``-th layer exposed.

    ``arch="conv"``: stride-2 3x3 convolutions with ``channels`` (default 32, 64,
    128), LeakyReLU; ``Dis_l`` is the output of the first ``feature_layer`` of them
    (8x8 digits, ``feature_layer=1``: a 32 x 4 x 4 map), the rest plus a linear layer
    give the logit. ``arch="mlp"``: LeakyReLU layers of widths ``channels`` (default
    256, 256), ``Dis_l`` after the first ``feature_layer`` of them.
    """

    def __init__(self, input_shape: Sequence[int], channels: Sequence[int] | None = None,
                 feature_layer: int = 1, arch: str = "conv") -> None:
        super().__init__()
        if channels is None:
            channels = (32, 64, 128) if arch == "conv" else (256, 256)
        shape, channels = tuple(int(s) for s in input_shape), tuple(int(c) for c in channels)
        if not 1 <= feature_layer <= len(channels):
            raise ValueError(f"feature_layer must be in [1, {len(channels)}] (the number of "
                             f"discriminator layers), got {feature_layer!r}.")
        layers: list[nn.Module] = []
        if arch == "conv":
            prev, size = shape[0], shape[1]
            for ch in channels:
                layers.append(nn.Sequential(nn.Conv2d(prev, ch, 3, 2, 1), nn.LeakyReLU(0.2)))
                prev, size = ch, (size + 1) // 2
            flat = prev * size * size
        elif arch == "mlp":
            prev = math.prod(shape)
            layers.append(nn.Flatten())
            for ch in channels:
                layers.append(nn.Sequential(nn.Linear(prev, ch), nn.LeakyReLU(0.2)))
                prev = ch
            flat = prev
            feature_layer += 1  # the Flatten counts as a layer of the list
        else:
            raise ValueError(f"arch must be 'conv' or 'mlp', got {arch!r}.")
        self.features = nn.Sequential(*layers[:feature_layer])
        self.head = nn.Sequential(*layers[feature_layer:], nn.Flatten(), nn.Linear(flat, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)  # Dis_l(x): (N, C_l, H_l, W_l) or (N, F)
        return f.flatten(1), self.head(f).squeeze(1)  # (N, F), (N,) logits


class VAEGANNet(nn.Module):
    """Gaussian encoder, sigmoid decoder and feature discriminator for ``input_shape``.

    ``arch="conv"`` (images): ``nets.ConvEncoder`` giving ``(mu, log sigma^2)`` and
    ``nets.ConvDecoder`` with a sigmoid output, both with ``channels``;
    ``arch="mlp"``: ``d - hidden - 2*latent`` and its mirror. The decoder's output
    is the image itself (in [0, 1]), as it is compared in feature space, not scored
    by a pixel likelihood.
    """

    def __init__(self, input_shape: Sequence[int], latent: int = 10,
                 channels: Sequence[int] | None = None, hidden: Sequence[int] = (256, 256),
                 dis_widths: Sequence[int] | None = None, feature_layer: int = 1,
                 arch: str = "conv") -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        self.input_shape, self.latent = shape, int(latent)
        if arch == "conv":
            if len(shape) != 3:
                raise ValueError(f"arch='conv' needs images (C, H, W), got input shape {shape}.")
            self.encoder = ConvEncoder(shape, 2 * self.latent, channels)
            self.decoder = ConvDecoder(shape, self.latent, channels, out_act="sigmoid")
        elif arch == "mlp":
            d = math.prod(shape)
            hidden = tuple(int(h) for h in hidden)
            self.encoder = nn.Sequential(nn.Flatten(), MLP([d, *hidden, 2 * self.latent]))
            self.decoder = nn.Sequential(MLP([self.latent, *hidden[::-1], d],
                                             out_act="sigmoid"), nn.Unflatten(1, shape))
        else:
            raise ValueError(f"arch must be 'conv' or 'mlp', got {arch!r}.")
        self.discriminator = FeatureDiscriminator(shape, dis_widths, feature_layer, arch)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z | x)``, each (N, latent)."""
        h = self.encoder(x)  # (N, 2 * latent)
        return h[:, :self.latent], h[:, self.latent:]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] shaped like the input: (N, *input_shape)."""
        return self.decoder(z)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """The three parameter sets of Algorithm 1: encoder, decoder, discriminator."""
        return {"encoder": list(self.encoder.parameters()),
                "decoder": list(self.decoder.parameters()),
                "discriminator": list(self.discriminator.parameters())}
