"""Every method side by side, from the results store: the tables and summaries of notebook 06.

Nothing here trains: the functions read ``results/<dataset>.json`` (``dclearn.results``), which
``python -m dclearn bench`` fills, and arrange it: one row per method with its family and
chapter, the spread over seeds, our MNIST figure next to the paper's, and which digits each
method confuses (from the labels the store keeps for small data sets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .methods.registry import METHODS, PAPER_MNIST_ACC, TITLES, bench_overrides
from .metrics import matched_confusion
from .results import decode_labels, load_rows, settings_key, stored_settings, summarise

__all__ = ["FAMILY_NAMES", "family_of", "method_order", "mnist_cell", "comparison_frame",
           "per_seed_frame", "variant_frame", "confused_pairs"]

#: The families as the course names them, by the folder of ``dclearn.methods`` they live in.
FAMILY_NAMES = {"classic": "classic", "feedforward": "feedforward", "autoencoder": "autoencoder",
                "vae": "VAE", "gan": "GAN", "dcfae": "DCFAE", "dbn": "DBN"}
MNIST_SETS = ("mnist", "mnist_test")


def family_of(method: str) -> str:
    """The family of a registered method (the subpackage its estimator lives in)."""
    module = METHODS[method][0] if method in METHODS else ""
    parts = module.split(".")
    return FAMILY_NAMES.get(parts[2], parts[2]) if len(parts) > 3 else "other"


def method_order(methods) -> list[str]:
    """Chapter order, then the registry's order within a chapter."""
    names = list(METHODS)
    return sorted(methods, key=lambda m: (TITLES.get(m, (m, "99"))[1],
                                          names.index(m) if m in names else len(names)))


def mnist_cell(method: str, store: Path | None = None) -> str:
    """Our MNIST accuracy: each seed's ACC at paper-scale settings, MNIST-test marked.

    Where a data set has no paper-scale fit of the method but has fits with other settings
    (fewer epochs, narrower networks: what a CPU allows), the first of those settings in the
    store's order is shown, marked "reduced settings"; the store's row names them.
    """
    parts = []
    for dataset in MNIST_SETS:
        rows = load_rows(dataset, store)
        entry = summarise(rows, lambda m, d=dataset: bench_overrides(m, d)).get(method)
        mark = ""
        if entry:
            values, seeds = entry["acc"]["values"], entry["seeds"]
        else:
            other = [r for r in rows if r["method"] == method]
            if not other:
                continue
            first = settings_key(other[0]["settings"])
            same = sorted((r for r in other if settings_key(r["settings"]) == first),
                          key=lambda r: r["seed"])
            values, seeds = [r["acc"] for r in same], [r["seed"] for r in same]
            mark = ", reduced settings"
        accs = " / ".join(f"{v:.3f}" for v in values)
        plural = "s" if len(seeds) > 1 else ""
        seeds = ", ".join(map(str, seeds))
        where = " on MNIST-test" if dataset == "mnist_test" else ""
        parts.append(f"{accs} (seed{plural} {seeds}{where}{mark})")
    return "; ".join(parts)


def comparison_frame(dataset: str = "digits", store: Path | None = None):
    """A pandas DataFrame, one row per method run with its defaults on ``dataset``."""
    import pandas as pd

    summary = summarise(load_rows(dataset, store))
    records = []
    for m in method_order(summary):
        e = summary[m]
        title, chapter = TITLES.get(m, (m, ""))
        records.append({
            "method": title, "key": m, "family": family_of(m), "chapter": chapter,
            **{f"{k} mean": e[k]["mean"] for k in ("acc", "nmi", "ari")},
            "acc std": e["acc"]["std"], "seconds": e["seconds"]["mean"], "seeds": e["n_seeds"],
            "MNIST ACC (ours)": mnist_cell(m, store),
            "MNIST ACC (paper)": PAPER_MNIST_ACC.get(m, np.nan)})
    return pd.DataFrame.from_records(records).set_index("method")


def per_seed_frame(dataset: str = "digits", store: Path | None = None):
    """One row per stored fit with the method's defaults: method, family, seed, scores."""
    import pandas as pd

    rows = [r for r in load_rows(dataset, store) if not r["settings"]]
    return pd.DataFrame.from_records([
        {"method": TITLES.get(r["method"], (r["method"],))[0], "key": r["method"],
         "family": family_of(r["method"]), "seed": r["seed"], "acc": r["acc"], "nmi": r["nmi"],
         "ari": r["ari"], "seconds": r["seconds"]} for r in rows])


def variant_frame(method: str, param: str, dataset: str = "digits",
                  store: Path | None = None):
    """ACC and seconds of ``method`` for each stored value of ``param`` (other settings at their
    defaults): the rows that ``bench --set method.param=...`` added. The defaults' row is
    labelled ``"default"``."""
    import pandas as pd

    rows = [r for r in load_rows(dataset, store) if r["method"] == method
            and set(r["settings"]) <= {param}]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["settings"].get(param, "default"), []).append(r)
    columns = [param, "acc mean", "acc std", "seconds", "seeds"]
    return pd.DataFrame.from_records([
        {param: value, "acc mean": np.mean([r["acc"] for r in rs]),
         "acc std": np.std([r["acc"] for r in rs]),
         "seconds": np.mean([r["seconds"] for r in rs]), "seeds": len(rs)}
        for value, rs in groups.items()], columns=columns).set_index(param)


def confused_pairs(y_true, method: str, dataset: str = "digits", seed: int = 0,
                   store: Path | None = None, top: int = 3) -> list[tuple[int, int, int]]:
    """The ``top`` (true digit, digit it was taken for, count) confusions of a stored fit.

    The clusters are matched to the classes (Hungarian matching, as ACC does); a sample of
    class a in the cluster matched to class b counts for (a, b).
    """
    want = settings_key(stored_settings({}))
    row = next((r for r in load_rows(dataset, store) if r["method"] == method
                and r["seed"] == seed and settings_key(r["settings"]) == want
                and r.get("labels")), None)
    if row is None:
        raise ValueError(f"no stored labels for {method!r} seed {seed} on {dataset!r}: run "
                         f"python -m dclearn bench --dataset {dataset} --methods {method}.")
    M, true_ids, _ = matched_confusion(np.asarray(y_true), decode_labels(row["labels"]))
    k = min(M.shape)
    off = [(int(true_ids[i]), int(true_ids[j]), int(M[i, j]))
           for i in range(M.shape[0]) for j in range(k) if i != j and M[i, j] > 0]
    return sorted(off, key=lambda t: -t[2])[:top]
