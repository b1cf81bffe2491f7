"""dclearn.compare: the side-by-side tables of notebook 06, read from a results store."""

import numpy as np
import pytest

from dclearn.compare import (
    comparison_frame,
    confused_pairs,
    family_of,
    method_order,
    mnist_cell,
    per_seed_frame,
    variant_frame,
)
from dclearn.results import add_rows, encode_labels, stored_settings


def _row(method, seed, acc, labels=None, settings=None, seconds=1.0):
    row = {"method": method, "seed": seed, "acc": acc, "nmi": acc, "ari": acc,
           "seconds": seconds, "settings": stored_settings(settings or {})}
    if labels is not None:
        row["labels"] = encode_labels(labels)
    return row


def test_families_and_order():
    assert family_of("dec") == "autoencoder" and family_of("vade") == "VAE"
    assert family_of("tsne_gmm") == "classic" and family_of("imsat") == "feedforward"
    assert method_order(["vade", "dec", "kmeans", "imsat"]) == ["kmeans", "imsat", "dec", "vade"]


def test_frames(tmp_path):
    add_rows("digits", [_row("dec", s, 0.8 + s / 100, seconds=10) for s in range(3)]
             + [_row("kmeans", 0, 0.79, seconds=0.1),
                _row("dec", 0, 0.7, settings={"arch": "conv"}, seconds=30)], tmp_path)
    frame = comparison_frame("digits", tmp_path)
    assert list(frame.index) == ["k-means (raw pixels)", "DEC"]
    assert frame.loc["DEC", "acc mean"] == pytest.approx(0.81)
    assert frame.loc["DEC", "seeds"] == 3 and frame.loc["DEC", "family"] == "autoencoder"
    assert frame.loc["DEC", "MNIST ACC (paper)"] == pytest.approx(0.843)
    seeds = per_seed_frame("digits", tmp_path)
    assert len(seeds) == 4  # the conv variant is not a default fit
    variants = variant_frame("dec", "arch", "digits", tmp_path)
    assert variants.loc["default", "seeds"] == 3
    assert variants.loc["'conv'", "acc mean"] == pytest.approx(0.7)
    assert len(variant_frame("dec", "hidden", "digits", tmp_path)) == 1  # the defaults only
    assert variant_frame("imsat", "lam", "digits", tmp_path).empty


def test_mnist_cell_paper_scale_first_then_reduced(tmp_path):
    from dclearn.methods.registry import PAPER_SCALE

    paper = dict(PAPER_SCALE["catgan"])
    add_rows("mnist", [_row("catgan", 0, 0.84, settings={**paper, "n_epochs": 10}),
                       _row("catgan", 1, 0.80, settings={**paper, "n_epochs": 10}),
                       _row("kmeans", 0, 0.54)], tmp_path)
    add_rows("mnist_test", [_row("dcfae", 0, 0.937, settings={"epochs": 60})], tmp_path)
    assert mnist_cell("kmeans", tmp_path) == "0.540 (seed 0)"  # defaults are its paper scale
    assert mnist_cell("catgan", tmp_path) == "0.840 / 0.800 (seeds 0, 1, reduced settings)"
    assert mnist_cell("dcfae", tmp_path) == "0.937 (seed 0 on MNIST-test, reduced settings)"
    assert mnist_cell("dec", tmp_path) == ""
    add_rows("mnist", [_row("catgan", 2, 0.90, settings=paper)], tmp_path)
    assert mnist_cell("catgan", tmp_path) == "0.900 (seed 2)"  # a paper-scale fit wins


def test_confused_pairs(tmp_path):
    y = np.repeat(np.arange(3), 10)
    pred = (y + 1) % 3  # clusters renamed: no confusion at all
    pred[:4] = 2  # four 0s put with the 1s (cluster 2 is matched to class 1)
    add_rows("digits", [_row("kmeans", 0, 0.9, labels=pred)], tmp_path)
    assert confused_pairs(y, "kmeans", store=tmp_path, top=2) == [(0, 1, 4)]
    with pytest.raises(ValueError, match="no stored labels"):
        confused_pairs(y, "dec", store=tmp_path)
