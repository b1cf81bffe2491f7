"""Figures used across the notebooks.

Embeddings coloured by cluster and by truth side by side, per-cluster image
grids, the matched confusion matrix, training curves from ``history_`` and image
sample grids. Every function draws into a new figure and returns it, so a
notebook can show or save it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .metrics import matched_confusion

__all__ = ["project_2d", "plot_embedding", "plot_cluster_grid", "plot_confusion",
           "plot_history", "plot_images", "plot_toy", "plot_snapshots", "project_snapshots",
           "plot_decision_regions"]


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def project_2d(Z, method: str = "pca", random_state: int = 0) -> np.ndarray:
    """Project an embedding to 2-D: ``'pca'`` (fast) or ``'tsne'`` (slower, local structure)."""
    Z = _np(Z).reshape(len(Z), -1).astype(np.float64)
    if Z.shape[1] <= 2:
        return Z if Z.shape[1] == 2 else np.c_[Z, np.zeros(len(Z))]
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=random_state).fit_transform(Z)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(2, init="pca", random_state=random_state).fit_transform(Z)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")


def plot_embedding(Z, labels, y_true=None, method: str = "pca", title: str = "",
                   s: float = 6.0):
    """Scatter a 2-D projection of ``Z`` coloured by cluster (and by truth when given)."""
    P = project_2d(Z, method)
    panels = [("clusters", _np(labels))] + ([("true classes", _np(y_true))]
                                            if y_true is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), squeeze=False)
    for ax, (name, c) in zip(axes[0], panels):
        sc = ax.scatter(P[:, 0], P[:, 1], c=c, cmap="tab10", s=s, alpha=0.8)
        ax.set_title(f"{title} {name}".strip())
        ax.set_xticks([])
        ax.set_yticks([])
        if len(np.unique(c)) <= 20:
            ax.legend(*sc.legend_elements(), fontsize=7, loc="best", markerscale=0.8)
    fig.tight_layout()
    return fig


def _as_images(X) -> np.ndarray:
    X = _np(X)
    if X.ndim == 4:
        return X[:, 0] if X.shape[1] == 1 else X.transpose(0, 2, 3, 1)
    side = int(round(np.sqrt(X.shape[1])))
    if side * side != X.shape[1]:
        raise ValueError(f"cannot show vectors of length {X.shape[1]} as square images.")
    return X.reshape(-1, side, side)


def plot_cluster_grid(X, labels, n_per_cluster: int = 10, random_state: int = 0,
                      title: str = "samples per cluster"):
    """One row per cluster with ``n_per_cluster`` random members of it."""
    imgs = _as_images(X)
    labels = _np(labels)
    clusters = np.unique(labels)
    rng = np.random.default_rng(random_state)
    fig, axes = plt.subplots(len(clusters), n_per_cluster,
                             figsize=(n_per_cluster * 0.7, len(clusters) * 0.75), squeeze=False)
    for r, c in enumerate(clusters):
        members = np.flatnonzero(labels == c)
        pick = rng.choice(members, size=min(n_per_cluster, len(members)), replace=False)
        for j in range(n_per_cluster):
            ax = axes[r, j]
            ax.axis("off")
            if j < len(pick):
                ax.imshow(imgs[pick[j]], cmap="gray_r")
        axes[r, 0].text(-0.5, 0.5, f"{c} ({len(members)})", transform=axes[r, 0].transAxes,
                        ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.12)
    return fig


def plot_confusion(y_true, y_pred, title: str = "matched confusion", normalize: bool = False):
    """Seaborn heatmap of the confusion matrix with clusters matched to classes."""
    import seaborn as sns

    M, true_ids, order = matched_confusion(y_true, y_pred)
    if normalize:
        M = M / np.maximum(M.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(0.5 * M.shape[1] + 2, 0.5 * M.shape[0] + 1.5))
    sns.heatmap(M, annot=True, fmt=".2f" if normalize else "d", cmap="Blues", cbar=False,
                xticklabels=order, yticklabels=true_ids, ax=ax, annot_kws={"fontsize": 7})
    ax.set_xlabel("cluster (matched order)")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_history(history: list[dict], keys: list[str] | None = None, title: str = ""):
    """Curves of the numeric entries of ``history_`` (one panel per key), by phase."""
    numeric = sorted({k for h in history for k, v in h.items()
                      if isinstance(v, (int, float)) and k not in ("epoch", "iteration")})
    keys = keys or numeric
    if not keys:
        raise ValueError("history has no numeric entries to plot.")
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        phases = {}
        for i, h in enumerate(history):
            if key in h:
                phases.setdefault(h.get("phase", ""), []).append((i, h[key]))
        for phase, pts in phases.items():
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="." if len(xs) < 30 else None, label=phase)
        ax.set_title(key)
        ax.set_xlabel("step")
        if len(phases) > 1:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_images(X, n: int = 32, ncols: int = 16, title: str = ""):
    """A grid of the first ``n`` images of ``X``."""
    imgs = _as_images(X)[:n]
    nrows = int(np.ceil(len(imgs) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.6, nrows * 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img in zip(axes.flat, imgs):
        ax.imshow(img, cmap="gray_r")
    if title:
        fig.suptitle(title)
    return fig


def plot_toy(X, labels, centers=None, title: str = "", ax=None):
    """Scatter 2-D points coloured by label, with optional centroids as crosses."""
    X = _np(X)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
    else:
        fig = ax.figure
    ax.scatter(X[:, 0], X[:, 1], c=_np(labels), cmap="tab10", s=8)
    if centers is not None:
        C = _np(centers)
        ax.scatter(C[:, 0], C[:, 1], c="k", marker="x", s=80, linewidths=2)
    ax.set_title(title)
    ax.set_aspect("equal")
    return fig


def project_snapshots(snapshots, method: str = "pca") -> list[np.ndarray]:
    """2-D projections of successive embeddings in one shared frame.

    PCA is fitted on the last snapshot and applied to all, so the points move
    in a fixed coordinate system rather than being re-projected each frame.
    """
    snaps = [np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in snapshots]
    if not snaps:
        raise ValueError("no snapshots to show: fit with snapshot_every > 0 first.")
    if snaps[-1].shape[1] <= 2 or method != "pca":
        return [project_2d(s, method) for s in snaps]
    from sklearn.decomposition import PCA

    pca = PCA(2, random_state=0).fit(snaps[-1])
    return [pca.transform(s) for s in snaps]


def plot_snapshots(snapshots, labels, titles=None, max_panels: int = 5, s: float = 4.0):
    """Static twin of ``widgets.embedding_slider``: a row of evenly spaced snapshots."""
    frames = project_snapshots(snapshots)
    per_frame = isinstance(labels, (list, tuple)) and len(labels) == len(frames)
    pick = np.unique(np.linspace(0, len(frames) - 1, min(max_panels, len(frames))).astype(int))
    titles = titles or [f"snapshot {i}" for i in range(len(frames))]
    fig, axes = plt.subplots(1, len(pick), figsize=(3.2 * len(pick), 3.2), squeeze=False)
    for ax, i in zip(axes[0], pick):
        c = _np(labels[i] if per_frame else labels)
        ax.scatter(frames[i][:, 0], frames[i][:, 1], c=c, cmap="tab10", s=s)
        ax.set_title(titles[i], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_decision_regions(predict_proba, X, title: str = "", ax=None, n_grid: int = 150,
                          margin: float = 0.05):
    """A 2-D classifier's regions: colour = argmax cluster, brightness = confidence.

    ``predict_proba`` maps an (M, 2) float32 array to (M, K) probabilities (a tensor or
    an array). On a ``n_grid`` x ``n_grid`` grid around ``X`` (N, 2), each cell takes
    the ``tab10`` colour of its most probable cluster, faded to white as the largest
    probability falls to ``1 / K`` (white = undecided). The points of ``X`` are drawn
    on top, coloured by their own most probable cluster.
    """
    X = _np(X).astype(np.float32)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must be (N, 2) points, got shape {X.shape}.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
    else:
        fig = ax.figure
    lo, hi = X.min(0) - margin, X.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)                 # (n_grid^2, 2)
    with torch.no_grad():
        P = _np(predict_proba(grid)).astype(np.float64)                     # (n_grid^2, K)
        point_labels = _np(predict_proba(X)).argmax(1)                      # (N,)
    k = P.shape[1]
    colours = plt.get_cmap("tab10")(P.argmax(1) % 10)[:, :3]
    confidence = (P.max(1) - 1.0 / k) / (1.0 - 1.0 / k)                    # 0 uniform, 1 one-hot
    image = 1.0 - confidence[:, None] * (1.0 - colours) * 0.75
    ax.imshow(image.reshape(n_grid, n_grid, 3), origin="lower", aspect="auto",
              extent=(lo[0], hi[0], lo[1], hi[1]))
    ax.scatter(X[:, 0], X[:, 1], c=point_labels % 10, cmap="tab10", vmin=0, vmax=9, s=4,
               edgecolors="none")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
