"""Network building blocks shared by the methods.

MLP encoder/decoder (the d-500-500-2000-10 stack of DEC, IDEC, DCN, VaDE),
convolutional encoder/decoder for 8x8, 16x16, 28x28 and 32x32 images, residual
blocks (used by DCFAE's ResNet), and discriminators for the GAN chapter.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLP", "mlp_encoder", "mlp_decoder", "ConvEncoder", "ConvDecoder",
           "ResidualBlock", "ResidualMLPBlock", "MLPDiscriminator", "ConvDiscriminator",
           "make_autoencoder_nets", "glorot_init_", "count_parameters"]


def _act(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.2), "elu": nn.ELU(),
            "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), "identity": nn.Identity()}[name]


class MLP(nn.Sequential):
    """Linear layers ``dims[0] -> ... -> dims[-1]`` with ``act`` between them.

    The last layer gets ``out_act`` (identity by default), as in DEC's encoder whose
    embedding layer is linear. ``batch_norm`` adds BatchNorm1d after hidden layers.
    """

    def __init__(self, dims: Sequence[int], act: str = "relu", out_act: str = "identity",
                 batch_norm: bool = False, dropout: float = 0.0) -> None:
        if len(dims) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got {dims}.")
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b))
            last = i == len(dims) - 2
            if not last:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(b))
                layers.append(_act(act))
                if dropout:
                    layers.append(nn.Dropout(dropout))
            elif out_act != "identity":
                layers.append(_act(out_act))
        super().__init__(*layers)


def mlp_encoder(in_dim: int, hidden: Sequence[int] = (500, 500, 2000), latent: int = 10,
                act: str = "relu") -> MLP:
    """``in_dim - hidden - latent`` with a linear embedding layer (DEC, section 3.2)."""
    return MLP([in_dim, *hidden, latent], act=act)


def mlp_decoder(latent: int, hidden: Sequence[int] = (2000, 500, 500), out_dim: int = 784,
                act: str = "relu", out_act: str = "identity") -> MLP:
    """The mirror of ``mlp_encoder``; ``out_act='sigmoid'`` for a Bernoulli/BCE decoder."""
    return MLP([latent, *hidden, out_dim], act=act, out_act=out_act)


def _down_sizes(size: int, n: int) -> list[int]:
    sizes = [size]
    for _ in range(n):
        sizes.append((sizes[-1] + 1) // 2)  # 3x3 conv, stride 2, padding 1
    return sizes


class ConvEncoder(nn.Module):
    """Stride-2 3x3 convolutions then a linear embedding: ``(N, C, H, W) -> (N, latent)``.

    Works for any square size; 8x8 digits use two stages (8 -> 4 -> 2), 28x28
    MNIST three (28 -> 14 -> 7 -> 4).
    """

    def __init__(self, in_shape: Sequence[int], latent: int = 10,
                 channels: Sequence[int] | None = None, act: str = "relu",
                 batch_norm: bool = False) -> None:
        super().__init__()
        c, h, w = in_shape
        if h != w:
            raise ValueError(f"ConvEncoder expects square images, got {h}x{w}.")
        if channels is None:
            channels = (32, 64) if h <= 16 else (32, 64, 128)
        self.in_shape = tuple(in_shape)
        self.sizes = _down_sizes(h, len(channels))
        layers: list[nn.Module] = []
        prev = c
        for ch in channels:
            layers.append(nn.Conv2d(prev, ch, 3, stride=2, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(ch))
            layers.append(_act(act))
            prev = ch
        self.features = nn.Sequential(*layers)
        self.channels = tuple(channels)
        self.flat_dim = prev * self.sizes[-1] ** 2
        self.fc = nn.Linear(self.flat_dim, latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))  # (N, latent)


class ConvDecoder(nn.Module):
    """The mirror of ``ConvEncoder``: ``(N, latent) -> (N, C, H, W)``.

    Transposed convolutions with the output padding chosen so every stage lands on
    the encoder's size exactly (e.g. 4 -> 7 -> 14 -> 28).
    """

    def __init__(self, out_shape: Sequence[int], latent: int = 10,
                 channels: Sequence[int] | None = None, act: str = "relu",
                 out_act: str = "sigmoid", batch_norm: bool = False) -> None:
        super().__init__()
        c, h, w = out_shape
        if channels is None:
            channels = (32, 64) if h <= 16 else (32, 64, 128)
        self.out_shape = tuple(out_shape)
        sizes = _down_sizes(h, len(channels))
        rev = list(channels)[::-1]
        self.start = (rev[0], sizes[-1], sizes[-1])
        self.fc = nn.Linear(latent, rev[0] * sizes[-1] ** 2)
        layers: list[nn.Module] = [_act(act)]
        outs = rev[1:] + [c]
        for i, (a, b) in enumerate(zip(rev, outs)):
            s_in, s_out = sizes[-1 - i], sizes[-2 - i]
            layers.append(nn.ConvTranspose2d(a, b, 3, stride=2, padding=1,
                                             output_padding=s_out - (2 * s_in - 1)))
            if i < len(rev) - 1:
                if batch_norm:
                    layers.append(nn.BatchNorm2d(b))
                layers.append(_act(act))
        if out_act != "identity":
            layers.append(_act(out_act))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, *self.start))  # (N, C, H, W)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1) shortcut (He et al. 2016, Fig. 2)."""

    def __init__(self, in_ch: int, out_ch: int | None = None, stride: int = 1,
                 batch_norm: bool = True, act: str = "relu") -> None:
        super().__init__()
        out_ch = in_ch if out_ch is None else out_ch
        norm = nn.BatchNorm2d if batch_norm else (lambda ch: nn.Identity())
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=not batch_norm),
            norm(out_ch), _act(act),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=not batch_norm), norm(out_ch))
        self.shortcut = (nn.Identity() if stride == 1 and in_ch == out_ch
                         else nn.Conv2d(in_ch, out_ch, 1, stride=stride))
        self.act = _act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResidualMLPBlock(nn.Module):
    """``x + f(x)`` with ``f`` a two-layer MLP: a residual block for vectors."""

    def __init__(self, dim: int, hidden: int | None = None, act: str = "relu") -> None:
        super().__init__()
        self.f = MLP([dim, hidden or dim, dim], act=act)
        self.act = _act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.f(x))


