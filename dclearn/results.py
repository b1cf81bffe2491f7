"""The results store: every benchmark fit, one row per method, seed and settings.

``python -m dclearn bench`` adds its rows to ``results/<dataset>.json`` in the repository (a
later run replaces the rows with the same method, seed and settings, and adds the others);
``tools/make_tables.py`` writes the README's table and docs/results.md's tables from it, and
notebook 06 reads it instead of training twenty methods again. A row holds the scores, the
seconds of the fit, the settings that differ from the method's defaults, the library version
and commit, the machine, the thread count and the machine's load (one-minute load average when
the fit ended: seconds measured beside other work are longer), the date, and for small data
sets the labels themselves.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

__all__ = ["STORE", "SCORES", "row_key", "load_rows", "save_rows", "add_rows", "summarise",
           "provenance", "code_commit", "settings_key", "stored_settings", "encode_labels",
           "decode_labels"]

#: The store's folder in the repository (``$DCLEARN_RESULTS`` overrides it).
STORE = Path(os.environ.get("DCLEARN_RESULTS", Path(__file__).resolve().parents[1] / "results"))
SCORES = ("acc", "nmi", "ari", "seconds")
_REQUIRED = ("method", "seed", "acc", "nmi", "ari", "seconds", "settings")


def stored_settings(settings: dict) -> dict[str, str]:
    """Settings as the store keeps them: each value as its Python ``repr`` (tuples stay tuples)."""
    return {k: repr(v) for k, v in sorted(settings.items())}


def settings_key(settings: dict) -> str:
    """A canonical string for stored settings (what distinguishes two runs of one method)."""
    return json.dumps(settings, sort_keys=True)


def row_key(row: dict) -> tuple:
    return row["method"], int(row["seed"]), settings_key(row.get("settings", {}))


def _path(dataset: str, store: Path | None) -> Path:
    return Path(store or STORE) / f"{dataset}.json"


def load_rows(dataset: str, store: Path | None = None) -> list[dict]:
    """The stored rows of ``dataset`` (an empty list when nothing is stored yet)."""
    path = _path(dataset, store)
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    if data.get("dataset") != dataset or not isinstance(data.get("rows"), list):
        raise ValueError(f"{path} is not a results store of dataset {dataset!r}.")
    for row in data["rows"]:
        missing = [k for k in _REQUIRED if k not in row]
        if missing:
            raise ValueError(f"{path}: a row of {row.get('method')!r} lacks {missing}.")
    return data["rows"]


def save_rows(dataset: str, rows: list[dict], store: Path | None = None) -> Path:
    """Write ``rows`` sorted by method, settings and seed, one row per line (readable diffs)."""
    path = _path(dataset, store)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(rows, key=lambda r: (r["method"], settings_key(r["settings"]), r["seed"]))
    body = ",\n".join("    " + json.dumps(r, sort_keys=True) for r in rows)
    path.write_text(f'{{\n  "dataset": {json.dumps(dataset)},\n  "rows": [\n{body}\n  ]\n}}\n')
    return path


def add_rows(dataset: str, new: list[dict], store: Path | None = None) -> Path:
    """Add ``new`` rows to the store, replacing stored rows with the same method, seed and
    settings; every other stored row is kept."""
    replaced = {row_key(r) for r in new}
    kept = [r for r in load_rows(dataset, store) if row_key(r) not in replaced]
    return save_rows(dataset, kept + list(new), store)


def summarise(rows: list[dict], settings_of=None) -> dict[str, dict]:
    """Mean, std and seeds per method over its rows run with ``settings_of(method)`` (a dict
    of parameters; by default ``{}``, the method's defaults)."""
    out: dict[str, dict] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        want = settings_key(stored_settings(settings_of(method) if settings_of else {}))
        mine = [r for r in rows if r["method"] == method and settings_key(r["settings"]) == want]
        if not mine:
            continue
        mine.sort(key=lambda r: r["seed"])
        entry = {"seeds": [r["seed"] for r in mine], "n_seeds": len(mine)}
        for key in SCORES:
            vals = np.array([r[key] for r in mine], dtype=float)
            entry[key] = {"mean": float(vals.mean()), "std": float(vals.std()),
                          "values": vals.tolist()}
        out[method] = entry
    return out


_DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz"
#: Labels are stored with the row for data sets up to this size (notebook 06 reads them to
#: compare the methods' confusions without training them again).
MAX_STORED_LABELS = 20000


def encode_labels(labels) -> str | None:
    """Cluster labels as one base-36 character each (None when a label is 36 or more)."""
    labels = np.asarray(labels).reshape(-1)
    if labels.size == 0 or labels.min() < 0 or labels.max() >= len(_DIGITS36):
        return None
    return "".join(_DIGITS36[int(v)] for v in labels)


def decode_labels(text: str) -> np.ndarray:
    """The int64 labels of ``encode_labels``."""
    return np.array([_DIGITS36.index(ch) for ch in text], dtype=np.int64)


@functools.lru_cache(maxsize=1)
def code_commit() -> str:
    """The commit of the code this process runs: read once, at the first call (``bench`` calls
    it before its first fit, so a commit made while a long run goes on is not recorded)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance() -> dict:
    """Who made a row: library version, commit, machine, torch, threads, date."""
    import torch

    from . import __version__

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return {"version": __version__, "commit": code_commit(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {device}",
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "load": round(os.getloadavg()[0], 1), "date": datetime.date.today().isoformat()}
