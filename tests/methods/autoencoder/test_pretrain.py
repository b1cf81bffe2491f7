"""The autoencoder pretraining of chapter 02: its loss, cache, layer-wise stage and solvers."""

import numpy as np
import pytest
import torch

from dclearn.methods.autoencoder.aekmeans import AEKMeans
from dclearn.methods.autoencoder.layerwise import fold_input_scale, make_solver, solver_loss
from dclearn.methods.autoencoder.pretrain import (
    clear_pretrain_cache,
    pretrain_autoencoder,
)
from dclearn.methods.autoencoder.reconstruction import reconstruction_loss
from dclearn.nets import make_autoencoder_nets

SMALL = dict(hidden=(32, 32, 64), pretrain_epochs=2, pretrain_layerwise_epochs=1,
             batch_size=128, n_init=2)



def _weights(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_reconstruction_loss_hand_values():
    x = torch.tensor([[0.0, 1.0]])
    x_hat = torch.tensor([[0.5, 0.5]])
    assert reconstruction_loss(x_hat, x, "mse").item() == pytest.approx(0.25)
    assert reconstruction_loss(x_hat, x, "bce").item() == pytest.approx(np.log(2), rel=1e-5)
    with pytest.raises(ValueError, match="loss must be"):
        reconstruction_loss(x_hat, x, "l1")


def test_pretrain_cache_returns_independent_copies(digits):
    clear_pretrain_cache()
    X = digits.X[:300]
    kw = dict(hidden=(16, 16), latent=4, epochs=1, batch_size=100, seed=3, device="cpu",
              verbose=False)
    enc1, dec1, hist1 = pretrain_autoencoder(X, **kw)
    assert len(hist1) == 1 and np.isfinite(hist1[0]["rec"])
    z = enc1(X[:5])
    assert z.shape == (5, 4) and dec1(z).shape == (5, 1, 8, 8)
    w1 = _weights(enc1).clone()
    with torch.no_grad():  # fine-tuning one method must not alter the cache
        for p in enc1.parameters():
            p.add_(1.0)
    enc2, _, _ = pretrain_autoencoder(X, **kw)
    assert enc2 is not enc1 and torch.equal(_weights(enc2), w1)
    clear_pretrain_cache()  # a fresh training with the same seed gives the same weights
    enc3, _, _ = pretrain_autoencoder(X, **kw)
    assert torch.equal(_weights(enc3), w1)
    enc4, _, _ = pretrain_autoencoder(X, **{**kw, "seed": 4})
    assert not torch.equal(_weights(enc4), w1)
    with pytest.raises(ValueError, match="arch must be"):
        pretrain_autoencoder(X, arch="rnn", epochs=1, device="cpu", verbose=False)


def test_layerwise_stage_trains_each_pair_then_the_stack(digits):
    X = digits.X[:500]
    kw = dict(hidden=(32, 16), latent=4, batch_size=50, seed=0, device="cpu", verbose=False,
              use_cache=False)
    enc0, dec0, _ = pretrain_autoencoder(X, epochs=0, **kw)  # untrained (Glorot) stack
    enc, dec, hist = pretrain_autoencoder(X, epochs=0, layerwise_epochs=20, **kw)
    assert [h["phase"] for h in hist] == [f"AE layer {i}/3" for i in (1, 2, 3) for _ in range(20)]
    assert all(np.isfinite(h["rec"]) for h in hist)
    for i in (1, 2, 3):  # every pair learns its own reconstruction
        mine = [h["rec"] for h in hist if h["phase"] == f"AE layer {i}/3"]
        assert mine[-1] < mine[0]
    with torch.no_grad():  # stacked without fine-tuning, the pairs already form an autoencoder
        before = reconstruction_loss(dec0(enc0(X)), X).item()
        after = reconstruction_loss(dec(enc(X)), X).item()
    assert after < 0.5 * before, (before, after)  # measured: 0.24 -> 0.083
    enc2, _, hist2 = pretrain_autoencoder(X, epochs=2, layerwise_epochs=1, **kw)
    assert [h["phase"] for h in hist2][-2:] == ["AE pretrain"] * 2  # then end to end
    for bad in (dict(layerwise_epochs=-1), dict(layerwise_epochs=1.5),
                dict(layerwise_noise=1.0)):
        with pytest.raises(ValueError, match="layerwise"):
            pretrain_autoencoder(X, epochs=1, **{**kw, **bad})
    with pytest.raises(ValueError, match="needs arch='mlp'"):
        pretrain_autoencoder(X, arch="conv", epochs=1, layerwise_epochs=1, device="cpu",
                             verbose=False)


def test_dec_reference_solver_and_input_scale(digits):
    """DEC's reference recipe: SGD (momentum 0.9, lr / 10 every 20,000 steps), data x 5."""
    w = torch.nn.Parameter(torch.zeros(3))
    opt, sched = make_solver([w], "sgd", 0.1)
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
    assert sched.step_size == 20000 and sched.gamma == pytest.approx(0.1)
    assert make_solver([w], "adam", 1e-3)[1] is None
    mean_sq = torch.tensor(0.3)  # SGD descends half the mean (MXNet's regression output)
    assert solver_loss(mean_sq, "sgd").item() == pytest.approx(0.15)
    assert solver_loss(mean_sq, "adam").item() == pytest.approx(0.3)
    # cross-entropy: the mean itself (MXNet's logistic output, gradient (p - x) / D)
    assert solver_loss(mean_sq, "sgd", "bce").item() == pytest.approx(0.3)

    # folding the scale into the first and last layers computes the scaled network
    enc, dec = make_autoencoder_nets((64,), 4, "mlp", (16, 8))
    enc_f, dec_f = make_autoencoder_nets((64,), 4, "mlp", (16, 8))
    enc_f.load_state_dict(enc.state_dict())
    dec_f.load_state_dict(dec.state_dict())
    fold_input_scale(enc_f, dec_f, 5.0)
    x = torch.rand(6, 64)
    with torch.no_grad():
        assert torch.allclose(enc_f(x), enc(5.0 * x), atol=1e-5)
        assert torch.allclose(dec_f(enc_f(x)), dec(enc(5.0 * x)) / 5.0, atol=1e-5)
    # a sigmoid decoder (bce) is trained against unscaled data: only the input is folded
    enc, dec = make_autoencoder_nets((64,), 4, "mlp", (16, 8), out_act="sigmoid")
    enc_f, dec_f = make_autoencoder_nets((64,), 4, "mlp", (16, 8), out_act="sigmoid")
    enc_f.load_state_dict(enc.state_dict())
    dec_f.load_state_dict(dec.state_dict())
    fold_input_scale(enc_f, dec_f, 5.0, output=False)
    with torch.no_grad():
        assert torch.allclose(dec_f(enc_f(x)), dec(enc(5.0 * x)), atol=1e-5)

    X = digits.flat()[:400]
    kw = dict(hidden=(32, 16), latent=4, batch_size=50, seed=0, device="cpu", verbose=False,
              use_cache=False, solver="sgd", lr=0.1, input_scale=5.0)
    enc, dec, hist = pretrain_autoencoder(X, epochs=20, layerwise_epochs=2, **kw)
    recs = [h["rec"] for h in hist if h["phase"] == "AE pretrain"]
    assert all(np.isfinite(recs)) and recs[-1] < recs[0]
    with torch.no_grad():  # logged in the data's own units; nets take unscaled data
        final = reconstruction_loss(dec(enc(X)), X).item()
    assert final == pytest.approx(recs[-1], rel=0.5), (final, recs[-1])
    enc2, _, _ = pretrain_autoencoder(X, epochs=20, layerwise_epochs=2, **kw)
    assert torch.equal(_weights(enc), _weights(enc2))  # deterministic
    for bad, msg in ((dict(solver="rmsprop"), "solver must be"),
                     (dict(input_scale=0.0), "input_scale must be"),
                     (dict(input_scale=float("nan")), "input_scale must be")):
        with pytest.raises(ValueError, match=msg):
            pretrain_autoencoder(X, epochs=1, **{**kw, **bad})
    with pytest.raises(ValueError, match="input_scale != 1 needs"):
        pretrain_autoencoder(digits.X[:50], arch="conv", epochs=1, input_scale=5.0,
                             device="cpu", verbose=False)
    # the same recipe with a sigmoid decoder and cross-entropy (VaDE's Bernoulli decoder)
    enc, dec, hist = pretrain_autoencoder(X, epochs=20, layerwise_epochs=2,
                                          **{**kw, "loss": "bce"})
    recs = [h["rec"] for h in hist if h["phase"] == "AE pretrain"]
    assert all(np.isfinite(recs)) and recs[-1] < recs[0]
    with torch.no_grad():  # the nets take unscaled data and return values in [0, 1]
        out = dec(enc(X))
        final = reconstruction_loss(out, X, "bce").item()
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert final == pytest.approx(recs[-1], rel=0.2), (final, recs[-1])
    with pytest.raises(ValueError, match="pretrain_solver"):
        AEKMeans(10, pretrain_solver="lbfgs", verbose=False).fit(digits.X[:100])
    with pytest.raises(ValueError, match="pretrain_input_scale"):
        AEKMeans(10, pretrain_input_scale=-1.0, verbose=False).fit(digits.X[:100])










def test_pretraining_kept_on_disk(digits, tmp_path, monkeypatch):
    """With DCLEARN_PRETRAIN_CACHE set, a later process gets the pretraining without training."""
    import dclearn.methods.autoencoder.pretrain as ae

    X = digits.flat()[:300]
    kw = dict(hidden=(32, 16), latent=4, epochs=3, batch_size=50, layerwise_epochs=1,
              seed=3, device="cpu", verbose=False)
    monkeypatch.setenv("DCLEARN_PRETRAIN_CACHE", str(tmp_path / "store"))
    clear_pretrain_cache()
    enc, dec, hist = pretrain_autoencoder(X, **kw)
    assert len(list((tmp_path / "store").glob("ae-*.pt"))) == 1
    clear_pretrain_cache()  # as in a new process: only the disk is left

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of reading the stored result")

    monkeypatch.setattr(ae, "train_epochs", no_training)
    monkeypatch.setattr(ae, "layerwise_pretrain", no_training)
    enc2, dec2, hist2 = pretrain_autoencoder(X, **kw)
    assert torch.equal(_weights(enc), _weights(enc2)) and hist2 == hist
    with torch.no_grad():
        assert torch.equal(dec(enc(X)), dec2(enc2(X)))
    assert not enc2.training and not dec2.training
    with pytest.raises(AssertionError, match="trained again"):  # another seed: a new key
        pretrain_autoencoder(X, **{**kw, "seed": 4})
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("DCLEARN_PRETRAIN_CACHE", str(tmp_path / "file"))
    with pytest.raises(ValueError, match="DCLEARN_PRETRAIN_CACHE"):
        pretrain_autoencoder(X, **{**kw, "seed": 5})
    clear_pretrain_cache()
