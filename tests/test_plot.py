import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dclearn import plot  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_embedding_side_by_side(digits):
    fig = plot.plot_embedding(digits.flat()[:200], digits.y[:200], digits.y[:200])
    assert len(fig.axes) == 2
    assert len(plot.plot_embedding(torch.rand(50, 2), np.zeros(50)).axes) == 1
    assert plot.project_2d(np.random.rand(30, 5)).shape == (30, 2)
    with pytest.raises(ValueError, match="'pca' or 'tsne'"):
        plot.project_2d(np.random.rand(30, 5), method="umap")


def test_cluster_grid_one_row_per_cluster(digits):
    labels = digits.y[:300] % 4
    fig = plot.plot_cluster_grid(digits.X[:300], labels, n_per_cluster=5)
    assert len(fig.axes) == 4 * 5
    fig = plot.plot_cluster_grid(digits.flat()[:300], labels, n_per_cluster=3)  # flat vectors
    assert len(fig.axes) == 12
    with pytest.raises(ValueError, match="square images"):
        plot.plot_cluster_grid(np.random.rand(10, 7), np.zeros(10))


def test_confusion_and_history_and_images(digits):
    fig = plot.plot_confusion(digits.y, (digits.y + 1) % 10)
    assert fig.axes[0].get_xlabel().startswith("cluster")
    hist = [{"phase": "pretrain", "epoch": i, "loss": 1.0 / (i + 1)} for i in range(5)]
    hist += [{"phase": "cluster", "epoch": i, "loss": 0.1, "acc": 0.5} for i in range(3)]
    fig = plot.plot_history(hist)
    assert [a.get_title() for a in fig.axes] == ["acc", "loss"]
    with pytest.raises(ValueError, match="no numeric entries"):
        plot.plot_history([{"phase": "x"}])
    assert len(plot.plot_images(digits.X, n=20, ncols=10).axes) == 20
    pts, cents = torch.rand(20, 2), torch.rand(2, 2)
    fig = plot.plot_toy(pts, np.zeros(20), centers=cents, title="toy")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_title() == "toy"
    points, crosses = ax.collections  # the scatter of the points, then the centroids
    assert np.allclose(points.get_offsets(), pts.numpy())
    assert np.allclose(crosses.get_offsets(), cents.numpy())
    assert len(plot.plot_toy(pts, np.zeros(20)).axes[0].collections) == 1  # no centroids


def test_snapshots_static_and_slider():
    from dclearn import widgets

    rng = np.random.default_rng(0)
    snaps = [rng.normal(size=(40, 5)) * (i + 1) for i in range(7)]
    fig = plot.plot_snapshots(snaps, np.arange(40) % 3, max_panels=4)
    assert len(fig.axes) == 4
    frames = plot.project_snapshots(snaps)
    assert len(frames) == 7 and frames[0].shape == (40, 2)
    w = widgets.embedding_slider(snaps, np.arange(40) % 3)
    assert w.children[0].max == 6
    with pytest.raises(ValueError, match="no snapshots"):
        plot.project_snapshots([])


def test_decision_regions_colour_by_cluster_and_fade_where_unsure():
    def proba(Z):  # two clusters split at x = 0, sure far from the cut
        z = torch.as_tensor(Z)[:, :1]
        p = torch.sigmoid(4 * z)
        return torch.cat([1 - p, p], 1)

    X = torch.tensor([[-1.0, 0.0], [1.0, 1.0], [-0.5, 2.0], [0.5, -1.0]])
    fig, ax = plt.subplots()
    assert plot.plot_decision_regions(proba, X, title="t", ax=ax, n_grid=21) is fig
    image = ax.images[0].get_array()
    assert image.shape == (21, 21, 3)
    middle = image[10, 10]                                    # on the cut: undecided, white
    assert np.allclose(middle, 1.0, atol=0.05)
    left, right = image[10, 0], image[10, -1]                 # far sides: the two colours
    assert not np.allclose(left, right, atol=0.1) and left.min() < 0.9 and right.min() < 0.9
    points = ax.collections[0].get_array()
    assert points.tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.plot_decision_regions(proba, torch.rand(5, 3))
