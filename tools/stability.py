"""Choose a method's hyper-parameters without labels: clustering stability over seeds.

For every combination of the values given, fit the method with several seeds and score
the combination by the mean adjusted Rand index between the seeds' partitions (how much
the result depends on the seed, Lange et al. 2004 "Stability-Based Validation of
Clustering Solutions"). The labels of the data are never read. The most stable
combination is printed last.

    python tools/stability.py imsat --grid lam=0.05,0.1,0.2,0.3 --grid xi=1,10 \\
        --grid eps_scale=0.25,0.6 --seeds 0,1,2

This is how IMSAT's digits defaults were chosen (see ``dclearn/methods/feedforward/imsat.py``).
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json

import torch
from sklearn.metrics import adjusted_rand_score

from dclearn.data import load_dataset
from dclearn.methods.registry import make_estimator


def parse_grid(items: list[str]) -> dict[str, list]:
    grid = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name.isidentifier() or not values:
            raise SystemExit(f"--grid expects PARAM=V1,V2,..., got {item!r}")
        grid[name] = [ast.literal_eval(v) for v in values.split(",")]
    return grid


def stability(method: str, X: torch.Tensor, n_clusters: int, params: dict,
              seeds: list[int]) -> float:
    """Mean pairwise adjusted Rand index between the partitions of ``seeds``."""
    labels = [make_estimator(method, n_clusters, s, "cpu", False, **params).fit(X).labels_
              for s in seeds]
    pairs = list(itertools.combinations(labels, 2))
    return sum(adjusted_rand_score(a, b) for a, b in pairs) / len(pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("method")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--grid", action="append", default=[], help="PARAM=V1,V2,...")
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    grid = parse_grid(args.grid)
    seeds = [int(s) for s in args.seeds.split(",")]
    if len(seeds) < 2:
        raise SystemExit("--seeds needs at least two seeds to compare partitions")
    results = []
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        score = stability(args.method, data.X, data.n_clusters, params, seeds)
        results.append((score, params))
        print(json.dumps({**params, "stability": round(score, 4)}), flush=True)
    best = max(results, key=lambda r: r[0])
    print("most stable:", json.dumps(best[1]), f"(mean ARI between seeds {best[0]:.4f})")


if __name__ == "__main__":
    main()
