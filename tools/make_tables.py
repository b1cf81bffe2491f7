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

from dclearn.compare import MNIST_SETS, method_order, mnist_cell
from dclearn.methods.registry import PAPER_MNIST_ACC, TITLES
from dclearn.results import STORE, load_rows, summarise

ROOT = Path(__file__).resolve().parents[1]
MNIST = MNIST_SETS


def _mean_std(entry: dict, key: str) -> str:
    return f"{entry[key]['mean']:.3f} ± {entry[key]['std']:.3f}"


def readme_table(store: Path = STORE) -> str:
    digits = summarise(load_rows("digits", store))
    lines = ["| method | chapter | digits ACC | seconds per fit | MNIST ACC (ours) | "
             "MNIST ACC (paper) |", "|---|---|---|---|---|---|"]
    for m in method_order(digits):
        title, chapter = TITLES.get(m, (m, ""))
        paper = f"{PAPER_MNIST_ACC[m]:.3f}" if m in PAPER_MNIST_ACC else ""
        lines.append(f"| {title} | {chapter} | {_mean_std(digits[m], 'acc')} | "
                     f"{digits[m]['seconds']['mean']:.1f} | {mnist_cell(m, store)} | {paper} |")
    return "\n".join(lines)


def digits_detail_table(store: Path = STORE) -> str:
    rows = load_rows("digits", store)
    digits = summarise(rows)
    lines = ["| method | ACC | NMI | ARI | seconds per fit | ACC per seed | threads | commit |",
             "|---|---|---|---|---|---|---|---|"]
    for m in method_order(digits):
        e = digits[m]
        mine = [r for r in rows if r["method"] == m and not r["settings"]]
        threads = ", ".join(sorted({str(r.get("threads", "?")) for r in mine}))
        commits = ", ".join(sorted({r.get("commit", "?") for r in mine}))
        per_seed = " ".join(f"{v:.3f}" for v in e["acc"]["values"])
        lines.append(f"| {TITLES.get(m, (m,))[0]} | {_mean_std(e, 'acc')} | "
                     f"{_mean_std(e, 'nmi')} | {_mean_std(e, 'ari')} | "
                     f"{e['seconds']['mean']:.1f} | {per_seed} | {threads} | {commits} |")
    return "\n".join(lines)


def mnist_detail_table(store: Path = STORE) -> str:
    lines = ["| method | dataset | seed | ACC | NMI | ARI | seconds | settings | commit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for dataset in MNIST:
        rows = load_rows(dataset, store)
        for r in sorted(rows, key=lambda r: (TITLES.get(r["method"], ("", "99"))[1],
                                              r["method"], r["seed"])):
            settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "defaults"
            lines.append(f"| {TITLES.get(r['method'], (r['method'],))[0]} | {dataset} | "
                         f"{r['seed']} | {r['acc']:.3f} | {r['nmi']:.3f} | {r['ari']:.3f} | "
                         f"{r['seconds']:.0f} | {settings} | {r.get('commit', '?')} |")
    return "\n".join(lines)


TABLES = {
    "README.md": {"results": readme_table},
    "docs/results.md": {"digits": digits_detail_table, "mnist": mnist_detail_table},
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
