"""Command line: ``python -m dclearn demo`` and ``python -m dclearn bench``.

``demo`` trains k-means and the strongest method the library has on the embedded
digits data and prints a results table. ``bench`` runs methods over several seeds
on one dataset and writes a markdown table and a JSON file (mean and std).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .data import DATASETS, load_dataset
from .metrics import evaluate

# name -> (module, class, default kwargs). Chapters add their methods here.
METHODS: dict[str, tuple[str, str, dict]] = {
    "kmeans": ("dclearn.methods.kmeans", "KMeans", {}),
    "gmm": ("dclearn.methods.gmm", "GMM", {}),
    # chapter 01: feedforward
    "rim": ("dclearn.methods.rim", "RIM", {}),
    "imsat": ("dclearn.methods.imsat", "IMSAT", {}),
    "dac": ("dclearn.methods.dac", "DAC", {}),
    # chapter 02: autoencoders
    "aekmeans": ("dclearn.methods.aekmeans", "AEKMeans", {}),
    "dec": ("dclearn.methods.dec", "DEC", {}),
    "idec": ("dclearn.methods.idec", "IDEC", {}),
    "dcn": ("dclearn.methods.dcn", "DCN", {}),
    "depict": ("dclearn.methods.depict", "DEPICT", {}),
    "den": ("dclearn.methods.den", "DEN", {}),
    # chapter 03: variational autoencoders
    "vae": ("dclearn.methods.vae", "VAE", {}),
    "vade": ("dclearn.methods.vade", "VaDE", {}),
    "dgg": ("dclearn.methods.dgg", "DGG", {}),
    "ltvae": ("dclearn.methods.ltvae", "LTVAE", {}),
}

# Paper-scale settings for the 28x28 datasets (the papers' d-500-500-2000-10 autoencoder,
# batches of 256, P updated every 140 iterations as in DEC's and IDEC's MNIST runs).
# The pretraining is DEC's reference recipe, which IDEC's MNIST figures also start from
# (its authors load DEC's pretrained weights): greedy layer-wise denoising stage of 50,000
# steps per layer (183 epochs of 70,000 images), fine-tuning for 100,000 steps (366
# epochs), SGD with momentum 0.9 at lr 0.1 divided by 10 every 20,000 steps, pixels
# scaled by 5. About 70 minutes on two CPU threads. Applied by ``bench`` only.
_PAPER_AE = dict(hidden=(500, 500, 2000), batch_size=256, pretrain_layerwise_epochs=183,
                 pretrain_epochs=366, pretrain_solver="sgd", pretrain_lr=0.1,
                 pretrain_input_scale=5.0)
_PAPER_VAE = dict(hidden=(500, 500, 2000), pretrain_batch_size=256,
                  pretrain_layerwise_epochs=183, pretrain_epochs=366, pretrain_solver="sgd",
                  pretrain_lr=0.1, pretrain_input_scale=5.0, batch_size=100, epochs=300,
                  n_restarts=1)
PAPER_SCALE: dict[str, dict] = {
    "aekmeans": _PAPER_AE,
    "dec": {**_PAPER_AE, "update_interval": 140, "max_iter": 20000},
    "idec": {**_PAPER_AE, "update_interval": 140, "max_iter": 20000},
    "dcn": _PAPER_AE,
    # DEN: the family's paper-scale autoencoder (its layer-wise stage, then 50 + 50 epochs)
    "den": dict(hidden=(500, 500, 2000), batch_size=256),
    # DEPICT: its defaults are already the paper's (two conv layers of 50 maps, batches
    # of 100, dropout 0.1); no entry.
    # IMSAT: the authors' MNIST settings (Hu et al. 2017, section 4 and their code)
    "imsat": dict(lam=0.1, xi=10.0, eps_scale=0.25, n_epochs=50),
    # VaDE / DGG: the network VaDE shares with DEC, pretrained by the same DEC recipe (its
    # Bernoulli decoder trained by cross-entropy against the unscaled pixels), then the
    # paper's batches of 100 for 300 epochs, one fit (no restarts: a fit takes hours on a
    # CPU, and the paper reports single fits). VaDE also takes the authors' MNIST code's
    # optimiser and start (github.com/slim1017/VaDE, VaDE.py): Adam's epsilon 1e-4, the
    # decayed lr floored at 0.0002, a Glorot-initialised log-variance head, uniform pi.
    "vade": {**_PAPER_VAE, "adam_eps": 1e-4, "lr_min": 2e-4, "logvar_init": None,
             "pi_init": "uniform"},
    "dgg": _PAPER_VAE,
}
PAPER_SCALE_DATASETS = ("mnist", "mnist_test", "fashion_mnist")

# Preference order for the demo, strongest first; chosen from the README's measured
# table, never at run time from labels.
DEMO_ORDER = ["imsat", "dec", "idec", "rim", "dcn", "kmeans"]


def available_methods() -> list[str]:
    """Registered methods whose module can be imported."""
    out = []
    for name, (mod, cls, _) in METHODS.items():
        try:
            getattr(importlib.import_module(mod), cls)
        except (ImportError, AttributeError):
            continue
        out.append(name)
    return out


def make_estimator(name: str, n_clusters: int, seed: int, device: str = "auto",
                   verbose: bool = False, **overrides):
    """A registered estimator with its benchmark defaults."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(available_methods())}.")
    mod, cls, defaults = METHODS[name]
    est_cls = getattr(importlib.import_module(mod), cls)
    kwargs = {**defaults, **overrides}
    return est_cls(n_clusters=n_clusters, random_state=seed, device=device, verbose=verbose,
                   **kwargs)


def bench_overrides(name: str, dataset: str) -> dict:
    """Settings ``bench`` changes from a method's defaults for ``dataset`` (paper scale)."""
    return dict(PAPER_SCALE.get(name, {})) if dataset in PAPER_SCALE_DATASETS else {}


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
    """Fit one method on one seed; returns metrics and wall-clock seconds.

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
        from .methods.autoencoder import clear_pretrain_cache

        clear_pretrain_cache()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    est.fit(data.X)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    row = {"method": name, "seed": seed, **evaluate(data.y, est.labels_), "seconds": seconds}
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
          share_pretraining: bool = False, settings: dict[str, dict] | None = None) -> dict:
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
    rows = []
    for name in methods:
        for seed in seeds:
            r = run_one(name, data, seed, device, verbose, share_pretraining,
                        settings.get(name))
            rows.append(r)
            start = f", start acc {r['start_acc']:.3f}" if "start_acc" in r else ""
            print(f"{name:>10} seed {seed}: acc {r['acc']:.3f} nmi {r['nmi']:.3f} "
                  f"ari {r['ari']:.3f} ({r['seconds']:.1f} s{start})", flush=True)
    summary = summarise(rows)
    table = markdown_table(summary, dataset)
    out.mkdir(parents=True, exist_ok=True)
    note = ("\n\nPretraining shared between the autoencoder methods of one seed: only the "
            "first one's seconds include it.\n" if share_pretraining else "\n")
    used = {m: {**bench_overrides(m, dataset), **settings.get(m, {})} for m in methods}
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
    print(f"written: {out / f'bench_{dataset}.md'} and .json")
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
    methods = available_methods() if args.methods == "all" else \
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
              args.verbose, args.share_pretraining, settings)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
