"""Executed copies of the course's notebooks, shared by the test run and the site build.

The notebooks are committed without outputs. Running them is the slow part of both the
test suite (nbval executes every notebook) and the course site (which shows every figure),
so one execution serves both: the root ``conftest.py`` writes each notebook that nbval ran
from start to end, outputs included, to ``build/executed/<folder>/<name>.ipynb``, and
``tools/build_site.py`` renders those copies, executing a notebook itself only when its
copy is missing or stale.

A copy is current when the digest of its source (every cell's type and text, outputs
ignored) equals the digest of the committed notebook: editing one cell makes that
notebook's copy stale and only that notebook is executed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "exercises", "solutions")
META_KEY = "dclearn_executed"


def executed_dir() -> Path:
    """Where executed copies live: ``DCLEARN_EXECUTED_DIR`` or ``build/executed``."""
    return Path(os.environ.get("DCLEARN_EXECUTED_DIR", ROOT / "build" / "executed"))


def source_digest(nb) -> str:
    """A hash of the notebook's cells (type and source), blind to outputs and metadata."""
    cells = [[c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list)
              else c["source"]] for c in nb["cells"]]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()[:16]


def copy_path(notebook: Path) -> Path:
    """The executed copy's path for a notebook of the repository."""
    rel = Path(notebook).resolve().relative_to(ROOT)
    return executed_dir() / rel


def current_copy(notebook: Path):
    """The executed copy of ``notebook`` as a dict when it exists, ran cleanly and is current."""
    path = copy_path(notebook)
    if not path.exists():
        return None
    with open(notebook, encoding="utf-8") as fh:
        source = json.load(fh)
    with open(path, encoding="utf-8") as fh:
        copy = json.load(fh)
    meta = copy.get("metadata", {}).get(META_KEY, {})
    if meta.get("digest") != source_digest(source) or meta.get("failed", True):
        return None
    return copy
