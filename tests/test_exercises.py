"""exercises/ is generated from solutions/, and every stub really fails its check."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_exercises  # noqa: E402

EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


def test_exercises_are_up_to_date():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "make_exercises.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_solution_has_an_exercise():
    sols = {p.name for p in (ROOT / "solutions").glob("*.ipynb")}
    assert sols and sols == {p.name for p in EXERCISES}


def test_strip_solution_keeps_indentation():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out, found = make_exercises.strip_solution(src, "t")
    assert found and out == f"def f(x):\n    y = 1\n    {make_exercises.STUB}"
    with pytest.raises(ValueError, match="never closed"):
        make_exercises.strip_solution("### BEGIN SOLUTION\nx", "t")


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_stubs_fail_their_checks(path):
    """Run the notebook's code without IPython magics; each marked check cell must raise."""
    nb = nbformat.read(path, as_version=4)
    ns: dict = {}
    marked = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = "\n".join(line for line in cell.source.splitlines()
                        if not line.lstrip().startswith(("%", "!")))
        if cell.source.startswith(make_exercises.RAISES) and "check_" in cell.source:
            marked += 1
            with pytest.raises((NotImplementedError, AssertionError)):
                exec(compile(src, f"{path.name}", "exec"), ns)
        elif cell.source.startswith(make_exercises.RAISES):
            exec(compile(src, f"{path.name}", "exec"), ns)  # the stub definition itself
        elif "check_" not in cell.source:
            exec(compile(src, f"{path.name}", "exec"), ns)
    assert marked >= 3, "each exercise notebook has at least three checked exercises"
