"""IDEC (chapter 02): the decoder kept and the objective's weights."""

import pytest

from dclearn.methods.autoencoder.idec import IDEC

SMALL = dict(hidden=(32, 32, 64), pretrain_epochs=2, pretrain_layerwise_epochs=1,
             batch_size=128, n_init=2, max_iter=20, update_interval=5)


@pytest.fixture(scope="module")
def idec(digits):
    return IDEC(10, random_state=0, device="cpu", verbose=False, **SMALL).fit(digits.X)


def test_idec_keeps_decoder(idec, digits):
    rec = idec.reconstruct(digits.X[:4])
    assert rec.shape == (4, 1, 8, 8)
    assert any("rec" in h for h in idec.history_ if h["phase"] == "IDEC")
    assert not any("acc" in h for h in idec.history_)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_idec_objective_weights(scale, digits):
    # L = s^2 L_r + gamma L_c: the reconstruction error is measured in the units the
    # autoencoder was pretrained in (the authors' code trains on DEC's scaled pixels).
    est = IDEC(10, gamma=0.1, pretrain_input_scale=scale, random_state=0, device="cpu",
               verbose=False, **SMALL).fit(digits.X[:300])
    rows = [h for h in est.history_ if h["phase"] == "IDEC" and "loss" in h]
    assert rows
    for h in rows:
        assert h["loss"] == pytest.approx(scale ** 2 * h["rec"] + 0.1 * h["kl"], rel=1e-4)


def test_idec_gamma_must_be_positive(digits):
    with pytest.raises(ValueError, match="gamma"):
        IDEC(10, gamma=0.0, verbose=False).fit(digits.X[:100])
    assert IDEC().get_params()["gamma"] == 0.1
