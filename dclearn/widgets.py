"""ipywidgets explorers for the notebooks (each has a static twin in ``dclearn.plot``).

A slider needs a live kernel; the static figure reads without one (on GitHub, in
an exported HTML page), so every notebook shows both.
"""

from __future__ import annotations

import numpy as np

from .plot import project_snapshots

__all__ = ["embedding_slider"]


def embedding_slider(snapshots, labels, titles=None, method: str = "pca", s: float = 6.0):
    """An ipywidgets slider over embedding snapshots, points coloured by ``labels``.

    ``labels`` is one vector for all frames or one per frame.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    frames = project_snapshots(snapshots, method)
    per_frame = isinstance(labels, (list, tuple)) and len(labels) == len(frames)
    lo, hi = np.min([f.min(0) for f in frames], 0), np.max([f.max(0) for f in frames], 0)
    titles = titles or [f"snapshot {i}" for i in range(len(frames))]

    def show(i: int = len(frames) - 1):
        fig, ax = plt.subplots(figsize=(5, 4.5))
        c = np.asarray(labels[i] if per_frame else labels)
        ax.scatter(frames[i][:, 0], frames[i][:, 1], c=c, cmap="tab10", s=s)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_title(titles[i])
        plt.show()

    slider = widgets.IntSlider(value=len(frames) - 1, min=0, max=len(frames) - 1,
                               description="snapshot")
    return widgets.interactive(show, i=slider)
