"""Input validation shared by every estimator and helper.

One place decides what a valid data matrix is, so every method fails the same
way on bad input: a ``ValueError`` whose message names the problem, instead of a
traceback from deep inside torch.
"""

from __future__ import annotations

import hashlib
import numbers

import numpy as np
import torch

__all__ = ["as_tensor", "check_n_clusters", "check_labels", "count_distinct", "check_distinct",
           "check_unit_interval", "fingerprint"]


def as_tensor(X, name: str = "X", device: torch.device | str | None = None) -> torch.Tensor:
    """Return ``X`` as a float32 torch tensor, after checking that it is usable data.

    Accepts a numpy array, a torch tensor or a nested list, shaped N x D (vectors)
    or N x C x H x W (images). Raises ``ValueError`` naming the problem for: a
    non-numeric dtype, a rank other than 2 or 4, no samples or no features, NaN
    or infinite values.
    """
    if _is_sparse(X):
        raise ValueError(
            f"{name} is a sparse matrix: sparse input is not supported; pass dense data "
            f"({name}.toarray()).")
    if isinstance(X, torch.Tensor):
        t = X.detach()
        if t.layout != torch.strided:
            raise ValueError(f"{name} is a sparse tensor: sparse input is not supported; pass "
                             f"dense data ({name}.to_dense()).")
        if t.is_complex():
            raise ValueError(f"{name} must hold real numbers: Complex data not supported (got "
                             f"a tensor of dtype {t.dtype}).")
        if t.dtype == torch.bool or not (t.is_floating_point() or _is_int(t)):
            raise ValueError(f"{name} must hold real numbers, got a tensor of dtype {t.dtype}.")
        if t.is_floating_point() and t.dtype != torch.float64:
            t = t.float()  # float16 and bfloat16 as float32, before the checks below
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"{name} could not be read as an array: {exc}") from None
        if arr.dtype.kind == "c":
            raise ValueError(f"{name} must hold real numbers: Complex data not supported (got "
                             f"an array of dtype {arr.dtype}).")
        if arr.dtype == object:  # numbers stored as Python objects are numbers all the same
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must hold real numbers, got an array of dtype object "
                                 f"holding non-numbers.") from None
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(
                f"{name} must hold real numbers, got an array of dtype {arr.dtype}."
            )
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)  # ints, float16 and long doubles: torch reads float64
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.ndim not in (2, 4):
        hint = ""
        if t.ndim == 3:
            hint = " For single-channel images add a channel axis: X[:, None]."
        elif t.ndim == 1:
            hint = " For one feature use X.reshape(-1, 1)."
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features) or 4-D (n_samples, channels, "
            f"height, width); got shape {tuple(t.shape)}.{hint}"
        )
    if t.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 samples (shape {tuple(t.shape)}).")
    if t.numel() == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={tuple(t.shape)}) while a minimum of "
                         f"1 is required.")
    if t.is_floating_point():
        _check_finite(t, name)
    t32 = t.to(dtype=torch.float32)
    if not bool(torch.isfinite(t32).all()):
        big = float(t.abs().max())
        raise ValueError(f"{name} has values too large for float32 (largest magnitude "
                         f"{big:.3g} > 3.4e38); rescale it before clustering.")
    t = t32
    if device is not None:
        t = t.to(device)
    return t


def _is_int(t: torch.Tensor) -> bool:
    return not t.is_floating_point() and not t.is_complex() and t.dtype != torch.bool


def _is_sparse(X) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "nnz")  # scipy.sparse matrices and arrays


def _check_finite(t: torch.Tensor, name: str) -> None:
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        n_nan = int(torch.isnan(t).sum())
        n_inf = int((~finite).sum()) - n_nan
        rows = (~finite).reshape(t.shape[0], -1).any(1).nonzero().flatten()[:5].tolist()
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite values (first bad rows: "
            f"{rows}); remove or impute them before clustering."
        )


def check_n_clusters(n_clusters, n_samples: int) -> int:
    """Check that ``n_clusters`` is an integer in [2, n_samples] and return it as int."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral):
        raise ValueError(f"n_clusters must be an integer, got {n_clusters!r}.")
    if n_samples < 2:
        raise ValueError(
            f"X has {n_samples} sample; clustering needs at least 2 samples (and at least "
            f"n_clusters={n_clusters}).")
    if not 2 <= int(n_clusters) <= n_samples:
        raise ValueError(
            f"n_clusters must be in [2, n_samples={n_samples}], got {n_clusters}."
        )
    return int(n_clusters)


def check_labels(y, n_samples: int | None = None, name: str = "y") -> np.ndarray:
    """Return integer labels as an int64 numpy vector; check length when asked."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}.")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer labels, got non-integer floats.")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}.")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} labels but X has {n_samples} samples.")
    return arr.astype(np.int64)


def count_distinct(X: torch.Tensor, at_least: int | None = None) -> int:
    """The number of distinct samples (rows) of ``X``, or a lower bound >= ``at_least``.

    Rows are compared by their bytes (-0.0 counted as 0.0) in a set, one row at a time, and
    the count stops as soon as it reaches ``at_least``: on real data that takes a few rows;
    on MNIST-sized data with fewer distinct rows than asked, a fraction of a second.
    """
    zero = np.float32(0)
    seen: set[bytes] = set()
    for row in X.detach().reshape(X.shape[0], -1).to("cpu", torch.float32).numpy():
        seen.add((row + zero).tobytes())
        if at_least is not None and len(seen) >= at_least:
            break
    return len(seen)


def check_distinct(X: torch.Tensor, n_clusters: int, name: str = "X") -> int:
    """Raise ``ValueError`` when ``X`` has fewer distinct samples than ``n_clusters``.

    Every sample identical (a constant data set, e.g. all-zero images) gets its own
    message: no method can tell such samples apart, whatever it learns.
    """
    n_distinct = count_distinct(X, at_least=n_clusters)
    if n_distinct == 1 and X.shape[0] > 1:
        value = float(X.reshape(-1)[0])
        raise ValueError(
            f"every sample of {name} is identical (all {X.shape[0]} samples equal, every "
            f"feature constant at {value:g} for the first one; e.g. all-zero images): there is "
            f"nothing to cluster. n_samples distinct points (1) < n_clusters ({n_clusters}).")
    if n_distinct < n_clusters:
        raise ValueError(
            f"{name} has only {n_distinct} distinct samples among its {X.shape[0]}: "
            f"n_samples distinct points ({n_distinct}) < n_clusters ({n_clusters}), so "
            f"{n_clusters} non-empty clusters are impossible. Lower n_clusters or remove "
            f"the duplicates.")
    return n_distinct


def check_unit_interval(X: torch.Tensor, reason: str, name: str = "X") -> None:
    """Raise ``ValueError`` when ``X`` has values outside [0, 1]; ``reason`` says who needs it."""
    lo, hi = float(X.min()), float(X.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] because {reason}; got values in [{lo:.4g}, {hi:.4g}]. "
            f"Rescale {name}, e.g. (X - X.min()) / (X.max() - X.min()).")


def fingerprint(X: torch.Tensor) -> str:
    """A SHA-256 digest of ``X``'s shape and float32 values (identifies a data set)."""
    arr = X.detach().to("cpu", torch.float32).contiguous().numpy()
    h = hashlib.sha256(repr(tuple(arr.shape)).encode())
    h.update(arr.tobytes())
    return h.hexdigest()
