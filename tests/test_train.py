import json

import pytest
import torch
from torch import nn

from dclearn.checkpoint import load_checkpoint, save_checkpoint
from dclearn.train import (
    EpochLog,
    TrainingDivergedError,
    batch_indices,
    get_device,
    minibatches,
    predict_in_batches,
    seed_everything,
    train_epochs,
)


def test_get_device():
    assert get_device("cpu").type == "cpu"
    assert get_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="device must be"):
        get_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            get_device("cuda")


def test_seed_everything_repeats_draws():
    seed_everything(7)
    a = torch.rand(3)
    seed_everything(7)
    assert torch.equal(a, torch.rand(3))


def test_batches_cover_every_index_once():
    g = torch.Generator().manual_seed(0)
    idx = torch.cat(list(batch_indices(103, 10, g)))
    assert sorted(idx.tolist()) == list(range(103))
    assert [len(b) for b in batch_indices(103, 10, g, drop_last=True)] == [10] * 10
    X, y = torch.arange(20.0)[:, None], torch.arange(20)
    for xb, yb in minibatches(X, y, batch_size=6, generator=g):
        assert torch.equal(xb[:, 0].long(), yb)


def test_epoch_log_means():
    log = EpochLog()
    log.add(a=torch.tensor(1.0), b=torch.tensor(4.0))
    log.add(a=torch.tensor(3.0), b=torch.tensor(0.0))
    assert log.means() == {"a": 2.0, "b": 2.0}


def test_train_epochs_history_and_early_stop():
    hist = train_epochs(lambda e: {"loss": 1.0 / (e + 1)}, 10, desc="demo", verbose=False,
                        callback=lambda e, entry: e == 2)
    assert [h["epoch"] for h in hist] == [0, 1, 2]
    assert hist[0] == {"phase": "demo", "epoch": 0, "loss": 1.0}


def test_nan_guard_names_the_epoch():
    losses = [1.0, 0.5, float("nan")]
    with pytest.raises(TrainingDivergedError, match=r"epoch 2 \(loss=nan\)"):
        train_epochs(lambda e: {"loss": losses[e]}, 3, verbose=False)


def test_nan_guard_on_real_training():
    seed_everything(0)
    model = nn.Linear(4, 1)
    X = torch.randn(64, 4)
    opt = torch.optim.SGD(model.parameters(), lr=1e6)  # diverges within a few epochs

    def epoch(e):
        log = EpochLog()
        for xb, in minibatches(X, batch_size=16):
            loss = (model(xb) ** 4).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            log.add(loss=loss)
        return log.means()

    with pytest.raises(TrainingDivergedError, match="non-finite at epoch"):
        train_epochs(epoch, 50, verbose=False)


def test_predict_in_batches_matches_full():
    model = nn.Linear(3, 2)
    X = torch.randn(50, 3)
    out = predict_in_batches(model, X, batch_size=7)
    assert torch.allclose(out, model(X).detach())


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    cfg = {"arch": "linear", "in": 3, "out": 2}
    path = save_checkpoint(tmp_path / "m", a, cfg)
    assert json.loads(path.with_suffix(".json").read_text()) == cfg
    load_checkpoint(path, b, cfg)
    assert torch.equal(a.weight, b.weight)
    with pytest.raises(ValueError, match="out: saved 2, wanted 3"):
        load_checkpoint(path, nn.Linear(3, 3), {**cfg, "out": 3})
    with pytest.raises(ValueError, match="does not fit the model"):
        load_checkpoint(path, nn.Linear(3, 3), cfg)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing", a, cfg)
