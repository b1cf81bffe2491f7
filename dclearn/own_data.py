"""Your own data (notebook 07): a folder of images, a ``.npy`` / ``.npz`` file, or an array.

``read_path`` reads a folder of images (one sub-folder per class when you know the
classes, as torchvision's ``ImageFolder`` expects, or the image files directly) or a
``.npy`` / ``.npz`` file; ``read_arrays`` takes an array or tensor in memory. Both convert
the data to the course's conventions (float32 in [0, 1]; images N x C x H x W with C = 1
grey or 3 RGB; vectors N x D; labels int64 0..K-1) and return an ``OwnData`` whose
``notes`` say every conversion that was made. A note on a change you did not ask for that
loses information is a ``LossyNote``, which ``dclearn.data.load_dataset`` turns into a
``DataConversionWarning``. ``load_dataset`` (in ``dclearn.data``) is the way in: it
dispatches here and wraps the result in a ``ClusterData``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ._validation import as_tensor

__all__ = ["IMAGE_EXTENSIONS", "DataConversionWarning", "LossyNote", "OwnData", "read_path",
           "read_arrays"]


class DataConversionWarning(UserWarning):
    """Your data was changed in a way you did not ask for (resized, alpha dropped, rescaled)."""


# the file types torchvision's ImageFolder reads, all of which Pillow opens
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff",
                    ".webp")


class OwnData(NamedTuple):
    """What was read: X (float32 in [0, 1]), y (int64 or None), and what the conversion did.

    ``files``: for a folder of images, each sample's path relative to the folder;
    ``classes``: the class names (folder names, or the label values) in label order.
    """

    X: torch.Tensor
    y: torch.Tensor | None
    name: str
    files: list[str] | None
    classes: list[str] | None
    notes: list

    @property
    def n_clusters(self) -> int | None:
        """The number of classes, or None without labels."""
        return None if self.y is None else len(self.classes)


class LossyNote(str):
    """A note on a change the user did not ask for that loses information: it also warns."""


_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_ARRAY_KEYS = ("X", "x", "images", "data")
_LABEL_KEYS = ("y", "labels")


def read_path(path: Path, size, channels) -> OwnData:
    """A folder of images, or a ``.npy`` / ``.npz`` file, as ``OwnData`` (``path`` exists)."""
    if path.is_dir():
        return _from_folder(path, size, channels)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            X = np.load(path, allow_pickle=False)
        except Exception as exc:  # a corrupt or pickled file
            raise ValueError(f"cannot read {path} as a .npy array: {exc}") from None
        return read_arrays(X, None, path.stem, size, channels, where=str(path))
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
        data = read_arrays(arrays[x_key], y, path.stem, size, channels,
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


def _from_folder(folder: Path, size, channels) -> OwnData:
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
        return OwnData(X, None, folder.name, files, None, notes)
    return OwnData(X, torch.tensor(y, dtype=torch.int64), folder.name, files, classes, notes)


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
        notes.append(LossyNote(msg))
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
    notes.append(LossyNote(f"values in [{lo:g}, {hi:g}] min-max scaled to [0, 1]"))
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


def read_arrays(X, y, name: str, size, channels, where: str) -> OwnData:
    """An array or tensor of images or vectors (and labels ``y`` or None) as ``OwnData``."""
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
        return OwnData(t, None, name, None, None, notes)
    labels, classes = _labels(y, t.shape[0], where, notes)
    return OwnData(t, labels, name, None, classes, notes)


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
