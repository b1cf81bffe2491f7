"""The results store (dclearn.results) and the tables generated from it (tools/make_tables.py)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from dclearn.methods.registry import METHODS, bench_overrides
from dclearn.results import (
    add_rows,
    decode_labels,
    encode_labels,
    load_rows,
    stored_settings,
    summarise,
)

ROOT = Path(__file__).resolve().parents[1]


def _row(method, seed, acc, settings=None, seconds=1.0):
    return {"method": method, "seed": seed, "acc": acc, "nmi": acc - 0.1, "ari": acc - 0.2,
            "seconds": seconds, "settings": stored_settings(settings or {}), "threads": 1,
            "commit": "abc1234", "version": "0.1.0"}


@pytest.fixture
def tables():
    spec = importlib.util.spec_from_file_location("make_tables", ROOT / "tools/make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_round_trip_adds_and_replaces(tmp_path):
    assert load_rows("digits", tmp_path) == []
    add_rows("digits", [_row("dec", 0, 0.8), _row("dec", 1, 0.9)], tmp_path)
    add_rows("digits", [_row("dec", 1, 0.7), _row("kmeans", 0, 0.79)], tmp_path)
    rows = load_rows("digits", tmp_path)
    assert sorted((r["method"], r["seed"], r["acc"]) for r in rows) == [
        ("dec", 0, 0.8), ("dec", 1, 0.7), ("kmeans", 0, 0.79)]
    # other settings are other rows, not replacements
    add_rows("digits", [_row("dec", 0, 0.5, {"hidden": (500, 500, 2000)})], tmp_path)
    rows = load_rows("digits", tmp_path)
    assert len(rows) == 4
    summary = summarise(rows)
    assert summary["dec"]["seeds"] == [0, 1]
    assert summary["dec"]["acc"]["mean"] == pytest.approx(0.75)
    wide = summarise(rows, lambda m: {"hidden": (500, 500, 2000)})
    assert set(wide) == {"dec"} and wide["dec"]["acc"]["mean"] == pytest.approx(0.5)


def test_labels_round_trip():
    labels = np.array([0, 9, 10, 35, 3])
    assert encode_labels(labels) == "09az3"
    assert np.array_equal(decode_labels(encode_labels(labels)), labels)
    assert encode_labels([36]) is None and encode_labels([-1]) is None


def test_bad_store_is_named(tmp_path):
    (tmp_path / "digits.json").write_text(json.dumps({"dataset": "digits",
                                                      "rows": [{"method": "dec"}]}))
    with pytest.raises(ValueError, match="lacks"):
        load_rows("digits", tmp_path)
    (tmp_path / "mnist.json").write_text(json.dumps({"dataset": "usps", "rows": []}))
    with pytest.raises(ValueError, match="not a results store"):
        load_rows("mnist", tmp_path)


def test_tables_come_from_the_store(tmp_path, tables):
    add_rows("digits", [_row("dec", s, 0.8 + s / 100, seconds=10.0) for s in range(3)]
             + [_row("kmeans", 0, 0.79, seconds=0.1)], tmp_path)
    add_rows("mnist", [_row("dec", 0, 0.87, bench_overrides("dec", "mnist"))], tmp_path)
    text = "intro\n<!-- tables:results -->\nold\n<!-- /tables:results -->\noutro\n"
    out = tables.render(text, {"results": tables.readme_table}, tmp_path)
    assert out.startswith("intro\n") and out.endswith("outro\n") and "old" not in out
    lines = out.splitlines()
    kmeans = next(line for line in lines if line.startswith("| k-means"))
    dec = next(line for line in lines if line.startswith("| DEC "))
    assert lines.index(kmeans) < lines.index(dec)  # chapter order
    assert "0.810 ± 0.008 (seeds 0, 1, 2)" in dec and "| 10.0 |" in dec  # fewer than 5 seeds
    assert "0.870 (seed 0)" in dec and "0.843" in dec  # ours on MNIST, next to the paper's
    assert tables.render(out, {"results": tables.readme_table}, tmp_path) == out
    with pytest.raises(ValueError, match="marker"):
        tables.render("no markers", {"results": tables.readme_table}, tmp_path)


def test_variants_table_groups_settings(tmp_path, tables):
    add_rows("digits", [_row("dcfae", s, 0.8) for s in range(2)]
             + [_row("dcfae", s, 0.7 + s / 10, {"grouper": False}) for s in range(2)], tmp_path)
    out = tables.variants_table(tmp_path)
    lines = [line for line in out.splitlines() if line.startswith("| DCFAE")]
    assert len(lines) == 1 and "grouper=False" in lines[0] and "0.750 ± 0.050" in lines[0]


def test_repository_tables_are_in_step_with_the_store(tables):
    """README.md's and docs/results.md's tables are what the committed store gives."""
    assert tables.main(["--check"]) == 0, "run python tools/make_tables.py"


def test_store_has_every_method_over_five_digits_seeds():
    """Every clusterer of the registry has seeds 0-4 with its defaults in results/digits.json."""
    summary = summarise(load_rows("digits"))
    missing = {m: summary.get(m, {}).get("seeds", []) for m in METHODS
               if summary.get(m, {}).get("seeds") != [0, 1, 2, 3, 4]}
    assert not missing, f"methods without seeds 0-4 in the store (seeds found): {missing}; " \
                        "run python -m dclearn bench --dataset digits --methods ..."


def test_commit_is_read_once_per_process(monkeypatch):
    """A long bench run names the commit it started from, not one made while it ran."""
    import subprocess

    from dclearn import results

    calls = []

    class Done:
        returncode, stdout = 0, "1234abc\n"

    def fake_run(*args, **kwargs):
        calls.append(args)
        return Done()

    results.code_commit.cache_clear()
    monkeypatch.setattr(subprocess, "run", fake_run)
    try:
        assert results.code_commit() == "1234abc"
        Done.stdout = "9999fff\n"  # HEAD moves while the run goes on
        assert results.provenance()["commit"] == "1234abc"
        assert len(calls) == 1
    finally:
        results.code_commit.cache_clear()
