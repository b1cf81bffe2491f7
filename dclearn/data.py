"""Datasets for the course, all returned as one ``ClusterData`` record.

``digits`` (scikit-learn's 8x8 handwritten digits) ships with scikit-learn and is
the offline default of every notebook. MNIST, Fashion-MNIST and USPS are read from
torchvision's on-disk layout under ``root`` and are never downloaded here. The 2-D
toys (blobs, moons, circles) show where k-means fails (notebook 00).

Your own data (notebook 07) goes through the same door: a folder of images (one
sub-folder per class when you know the classes, as torchvision's ``ImageFolder``
expects, or the image files directly), a ``.npy`` / ``.npz`` file, or an array or
tensor in memory. It comes back in the course's conventions, and ``ClusterData.notes``
says every conversion that was made.
"""

from __future__ import annotations

import bz2
import gzip
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ._validation import as_tensor

__all__ = ["ClusterData", "load_dataset", "data_root", "DATASETS", "DataNotFoundError",
           "IMAGE_EXTENSIONS", "DataConversionWarning"]

DATASETS = ("digits", "mnist", "mnist_test", "fashion_mnist", "usps", "blobs", "moons",
            "circles")


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are not under the data root (nothing is downloaded)."""


class DataConversionWarning(UserWarning):
    """Your data was changed in a way you did not ask for (resized, alpha dropped, rescaled)."""


# the file types torchvision's ImageFolder reads, all of which Pillow opens
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff",
                    ".webp")


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
        data = _from_arrays(name, y, "array", size, channels, where="the array")
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
        return _finish(_from_path(path, size, channels), n_clusters, verbose)
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


# --- your own data ------------------------------------------------------------------------

class _Lossy(str):
    """A note on a change the user did not ask for that loses information: it also warns."""


_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_ARRAY_KEYS = ("X", "x", "images", "data")
_LABEL_KEYS = ("y", "labels")


def _finish(data: ClusterData, n_clusters, verbose: bool) -> ClusterData:
    for note in data.notes:
        if isinstance(note, _Lossy):
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


def _from_path(path: Path, size, channels) -> ClusterData:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist. Give a folder of images, a .npy or .npz file, or one of "
            f"the named data sets ({', '.join(DATASETS)}).")
    if path.is_dir():
        return _from_folder(path, size, channels)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            X = np.load(path, allow_pickle=False)
        except Exception as exc:  # a corrupt or pickled file
            raise ValueError(f"cannot read {path} as a .npy array: {exc}") from None
        return _from_arrays(X, None, path.stem, size, channels, where=str(path))
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:
            raise ValueError(f"cannot read {path} as a .npz archive: {exc}") from None
        x_key = next((k for k in _ARRAY_KEYS if k in arrays), None)
        y_key = next((k for k in _LABEL_KEYS if k in arrays), None)
        rest = [k for k in arrays if k != y_key]
        if x_key is None and len(rest) == 1:
            x_key = rest[0]
        if x_key is None:
            raise ValueError(
                f"{path} holds the arrays {sorted(arrays) or 'none'}; name the images "
                f"{' or '.join(_ARRAY_KEYS)} (and the labels, if any, y or labels).")
        y = arrays[y_key] if y_key is not None else None
        data = _from_arrays(arrays[x_key], y, path.stem, size, channels,
                            where=f"{path}[{x_key!r}]")
        data.notes.insert(0, f"images from the array {x_key!r}"
                          + (f", labels from {y_key!r}" if y_key else ", no labels"))
        return data
    if suffix in IMAGE_EXTENSIONS:
        raise ValueError(f"{path} is a single image; put your images together in a folder and "
                         f"give the folder.")
    raise ValueError(f"cannot read {path}: give a folder of images, a .npy or a .npz file "
                     f"(got a {suffix or 'suffix-less'} file).")


def _visible(p: Path, top: Path) -> bool:
    return not any(part.startswith(".") for part in p.relative_to(top).parts)


def _is_image_file(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS


def _from_folder(folder: Path, size, channels) -> ClusterData:
    entries = sorted(p for p in folder.iterdir() if _visible(p, folder))
    subdirs = [p for p in entries if p.is_dir()]
    top_images = [p for p in entries if _is_image_file(p)]
    kinds = ", ".join(IMAGE_EXTENSIONS)
    notes = []
    if subdirs and top_images:
        raise ValueError(
            f"{folder} mixes image files ({top_images[0].name}, ...) with sub-folders "
            f"({subdirs[0].name}, ...). Either one sub-folder per class holding all the "
            f"images, or the images directly in {folder}, without sub-folders.")
    if subdirs:
        paths, y = [], []
        for k, d in enumerate(subdirs):
            found = sorted(p for p in d.rglob("*") if _is_image_file(p) and _visible(p, folder))
            if not found:
                raise ValueError(f"class folder {d} holds no image files ({kinds}); remove it "
                                 f"or put its images in it.")
            paths += found
            y += [k] * len(found)
        classes = [d.name for d in subdirs]
        if len(subdirs) == 1:
            notes.append(f"one sub-folder ({subdirs[0].name}): read as images without labels")
            y, classes = None, None
        else:
            notes.append(f"{len(classes)} class sub-folders: y from the folder names, in "
                         f"sorted order")
    elif top_images:
        paths, y, classes = top_images, None, None
        notes.append("image files without class sub-folders: no labels")
    else:
        others = [p.name for p in entries if p.is_file()][:3]
        found = f" (found only {', '.join(others)})" if others else " (it is empty)"
        raise ValueError(f"{folder} holds no image files ({kinds}) and no class "
                         f"sub-folders{found}.")
    skipped = [p for p in folder.rglob("*") if p.is_file() and not _is_image_file(p)
               and _visible(p, folder)]
    if skipped:
        notes.append(f"skipped {len(skipped)} file(s) that are not images, e.g. "
                     f"{skipped[0].relative_to(folder).as_posix()}")
    images = [_read_image(p) for p in paths]
    X = _stack_images(images, paths, folder, size, channels, notes)
    files = [p.relative_to(folder).as_posix() for p in paths]
    if y is None:
        return ClusterData(X, None, None, folder.name, files, None, notes)
    return ClusterData(X, torch.tensor(y, dtype=torch.int64), len(classes), folder.name, files,
                       classes, notes)


def _read_image(path: Path) -> tuple[np.ndarray, str]:
    """One image as float32 H x W (grey) or H x W x 3 (RGB) in [0, 1], and what was dropped."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            dropped = ""
            if img.mode in ("P", "PA"):  # palette: its colours, or grey when they are grey
                img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info
                                  else "RGB")
            if img.mode in ("LA", "RGBA"):
                dropped = "alpha"
            if img.mode in _GREY_MODES:
                if img.mode == "1":
                    img = img.convert("L")
                elif img.mode == "LA":
                    img = img.getchannel("L")
                arr = np.asarray(img)
                if arr.dtype == np.uint8:
                    arr = arr / 255.0
                elif img.mode.startswith("I"):  # 16-bit (and 32-bit integer) grey
                    arr = np.clip(arr / 65535.0, 0.0, 1.0)
                else:  # float pixels
                    arr = np.clip(arr, 0.0, 1.0)
            else:
                arr = np.asarray(img.convert("RGB")) / 255.0
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError for bad files
        raise ValueError(f"cannot read the image {path}: {exc}") from None
    return arr.astype(np.float32), dropped


