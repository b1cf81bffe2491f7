"""Shared fixtures: the embedded digits data and the MNIST root when it is configured."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from dclearn import load_dataset

# One thread per pytest-xdist worker (`make test` runs two workers on the 2-core CI machine:
# oversubscribed torch threads slow down badly), two threads in a single process, unless the
# caller pinned a count (OMP_NUM_THREADS). Notebook kernels are processes of their own and keep
# torch's default.
if "OMP_NUM_THREADS" not in os.environ:
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(1 if _workers > 1 else max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def mnist_root():
    root = os.environ.get("DCLEARN_DATA")
    if not root or not (Path(root) / "MNIST" / "raw").is_dir():
        pytest.skip("DCLEARN_DATA is not set to a folder holding MNIST/raw/ (real MNIST files)")
    return root


@pytest.fixture
def raise_at_epoch(monkeypatch):
    """``arm(n, exc)``: raise ``exc`` at the end of the n-th training epoch (all phases of the
    fits that run next counted); returns the counter ``{"n": epochs so far}``. Arm again to
    move the point (``arm(10**9, exc)``: never)."""
    import dclearn.train as train

    real = train.check_finite

    def arm(n, exc):
        calls = {"n": 0}

        def fake(losses, epoch, phase="training"):
            calls["n"] += 1
            if calls["n"] == n:
                raise exc
            return real(losses, epoch, phase)

        monkeypatch.setattr(train, "check_finite", fake)
        return calls
    return arm


@pytest.fixture(scope="session")
def stored_labels():
    """``get(method, seed)``: the labels of the results store's digits row of ``method`` with its
    defaults (``bench``, one thread), to pin a seed's fit to what the store reports."""
    from dclearn.results import decode_labels, load_rows

    rows = load_rows("digits")

    def get(method, seed):
        found = [r for r in rows if r["method"] == method and int(r["seed"]) == seed
                 and not r.get("settings") and r.get("labels")]
        assert len(found) == 1, f"results/digits.json holds no single default row of {method}"
        return decode_labels(found[0]["labels"])
    return get


@pytest.fixture
def stored_fit_or_seed_range(stored_labels):
    """``check(method, labels, y)``: a refit of seed 0 gives the store's labels exactly, or, where
    it does not, an accuracy within the store's five seeds (2 points of margin).

    The store's labels were computed on one CPU type. Another CPU (other vector units, another
    BLAS path) sums in another order, and a GAN's game amplifies the last bits into another
    partition: such a refit is one more draw of the method, and must score like one. A change
    that breaks the method falls below the worst of the five seeds.
    """
    from dclearn.metrics import cluster_acc
    from dclearn.results import load_rows

    def check(method, labels, y):
        if np.array_equal(labels, stored_labels(method, 0)):
            return
        accs = [r["acc"] for r in load_rows("digits") if r["method"] == method
                and not r.get("settings")]
        assert len(accs) >= 5, f"the store holds {len(accs)} default rows of {method}"
        acc = cluster_acc(y, labels)
        assert min(accs) - 0.02 <= acc <= max(accs) + 0.02, (
            f"{method}: seed 0 differs from the store's fit and scores {acc:.3f}, outside the "
            f"store's five seeds ({min(accs):.3f} to {max(accs):.3f})")
    return check
