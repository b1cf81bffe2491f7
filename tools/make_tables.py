#!/usr/bin/env python
"""Write the results tables of README.md and docs/results.md from the results store.

The tables sit between the markers ``<!-- tables:NAME -->`` and ``<!-- /tables:NAME -->``;
everything outside them is prose and stays as written. Every figure inside comes from
``results/<dataset>.json``, which ``python -m dclearn bench`` fills; nothing in them is typed
by hand.

    python tools/make_tables.py           # rewrite the tables
    python tools/make_tables.py --check   # exit 1 if a table is not what the store gives
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from dclearn.compare import MNIST_SETS, method_order, mnist_cell
from dclearn.methods.registry import PAPER_MNIST_ACC, TITLES
from dclearn.results import STORE, load_rows, settings_key, summarise

ROOT = Path(__file__).resolve().parents[1]
MNIST = MNIST_SETS


def _mean_std(entry: dict, key: str) -> str:
    text = f"{entry[key]['mean']:.3f} ± {entry[key]['std']:.3f}"
    if entry["n_seeds"] != 5:  # the tables are over seeds 0-4: say when a method has fewer
        text += f" (seeds {', '.join(map(str, entry['seeds']))})"
    return text


def _mean_of(rows: list[dict], key: str) -> str:
    vals = [r[key] for r in rows if key in r]
    if len(vals) != len(rows) or not vals:
        return ""
    return f"{sum(vals) / len(vals):.1f}"


def readme_table(store: Path = STORE) -> str:
    rows = load_rows("digits", store)
    digits = summarise(rows)
    lines = ["| method | chapter | digits ACC | digits NMI | seconds per fit (load) | "
             "MNIST ACC (ours) | MNIST ACC (paper) |", "|---|---|---|---|---|---|---|"]
    for m in method_order(digits):
        title, chapter = TITLES.get(m, (m, ""))
        paper = f"{PAPER_MNIST_ACC[m]:.3f}" if m in PAPER_MNIST_ACC else ""
        lines.append(f"| {title} | {chapter} | {_mean_std(digits[m], 'acc')} | "
                     f"{digits[m]['nmi']['mean']:.3f} | {digits[m]['seconds']['mean']:.1f}"
                     f"{_bracket(_mean_of(_defaults(rows, m), 'load'))} | "
                     f"{mnist_cell(m, store)} | {paper} |")
    return "\n".join(lines)


def _bracket(text: str) -> str:
    return f" ({text})" if text else ""


def _defaults(rows: list[dict], method: str) -> list[dict]:
    return [r for r in rows if r["method"] == method and not r["settings"]]


def digits_detail_table(store: Path = STORE) -> str:
    rows = load_rows("digits", store)
    digits = summarise(rows)
    lines = ["| method | ACC | NMI | ARI | seconds per fit | CPU seconds | load | ACC per seed | "
             "threads | commit |", "|---|---|---|---|---|---|---|---|---|---|"]
    for m in method_order(digits):
        e = digits[m]
        mine = _defaults(rows, m)
        threads = ", ".join(sorted({str(r.get("threads", "?")) for r in mine}))
        commits = ", ".join(sorted({r.get("commit", "?") for r in mine}))
        per_seed = " ".join(f"{v:.3f}" for v in e["acc"]["values"])
        lines.append(f"| {TITLES.get(m, (m,))[0]} | {_mean_std(e, 'acc')} | "
                     f"{_mean_std(e, 'nmi')} | {_mean_std(e, 'ari')} | "
                     f"{e['seconds']['mean']:.1f} | {_mean_of(mine, 'cpu_seconds')} | "
                     f"{_mean_of(mine, 'load')} | {per_seed} | {threads} | {commits} |")
    return "\n".join(lines)


def variants_table(store: Path = STORE) -> str:
    """Every digits run whose settings differ from the method's defaults (ablations, variants)."""
    rows = [r for r in load_rows("digits", store) if r["settings"]]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["method"], settings_key(r["settings"])), []).append(r)
    lines = ["| method | settings | ACC | NMI | ARI | seconds per fit | seeds |",
             "|---|---|---|---|---|---|---|"]
    order = {m: i for i, m in enumerate(method_order(summarise(load_rows("digits", store))))}
    for (m, _), rs in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        rs.sort(key=lambda r: r["seed"])
        settings = ", ".join(f"{k}={v}" for k, v in rs[0]["settings"].items())
        cells = []
        for key in ("acc", "nmi", "ari"):
            vals = np.array([r[key] for r in rs])
            cells.append(f"{vals.mean():.3f} ± {vals.std():.3f}")
        seconds = np.mean([r["seconds"] for r in rs])
        lines.append(f"| {TITLES.get(m, (m,))[0]} | {settings} | {' | '.join(cells)} | "
                     f"{seconds:.1f} | {', '.join(str(r['seed']) for r in rs)} |")
    return "\n".join(lines)


def mnist_detail_table(store: Path = STORE) -> str:
    lines = ["| method | dataset | seed | ACC | NMI | ARI | seconds | threads | load | settings | "
             "commit |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for dataset in MNIST:
        rows = load_rows(dataset, store)
        for r in sorted(rows, key=lambda r: (TITLES.get(r["method"], ("", "99"))[1],
                                              r["method"], r["seed"])):
            settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "defaults"
            lines.append(f"| {TITLES.get(r['method'], (r['method'],))[0]} | {dataset} | "
                         f"{r['seed']} | {r['acc']:.3f} | {r['nmi']:.3f} | {r['ari']:.3f} | "
                         f"{r['seconds']:.0f} | {r.get('threads', '?')} | {r.get('load', '')} | "
                         f"{settings} | {r.get('commit', '?')} |")
    return "\n".join(lines)


TABLES = {
    "README.md": {"results": readme_table},
    "docs/results.md": {"digits": digits_detail_table, "variants": variants_table,
                        "mnist": mnist_detail_table},
}


def render(text: str, tables: dict, store: Path) -> str:
    for name, make in tables.items():
        pattern = re.compile(rf"(<!-- tables:{name} -->\n)(.*?)(<!-- /tables:{name} -->)",
                             re.S)
        if not pattern.search(text):
            raise ValueError(f"marker <!-- tables:{name} --> not found")
        table = make(store)
        text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(3), text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--store", default=str(STORE))
    args = parser.parse_args(argv)
    stale = []
    for rel, tables in TABLES.items():
        path = ROOT / rel
        old = path.read_text()
        new = render(old, tables, Path(args.store))
        if new != old:
            if args.check:
                stale.append(rel)
            else:
                path.write_text(new)
                print(f"wrote {rel}")
    if stale:
        print(f"tables out of step with {args.store}: {', '.join(stale)}; run "
              f"python tools/make_tables.py", file=sys.stderr)
        return 1
    if args.check:
        print("tables are up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
