"""The site build's pieces without a browser: executed copies, link rewriting, progress bars."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402
import executed  # noqa: E402


def _nb(*sources, outputs=None):
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": outputs or [],
              "execution_count": None} for s in sources]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_digest_sees_sources_not_outputs():
    a = _nb("x = 1", "print(x)")
    b = _nb("x = 1", "print(x)", outputs=[{"output_type": "stream", "name": "stdout",
                                           "text": "1\n"}])
    c = _nb("x = 2", "print(x)")
    assert executed.source_digest(a) == executed.source_digest(b)
    assert executed.source_digest(a) != executed.source_digest(c)
    listed = _nb(["x = 1\n", "y = 2"])
    assert executed.source_digest(listed) == executed.source_digest(_nb("x = 1\ny = 2"))


@pytest.fixture
def repo_nb(tmp_path, monkeypatch):
    """A notebook inside a fake repository root, with its executed copies elsewhere."""
    monkeypatch.setattr(executed, "ROOT", tmp_path)
    monkeypatch.setenv("DCLEARN_EXECUTED_DIR", str(tmp_path / "executed"))
    path = tmp_path / "notebooks" / "demo.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(_nb("x = 1")))
    return path


def _write_copy(path, nb, failed=False):
    copy = json.loads(json.dumps(nb))
    copy["metadata"][executed.META_KEY] = {"digest": executed.source_digest(nb),
                                           "failed": failed}
    target = executed.copy_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(copy))


def test_current_copy_is_used_only_when_current_and_clean(repo_nb):
    assert executed.current_copy(repo_nb) is None  # no copy yet
    _write_copy(repo_nb, _nb("x = 1"))
    assert executed.current_copy(repo_nb) is not None
    _write_copy(repo_nb, _nb("x = 1"), failed=True)
    assert executed.current_copy(repo_nb) is None  # a failed run is not shown
    _write_copy(repo_nb, _nb("x = 1"))
    repo_nb.write_text(json.dumps(_nb("x = 3")))  # the notebook changed since
    assert executed.current_copy(repo_nb) is None


def test_links_point_to_pages_or_to_the_repository():
    pages = {"README.md", "docs/results.md", "notebooks/02_autoencoders.ipynb", "exercises/"}
    text = ("[ch](notebooks/02_autoencoders.ipynb) [res](docs/results.md#digits) "
            "[ex](exercises/) [mod](dclearn/train.py) [web](https://example.org/x.md) "
            "[here](#section)")
    out = build_site.rewrite_links(text, "README.md", pages)
    assert "[ch](notebooks/02_autoencoders.ipynb)" in out
    assert "[res](docs/results.md#digits)" in out
    assert "[ex](exercises/index.md)" in out
    assert f"[mod]({build_site.REPO_URL}/blob/main/dclearn/train.py)" in out
    assert "[web](https://example.org/x.md)" in out and "[here](#section)" in out
    back = build_site.rewrite_links("[home](../README.md) [nb](../notebooks/02_autoencoders.ipynb)",
                                    "docs/results.md", pages)
    assert "[home](../index.md)" in back and "[nb](../notebooks/02_autoencoders.ipynb)" in back


def test_progress_bars_leave_the_page_warnings_stay():
    cell = {"outputs": [
        {"output_type": "stream", "name": "stderr",
         "text": "DEC:   0%|          | 0/50 [00:00<?, ?it/s]\rDEC: 100%|##| 50/50 [00:01]\n"},
        {"output_type": "stream", "name": "stderr", "text": "UserWarning: few clusters\n"},
        {"output_type": "stream", "name": "stdout", "text": "ACC 0.88\n"}]}
    build_site.drop_progress_bars(cell)
    texts = [o["text"] for o in cell["outputs"]]
    assert texts == ["UserWarning: few clusters\n", "ACC 0.88\n"]


def test_notebook_page_names_its_notebook_and_colab():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source":
                     f"# T\n\n[![Open In Colab]({build_site.BADGE_URL})](https://colab)"},
                    {"cell_type": "code", "metadata": {}, "source": "1", "outputs": [],
                     "execution_count": 1}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    staged = build_site.stage_notebook(nb, "exercises/00_x.ipynb", set())
    note = "".join(staged["cells"][1]["source"])
    assert "exercises/00_x.ipynb" in note and "colab.research.google.com/github/" in note
    assert "../solutions/00_x.ipynb" in note
    assert "../_static/colab-badge.svg" in staged["cells"][0]["source"]
    assert build_site.BADGE_URL not in staged["cells"][0]["source"]