def _stack_images(images, paths, folder: Path, size, channels, notes) -> torch.Tensor:
    grey = [a.ndim == 2 for a, _ in images]
    if channels is None and any(grey) and not all(grey):
        g = paths[grey.index(True)].relative_to(folder).as_posix()
        c = paths[grey.index(False)].relative_to(folder).as_posix()
        raise ValueError(
            f"{folder} mixes grey-scale images ({sum(grey)}, e.g. {g}) with colour images "
            f"({len(grey) - sum(grey)}, e.g. {c}). Pass channels=1 to read every image as "
            f"grey-scale or channels=3 for RGB (--channels on the command line).")
    if sum(1 for _, d in images if d):
        notes.append(f"alpha (transparency) dropped from {sum(1 for _, d in images if d)} "
                     f"image(s), as torchvision's loader does")
    tensors = [torch.from_numpy(a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy())
               for a, _ in images]
    tensors = [_set_channels(t[None], channels)[0] for t in tensors]
    shapes = Counter(tuple(t.shape[1:]) for t in tensors)
    target = _target_size(size, shapes)
    if target is None and len(shapes) > 1:
        target = shapes.most_common(1)[0][0]
        odd = next(p for p, t in zip(paths, tensors) if tuple(t.shape[1:]) != target)
        n_odd = sum(1 for t in tensors if tuple(t.shape[1:]) != target)
        msg = (f"the images have {len(shapes)} different sizes: {n_odd} of them (e.g. "
               f"{odd.relative_to(folder).as_posix()}) resized to the most common size, "
               f"{target[0]}x{target[1]}; pass size= to choose")
        notes.append(_Lossy(msg))
    elif target is not None:
        notes.append(f"resized to {target[0]}x{target[1]} as asked")
    if target is not None:
        tensors = [t if tuple(t.shape[1:]) == target else _resize(t[None], target)[0]
                   for t in tensors]
    X = torch.stack(tensors).float().clamp_(0.0, 1.0).contiguous()
    notes.append(_channel_note(X.shape[1], channels, "images"))
    return X


def _target_size(size, shapes) -> tuple[int, int] | None:
    if size is None:
        return None
    hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in hw):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}.")
    return int(hw[0]), int(hw[1])


