# dclearn: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lab bench lint exercises clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m dclearn demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) tools/make_exercises.py --check
	$(PY) tools/make_tables.py --check
	$(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m dclearn bench --all --dataset digits --seeds 0,1,2,3,4
	$(PY) tools/make_tables.py

exercises: $(STAMP)
	$(PY) tools/make_exercises.py

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
