"""DEPICT's network (Ghasedi Dizaji et al., ICCV 2017): encoder, softmax head, decoder.

The convolutional denoising autoencoder that ``depict.py``'s estimator trains, sized for
a CPU: stride-2 layers (4x4 kernels) of the paper's 50 feature maps, a tanh embedding,
a softmax clustering head on that embedding, and a decoder that mirrors the encoder and
reconstructs every encoder layer, so that the paper's layer-wise reconstruction terms
can be computed. Vector input uses the same structure with fully connected layers.
Dropout is applied on the noisy pathway only, to the input and to every encoder layer
but the last, and every layer starts from Glorot-uniform weights and zero biases, as
in the authors' code (``functions.build_MdA``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DEPICTNet"]


def _out_pad(target: int, size_in: int) -> int:
    return target - 2 * size_in  # k=4, s=2, p=1 transposed conv gives 2 * size_in


class DEPICTNet(nn.Module):
    """Encoder stages, tanh embedding, softmax head and a mirrored decoder.

    ``forward(x, noisy)`` returns ``(layers, logits, recons)``: the encoder's layer
    outputs ``[x, z^1, ..., z^L]`` (the input counts as layer 0), the head's logits, and,
    when ``decode``, the decoder's reconstructions of the same layers in the same order.
    """

    def __init__(self, in_shape, n_clusters: int, embedding_dim: int,
                 channels=(50, 50), dropout: float = 0.1) -> None:
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.dropout = float(dropout)
        act = nn.LeakyReLU(0.01)
        self.act = act
        enc, dec = [], []
        if len(self.in_shape) == 3:  # images: stride-2 convolutions
            c, h, _ = self.in_shape
            sizes = [h]
            for _ in channels:
                sizes.append((sizes[-1] + 2 - 4) // 2 + 1)
            if min(sizes) < 1:
                raise ValueError(f"images of size {h} are too small for {len(channels)} "
                                 "stride-2 layers.")
            prev = c
            for ch in channels:
                enc.append(nn.Conv2d(prev, ch, 4, stride=2, padding=1))
                prev = ch
            outs = [c, *channels[:-1]]
            for i in range(len(channels)):
                dec.append(nn.ConvTranspose2d(channels[i], outs[i], 4, stride=2, padding=1,
                                              output_padding=_out_pad(sizes[i], sizes[i + 1])))
            self.top_shape = (channels[-1], sizes[-1], sizes[-1])
        else:  # vectors: fully connected layers
            d = self.in_shape[0]
            prev = d
            for ch in channels:
                enc.append(nn.Linear(prev, ch))
                prev = ch
            outs = [d, *channels[:-1]]
            for i in range(len(channels)):
                dec.append(nn.Linear(channels[i], outs[i]))
            self.top_shape = (channels[-1],)
        flat = 1
        for s in self.top_shape:
            flat *= s
        self.encoder = nn.ModuleList(enc)
        self.embed = nn.Linear(flat, embedding_dim)
        self.head = nn.Linear(embedding_dim, n_clusters)
        self.unembed = nn.Linear(embedding_dim, flat)
        self.decoder = nn.ModuleList(dec)  # decoder[l] maps layer l+1 back to layer l
        for m in self.modules():  # lasagne's defaults in the authors' code
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def _drop(self, h: torch.Tensor, noisy: bool) -> torch.Tensor:
        return F.dropout(h, self.dropout, training=True) if noisy and self.dropout else h

    def encode(self, x: torch.Tensor, noisy: bool = False):
        """Layer outputs ``[x, z^1, ..., z^L]`` and the embedding; dropout when ``noisy``."""
        h = self._drop(x, noisy)
        layers = [h]
        last = len(self.encoder) - 1
        for i, layer in enumerate(self.encoder):
            h = self.act(layer(h))
            if i < last:
                h = self._drop(h, noisy)
            layers.append(h)
        z = torch.tanh(self.embed(h.flatten(1)))  # (N, embedding_dim)
        return layers, z

    def decode(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Reconstructions ``[x^, z^^1, ..., z^^L]`` of every encoder layer."""
        h = self.act(self.unembed(z)).view(-1, *self.top_shape)
        recons = [h]
        for i in range(len(self.decoder) - 1, -1, -1):
            h = self.decoder[i](h)
            h = self.act(h) if i > 0 else h
            recons.append(h)
        return recons[::-1]

    def forward(self, x: torch.Tensor, noisy: bool = False, decode: bool = True):
        layers, z = self.encode(x, noisy)
        logits = self.head(z)  # (N, K)
        return layers, logits, (self.decode(z) if decode else None)
