"""The estimator base class shared by every clustering method.

scikit-learn conventions (docs/design.md, section 2): ``__init__`` stores its arguments
verbatim and does nothing else; ``fit`` validates, seeds, picks the device, trains
and returns ``self``; fitted attributes end with ``_``. A subclass implements
``_fit(X, y)`` (X a float32 tensor already on ``self.device_``) returning the
labels, and ``_predict`` / ``_transform`` on such tensors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from .._validation import (
    as_tensor,
    check_distinct,
    check_labels,
    check_n_clusters,
    check_unit_interval,
    fingerprint,
)
from ..checkpoint import CHECKPOINTS
from ..metrics import evaluate
from ..train import (
    checkpointed_fit,
    configure_backend,
    get_device,
    interruptible,
    seed_everything,
)

__all__ = ["BaseClusterer", "NotFittedError", "InterruptedFitWarning", "FewerClustersWarning"]


class BaseClusterer(ClusterMixin, BaseEstimator):
    """Base of all dclearn estimators: validation, seeding, device, fitted-state checks.

    Subclasses must define ``n_clusters``, ``random_state``, ``device`` and
    ``verbose`` parameters and implement ``_fit``; ``_predict`` and ``_transform``
    where the method has them.
    """

    def fit(self, X, y=None):
        """Train on ``X`` (numpy or torch, N x D or N x C x H x W) and return ``self``.

        ``y``, when given, is used only to add metrics to ``history_`` for reporting;
        it never drives a training decision.
        """
        Xt = as_tensor(X)
        n = Xt.shape[0]
        k = check_n_clusters(self.n_clusters, n)
        check_distinct(Xt, k)
        self._validate_params(Xt)
        reason = self._unit_interval_reason()
        if reason is not None:
            check_unit_interval(Xt, f"{type(self).__name__} {reason}")
        self._y_eval = None if y is None else check_labels(y, n)
        self.input_shape_ = tuple(Xt.shape[1:])
        self.n_features_in_ = int(math.prod(self.input_shape_))
        self.device_ = get_device(self.device)
        configure_backend(self.device_)
        self.history_: list[dict] = []
        with self._checkpoint(Xt) as ckpt, interruptible() as stop:
            seed = self.random_state
            if ckpt is not None:  # a resumed fit keeps the seed drawn by the one it resumes
                seed = ckpt.seed if seed is None and ckpt.seed is not None else seed
            self.seed_ = seed_everything(seed)
            if ckpt is not None:
                ckpt.seed = self.seed_
            # (wall, CPU) seconds of the interrupted runs this fit resumes from a checkpoint
            self.resumed_seconds_ = ckpt.earlier if ckpt is not None else (0.0, 0.0)
            labels = self._fit(Xt.to(self.device_), self._y_eval)
            self.interrupted_ = stop.active and stop.depth == 1
            if self.interrupted_:
                _warn_interrupted(self, stop.phase, stop.epoch)
        self.labels_ = _to_numpy_labels(labels)
        del self._y_eval
        _warn_fewer_clusters(self, self.labels_, k)
        return self

    def fit_predict(self, X, y=None, **kwargs):
        """``fit(X, y).labels_``."""
        return self.fit(X, y).labels_

    def predict(self, X) -> np.ndarray:
        """Cluster labels (int64, shape N) of new samples."""
        Xt = self._check_fitted_input(X)
        with torch.inference_mode():
            return _to_numpy_labels(self._predict(Xt))

    def transform(self, X) -> np.ndarray:
        """The method's embedding of ``X`` as a float32 numpy array (N x d)."""
        Xt = self._check_fitted_input(X)
        with torch.inference_mode():
            Z = self._transform(Xt)
        return Z.float().cpu().numpy()

    def fit_transform(self, X, y=None, **kwargs) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):
        """scikit-learn's tags (1.6+): every estimator has ``transform`` (which says so where
        the method has no embedding), so each is tagged a transformer."""
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags()
        return tags

    # --- hooks for subclasses -------------------------------------------------------
    def _validate_params(self, X: torch.Tensor) -> None:
        """Check method-specific parameters; raise ValueError naming the bad one."""

    def _unit_interval_reason(self) -> str | None:
        """Why this method (with its parameters) needs X in [0, 1], or None if it does not.

        A method whose decoder or generator can only produce values in [0, 1] (a sigmoid,
        a Bernoulli likelihood) returns a reason such as ``"ends its generator in a
        sigmoid"``; ``fit`` then rejects data outside [0, 1] with a message naming it.
        """
        return None

    def _fit(self, X: torch.Tensor, y: np.ndarray | None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} cannot label new samples.")

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no embedding to transform into.")

    # --- helpers --------------------------------------------------------------------
    def _checkpoint(self, X: torch.Tensor):
        """The fit's checkpoint file under ``dclearn.train.checkpointing`` (None when off)."""
        settings = {k: v for k, v in self.get_params(deep=False).items() if k != "verbose"}
        folder, _ = CHECKPOINTS.settings()
        data = fingerprint(X) if folder is not None and CHECKPOINTS.depth == 0 else ""
        return checkpointed_fit(type(self).__name__, settings, data)

    def _check_fitted_input(self, X) -> torch.Tensor:
        if not hasattr(self, "labels_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                f"appropriate arguments before using this estimator.")
        Xt = as_tensor(X)
        if Xt.ndim == 2 and len(self.input_shape_) == 1 and Xt.shape[1] != self.input_shape_[0]:
            raise ValueError(
                f"X has {Xt.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.input_shape_[0]} features as input (the sample shape it was fitted on).")
        if tuple(Xt.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has sample shape {tuple(Xt.shape[1:])}, but {type(self).__name__} was "
                f"fitted on samples of shape {self.input_shape_}.")
        return Xt.to(self.device_)

    def _metrics(self, labels) -> dict:
        """ACC/NMI/ARI of ``labels`` when ``fit`` was given ``y``; else an empty dict."""
        if getattr(self, "_y_eval", None) is None:
            return {}
        return evaluate(self._y_eval, _to_numpy_labels(labels))

    def _check_positive(self, **params) -> None:
        for name, value in params.items():
            if value is None or not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}.")

    def _check_nonnegative(self, **params) -> None:
        for name, value in params.items():
            if value is None or not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}.")

    def _check_positive_int(self, *names: str) -> None:
        """Each named parameter is an integer >= 1 (``True`` is not an integer here)."""
        for name in names:
            v = getattr(self, name)
            try:
                ok = not isinstance(v, bool) and int(v) == v and int(v) >= 1
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{name} must be a positive integer, got {v!r}.")

    def _check_rate(self, **params) -> None:
        """Probabilities of dropping a value (noise, dropout): each in [0, 1)."""
        for name, value in params.items():
            try:
                ok = 0.0 <= float(value) < 1.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}.")


