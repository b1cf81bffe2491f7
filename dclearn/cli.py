"""Command line: ``python -m dclearn demo``, ``bench`` and ``cluster``.

``demo`` trains k-means and the strongest method the library has on the embedded
digits data and prints a results table. ``bench`` runs methods over several seeds
on one dataset and writes a markdown table and a JSON file (mean and std). ``cluster``
fits one method to your own images (a folder, a .npy or .npz file) and writes each
image's cluster as CSV and a picture of a few images per cluster.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .data import DATASETS, ClusterData, load_dataset
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
    p_cluster = sub.add_parser(
        "cluster", help="cluster your own images (a folder, .npy or .npz) with one method",
        description="Fit one method to your images; write each image's cluster as CSV and a "
                    "PNG of a few images per cluster, next to the data or in --out.")
    p_cluster.add_argument("--data", required=True,
                           help="a folder of images (one sub-folder per class, or the images "
                                "directly), a .npy or .npz file, or a named data set")
    p_cluster.add_argument("--method", default="kmeans",
                           help=f"a registered method (default kmeans): {', '.join(METHODS)}")
    p_cluster.add_argument("--clusters", type=int, default=None,
                           help="the number of clusters (default: the number of class "
                                "sub-folders; required without them)")
    p_cluster.add_argument("--out", default=None, help="folder for the CSV and PNG (default: "
                                                       "the folder that holds the data)")
    p_cluster.add_argument("--seed", type=int, default=0)
    p_cluster.add_argument("--size", type=int, default=None,
                           help="resize every image to SIZE x SIZE (e.g. 28)")
    p_cluster.add_argument("--channels", type=int, choices=(1, 3), default=None,
                           help="read every image as grey-scale (1) or RGB (3)")
    p_cluster.add_argument("--per-cluster", type=int, default=8,
                           help="images per cluster in the PNG (default 8)")
    p_cluster.add_argument("--device", default="auto")
    p_cluster.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.device)
        return 0
    if args.command == "cluster":
        if args.method not in METHODS:
            parser.error(f"unknown method {args.method!r}; available: "
                         f"{', '.join(available_methods())}")
        if args.per_cluster < 1:
            parser.error(f"--per-cluster must be at least 1, got {args.per_cluster}")
        try:
            cluster(args.data, args.method, args.clusters, args.out, args.seed, args.device,
                    args.size, args.channels, args.per_cluster, verbose=not args.quiet)
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
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
