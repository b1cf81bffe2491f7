"""``python -m dclearn cluster``: your own images in, a CSV of clusters and a PNG grid out."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dclearn.cli import cluster, cluster_grid, main

ROOT = Path(__file__).resolve().parents[1]


def _shape(kind: str, rng) -> np.ndarray:
    """A 12x12 grey picture of a filled square, a ring or a bar, with a little noise."""
    yy, xx = np.mgrid[:12, :12]
    cy, cx = 6, 6
    r = np.hypot(yy - cy, xx - cx)
    img = {"square": (abs(yy - cy) < 4) & (abs(xx - cx) < 4),
           "ring": (r > 2.5) & (r < 4.5),
           "bar": abs(xx - cx) < 2}[kind].astype(float)
    img = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    return (img * 255).astype(np.uint8)


@pytest.fixture
def shapes(tmp_path):
    """tmp/shapes/<kind>/<i>.png, 8 images of each of three kinds."""
    rng = np.random.default_rng(0)
    for kind in ("bar", "ring", "square"):
        (tmp_path / "shapes" / kind).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(_shape(kind, rng)).save(tmp_path / "shapes" / kind / f"{i}.png")
    return tmp_path / "shapes"


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _check_png(path, n_rows):
    with Image.open(path) as img:
        img.verify()  # a complete, valid PNG
    with Image.open(path) as img:
        assert img.format == "PNG" and img.width > 100 and img.height > 20 * n_rows


def test_cluster_a_labelled_folder(shapes, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["cluster", "--data", str(shapes), "--method", "kmeans", "--out", str(out),
                 "--seed", "1", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    csv_path, png_path = out / "shapes_kmeans_k3.csv", out / "shapes_kmeans_k3.png"
    rows = _rows(csv_path)
    assert rows[0] == ["file", "class", "cluster"] and len(rows) == 25
    assert rows[1][:2] == ["bar/0.png", "bar"]
    clusters = np.array([int(r[2]) for r in rows[1:]])
    assert set(clusters) <= {0, 1, 2}
    # the three shapes are far apart: each class falls in a cluster of its own
    assert all(len(set(clusters[8 * c: 8 * c + 8])) == 1 for c in range(3))
    assert len(set(clusters)) == 3
    _check_png(png_path, 3)
    assert "ACC 1.000" in printed and str(csv_path) in printed and str(png_path) in printed


def test_cluster_without_labels_needs_k_and_writes_next_to_the_data(tmp_path, capsys):
    rng = np.random.default_rng(1)
    (tmp_path / "pics").mkdir()
    for i in range(12):
        Image.fromarray(_shape(("bar", "ring")[i % 2], rng)).save(tmp_path / "pics" / f"{i}.png")
    assert main(["cluster", "--data", str(tmp_path / "pics"), "--method", "kmeans"]) == 2
    assert "--clusters K" in capsys.readouterr().err
    assert main(["cluster", "--data", str(tmp_path / "pics"), "--method", "kmeans",
                 "--clusters", "2", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    rows = _rows(tmp_path / "pics_kmeans_k2.csv")
    assert rows[0] == ["file", "cluster"] and len(rows) == 13
    assert sorted(r[0] for r in rows[1:]) == sorted(f"{i}.png" for i in range(12))
    _check_png(tmp_path / "pics_kmeans_k2.png", 2)


def test_cluster_an_npy_file_and_arrays(tmp_path):
    rng = np.random.default_rng(2)
    X = np.stack([_shape(("bar", "square")[i % 2], rng) for i in range(10)])
    np.save(tmp_path / "small.npy", X)
    result = cluster(str(tmp_path / "small.npy"), "gmm", 2, verbose=False)
    assert result["metrics"] is None and result["labels"].shape == (10,)
    rows = _rows(tmp_path / "small_gmm_k2.csv")
    assert rows[0] == ["index", "cluster"] and [r[0] for r in rows[1:]] == [str(i) for i in
                                                                             range(10)]
    _check_png(result["png"], 2)
    fig = cluster_grid(np.random.default_rng(0).random((6, 3, 4, 4)), [0, 0, 1, 1, 2, 2], 2)
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="needs images"):
        cluster_grid(np.zeros((4, 3)), [0, 0, 1, 1])


def test_cluster_errors(shapes, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["cluster", "--data", str(shapes), "--method", "nope"])
    assert stop.value.code == 2 and "unknown method 'nope'" in capsys.readouterr().err
    for k in ("1", "25"):
        assert main(["cluster", "--data", str(shapes), "--method", "kmeans",
                     "--clusters", k, "--out", str(tmp_path)]) == 2
        assert f"from 2 to the number of samples (24), got {k}" in capsys.readouterr().err
    assert main(["cluster", "--data", str(tmp_path / "missing"), "--method", "kmeans",
                 "--clusters", "2"]) == 2
    err = capsys.readouterr().err
    assert "missing does not exist" in err and "Traceback" not in err
    (shapes / "ring" / "3.png").write_bytes(b"garbage")
    assert main(["cluster", "--data", str(shapes), "--out", str(tmp_path)]) == 2
    assert "cannot read the image" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown method"):
        cluster(str(shapes), "nope")


def test_python_m_dclearn_cluster_end_to_end(shapes, tmp_path):
    run = subprocess.run([sys.executable, "-m", "dclearn", "cluster", "--data", str(shapes),
                          "--method", "kmeans", "--out", str(tmp_path / "o"),
                          "--device", "cpu", "--per-cluster", "4"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "written:" in run.stdout and "ACC" in run.stdout
    assert len(_rows(tmp_path / "o" / "shapes_kmeans_k3.csv")) == 25
    _check_png(tmp_path / "o" / "shapes_kmeans_k3.png", 3)
