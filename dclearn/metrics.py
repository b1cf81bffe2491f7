"""Clustering metrics: accuracy after Hungarian matching, NMI and ARI.

Taught in notebook 00. Cluster ids are arbitrary names, so accuracy first finds
the one-to-one mapping from clusters to classes that agrees with the most
samples (Kuhn's Hungarian method, via ``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ._validation import check_labels

__all__ = ["contingency", "best_mapping", "cluster_acc", "nmi", "ari", "evaluate",
           "matched_confusion"]


def _pair(y_true, y_pred):
    y_true = check_labels(y_true, name="y_true")
    y_pred = check_labels(y_pred, n_samples=y_true.shape[0], name="y_pred")
    if y_true.size == 0:
        raise ValueError("y_true is empty.")
    return y_true, y_pred


def contingency(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts ``C[i, j]`` = samples of cluster ``pred_ids[i]`` with class ``true_ids[j]``."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_ids, t = np.unique(y_true, return_inverse=True)
    pred_ids, p = np.unique(y_pred, return_inverse=True)
    counts = np.zeros((pred_ids.size, true_ids.size), dtype=np.int64)
    np.add.at(counts, (p, t), 1)
    return counts, pred_ids, true_ids


def best_mapping(y_true, y_pred) -> dict:
    """The cluster -> class mapping maximising agreement (clusters left over map to -1)."""
    counts, pred_ids, true_ids = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = {int(c): -1 for c in pred_ids}
    mapping.update({int(pred_ids[r]): int(true_ids[c]) for r, c in zip(rows, cols)})
    return mapping


def cluster_acc(y_true, y_pred) -> float:
    """Unsupervised clustering accuracy.

    ``ACC = max_m (1/N) sum_i 1[y_i = m(c_i)]`` over one-to-one maps ``m`` from
    clusters to classes. Works when the numbers of clusters and classes differ:
    the rectangular assignment leaves the extra clusters (or classes) unmatched,
    and their samples count as errors.
    """
    counts, _, _ = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / counts.sum())


def nmi(y_true, y_pred) -> float:
    """Normalised mutual information (arithmetic normalisation, sklearn's default)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred))


def ari(y_true, y_pred) -> float:
    """Adjusted Rand index (Hubert and Arabie 1985)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def evaluate(y_true, y_pred) -> dict:
    """``{"acc", "nmi", "ari"}`` for one clustering."""
    if y_true is None:
        raise ValueError("evaluate needs the true labels y_true, got None: data without labels "
                         "(your own images in one folder) can be clustered but not scored; "
                         "compare methods by their stability across seeds instead.")
    return {"acc": cluster_acc(y_true, y_pred), "nmi": nmi(y_true, y_pred),
            "ari": ari(y_true, y_pred)}


def matched_confusion(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confusion matrix with clusters reordered to sit on their matched class.

    Returns ``(M, true_ids, cluster_order)``: ``M[i, j]`` counts samples of class
    ``true_ids[i]`` put in cluster ``cluster_order[j]``. Matched clusters come
    first, in the order of their class, so a good clustering is diagonal;
    unmatched clusters follow.
    """
    counts, pred_ids, true_ids = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    order = list(rows[np.argsort(cols)])
    order += [r for r in range(pred_ids.size) if r not in set(order)]
    return counts[order].T, true_ids, pred_ids[order]