class MLPDiscriminator(nn.Module):
    """``(N, ...) -> (N, out)`` logits through a LeakyReLU MLP (GAN chapter)."""

    def __init__(self, in_dim: int, hidden: Sequence[int] = (256, 256), out: int = 1) -> None:
        super().__init__()
        self.net = MLP([in_dim, *hidden, out], act="leaky_relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class ConvDiscriminator(nn.Module):
    """A ``ConvEncoder`` with LeakyReLU whose linear head gives ``out`` logits."""

    def __init__(self, in_shape: Sequence[int], out: int = 1,
                 channels: Sequence[int] | None = None) -> None:
        super().__init__()
        self.net = ConvEncoder(in_shape, latent=out, channels=channels, act="leaky_relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def make_autoencoder_nets(input_shape: Sequence[int], latent: int = 10, arch: str = "mlp",
                          hidden: Sequence[int] = (500, 500, 2000),
                          out_act: str = "identity") -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder for ``input_shape`` (without the batch axis).

    ``arch='mlp'`` flattens the input (decoder outputs the same shape back);
    ``arch='conv'`` needs an image shape (C, H, W).
    """
    shape = tuple(int(s) for s in input_shape)
    if arch == "mlp":
        d = 1
        for s in shape:
            d *= s
        enc = nn.Sequential(nn.Flatten(), mlp_encoder(d, hidden, latent))
        dec = nn.Sequential(mlp_decoder(latent, tuple(hidden)[::-1], d, out_act=out_act),
                            nn.Unflatten(1, shape))
        return enc, dec
    if arch == "conv":
        if len(shape) != 3:
            raise ValueError(f"arch='conv' needs images (C, H, W), got input shape {shape}.")
        return (ConvEncoder(shape, latent),
                ConvDecoder(shape, latent, out_act=out_act if out_act != "identity"
                            else "identity"))
    raise ValueError(f"arch must be 'mlp' or 'conv', got {arch!r}.")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@torch.no_grad()
def glorot_init_(module: nn.Module) -> nn.Module:
    """Glorot (Xavier) uniform weights and zero biases for every linear/conv layer, in place.

    ``W ~ U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))`` (Glorot and Bengio 2010):
    the default of Keras and Lasagne, hence the initialisation of the reference code of
    DEC (Keras port), IDEC, DCN and VaDE. torch's default, ``U(+-1/sqrt(fan_in))``, starts
    smaller. Returns ``module``.
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module
