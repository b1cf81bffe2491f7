import gzip
import shutil

import numpy as np
import pytest
import torch

from dclearn.data import DataNotFoundError, data_root, load_dataset


def test_digits_contract(digits):
    assert digits.X.shape == (1797, 1, 8, 8)
    assert digits.X.dtype == torch.float32 and digits.y.dtype == torch.int64
    assert float(digits.X.min()) == 0.0 and float(digits.X.max()) == 1.0
    assert digits.n_clusters == 10 and digits.name == "digits"
    assert sorted(digits.y.unique().tolist()) == list(range(10))
    assert digits.flat().shape == (1797, 64) and digits.is_image


@pytest.mark.parametrize("name,k", [("blobs", 4), ("moons", 2), ("circles", 2)])
def test_toys_are_seeded_and_scaled(name, k):
    a = load_dataset(name, n_samples=300, random_state=3)
    b = load_dataset(name, n_samples=300, random_state=3)
    c = load_dataset(name, n_samples=300, random_state=4)
    assert a.X.shape == (300, 2) and a.n_clusters == k
    assert torch.equal(a.X, b.X) and not torch.equal(a.X, c.X)
    assert float(a.X.min()) >= 0.0 and float(a.X.max()) <= 1.0
    assert len(a.y.unique()) == k


def test_unknown_name_is_named():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_missing_mnist_names_folder_and_files(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("mnist", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in msg
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert "download=True" in msg


def test_missing_usps_and_fashion(tmp_path):
    with pytest.raises(DataNotFoundError, match="usps.bz2"):
        load_dataset("usps", root=tmp_path)
    with pytest.raises(DataNotFoundError, match="FashionMNIST"):
        load_dataset("fashion_mnist", root=tmp_path)


def _write_idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def test_idx_reader_plain_and_gz(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28))
    labels = np.array([3, 1, 4, 1, 5])
    _write_idx(raw / "t10k-images-idx3-ubyte", imgs)
    _write_idx(raw / "t10k-labels-idx1-ubyte", labels)
    with open(raw / "t10k-labels-idx1-ubyte", "rb") as f, \
            gzip.open(raw / "t10k-labels-idx1-ubyte.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    (raw / "t10k-labels-idx1-ubyte").unlink()  # only the .gz copy is left
    monkeypatch.setenv("DCLEARN_DATA", str(tmp_path))
    d = load_dataset("mnist_test")
    assert d.X.shape == (5, 1, 28, 28)
    assert torch.allclose(d.X[2, 0], torch.from_numpy(imgs[2] / 255.0).float())
    assert d.y.tolist() == labels.tolist()


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("DCLEARN_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("DCLEARN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_root() == tmp_path / "cache" / "dclearn" / "data"


def test_mnist_real_files(mnist_root):
    d = load_dataset("mnist", root=mnist_root)
    assert d.X.shape == (70000, 1, 28, 28) and d.X.dtype == torch.float32
    assert sorted(d.y.unique().tolist()) == list(range(10))
    assert 0.0 == float(d.X.min()) and float(d.X.max()) == 1.0
    t = load_dataset("mnist_test", root=mnist_root)
    assert t.X.shape == (10000, 1, 28, 28)
    assert torch.equal(t.X, d.X[60000:])
