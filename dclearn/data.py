"""Datasets for the course, all returned as one ``ClusterData`` record.

``digits`` (scikit-learn's 8x8 handwritten digits) ships with scikit-learn and is
the offline default of every notebook. MNIST, Fashion-MNIST and USPS are read from
torchvision's on-disk layout under ``root`` and are never downloaded here. The 2-D
toys (blobs, moons, circles) show where k-means fails (notebook 00).

Your own data (notebook 07) goes through the same door: a folder of images (one
sub-folder per class when you know the classes, as torchvision's ``ImageFolder``
expects, or the image files directly), a ``.npy`` / ``.npz`` file, or an array or
tensor in memory. ``dclearn.own_data`` reads it and converts it to the course's
conventions; ``load_dataset`` dispatches there and returns a ``ClusterData`` whose
``notes`` say every conversion that was made.
"""

from __future__ import annotations

import bz2
import gzip
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .own_data import (
    IMAGE_EXTENSIONS,
    DataConversionWarning,
    LossyNote,
    OwnData,
    read_arrays,
    read_path,
)

__all__ = ["ClusterData", "load_dataset", "data_root", "DATASETS", "DataNotFoundError",
           "IMAGE_EXTENSIONS", "DataConversionWarning"]

DATASETS = ("digits", "mnist", "mnist_test", "fashion_mnist", "usps", "blobs", "moons",
            "circles")


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are not under the data root (nothing is downloaded)."""



@dataclass
class ClusterData:
    """A dataset ready for clustering.

    X: float32 tensor in [0, 1]; images N x C x H x W (C = 1 grey, 3 RGB), vectors N x D.
    y: int64 tensor of true labels, for evaluation only; ``None`` for your own data
       without labels (then there is no accuracy to compute).
    n_clusters: the number of classes, or ``None`` when the data has no labels (you choose).
    name: a short name for tables and file names.
    files: for a folder of images, each sample's path relative to the folder.
    classes: the class names (folder names, or the label values of a file) in label order.
    notes: what ``load_dataset`` did to your data (conversions, resizing); see ``describe``.
    """

    X: torch.Tensor
    y: torch.Tensor | None
    n_clusters: int | None
    name: str
    files: list[str] | None = None
    classes: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def is_image(self) -> bool:
        return self.X.ndim == 4

    @property
    def has_labels(self) -> bool:
        return self.y is not None

    def flat(self) -> torch.Tensor:
        """X as N x D (images flattened)."""
        return self.X.reshape(len(self), -1)

    def subset(self, n: int, seed: int = 0) -> ClusterData:
        """A random subset of ``n`` samples (the same for the same seed)."""
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self), generator=g)[:n].sort().values
        files = None if self.files is None else [self.files[i] for i in idx.tolist()]
        return ClusterData(self.X[idx], None if self.y is None else self.y[idx],
                           self.n_clusters, f"{self.name}[{n}]", files, self.classes,
                           list(self.notes))

    def evaluate(self, labels) -> dict:
        """ACC, NMI and ARI of a clustering against ``y``; a clear error when there is no ``y``."""
        if self.y is None:
            raise ValueError(
                f"{self.name} has no labels (y is None), so there is no accuracy to compute. "
                f"Judge the clusters by eye (dclearn.plot.plot_cluster_grid), by their "
                f"stability over seeds, or against a baseline's partition "
                f"(dclearn.ari(kmeans_labels, labels)).")
        from .metrics import evaluate

        return evaluate(self.y, labels)

    def describe(self) -> str:
        """A few lines: shape, value range, labels, and every conversion made on loading."""
        shape = " x ".join(str(s) for s in self.X.shape)
        kind = ("grey-scale images" if self.X.shape[1] == 1 else "RGB images") \
            if self.is_image else "vectors"
        lines = [f"{self.name}: {len(self)} {kind}, X {shape}, float32 in [0, 1]"]
        if self.y is None:
            lines.append("no labels: y is None, n_clusters is yours to choose")
        else:
            lines.append(f"labels: {self.n_clusters} classes"
                         + (f" ({', '.join(self.classes[:10])}"
                            f"{', ...' if len(self.classes) > 10 else ''})"
                            if self.classes else ""))
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)

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


def load_dataset(name, root: str | os.PathLike | None = None, *, n_samples: int = 1500,
                 noise: float | None = None, random_state: int = 0, y=None,
                 size: int | tuple[int, int] | None = None, channels: int | None = None,
                 n_clusters: int | None = None, verbose: bool = False) -> ClusterData:
    """Load a dataset as ``ClusterData``.

    ``name`` is one of ``DATASETS``, or your own data:

    - a folder of images: one sub-folder per class (``root/cat/001.png``: ``y`` from the
      folder names, in sorted order, as torchvision's ``ImageFolder``), or the image files
      directly (``y`` is None);
    - a ``.npy`` file of images (N x H x W, N x C x H x W or N x H x W x C), or a ``.npz``
      holding such an array (under ``X``, ``x``, ``images`` or ``data``, or its only array)
      and optionally the labels under ``y`` or ``labels``;
    - a numpy array or torch tensor of images as above, or of vectors (N x D), with ``y``
      when you have labels.

    Your data is converted to the course's conventions: float32 in [0, 1] (8-bit values
    divided by 255, 16-bit by 65535, other ranges min-max scaled), images N x C x H x W
    with C = 1 (grey-scale) or 3 (RGB) as found. ``channels=1`` or ``3`` converts every
    image to grey or RGB. ``size`` (an int for a square, or (height, width)) resizes every
    image; images of different sizes are resized to their most common size when ``size`` is
    not given. The convolutional and GAN methods want square images whose side is a
    multiple of 4 (8x8 digits, 28x28 MNIST): ``size=28`` is a good choice for photos.
    ``n_clusters`` sets the number of clusters (default: the number of classes, or None
    without labels). ``ClusterData.notes`` lists the conversions; ``verbose=True`` prints
    them; a conversion you did not ask for that loses information also warns
    (``DataConversionWarning``).

    ``root`` applies to the named data sets; ``n_samples``, ``noise`` and ``random_state``
    only to the 2-D toys.
    """
    if not isinstance(name, (str, os.PathLike)):
        data = _cluster_data(read_arrays(name, y, "array", size, channels, where="the array"))
        return _finish(data, n_clusters, verbose)
    if isinstance(name, str) and name.lower().replace("-", "_") in DATASETS:
        if y is not None or size is not None or channels is not None:
            raise ValueError(f"y, size and channels apply to your own data, not to {name!r}.")
        data = _named(name, root, n_samples, noise, random_state)
        if n_clusters is not None:
            data.n_clusters = n_clusters
        return data
    path = Path(name).expanduser()
    if path.exists() or isinstance(name, os.PathLike) or _looks_like_path(str(name)):
        if y is not None:
            raise ValueError("y applies to arrays in memory; a folder takes its labels from its "
                             "class sub-folders, a .npz file from its 'y' or 'labels' array.")
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist. Give a folder of images, a .npy or .npz file, or one "
                f"of the named data sets ({', '.join(DATASETS)}).")
        return _finish(_cluster_data(read_path(path, size, channels)), n_clusters, verbose)
    raise ValueError(f"unknown dataset {name!r} (and no file or folder of that name here); "
                     f"choose one of {', '.join(DATASETS)}, or give a folder of images, a "
                     f".npy/.npz file or an array.")


def _looks_like_path(text: str) -> bool:
    return ("/" in text or os.sep in text or text.startswith((".", "~"))
            or text.lower().endswith((".npy", ".npz")))


def _named(name: str, root, n_samples: int, noise, random_state: int) -> ClusterData:
    key = str(name).lower().replace("-", "_")
    if key == "digits":
        return _digits()
    if key in ("mnist", "mnist_test", "fashion_mnist"):
        folder = "FashionMNIST" if key == "fashion_mnist" else "MNIST"
        return _idx_dataset(data_root(root), folder, key, test_only=key == "mnist_test")
    if key == "usps":
        return _usps(data_root(root))
    return _toy(key, n_samples, noise, random_state)


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


def _cluster_data(own: OwnData) -> ClusterData:
    return ClusterData(own.X, own.y, own.n_clusters, own.name, own.files, own.classes,
                       own.notes)


def _finish(data: ClusterData, n_clusters, verbose: bool) -> ClusterData:
    for note in data.notes:
        if isinstance(note, LossyNote):
            warnings.warn(f"{data.name}: {note}", DataConversionWarning, stacklevel=3)
    data.notes = [str(n) for n in data.notes]
    if n_clusters is not None:
        from ._validation import check_n_clusters

        k = check_n_clusters(n_clusters, len(data))
        if data.y is not None and k != data.n_clusters:
            data.notes.append(f"n_clusters={k} asked for, while the labels have "
                              f"{data.n_clusters} classes")
        data.n_clusters = k
    if verbose:
        print(data.describe())
    return data
