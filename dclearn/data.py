"""Datasets for the course, all returned as one ``ClusterData`` record.

``digits`` (scikit-learn's 8x8 handwritten digits) ships with scikit-learn and is
the offline default of every notebook. MNIST, Fashion-MNIST and USPS are read from
torchvision's on-disk layout under ``root`` and are never downloaded here. The 2-D
toys (blobs, moons, circles) show where k-means fails (notebook 00).
"""

from __future__ import annotations

import bz2
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["ClusterData", "load_dataset", "data_root", "DATASETS", "DataNotFoundError"]

DATASETS = ("digits", "mnist", "mnist_test", "fashion_mnist", "usps", "blobs", "moons",
            "circles")


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are not under the data root (nothing is downloaded)."""


@dataclass
class ClusterData:
    """A dataset ready for clustering.

    X: float32 tensor in [0, 1]; images N x C x H x W, toys N x D.
    y: int64 tensor of true labels, for evaluation only.
    """

    X: torch.Tensor
    y: torch.Tensor
    n_clusters: int
    name: str

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def is_image(self) -> bool:
        return self.X.ndim == 4

    def flat(self) -> torch.Tensor:
        """X as N x D (images flattened)."""
        return self.X.reshape(len(self), -1)

    def subset(self, n: int, seed: int = 0) -> ClusterData:
        """A random subset of ``n`` samples (the same for the same seed)."""
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self), generator=g)[:n].sort().values
        return ClusterData(self.X[idx], self.y[idx], self.n_clusters, f"{self.name}[{n}]")

    def __repr__(self) -> str:
        return (f"ClusterData(name={self.name!r}, X={tuple(self.X.shape)}, "
                f"n_clusters={self.n_clusters})")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$DCLEARN_DATA``, else ``~/.cache/dclearn/data``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("DCLEARN_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(cache) / "dclearn" / "data"


def load_dataset(name: str, root: str | os.PathLike | None = None, *, n_samples: int = 1500,
                 noise: float | None = None, random_state: int = 0) -> ClusterData:
    """Load dataset ``name`` (see ``DATASETS``) as ``ClusterData``.

    ``n_samples``, ``noise`` and ``random_state`` only apply to the 2-D toys.
    """
    key = str(name).lower().replace("-", "_")
    if key == "digits":
        return _digits()
    if key in ("mnist", "mnist_test", "fashion_mnist"):
        folder = "FashionMNIST" if key == "fashion_mnist" else "MNIST"
        return _idx_dataset(data_root(root), folder, key, test_only=key == "mnist_test")
    if key == "usps":
        return _usps(data_root(root))
    if key in ("blobs", "moons", "circles"):
        return _toy(key, n_samples, noise, random_state)
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")


def _digits() -> ClusterData:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.from_numpy((d.data / 16.0).astype(np.float32)).reshape(-1, 1, 8, 8)
    return ClusterData(X, torch.from_numpy(d.target.astype(np.int64)), 10, "digits")


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(raw: Path, stem: str) -> Path | None:
    for suffix in ("", ".gz"):
        p = raw / (stem + suffix)
        if p.is_file():
            return p
    return None


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError(f"{path} is not an unsigned-byte IDX file.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {shape}, found {arr.size} values.")
    return arr.reshape(shape)


def _idx_dataset(root: Path, folder: str, name: str, test_only: bool) -> ClusterData:
    raw = root / folder / "raw"
    splits = ["test"] if test_only else ["train", "test"]
    wanted = [stem for s in splits for stem in _IDX_FILES[s]]
    found = {stem: _find(raw, stem) for stem in wanted}
    missing = [stem for stem, p in found.items() if p is None]
    if missing:
        tv = "FashionMNIST" if folder == "FashionMNIST" else "MNIST"
        raise DataNotFoundError(
            f"{name}: missing {', '.join(missing)} in {raw} (plain or .gz). dclearn never "
            f"downloads data. Point DCLEARN_DATA (or root=) at the folder that holds "
            f"'{folder}/raw/', or, when online, fetch the files once with "
            f"torchvision.datasets.{tv}(root='{root}', download=True)."
        )
    xs, ys = [], []
    for s in splits:
        img_stem, lab_stem = _IDX_FILES[s]
        xs.append(_read_idx(found[img_stem]))
        ys.append(_read_idx(found[lab_stem]))
    X = torch.from_numpy(np.concatenate(xs)).float().div_(255.0).unsqueeze(1)
    y = torch.from_numpy(np.concatenate(ys).astype(np.int64))
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: {X.shape[0]} images but {y.shape[0]} labels in {raw}.")
    return ClusterData(X, y, 10, name)


def _usps(root: Path) -> ClusterData:
    # torchvision.datasets.USPS keeps the two bz2 files (libsvm format) directly in root.
    files = [root / "usps.bz2", root / "usps.t.bz2"]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise DataNotFoundError(
            f"usps: missing {', '.join(missing)} in {root}. dclearn never downloads data; "
            f"when online fetch them once with torchvision.datasets.USPS(root='{root}', "
            f"train=True, download=True) and again with train=False."
        )
    xs, ys = [], []
    for p in files:
        with bz2.open(p, "rt") as f:
            for line in f:
                parts = line.split()
                ys.append(int(float(parts[0])) - 1)
                xs.append([float(v.split(":")[1]) for v in parts[1:]])
    X = (torch.tensor(xs, dtype=torch.float32).reshape(-1, 1, 16, 16) + 1.0) / 2.0
    return ClusterData(X.clamp_(0, 1), torch.tensor(ys, dtype=torch.int64), 10, "usps")


def _toy(kind: str, n_samples: int, noise: float | None, seed: int) -> ClusterData:
    from sklearn import datasets

    if kind == "blobs":
        X, y = datasets.make_blobs(n_samples=n_samples, centers=4,
                                   cluster_std=1.0 if noise is None else noise,
                                   random_state=seed)
        k = 4
    elif kind == "moons":
        X, y = datasets.make_moons(n_samples=n_samples, noise=0.06 if noise is None else noise,
                                   random_state=seed)
        k = 2
    else:
        X, y = datasets.make_circles(n_samples=n_samples, factor=0.45,
                                     noise=0.05 if noise is None else noise, random_state=seed)
        k = 2
    X = (X - X.min(0)) / (X.max(0) - X.min(0))  # scale each axis into [0, 1]
    return ClusterData(torch.from_numpy(X.astype(np.float32)),
                       torch.from_numpy(y.astype(np.int64)), k, kind)
