"""``python -m dclearn bench``: methods over seeds on one data set, a table, a JSON file, the store.

``bench`` fits the methods, prints one line per fit, writes ``bench_<dataset>.md`` and
``.json`` and adds every fit to the results store. ``run_one`` (one fit, timed and scored),
``summarise``, ``markdown_table`` and ``machine`` also serve ``demo``; ``parse_settings``
reads the ``--set METHOD.PARAM=VALUE`` items.
"""

from __future__ import annotations

import ast
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from ..data import load_dataset
from ..methods.registry import bench_overrides, make_estimator
from ..metrics import evaluate
from ..results import (
    MAX_STORED_LABELS,
    STORE,
    add_rows,
    code_commit,
    encode_labels,
    provenance,
    stored_settings,
)


def parse_settings(items: list[str]) -> dict[str, dict]:
    """``["imsat.n_epochs=20", "dec.hidden=(500, 500, 2000)"]`` -> ``{method: {param: value}}``.

    Values are Python literals (numbers, tuples, strings in quotes, True/False/None); a
    bare word is taken as a string. Raises ValueError naming the malformed item.
    """
    out: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        name, dot, param = key.strip().partition(".")
        if not sep or not dot or not name or not param.isidentifier():
            raise ValueError(f"--set expects METHOD.PARAM=VALUE, got {item!r}.")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        out.setdefault(name, {})[param] = value
    return out


def run_one(name: str, data, seed: int, device: str = "auto", verbose: bool = False,
            share_pretraining: bool = False, settings: dict | None = None) -> dict:
    """Fit one method on one seed; returns metrics, wall-clock and CPU seconds.

    ``cpu_seconds`` is the process's CPU time over the fit (every thread's): on one thread it
    stays close to the unloaded wall time when other work slows the wall clock down.

    For a method that starts from a partition of its pretrained embedding (``init_labels_``:
    DEC, IDEC, DCN, DEPICT, VaDE, DGG) the row adds that partition's scores as
    ``start_acc``, ``start_nmi``, ``start_ari``: what the clustering objective added.

    Each fit starts cold (the autoencoder pretraining counted in its seconds) unless
    ``share_pretraining``: then DEC/IDEC/DCN/AE + k-means with the same settings reuse
    one pretraining, and only the first fit's seconds include it.
    """
    est = make_estimator(name, data.n_clusters, seed, device, verbose,
                         **{**bench_overrides(name, data.name), **(settings or {})})
    if not share_pretraining:
        from ..methods.autoencoder.pretrain import clear_pretrain_cache

        clear_pretrain_cache()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(data.X)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    # a fit resumed from a checkpoint (DCLEARN_CHECKPOINT_DIR) counts the runs before it too
    earlier_s, earlier_cpu = getattr(est, "resumed_seconds_", (0.0, 0.0))
    seconds = time.perf_counter() - t0 + earlier_s
    cpu_seconds = time.process_time() - c0 + earlier_cpu
    row = {"method": name, "seed": seed, **evaluate(data.y, est.labels_), "seconds": seconds,
           "cpu_seconds": cpu_seconds, "_labels": est.labels_}
    if earlier_s > 0:
        row["resumed_seconds"] = earlier_s
    start = getattr(est, "init_labels_", None)
    if start is not None:  # the partition training started from (k-means / GMM)
        row.update({f"start_{k}": v for k, v in evaluate(data.y, start).items()})
    return row


def summarise(rows: list[dict]) -> dict:
    """Mean and std per method of acc, nmi, ari, seconds (and start_acc where every run has it)."""
    out = {}
    for name in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == name]
        out[name] = {"n_seeds": len(mine)}
        for key in ("acc", "nmi", "ari", "seconds", "start_acc"):
            if not all(key in r for r in mine):
                continue
            vals = np.array([r[key] for r in mine], dtype=float)
            out[name][key] = {"mean": float(vals.mean()), "std": float(vals.std())}
    return out


