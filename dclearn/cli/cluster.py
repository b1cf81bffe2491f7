"""``python -m dclearn cluster``: one method on your own data, its labels as CSV, a PNG grid.

``cluster`` fits the method and writes each sample's cluster as CSV and, for images, the
picture ``cluster_grid`` draws: a few members of every cluster, one row per cluster.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from ..data import ClusterData, load_dataset
from ..methods.registry import METHODS, available_methods, make_estimator
from ..metrics import evaluate


def cluster_grid(X, labels, n_per_cluster: int = 8, seed: int = 0, title: str = ""):
    """A figure with one row per cluster: ``n_per_cluster`` random members of it, as they are
    (grey-scale images black to white, RGB in colour), the cluster and its size on the left."""
    from matplotlib.figure import Figure

    X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    labels = np.asarray(labels)
    if X.ndim != 4:
        raise ValueError(f"a cluster grid needs images N x C x H x W, got shape {X.shape}.")
    _, c, h, w = X.shape
    ids = np.unique(labels)
    rng = np.random.default_rng(seed)
    pad = max(1, min(h, w) // 8)
    canvas = np.ones(((h + pad) * len(ids) + pad, (w + pad) * n_per_cluster + pad, c),
                     dtype=np.float32)
    for r, k in enumerate(ids):
        members = np.flatnonzero(labels == k)
        pick = np.sort(rng.choice(members, size=min(n_per_cluster, len(members)),
                                  replace=False))
        for j, i in enumerate(pick):
            top, left = pad + r * (h + pad), pad + j * (w + pad)
            canvas[top:top + h, left:left + w] = X[i].transpose(1, 2, 0)
    scale = 0.9 / max(h, w)  # about 0.9 inch a tile
    fig = Figure(figsize=(1.2 + canvas.shape[1] * scale, 0.6 + canvas.shape[0] * scale))
    ax = fig.add_subplot()
    ax.imshow(canvas[..., 0] if c == 1 else canvas, cmap="gray", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_yticks([pad + r * (h + pad) + h / 2 for r in range(len(ids))])
    ax.set_yticklabels([f"{k} ({int((labels == k).sum())})" for k in ids], fontsize=8)
    ax.set_xticks([])
    ax.set_ylabel("cluster (size)")
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def cluster(data: str | ClusterData, method: str, n_clusters: int | None = None,
            out: str | Path | None = None, seed: int = 0, device: str = "auto",
            size: int | None = None, channels: int | None = None, n_per_cluster: int = 8,
            verbose: bool = True) -> dict:
    """Fit ``method`` to your data and write ``<name>_<method>_k<K>.csv`` (each sample's
    file name or index, its class when the data has labels, its cluster) and ``.png`` (a few
    images per cluster) in ``out``, by default next to the data.

    ``data`` is anything ``load_dataset`` reads, or a ``ClusterData``. ``n_clusters``
    defaults to the number of classes when the data has labels. Returns the paths written,
    the labels and, when the data has labels, ACC/NMI/ARI (never used by the fit).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: "
                         f"{', '.join(available_methods())}.")
    if isinstance(data, ClusterData):
        where = Path(out) if out is not None else Path.cwd()
    else:
        path = Path(data).expanduser()
        data = load_dataset(data, size=size, channels=channels)
        where = Path(out) if out is not None else path.resolve().parent
    if verbose:
        print(data.describe())
    k = data.n_clusters if n_clusters is None else n_clusters
    if k is None:
        raise ValueError(f"{data.name} has no labels to count clusters from: say how many "
                         f"clusters you want (--clusters K, or n_clusters=K).")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= len(data):
        raise ValueError(f"the number of clusters must be an integer from 2 to the number of "
                         f"samples ({len(data)}), got {k!r}.")
    est = make_estimator(method, int(k), seed, device, verbose)
    if verbose:
        print(f"fitting {method} with {k} clusters on {len(data)} samples ...", flush=True)
    labels = np.asarray(est.fit(data.X).labels_)
    where.mkdir(parents=True, exist_ok=True)
    stem = f"{data.name}_{method}_k{k}"
    csv_path = where / f"{stem}.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        ids = data.files if data.files is not None else list(range(len(data)))
        head = ["file" if data.files is not None else "index"]
        if data.y is not None:
            names = data.classes or [str(v) for v in range(int(data.y.max()) + 1)]
            writer.writerow([*head, "class", "cluster"])
            writer.writerows(zip(ids, [names[v] for v in data.y.tolist()], labels.tolist()))
        else:
            writer.writerow([*head, "cluster"])
            writer.writerows(zip(ids, labels.tolist()))
    result = {"labels": labels, "csv": csv_path, "png": None, "metrics": None}
    if data.is_image:
        fig = cluster_grid(data.X, labels, n_per_cluster, seed,
                           title=f"{data.name}: {method}, {k} clusters")
        result["png"] = where / f"{stem}.png"
        fig.savefig(result["png"], dpi=100)
    if data.y is not None:
        result["metrics"] = evaluate(data.y, labels)
    if verbose:
        sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
        print(f"cluster sizes: {sorted(sizes.tolist(), reverse=True)}")
        if result["metrics"] is not None:
            m = result["metrics"]
            print(f"against the class folders (labels not used by the fit): ACC {m['acc']:.3f} "
                  f"NMI {m['nmi']:.3f} ARI {m['ari']:.3f}")
        print(f"written: {csv_path}"
              + (f" and {result['png']}" if result["png"] else " (vectors: no image grid)"))
    return result
