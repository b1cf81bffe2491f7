"""Checkpoints: a fit stopped by a crash or an interrupt resumes to the labels of a fit never
stopped, and a checkpoint of another fit is refused, never reused."""

import contextlib
import warnings

import numpy as np
import pytest
import torch

import dclearn.train as train
from dclearn import (
    DAC,
    DBNNMMC,
    DCFAE,
    DCN,
    DEC,
    DEN,
    DEPICT,
    DGG,
    IDEC,
    IMSAT,
    LTVAE,
    N2D,
    RIM,
    VAE,
    VAEGAN,
    AEKMeans,
    CatGAN,
    ClusterGAN,
    InfoGAN,
    KMeans,
    VaDE,
)
from dclearn.checkpoint import CheckpointWarning
from dclearn.methods.autoencoder.pretrain import clear_pretrain_cache
from dclearn.methods.base import InterruptedFitWarning
from dclearn.train import checkpointing

AE = dict(hidden=(32, 32, 64), pretrain_epochs=4, pretrain_layerwise_epochs=1, batch_size=128)
GAN = dict(hidden=32, channels=(8, 16), n_epochs=4, batch_size=50)
VADE = dict(hidden=(32, 32, 64), pretrain_epochs=3, pretrain_batch_size=128,
            pretrain_layerwise_epochs=1, epochs=4, batch_size=128, n_init=2, n_restarts=2)
# estimator, tiny settings, and where to crash (counted in training epochs over all phases)
CASES = {
    "DEC": (DEC, dict(**AE, n_init=2, max_iter=60, update_interval=7, tol=0.0), (2, 6, 10)),
    "IDEC": (IDEC, dict(**AE, n_init=2, max_iter=40, update_interval=7, tol=0.0), (9,)),
    "AEKMeans": (AEKMeans, dict(**AE, n_init=2), (5,)),
    "DCN": (DCN, dict(**AE, n_init=2, epochs=3), (8,)),
    "N2D": (N2D, dict(**AE, manifold="isomap", n_components=3), (5,)),
    "IMSAT": (IMSAT, dict(hidden=(32,), n_epochs=6, batch_size=50), (4,)),
    "RIM": (RIM, dict(hidden=(16,), n_epochs=6, n_init=2), (3,)),
    "VAE": (VAE, dict(hidden=(32,), latent=4, epochs=4, batch_size=128, n_init=2), (3,)),
    "VaDE": (VaDE, VADE, (5, 12)),
    "DGG": (DGG, dict(VADE, n_neighbors=5, n_restarts=1), (7,)),
    "CatGAN": (CatGAN, GAN, (3,)),
    "InfoGAN": (InfoGAN, GAN, (2,)),
    "ClusterGAN": (ClusterGAN, GAN, (3,)),
    "DAC": (DAC, dict(channels=(8, 8), fc=16, lambda_step=0.1, steps_per_stage=2,
                      batch_size=64), (3,)),
    "DEN": (DEN, dict(hidden=(32, 16), pretrain_layerwise_epochs=1, pretrain_epochs=2,
                      epochs=3, n_init=2), (4,)),
    "LTVAE": (LTVAE, dict(hidden=(32,), latent=4, pretrain_epochs=3, epochs=3,
                          batch_size=128), (2, 5)),
    "VAEGAN": (VAEGAN, dict(latent_dim=3, hidden=(32,), dis_widths=(32, 32), epochs=4,
                            batch_size=128, n_init=2), (3,)),
    "DCFAE": (DCFAE, dict(latent=4, channels=(4, 8), disc_channels=(4, 4), grouper_hidden=(16,),
                          pretrain_epochs=2, epochs=2, batch_size=64, n_init=2), (2, 4)),
    "DEPICT": (DEPICT, dict(channels=(4,), pretrain_epochs=3, init_epochs=4, init_patience=1,
                            epochs=3, n_init=2, tol=0.0), (2, 5, 8)),
    "DBNNMMC": (DBNNMMC, dict(hidden=(16,), rbm_epochs=3, mm_iter=3, mm_steps=20,
                              finetune_epochs=3), (2, 5)),
}
CRASHES = [(name, at) for name, (_, _, stops) in CASES.items() for at in stops]


