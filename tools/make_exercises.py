#!/usr/bin/env python
"""Build exercises/ from solutions/ (docs/design.md, section 4).

In every code cell of ``solutions/*.ipynb`` the lines from ``### BEGIN SOLUTION``
to ``### END SOLUTION`` become ``raise NotImplementedError(...)`` at the marker's
indentation. Such a stub cell, and the next code cell that calls a
``check_...`` function, get ``# NBVAL_RAISES_EXCEPTION`` as their first line so
that nbval accepts the failure the learner has not fixed yet. In markdown cells
the text between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` becomes
a prompt. Outputs are stripped.

    python tools/make_exercises.py           # write exercises/
    python tools/make_exercises.py --check   # exit 1 if exercises/ is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
RAISES = "# NBVAL_RAISES_EXCEPTION"
STUB = 'raise NotImplementedError("Exercise: replace this line with your solution.")'
CHECK_CALL = re.compile(r"\bcheck_\w+\(")


def strip_solution(source: str, path: str) -> tuple[str, bool]:
    """Replace each solution block of a code cell by a stub; report whether any was found."""
    out, inside, found = [], False, False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{path}: nested '{BEGIN}'.")
            inside, found = True, True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif stripped == END:
            if not inside:
                raise ValueError(f"{path}: '{END}' without '{BEGIN}'.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{path}: '{BEGIN}' is never closed.")
    return "\n".join(out), found


def strip_markdown(source: str) -> str:
    pattern = re.compile(re.escape(MD_BEGIN) + r".*?" + re.escape(MD_END), re.S)
    return pattern.sub("*Write your answer here.*", source)


def mark_raises(source: str) -> str:
    return source if source.startswith(RAISES) else f"{RAISES}\n{source}"


def make_exercise(nb_path: Path):
    nb = nbformat.read(nb_path, as_version=4)
    pending_check = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        cell.source, found = strip_solution(cell.source, str(nb_path))
        if found:
            cell.source = mark_raises(cell.source)
            pending_check = True
            if CHECK_CALL.search(cell.source):
                pending_check = False
        elif pending_check and CHECK_CALL.search(cell.source):
            cell.source = mark_raises(cell.source)
            pending_check = False
    nb.metadata.pop("widgets", None)
    return nb


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if exercises/ is stale")
    args = parser.parse_args(argv)
    src_dir, dst_dir = ROOT / "solutions", ROOT / "exercises"
    stale = []
    expected = set()
    for path in sorted(src_dir.glob("*.ipynb")):
        target = dst_dir / path.name
        expected.add(target.name)
        text = render(make_exercise(path))
        if args.check:
            if not target.is_file() or target.read_text() != text:
                stale.append(target)
        else:
            dst_dir.mkdir(exist_ok=True)
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    extra = [p for p in dst_dir.glob("*.ipynb") if p.name not in expected]
    if args.check:
        stale += extra
        if stale:
            print("exercises/ is stale; run `python tools/make_exercises.py`:", file=sys.stderr)
            for p in stale:
                print(f"  {p.relative_to(ROOT)}", file=sys.stderr)
            return 1
        print("exercises/ is up to date.")
    else:
        for p in extra:
            p.unlink()
            print(f"removed {p.relative_to(ROOT)} (no solution notebook)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
