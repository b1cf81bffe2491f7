"""Command line: ``python -m dclearn demo`` and ``python -m dclearn bench``.

``demo`` trains k-means and the strongest method the library has on the embedded
digits data and prints a results table. ``bench`` runs methods over several seeds
on one dataset and writes a markdown table and a JSON file (mean and std).
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .data import DATASETS, load_dataset
from .methods.registry import (
    METHODS,
    available_methods,
    bench_overrides,
    make_estimator,
)
from .metrics import evaluate
from .results import (
    MAX_STORED_LABELS,
    STORE,
    add_rows,
    encode_labels,
    provenance,
    stored_settings,
)

# Preference order for the demo, strongest first; chosen from the README's measured
# table, never at run time from labels.
DEMO_ORDER = ["imsat", "dec", "idec", "rim", "dcn", "kmeans"]


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
        from .methods.autoencoder.pretrain import clear_pretrain_cache

        clear_pretrain_cache()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(data.X)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    row = {"method": name, "seed": seed, **evaluate(data.y, est.labels_), "seconds": seconds,
           "cpu_seconds": cpu_seconds, "_labels": est.labels_}
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


def demo(device: str = "auto") -> dict:
    data = load_dataset("digits")
    names = ["kmeans"] + [m for m in DEMO_ORDER if m != "kmeans" and m in available_methods()][:1]
    print(f"dclearn demo on {data!r}; machine: {machine()}")
    rows = []
    for name in names:
        print(f"training {name} ...", flush=True)
        rows.append(run_one(name, data, seed=0, device=device, verbose=False))
    summary = summarise(rows)
    print(markdown_table(summary, "digits"))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dclearn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="k-means and the best method on digits")
    p_demo.add_argument("--device", default="auto")
    p_bench = sub.add_parser("bench", help="several methods and seeds on one dataset")
    p_bench.add_argument("--dataset", default="digits", choices=DATASETS)
    p_bench.add_argument("--methods", default="kmeans,gmm",
                         help="comma-separated; 'all' for every available method")
    p_bench.add_argument("--all", action="store_true", help="every registered method")
    p_bench.add_argument("--store", default=str(STORE),
                         help="results store folder the fits are added to (default: the "
                              "repository's results/)")
    p_bench.add_argument("--no-store", action="store_true",
                         help="do not add the fits to the results store")
    p_bench.add_argument("--seeds", default="0,1,2")
    p_bench.add_argument("--out", default="bench_results")
    p_bench.add_argument("--root", default=None, help="data folder (default $DCLEARN_DATA)")
    p_bench.add_argument("--device", default="auto")
    p_bench.add_argument("--verbose", action="store_true")
    p_bench.add_argument("--share-pretraining", action="store_true",
                         help="reuse one autoencoder pretraining across DEC/IDEC/DCN/AE+k-means "
                              "(saves time at MNIST scale; later fits' seconds exclude it)")
    p_bench.add_argument("--set", action="append", default=[], metavar="METHOD.PARAM=VALUE",
                         help="change one estimator parameter, e.g. imsat.n_epochs=20 "
                              "(repeatable; applied after the paper-scale settings)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.device)
        return 0
    methods = available_methods() if args.all or args.methods == "all" else \
        [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; available: {', '.join(available_methods())}")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    try:
        settings = parse_settings(args.set)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        bench(args.dataset, methods, seeds, Path(args.out), args.device, args.root,
              args.verbose, args.share_pretraining, settings,
              None if args.no_store else Path(args.store))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
