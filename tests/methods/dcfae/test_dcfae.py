"""The DCFAE estimator (notebook 05): contract, ablation switches, bad input, one real fit."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from dclearn import evaluate
from dclearn.methods.dcfae import DCFAE
from dclearn.nets import ResidualBlock

TINY = dict(latent=4, channels=(4, 8), disc_channels=(4, 4), grouper_hidden=(16,),
            pretrain_epochs=1, epochs=1, batch_size=64, n_init=2, device="cpu",
            verbose=False)


@pytest.fixture(scope="module")
def small(digits):
    return digits.X[:300], digits.y[:300]


@pytest.fixture(scope="module")
def tiny(small):
    X, y = small
    return DCFAE(10, random_state=0, **TINY).fit(X, y)


def test_shapes_and_fitted_attributes(tiny, small):
    X, _ = small
    n = X.shape[0]
    assert tiny.labels_.shape == (n,) and tiny.labels_.dtype == np.int64
    assert tiny.labels_.min() >= 0 and tiny.labels_.max() < 10
    assert tiny.transform(X).shape == (n, 4)
    assert tiny.cluster_centers_.shape == (10, 4)
    stages = {h["phase"] for h in tiny.history_ if "loss" in h}
    assert len(stages) == 2
    for h in (h for h in tiny.history_ if "loss" in h):
        assert {"loss", "rec", "kl", "gen", "disc", "pair"} <= set(h)
    assert "acc" in tiny.history_[-1]  # y given: metrics for display


def test_predict_on_new_data(tiny, digits):
    Xn = digits.X[300:360]
    pred = tiny.predict(Xn)
    assert pred.shape == (60,) and pred.dtype == np.int64
    Z = tiny.transform(Xn)
    d = ((Z[:, None, :] - tiny.cluster_centers_[None]) ** 2).sum(-1)
    assert np.array_equal(pred, d.argmin(1))  # spectral: the nearest cluster mean


def test_sample_and_reconstruct_ranges(tiny, small):
    X, _ = small
    s = tiny.sample(5, random_state=1)
    assert s.shape == (5, 1, 8, 8) and s.min() >= 0.0 and s.max() <= 1.0
    assert np.array_equal(s, tiny.sample(5, random_state=1))
    r = tiny.reconstruct(X[:7])
    assert r.shape == (7, 1, 8, 8) and r.min() >= 0.0 and r.max() <= 1.0
    assert tiny.decode(np.zeros((2, 4))).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="n must be"):
        tiny.sample(0)


def test_image_size_resizes_before_the_networks(small, digits):
    """``image_size`` (the code's 32 x 32 for MNIST) resizes in fit and in every later call."""
    X, _ = small
    est = DCFAE(10, random_state=0, image_size=16, **TINY).fit(X)
    assert est.fae_.input_shape == (1, 16, 16)
    assert est.rec_weight_ == 1024.0 / (16 * 16)  # "auto" counts the networks' pixels
    assert est.reconstruct(X[:3]).shape == (3, 1, 16, 16)
    assert est.sample(2, random_state=0).shape == (2, 1, 16, 16)
    Xn = digits.X[300:340]  # new 8 x 8 images are resized the same way
    assert est.predict(Xn).shape == (40,) and est.transform(Xn).shape == (40, 4)
    with torch.no_grad():
        up = torch.nn.functional.interpolate(X[:5], size=(16, 16), mode="bilinear",
                                             align_corners=False).clamp(0, 1)
    assert np.allclose(est.transform(X[:5]), est._embed(up).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="shape"):  # the fitted input size still applies
        est.predict(up)


def test_same_seed_same_labels(small):
    X, _ = small
    a = DCFAE(10, random_state=3, cluster="kmeans", **TINY).fit(X)
    b = DCFAE(10, random_state=3, cluster="kmeans", **TINY).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.transform(X), b.transform(X))
    assert "acc" not in a.history_[-1]  # no y, no metrics
    assert np.array_equal(a.predict(X), a.labels_)  # k-means: predict agrees with fit
    c = DCFAE(10, random_state=3, **TINY).fit(X)  # the default, spectral clustering
    assert np.array_equal(c.labels_, DCFAE(10, random_state=3, **TINY).fit(X).labels_)