class Crash(RuntimeError):
    pass


@pytest.fixture
def crash_at(raise_at_epoch):
    """Raise ``exc`` at the end of the n-th training epoch (all phases counted) of the fit."""
    def arm(n, exc=Crash):
        return raise_at_epoch(n, exc)
    return arm


def _fit(cls, kw, X):
    clear_pretrain_cache()  # the pretraining comes from the checkpoint, not the memory cache
    return cls(10, random_state=0, device="cpu", verbose=False, **kw).fit(X)


@contextlib.contextmanager
def _crashed_imsat(folder, crash_at, X, **kw):
    """Under ``checkpointing(folder)``, an IMSAT fit that crashed at its second training
    epoch (its checkpoint left in ``folder``); the body runs with the crash disarmed."""
    with warnings.catch_warnings(), checkpointing(folder, every_s=0):
        warnings.simplefilter("ignore")
        crash_at(2)
        with pytest.raises(Crash):
            IMSAT(5, **kw).fit(X)
        crash_at(10**9)
        yield


@pytest.mark.parametrize("name,stop_at", CRASHES)
def test_crashed_fit_resumes_to_the_same_labels(name, stop_at, digits, tmp_path, crash_at):
    cls, kw, _ = CASES[name]
    X = digits.X[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = crash_at(10**9)
        reference = _fit(cls, kw, X)
        with checkpointing(tmp_path, every_s=0):
            calls = crash_at(stop_at)
            with pytest.raises(Crash):
                _fit(cls, kw, X)
            assert calls["n"] == stop_at  # the crash did happen where asked
            assert (tmp_path / f"{name}.pt").is_file()
            rerun = crash_at(10**9)
            resumed = _fit(cls, kw, X)
    # the resumed fit trained only the epochs after the last one saved (stop_at - 1)
    assert rerun["n"] == total["n"] - (stop_at - 1)
    assert np.array_equal(resumed.labels_, reference.labels_)
    assert resumed.history_ == reference.history_  # the saved phases' losses included
    assert not (tmp_path / f"{name}.pt").exists()  # a finished fit removes its checkpoint


def test_interrupted_fit_resumes(digits, tmp_path, crash_at):
    cls, kw, _ = CASES["DEC"]
    X = digits.X[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = _fit(cls, kw, X)
    with checkpointing(tmp_path, every_s=0):
        crash_at(7, KeyboardInterrupt)
        with pytest.warns(InterruptedFitWarning):
            stopped = _fit(cls, kw, X)
        assert stopped.interrupted_ and (tmp_path / "DEC.pt").is_file()
        crash_at(10**9)
        with warnings.catch_warnings():
            warnings.simplefilter("error", InterruptedFitWarning)
            resumed = _fit(cls, kw, X)
    assert resumed.interrupted_ is False
    assert np.array_equal(resumed.labels_, reference.labels_)


def test_random_state_none_resumes_with_the_saved_seed(digits, tmp_path, crash_at):
    X = digits.X[:200]
    kw = dict(hidden=(16,), n_epochs=4, batch_size=50, device="cpu", verbose=False)
    with _crashed_imsat(tmp_path, crash_at, X, **kw):
        seed = torch.load(tmp_path / "IMSAT.pt", weights_only=True)["seed"]
        resumed = IMSAT(5, **kw).fit(X)
        reference = IMSAT(5, random_state=seed, **kw)
    reference.fit(X)
    assert resumed.seed_ == seed
    assert np.array_equal(resumed.labels_, reference.labels_)


def test_checkpoint_of_another_fit_is_refused(digits, tmp_path, crash_at):
    X = digits.X[:200]
    kw = dict(hidden=(16,), batch_size=50, random_state=0, device="cpu", verbose=False)
    with _crashed_imsat(tmp_path, crash_at, X, n_epochs=4, **kw):
        with pytest.raises(ValueError, match=r"another fit: n_epochs: saved 4, now 5"):
            IMSAT(5, n_epochs=5, **kw).fit(X)
        with pytest.raises(ValueError, match="the data differ"):
            IMSAT(5, n_epochs=4, **kw).fit(X[:150])
        (tmp_path / "IMSAT.pt").write_bytes(b"not a checkpoint")
        with pytest.raises(ValueError, match="could not be read"):
            IMSAT(5, n_epochs=4, **kw).fit(X)


def test_methods_without_checkpoints_say_so(digits, tmp_path):
    X = digits.X[:200]
    with checkpointing(tmp_path, every_s=0):
        with pytest.warns(CheckpointWarning, match="KMeans does not train through"):
            KMeans(5, n_init=1, random_state=0, device="cpu", verbose=False).fit(X)
    assert not list(tmp_path.iterdir())


def test_environment_variables_and_bad_interval(digits, tmp_path, monkeypatch, crash_at):
    monkeypatch.setenv("DCLEARN_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("DCLEARN_CHECKPOINT_EVERY", "0")
    crash_at(2)
    with pytest.raises(Crash), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        IMSAT(5, hidden=(16,), n_epochs=3, batch_size=50, random_state=0, device="cpu",
              verbose=False).fit(digits.X[:100])
    assert (tmp_path / "IMSAT.pt").is_file()
    with pytest.raises(ValueError, match="every_s must be"):
        with checkpointing(tmp_path, every_s=-1):
            pass


def test_batch_stream_restores_mid_permutation():
    g = torch.Generator().manual_seed(0)
    s = train.BatchStream(10, 3, g, "cpu")
    first = [next(s) for _ in range(5)]  # one permutation and a half
    saved = s.state_dict()
    rest = [next(s) for _ in range(4)]
    g2 = torch.Generator().manual_seed(123)
    s2 = train.BatchStream(10, 3, g2, "cpu")
    s2.load_state_dict(saved)
    assert all(torch.equal(a, b) for a, b in zip(rest, [next(s2) for _ in range(4)]))
    g3 = torch.Generator().manual_seed(0)
    plain = list(train.batch_indices(10, 3, g3)) + list(train.batch_indices(10, 3, g3))
    assert all(torch.equal(a, b) for a, b in zip(first, plain))


def test_resumed_fit_counts_the_seconds_of_the_runs_before_it(digits, tmp_path, crash_at):
    """A checkpoint keeps the seconds trained up to its last save; the fit that resumes it
    reports them (``resumed_seconds_``) and ``bench`` adds them to the row's seconds."""
    from dclearn.cli.bench import run_one

    X = digits.X[:200]
    kw = dict(hidden=(16,), n_epochs=4, batch_size=50, random_state=0, device="cpu",
              verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = IMSAT(5, **kw).fit(X)
    assert fresh.resumed_seconds_ == (0.0, 0.0)
    with _crashed_imsat(tmp_path, crash_at, X, **kw):
        blob = torch.load(tmp_path / "IMSAT.pt", weights_only=True)
        assert blob["seconds"] > 0 and blob["cpu_seconds"] > 0
        resumed = IMSAT(5, **kw).fit(X)
    assert resumed.resumed_seconds_ == (blob["seconds"], blob["cpu_seconds"])

    tiny = dict(hidden=(16,), n_epochs=4, batch_size=50)
    with warnings.catch_warnings(), checkpointing(tmp_path, every_s=0):
        warnings.simplefilter("ignore")
        crash_at(2)
        with pytest.raises(Crash):
            run_one("imsat", digits, 0, device="cpu", settings=tiny)
        saved = torch.load(tmp_path / "IMSAT.pt", weights_only=True)["seconds"]
        crash_at(10**9)
        row = run_one("imsat", digits, 0, device="cpu", settings=tiny)
        plain = run_one("imsat", digits, 0, device="cpu", settings=tiny)
    assert row["resumed_seconds"] == saved and row["seconds"] > saved
    assert "resumed_seconds" not in plain
