import numpy as np
import pytest

from dclearn.metrics import ari, best_mapping, cluster_acc, evaluate, matched_confusion, nmi


def test_permuted_perfect_clustering_scores_one():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    pred = np.array([5, 5, 9, 9, 7, 7, 7])
    assert cluster_acc(y, pred) == 1.0
    assert nmi(y, pred) == pytest.approx(1.0)
    assert ari(y, pred) == pytest.approx(1.0)
    assert best_mapping(y, pred) == {5: 0, 9: 1, 7: 2}


def test_hand_computed_accuracy():
    y = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([1, 1, 0, 0, 0, 0])
    # best map: cluster 1 -> class 0 (2 right), cluster 0 -> class 1 (3 right)
    assert cluster_acc(y, pred) == pytest.approx(5 / 6)


def test_more_clusters_than_classes_counts_extras_as_errors():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    pred = np.array([0, 0, 1, 1, 2, 2, 2, 2])  # class 0 split in two clusters
    assert cluster_acc(y, pred) == pytest.approx(6 / 8)
    mapping = best_mapping(y, pred)
    assert sorted(mapping.values()) == [-1, 0, 1]


def test_fewer_clusters_than_classes():
    y = np.array([0, 1, 2, 0, 1, 2])
    pred = np.zeros(6, dtype=int)
    assert cluster_acc(y, pred) == pytest.approx(2 / 6)


def test_evaluate_keys_and_random_labels():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 10, 5000), rng.integers(0, 10, 5000)
    r = evaluate(y, p)
    assert set(r) == {"acc", "nmi", "ari"}
    assert abs(r["ari"]) < 0.01 and r["nmi"] < 0.02 and r["acc"] < 0.15


def test_matched_confusion_is_diagonal_for_a_permutation():
    y = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([2, 2, 0, 0, 0, 1])
    M, true_ids, order = matched_confusion(y, pred)
    assert np.array_equal(M, np.diag([2, 3, 1]))
    assert order.tolist() == [2, 0, 1] and true_ids.tolist() == [0, 1, 2]


@pytest.mark.parametrize("bad,match", [
    ((np.array([0, 1]), np.array([0, 1, 1])), "has 3 labels but X has 2"),
    ((np.array([[0, 1]]), np.array([0, 1])), "must be 1-D"),
    ((np.array([0.5, 1.0]), np.array([0, 1])), "integer labels"),
    ((np.array(["a", "b"]), np.array([0, 1])), "integer labels"),
])
def test_bad_labels(bad, match):
    with pytest.raises(ValueError, match=match):
        cluster_acc(*bad)


def test_evaluate_without_labels_says_so():
    with pytest.raises(ValueError, match="needs the true labels"):
        evaluate(None, np.zeros(5, dtype=int))