def markdown_table(summary: dict, dataset: str) -> str:
    lines = [f"| method ({dataset}) | ACC | NMI | ARI | seconds per fit | seeds |",
             "|---|---|---|---|---|---|"]
    for name, s in summary.items():
        cells = [f"{s[k]['mean']:.3f} ± {s[k]['std']:.3f}" for k in ("acc", "nmi", "ari")]
        lines.append(f"| {name} | {' | '.join(cells)} | {s['seconds']['mean']:.1f} | "
                     f"{s['n_seeds']} |")
    return "\n".join(lines)


def machine() -> str:
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return (f"{platform.machine()}, {torch.get_num_threads()} threads, {dev}, "
            f"torch {torch.__version__}")


def bench(dataset: str, methods: list[str], seeds: list[int], out: Path,
          device: str = "auto", root: str | None = None, verbose: bool = False,
          share_pretraining: bool = False, settings: dict[str, dict] | None = None,
          store: Path | None = STORE) -> dict:
    """Fit ``methods`` over ``seeds`` on ``dataset``; write the markdown table and JSON of
    this run to ``out`` and add every fit, as it finishes, to the results store ``store``
    (``None``: not stored)."""
    settings = settings or {}
    code_commit()  # the rows name the commit the run started from
    stray = sorted(set(settings) - set(methods))
    if stray:
        raise ValueError(f"--set names methods that are not benchmarked: {stray}.")
    for name, kv in settings.items():
        valid = make_estimator(name, 2, 0).get_params()
        bad = sorted(set(kv) - set(valid))
        if bad:
            raise ValueError(f"{name} has no parameter {', '.join(bad)}; its parameters: "
                             f"{', '.join(sorted(valid))}.")
    data = load_dataset(dataset, root)
    used = {m: {**bench_overrides(m, dataset), **settings.get(m, {})} for m in methods}
    rows = []
    for name in methods:
        for seed in seeds:
            r = run_one(name, data, seed, device, verbose, share_pretraining,
                        settings.get(name))
            labels = r.pop("_labels")
            rows.append(r)
            if store is not None:  # each fit as it finishes: a stopped run keeps its rows
                extra = {"labels": encode_labels(labels)} if len(labels) <= MAX_STORED_LABELS \
                    else {}
                add_rows(dataset, [{**r, "settings": stored_settings(used[name]),
                                    "share_pretraining": share_pretraining, **provenance(),
                                    **extra}], store)
            start = f", start acc {r['start_acc']:.3f}" if "start_acc" in r else ""
            print(f"{name:>10} seed {seed}: acc {r['acc']:.3f} nmi {r['nmi']:.3f} "
                  f"ari {r['ari']:.3f} ({r['seconds']:.1f} s{start})", flush=True)
    summary = summarise(rows)
    table = markdown_table(summary, dataset)
    out.mkdir(parents=True, exist_ok=True)
    note = ("\n\nPretraining shared between the autoencoder methods of one seed: only the "
            "first one's seconds include it.\n" if share_pretraining else "\n")
    used = {m: v for m, v in used.items() if v}
    if used:
        note += "\nSettings changed from the defaults: " + "; ".join(
            f"{m}: " + ", ".join(f"{k}={v!r}" for k, v in kv.items()) for m, kv in used.items()
        ) + "\n"
    (out / f"bench_{dataset}.md").write_text(f"Machine: {machine()}\n\n{table}{note}")
    (out / f"bench_{dataset}.json").write_text(json.dumps(
        {"dataset": dataset, "machine": machine(), "share_pretraining": share_pretraining,
         "settings": {m: {k: repr(v) for k, v in kv.items()} for m, kv in used.items()},
         "runs": rows, "summary": summary}, indent=2))
    print(table)
    print(f"written: {out / f'bench_{dataset}.md'} and .json"
          + (f"; rows added to {Path(store) / f'{dataset}.json'}" if store is not None else ""))
    return summary
