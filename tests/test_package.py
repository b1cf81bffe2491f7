"""The package's shape: no import cycle, one subpackage per family, every estimator registered."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import dclearn
from dclearn.methods import BaseClusterer
from dclearn.methods.registry import METHODS

PACKAGE = Path(dclearn.__file__).parent
FAMILIES = {"classic": "00", "feedforward": "01", "autoencoder": "02", "vae": "03", "gan": "04",
            "dcfae": "05", "dbn": "06"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the dclearn modules it imports anywhere in its text (lazy imports included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # ``from pkg import sub`` imports the submodule when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "dclearn.methods.base" in graph["dclearn.methods.autoencoder.dec"]
    assert "dclearn.methods.classic.kmeans" in graph["dclearn.methods.autoencoder.dec"]
    # cli's import inside run_one (a lazy import) is an edge too
    assert "dclearn.methods.autoencoder.pretrain" in graph["dclearn.cli.bench"]


@pytest.mark.parametrize("family, chapter", FAMILIES.items())
def test_family_docstring_lists_its_files(family, chapter):
    package = importlib.import_module(f"dclearn.methods.{family}")
    doc = inspect.getdoc(package)
    assert doc and doc.startswith(f"Chapter {chapter}")
    for path in (PACKAGE / "methods" / family).glob("*.py"):
        if path.name != "__init__.py":
            assert f"``{path.name}``" in doc, f"{family}/__init__ does not list {path.name}"


def test_every_estimator_is_registered():
    registered = {cls for _, cls, _ in METHODS.values()}
    estimators = {name for name in dclearn.methods.__all__
                  if inspect.isclass(getattr(dclearn.methods, name))
                  and issubclass(getattr(dclearn.methods, name), BaseClusterer)
                  and name != "BaseClusterer"}
    assert estimators <= registered, f"not in the registry: {sorted(estimators - registered)}"
    for mod, cls, _ in METHODS.values():  # each entry names the class where it is defined
        assert getattr(importlib.import_module(mod), cls).__module__ == mod


def test_tests_mirror_the_library():
    tests = Path(__file__).parent / "methods"
    for family in FAMILIES:
        assert (tests / family).is_dir()
    for mod, _, _ in METHODS.values():
        family, file = mod.split(".")[2:4]
        assert (tests / family / f"test_{file}.py").is_file(), f"no test file for {mod}"
