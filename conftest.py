"""Keeps nbval's execution of each notebook for the course site (see tools/executed.py).

nbval runs every code cell of a notebook in one kernel and holds the outputs it received.
After each cell this hook stores those outputs on the cell; when a whole notebook has run,
the notebook with its outputs is written to ``build/executed/`` (or ``DCLEARN_EXECUTED_DIR``),
stamped with the digest of its source, whether a cell failed and the seconds it took. A run
that stopped part-way (``-x``, ``-k``) writes nothing.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "tools"))
import executed  # noqa: E402  (tools/executed.py)

_RUNS: dict = {}  # notebook path -> {"nb", "done", "failed", "seconds"}


def _is_nbval_cell(item) -> bool:
    return hasattr(item, "test_outputs") and hasattr(item, "cell") and hasattr(item.parent, "nb")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start = time.perf_counter()
    yield
    if not _is_nbval_cell(item):
        return
    path = str(item.parent.fspath)
    run = _RUNS.setdefault(path, {"nb": item.parent.nb, "done": 0, "failed": False,
                                  "seconds": 0.0})
    run["seconds"] += time.perf_counter() - start
    run["done"] += 1
    item.cell.outputs = copy.deepcopy(item.test_outputs or [])
    item.cell.execution_count = run["done"]
    for out in item.cell.outputs:  # (an expected exception is an error output, not a failure)
        if out.get("output_type") == "execute_result":
            out["execution_count"] = run["done"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call" and _is_nbval_cell(item) and outcome.get_result().failed:
        run = _RUNS.get(str(item.parent.fspath))
        if run is not None:
            run["failed"] = True


def pytest_sessionfinish(session):
    import nbformat

    for path, run in _RUNS.items():
        nb = run["nb"]
        n_code = sum(c.cell_type == "code" for c in nb.cells)
        if run["done"] != n_code:
            continue
        try:
            target = executed.copy_path(Path(path))
        except ValueError:  # a notebook outside the repository
            continue
        with open(path, encoding="utf-8") as fh:
            digest = executed.source_digest(nbformat.read(fh, as_version=4))
        out = copy.deepcopy(nb)
        out.metadata[executed.META_KEY] = {"digest": digest, "failed": run["failed"],
                                            "seconds": round(run["seconds"], 1),
                                            "by": "nbval"}
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(out, str(target))
