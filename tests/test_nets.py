import math

import pytest
import torch
from torch import nn

from dclearn.nets import (
    MLP,
    ConvDecoder,
    ConvDiscriminator,
    ConvEncoder,
    MLPDiscriminator,
    ResidualBlock,
    ResidualMLPBlock,
    count_parameters,
    glorot_init_,
    make_autoencoder_nets,
    mlp_decoder,
    mlp_encoder,
)


def test_mlp_paper_stack():
    enc, dec = mlp_encoder(784), mlp_decoder(10, out_dim=784)
    z = enc(torch.rand(5, 784))
    assert z.shape == (5, 10) and dec(z).shape == (5, 784)
    sizes = [m.out_features for m in enc if isinstance(m, torch.nn.Linear)]
    assert sizes == [500, 500, 2000, 10]
    assert isinstance(list(enc)[-1], torch.nn.Linear)  # linear embedding layer
    with pytest.raises(ValueError, match="at least an input and an output"):
        MLP([3])


@pytest.mark.parametrize("size", [8, 16, 28, 32])
def test_conv_autoencoder_sizes(size):
    enc, dec = ConvEncoder((1, size, size), 10), ConvDecoder((1, size, size), 10)
    x = torch.rand(2, 1, size, size)
    with torch.no_grad():
        out = dec(enc(x))
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1


def test_make_autoencoder_nets():
    enc, dec = make_autoencoder_nets((1, 8, 8), latent=5, hidden=(32,))
    x = torch.rand(4, 1, 8, 8)
    assert enc(x).shape == (4, 5) and dec(enc(x)).shape == x.shape
    enc, dec = make_autoencoder_nets((3, 32, 32), arch="conv")
    assert dec(enc(torch.rand(2, 3, 32, 32))).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="needs images"):
        make_autoencoder_nets((64,), arch="conv")
    with pytest.raises(ValueError, match="arch must be"):
        make_autoencoder_nets((64,), arch="rnn")


def test_residual_and_discriminators():
    x = torch.rand(2, 8, 7, 7)
    assert ResidualBlock(8)(x).shape == x.shape
    assert ResidualBlock(8, 16, stride=2)(x).shape == (2, 16, 4, 4)
    assert ResidualMLPBlock(6)(torch.rand(3, 6)).shape == (3, 6)
    assert MLPDiscriminator(64)(torch.rand(3, 1, 8, 8)).shape == (3, 1)
    assert ConvDiscriminator((1, 28, 28), out=11)(torch.rand(3, 1, 28, 28)).shape == (3, 11)
    assert count_parameters(torch.nn.Linear(3, 2)) == 8


def test_glorot_init_bounds_and_zero_bias():
    torch.manual_seed(0)
    enc, dec = make_autoencoder_nets((1, 8, 8), 10, "mlp", (128, 512))
    assert glorot_init_(enc) is enc
    for m in enc.modules():
        if isinstance(m, nn.Linear):
            fan_out, fan_in = m.weight.shape
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            assert m.weight.abs().max() <= bound
            assert m.weight.abs().max() > 0.9 * bound  # uniform over the whole range
            assert torch.count_nonzero(m.bias) == 0
    # wider than torch's default U(+-1/sqrt(fan_in)) for the 512 -> 10 embedding layer
    last = [m for m in enc.modules() if isinstance(m, nn.Linear)][-1]
    assert last.weight.abs().max() > 1.0 / math.sqrt(512)