def test_discriminator_sees_reconstructions_and_real_images(small):
    X, _ = small
    est = DCFAE(10, random_state=0, **{**TINY, "epochs": 1, "pretrain_epochs": 1})
    seen = []
    orig_build = est._build

    def build_and_hook(Xt):
        orig_build(Xt)
        est.discriminator_.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))

    est._build = build_and_hook
    est.fit(X)
    assert seen
    batch = seen[0]
    half = batch.shape[0] // 2
    fake, real = batch[:half], batch[half:]
    # reconstructions come from a sigmoid: strictly inside (0, 1); real digits have exact 0s
    assert ((fake > 0) & (fake < 1)).all()
    assert (real == 0).any()
    rows = X.flatten(1)
    assert all((rows == r.flatten()).all(1).any() for r in real[:5])  # real rows of X
    assert not any((rows == f.flatten()).all(1).any() for f in fake[:5])


def test_ablation_switches(small):
    X, _ = small
    vae = DCFAE(10, random_state=0, adversarial_weight=0, grouper=False, residual=False,
                **TINY).fit(X)
    assert vae.discriminator_ is None and vae.grouper_ is None
    assert not any(isinstance(m, ResidualBlock) for m in vae.fae_.modules())
    epochs = [h for h in vae.history_ if "loss" in h]
    assert epochs and all(h["gen"] == 0.0 and h["pair"] == 0.0 for h in epochs)
    # without the grouper the embedding is the FAE's means
    with torch.inference_mode():
        mu = vae.fae_.encode(X)[0].numpy()
    assert np.allclose(vae.transform(X), mu, atol=1e-5)
    spec = DCFAE(10, random_state=0, cluster="spectral", **TINY).fit(X)
    assert spec.labels_.shape == (300,) and len(np.unique(spec.labels_)) > 1
    assert spec.predict(X[:20]).shape == (20,)


@pytest.mark.parametrize("bad, match", [
    (dict(cluster="dbscan"), "cluster"),
    (dict(affinity="cosine"), "affinity"),
    (dict(latent=0), "latent"),
    (dict(batch_size=1), "batch_size"),
    (dict(channels=(8, 0)), "channels"),
    (dict(grouper_hidden=()), "grouper_hidden"),
    (dict(adversarial_weight=-1.0), "adversarial_weight"),
    (dict(rec_weight=0.0), "rec_weight"),
    (dict(label_noise=0.7), "label_noise"),
    (dict(target_alpha=0.0), "target_alpha"),
    (dict(shift=0.6), "shift"),
    (dict(residual="yes"), "residual"),
    (dict(epochs=0), "epochs >= 1"),
    (dict(image_size=4), "image_size"),
    (dict(image_size=16.5), "image_size"),
])
def test_bad_parameters(small, bad, match):
    X, _ = small
    with pytest.raises(ValueError, match=match):
        DCFAE(10, random_state=0, **{**TINY, **bad}).fit(X)


def test_bad_input(small):
    X, _ = small
    Xnan = X.clone()
    Xnan[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        DCFAE(10, **TINY).fit(Xnan)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DCFAE(10, **TINY).fit(X * 2.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DCFAE(10, **TINY).fit(X - 0.5)
    with pytest.raises(ValueError, match="square images"):
        DCFAE(10, **TINY).fit(X.flatten(1))
    for k in (1, 301):
        with pytest.raises(ValueError, match="n_clusters"):
            DCFAE(k, **TINY).fit(X)
    est = DCFAE(10, **TINY)
    with pytest.raises(NotFittedError):
        est.predict(X)
    with pytest.raises(NotFittedError):
        est.sample(3)


def test_wrong_shape_after_fit(tiny):
    with pytest.raises(ValueError, match="sample shape"):
        tiny.predict(torch.rand(4, 1, 16, 16))


def test_quality_on_digits(digits):
    """One real fit with the defaults, seed 0: measured ACC 0.807 on one CPU thread.

    The threshold sits a little under k-means on the pixels (0.79): another thread count
    changes the floating-point path, and over seeds 0-4 the default ranges 0.798-0.870.
    """
    est = DCFAE(10, random_state=0, device="cpu", verbose=False).fit(digits.X)
    acc = evaluate(digits.y.numpy(), est.labels_)["acc"]
    assert acc >= 0.78, acc