def _resize(X: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of N x C x H x W, antialiased when shrinking (as Pillow does)."""
    import torch.nn.functional as F

    return F.interpolate(X.float(), size=hw, mode="bilinear", align_corners=False,
                         antialias=True).clamp_(0.0, 1.0)


def _set_channels(X: torch.Tensor, channels: int | None) -> torch.Tensor:
    if channels is None or X.shape[1] == channels:
        return X
    if channels == 1:  # ITU-R 601-2 luma, Pillow's weights for "L"
        w = torch.tensor([0.299, 0.587, 0.114], dtype=X.dtype).view(1, 3, 1, 1)
        return (X * w).sum(1, keepdim=True)
    return X.expand(-1, 3, -1, -1).contiguous()


def _channel_note(c: int, channels, what: str) -> str:
    kind = "grey-scale (1 channel)" if c == 1 else "RGB (3 channels)"
    return f"{what} read as {kind}" + ("" if channels is None else ", as asked")


def _to_unit(arr: np.ndarray, where: str, notes: list) -> np.ndarray:
    """Values into [0, 1]: 8-bit / 255, 16-bit / 65535, [0, 1] kept, other ranges min-max."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{where} holds {bad} NaN or infinite values; remove or impute them.")
    lo, hi = float(arr.min()), float(arr.max())
    if arr.dtype == np.uint8 or (arr.dtype.kind in "iu" and lo >= 0 and hi <= 255
                                 and hi > 1):
        notes.append("8-bit values divided by 255")
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16 or (arr.dtype.kind in "iu" and lo >= 0 and hi <= 65535
                                  and hi > 255):
        notes.append("16-bit values divided by 65535")
        return arr.astype(np.float32) / 65535.0
    if lo >= 0 and hi <= 1:
        return arr.astype(np.float32)
    if arr.dtype.kind == "f" and lo >= 0 and hi <= 255:
        notes.append(f"values in [{lo:g}, {hi:g}] read as 0-255 and divided by 255")
        return arr.astype(np.float32) / 255.0
    notes.append(_Lossy(f"values in [{lo:g}, {hi:g}] min-max scaled to [0, 1]"))
    span = hi - lo if hi > lo else 1.0
    return ((arr.astype(np.float64) - lo) / span).astype(np.float32)


def _layout(shape: tuple, where: str, notes: list) -> str:
    """'nchw' or 'nhwc' for a 4-D array of 1- or 3-channel images."""
    first, last = shape[1] in (1, 3), shape[3] in (1, 3)
    if first and last:
        notes.append(f"shape {shape} read as N x C x H x W (the course's order)")
        return "nchw"
    if first:
        return "nchw"
    if last:
        notes.append("N x H x W x C moved to N x C x H x W")
        return "nhwc"
    hint = " (RGBA? drop the alpha: X[..., :3])" if 4 in (shape[1], shape[3]) else ""
    raise ValueError(
        f"{where} has shape {shape}: images need 1 (grey) or 3 (RGB) channels, as "
        f"N x C x H x W or N x H x W x C{hint}.")


def _from_arrays(X, y, name: str, size, channels, where: str) -> ClusterData:
    notes: list[str] = []
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:
        raise ValueError(f"{where} could not be read as an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"{where} must hold numbers, got dtype {arr.dtype}.")
    if arr.ndim not in (2, 3, 4) or arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(
            f"{where} has shape {arr.shape}: give images N x H x W, N x C x H x W or "
            f"N x H x W x C, or vectors N x D, with at least one sample.")
    arr = _to_unit(arr, where, notes)
    if arr.ndim == 2:
        if size is not None or channels is not None:
            raise ValueError(f"{where} holds vectors (shape {arr.shape}); size and channels "
                             f"apply to images.")
        notes.append(f"{arr.shape[1]}-d vectors, used as they are")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    else:
        if arr.ndim == 3:
            arr = arr[:, None]
            notes.append("N x H x W read as grey-scale N x 1 x H x W")
        elif _layout(arr.shape, where, notes) == "nhwc":
            arr = arr.transpose(0, 3, 1, 2)
        t = _set_channels(torch.from_numpy(np.ascontiguousarray(arr)), channels)
        target = _target_size(size, None)
        if target is not None and tuple(t.shape[2:]) != target:
            t = _resize(t, target)
            notes.append(f"resized to {target[0]}x{target[1]} as asked")
        notes.append(_channel_note(t.shape[1], channels, "images"))
    t = as_tensor(t.float().contiguous(), name=where)
    if y is None:
        return ClusterData(t, None, None, name, None, None, notes)
    labels, classes = _labels(y, t.shape[0], where, notes)
    return ClusterData(t, labels, len(classes), name, None, classes, notes)


def _labels(y, n: int, where: str, notes: list) -> tuple[torch.Tensor, list[str]]:
    """Labels as int64 0..K-1 and the K original values (as strings) in that order."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"the labels of {where} have shape {arr.shape}; expected one label "
                         f"per sample, shape ({n},).")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise ValueError(f"the labels of {where} must be integers or names, got "
                             f"non-integer floats.")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "biuUS":
        raise ValueError(f"the labels of {where} must be integers or names, got dtype "
                         f"{arr.dtype}.")
    values, codes = np.unique(arr, return_inverse=True)
    if arr.dtype.kind in "iu" and not np.array_equal(values, np.arange(len(values))):
        notes.append(f"labels {values[:5].tolist()}{'...' if len(values) > 5 else ''} "
                     f"renumbered 0..{len(values) - 1} (classes keeps the original values)")
    return torch.from_numpy(codes.reshape(-1).astype(np.int64)), [str(v) for v in values]
