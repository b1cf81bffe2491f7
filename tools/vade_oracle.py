"""A diagnostic that reads the labels: does VaDE's ELBO prefer the true partition?

For each seed, VaDE is fitted twice from the same pretrained autoencoder (the pretraining
is cached in memory, so both fits start from identical networks):

* ``gmm``: the method itself, the prior started from the diagonal GMM fitted on the
  pretrained embedding (no label read);
* ``oracle``: the prior started from the true classes instead: their proportions, and
  the means and variances of their points in that same embedding.

Both are then trained the same way, and the script prints, per fit, the accuracy of the
start and of the end and the objective ``n_restarts`` maximises (VaDE: the mean ELBO of
the training data; DGG: that minus its graph term). If the oracle fits ended with a clearly
higher objective, better optimisation (more restarts, longer training) would lead towards
the true partition; if the two are alike, the objective cannot tell the partitions apart
and the result is decided by the start. This is an experiment for docs/results.md and
notebook 03, never a way to choose settings: it reads the labels.

    python tools/vade_oracle.py --seeds 0,1,2,3,4
    python tools/vade_oracle.py --method dgg --seeds 0,1,2,3,4   (DGG, a VaDE subclass)
    DCLEARN_DATA=../shared/data python tools/vade_oracle.py --dataset mnist --seeds 0 \\
        --set hidden="(500, 500, 2000)" --set pretrain_layerwise_epochs=0 \\
        --set pretrain_epochs=10 --set pretrain_batch_size=256 --set batch_size=100
"""

from __future__ import annotations

import argparse
import ast
import json
from unittest import mock

import numpy as np
import torch

import dclearn.methods.vae.vade as vade_module
from dclearn.data import load_dataset
from dclearn.methods.vae.dgg import DGG
from dclearn.metrics import evaluate


def class_mixture(labels: np.ndarray):
    """An ``init_mixture`` replacement: the true classes' weights, means and variances."""
    def init(Z: torch.Tensor, k: int, generator=None, n_init: int = 10):
        y = torch.as_tensor(labels, device=Z.device)
        if int(y.max()) + 1 != k:
            raise SystemExit(f"the data have {int(y.max()) + 1} classes, n_clusters is {k}")
        w = torch.stack([(y == c).float().mean() for c in range(k)])
        mu = torch.stack([Z[y == c].mean(0) for c in range(k)])
        var = torch.stack([Z[y == c].var(0) for c in range(k)]).clamp_min(1e-6)
        return w.float(), mu.float(), var.float()
    return init


def parse_sets(items: list[str]) -> dict:
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise SystemExit(f"--set expects PARAM=VALUE, got {item!r}")
        params[name] = ast.literal_eval(value)
    return params


ESTIMATORS = {"vade": vade_module.VaDE, "dgg": DGG}  # DGG inherits VaDE's initialisation


def compare(X: np.ndarray, y: np.ndarray, n_clusters: int, seeds: list[int],
            params: dict, method: str = "vade") -> list[dict]:
    """For each seed, one fit from its GMM and one from the true classes.

    ``objective`` is what ``n_restarts`` maximises: the mean ELBO for VaDE, that minus
    the graph term for DGG.
    """
    rows = []
    for seed in seeds:
        for start in ("gmm", "oracle"):
            model = ESTIMATORS[method](n_clusters=n_clusters, random_state=seed,
                                       **{"n_restarts": 1, "verbose": False, **params})
            if start == "oracle":
                with mock.patch.object(vade_module, "init_mixture", class_mixture(y)):
                    model.fit(X)
            else:
                model.fit(X)
            rows.append({"seed": seed, "start": start,
                         "start_acc": round(evaluate(y, model.init_labels_)["acc"], 4),
                         "acc": round(evaluate(y, model.labels_)["acc"], 4),
                         "objective": round(model.restart_objectives_[0], 4)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", choices=sorted(ESTIMATORS), default="vade")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--set", action="append", default=[], help="a VaDE parameter, PARAM=VALUE")
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    seeds = [int(s) for s in args.seeds.split(",")]
    for row in compare(data.flat().numpy(), data.y.numpy(), data.n_clusters, seeds,
                       parse_sets(args.set), args.method):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