class InterruptedFitWarning(UserWarning):
    """A fit was stopped by the user; the estimator holds the state training had reached."""


def _warn_interrupted(est, phase: str, epoch: int) -> None:
    warnings.warn(
        f"{type(est).__name__}.fit was interrupted in phase '{phase}' at epoch {epoch}: "
        f"training stopped there and the later phases were skipped, so labels_ and the "
        f"networks are those of that moment (history_ ends with the entry marked "
        f"'interrupted'; interrupted_ is True). Call fit again to train in full.",
        InterruptedFitWarning, stacklevel=3)


class FewerClustersWarning(ConvergenceWarning):
    """A fit put every sample into fewer clusters than ``n_clusters`` asked for."""


def _warn_fewer_clusters(est, labels: np.ndarray, n_clusters: int) -> None:
    found = int(np.unique(labels).size)
    if found < n_clusters:
        warnings.warn(
            f"{type(est).__name__}: number of distinct clusters ({found}) found smaller than "
            f"n_clusters ({n_clusters}): training left {n_clusters - found} of the clusters "
            f"empty. Try another random_state, a longer training or a smaller n_clusters.",
            FewerClustersWarning, stacklevel=3)


def _to_numpy_labels(labels) -> np.ndarray:
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    return np.asarray(labels).astype(np.int64).reshape(-1)
