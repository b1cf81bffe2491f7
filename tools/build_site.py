"""Build the course site: every notebook executed, rendered by Sphinx with myst-nb.

    python tools/build_site.py            # build/site/index.html  (what `make site` runs)
    python tools/build_site.py --no-execute   # fail instead of executing a stale notebook

Three steps, each timed:

1. Executed notebooks. For each notebook of notebooks/, exercises/ and solutions/ the copy
   that the test run left in build/executed/ is used when it is current (tools/executed.py);
   otherwise the notebook is executed here with nbclient, on the default data (digits), and
   its copy is written for the next build.
2. Staging (build/site-src/): the site's own files (site/), the README as the home page,
   docs/results.md, docs/teaching.md and docs/design.md, and the executed notebooks under
   the repository's own folder names, so the README's and the notebooks' relative links work
   unchanged. Each notebook page gets a line naming its source notebook with a download
   link and a Colab link; exercise pages point to their solutions. The Colab badge image is
   served from the site (the site works offline); a link to a repository file that is not
   a page of the site points to the repository instead. Progress bars are left out of the
   outputs (a static page would show them frozen); other stderr output stays.
3. Sphinx (``sphinx-build -b html``) writes build/site/. Warnings go to
   build/site-warnings.txt; the build fails on errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import executed  # noqa: E402

ROOT = executed.ROOT
REPO_URL = "https://github.com/dclearn/dclearn"
COLAB_URL = "https://colab.research.google.com/github/dclearn/dclearn/blob/main"
BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"
DOCS = ("docs/results.md", "docs/teaching.md", "docs/design.md")
SECTION_TITLES = {"exercises": "Exercises", "solutions": "Solutions"}


def notebooks() -> list[Path]:
    return [p for folder in executed.FOLDERS for p in sorted((ROOT / folder).glob("*.ipynb"))]


def execute(path: Path) -> dict:
    """Run one notebook top to bottom in its folder; write and return its executed copy."""
    import nbclient
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    start = time.perf_counter()
    client = nbclient.NotebookClient(nb, timeout=1800, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata[executed.META_KEY] = {
        "digest": executed.source_digest(nbformat.read(str(path), as_version=4)),
        "failed": False, "seconds": round(time.perf_counter() - start, 1), "by": "build_site"}
    target = executed.copy_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return json.loads(target.read_text(encoding="utf-8"))


def site_pages(stage: Path) -> set[str]:
    """Repository-relative paths that are pages of the site."""
    pages = {"README.md", *DOCS}
    pages |= {str(p.relative_to(ROOT)) for p in notebooks()}
    pages |= {f"{folder}/" for folder in executed.FOLDERS if folder != "notebooks"}
    return pages


LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")


def rewrite_links(text: str, here: str, pages: set[str]) -> str:
    """Point each relative link at a site page, or at the repository when it is not one."""
    base = Path(here).parent

    def fix(m):
        target = m.group(2)
        if re.match(r"^[a-z]+:", target) or target.startswith(("/", "_static")):
            return m.group(0)
        rel = os.path.normpath(base / target).replace(os.sep, "/")
        rel = rel + "/" if target.endswith("/") else rel
        anchor = m.group(3) or ""
        if rel == "README.md":
            return f"{m.group(1)}{os.path.relpath('index.md', base)}{anchor}{m.group(4)}"
        if rel in pages:
            if rel.endswith("/"):  # a folder of notebooks: its index page
                target = os.path.relpath(rel + "index.md", base)
            return f"{m.group(1)}{target}{anchor}{m.group(4)}"
        kind = "tree" if (ROOT / rel).is_dir() else "blob"
        return f"{m.group(1)}{REPO_URL}/{kind}/main/{rel.rstrip('/')}{anchor}{m.group(4)}"

    return LINK.sub(fix, text)


PROGRESS = re.compile(r"^.*\d+%\|.*$")


def drop_progress_bars(cell: dict) -> None:
    """Remove progress-bar lines from stderr: a static page would show a bar frozen at 0%."""
    outputs = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
            lines = [ln for ln in re.split(r"[\r\n]", text) if ln and not PROGRESS.match(ln)]
            if not lines:
                continue
            out["text"] = "\n".join(lines) + "\n"
        outputs.append(out)
    cell["outputs"] = outputs


def stage_notebook(nb: dict, rel: str, pages: set[str]) -> dict:
    folder, name = rel.split("/")
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            drop_progress_bars(cell)
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        text = rewrite_links(text, rel, pages)
        cell["source"] = text.replace(BADGE_URL, "../_static/colab-badge.svg")
    line = (f"This page is the notebook [`{rel}`]({REPO_URL}/blob/main/{rel}), executed on the "
            f"default data (digits) when the site was built: {{download}}`download it <{name}>`, "
            f"or [open it in Colab]({COLAB_URL}/{rel}) to run it yourself.")
    if folder == "exercises":
        line += (f" The solutions are on [their own page](../solutions/{name}): try the "
                 f"exercises first.")
    if folder == "solutions":
        line += f" The exercises without their answers: [the exercise page](../exercises/{name})."
    note = {"cell_type": "markdown", "metadata": {}, "source": f"```{{note}}\n{line}\n```\n"}
    first_md = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown")
    nb["cells"].insert(first_md + 1, note)
    for cell in nb["cells"]:  # Jupyter 4.5+ cell ids must be unique; the inserted one has none
        cell.pop("id", None)
    nb["nbformat_minor"] = min(nb.get("nbformat_minor", 4), 4)
    return nb


def folder_index(folder: str, names: list[str]) -> str:
    title = SECTION_TITLES[folder]
    intro = {"exercises": "One notebook of exercises per chapter, without their answers. Open "
                          "one in Colab or JupyterLab, replace each `raise NotImplementedError` "
                          "with your code and run its check.",
             "solutions": "The exercise notebooks with their answers written in. Look here "
                          "after you have tried."}[folder]
    toc = "\n".join(Path(n).stem for n in names)
    return f"# {title}\n\n{intro}\n\n```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n"


def stage(stage_dir: Path, copies: dict[str, dict]) -> None:
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(ROOT / "site", stage_dir)
    pages = site_pages(stage_dir)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = rewrite_links(readme, "README.md", pages)
    chapters = "\n".join(f"notebooks/{Path(r).stem}" for r in copies if r.startswith("notebooks/"))
    readme += ("\n```{toctree}\n:hidden:\n:caption: Chapters\n\n" + chapters + "\n```\n\n"
               "```{toctree}\n:hidden:\n:caption: Practice\n\nexercises/index\nsolutions/index\n```"
               "\n\n```{toctree}\n:hidden:\n:caption: Reference\n\n"
               + "\n".join(d[:-3] for d in DOCS) + "\n```\n")
    (stage_dir / "index.md").write_text(readme, encoding="utf-8")
    for doc in DOCS:
        text = rewrite_links((ROOT / doc).read_text(encoding="utf-8"), doc, pages)
        (stage_dir / doc).parent.mkdir(parents=True, exist_ok=True)
        (stage_dir / doc).write_text(text, encoding="utf-8")
    for rel, nb in copies.items():
        target = stage_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(stage_notebook(nb, rel, pages), indent=1,
                                     ensure_ascii=False), encoding="utf-8")
    for folder in ("exercises", "solutions"):
        names = [r.split("/")[1] for r in copies if r.startswith(folder + "/")]
        (stage_dir / folder).mkdir(parents=True, exist_ok=True)
        (stage_dir / folder / "index.md").write_text(folder_index(folder, names),
                                                     encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "site"))
    parser.add_argument("--no-execute", action="store_true",
                        help="fail when a notebook has no current executed copy")
    parser.add_argument("--only", metavar="GLOB",
                        help="a preview with only the notebooks matching GLOB (e.g. "
                             "'notebooks/02*'): the other pages' links are left dangling")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")

    t0 = time.perf_counter()
    copies, ran = {}, []
    for path in notebooks():
        rel = str(path.relative_to(ROOT))
        if args.only and not Path(rel).match(args.only):
            continue
        copy = executed.current_copy(path)
        if copy is None:
            if args.no_execute:
                print(f"error: {rel} has no current executed copy in {executed.executed_dir()}"
                      " (run `make test` or drop --no-execute)", file=sys.stderr)
                return 1
            print(f"executing {rel} ...", flush=True)
            copy = execute(path)
            ran.append(rel)
        copies[rel] = copy
    t1 = time.perf_counter()

    stage_dir = ROOT / "build" / "site-src"
    stage(stage_dir, copies)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    warnings = ROOT / "build" / "site-warnings.txt"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-w", str(warnings),
           str(stage_dir), str(out)]
    result = subprocess.run(cmd)
    t2 = time.perf_counter()
    if result.returncode != 0:
        print(f"error: sphinx-build failed (exit {result.returncode}); see {warnings}",
              file=sys.stderr)
        return result.returncode
    n_warn = sum(1 for line in warnings.read_text().splitlines() if "WARNING" in line)
    print(f"site: {out / 'index.html'}  ({len(copies)} notebooks, {len(ran)} executed here "
          f"in {t1 - t0:.0f} s, {len(copies) - len(ran)} reused from the test run; Sphinx "
          f"{t2 - t1:.0f} s; {n_warn} warnings in {warnings.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
