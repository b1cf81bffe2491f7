"""Command line: ``python -m dclearn demo``, ``bench`` and ``cluster``.

``demo`` trains k-means and the strongest method the library has on the embedded
digits data and prints a results table. ``bench`` runs methods over several seeds
on one dataset and writes a markdown table and a JSON file (mean and std). ``cluster``
fits one method to your own images (a folder, a .npy or .npz file) and writes each
image's cluster as CSV and a picture of a few images per cluster.
"""

# This package's ``__init__`` holds the argument parser, ``main`` and ``demo``; the two larger
# subcommands live in ``bench.py`` and ``cluster.py``, whose functions are imported here
# (so ``dclearn.cli.bench`` and ``dclearn.cli.cluster`` name the functions).

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data import DATASETS, load_dataset
from ..methods.registry import METHODS, available_methods
from ..results import STORE
from .bench import bench, machine, markdown_table, parse_settings, run_one, summarise
from .cluster import cluster, cluster_grid

__all__ = ["DEMO_ORDER", "bench", "cluster", "cluster_grid", "demo", "machine", "main",
           "markdown_table", "parse_settings", "run_one", "summarise"]

# Preference order for the demo, strongest first; chosen from the README's measured
# table, never at run time from labels.
DEMO_ORDER = ["imsat", "dec", "idec", "rim", "dcn", "kmeans"]


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
