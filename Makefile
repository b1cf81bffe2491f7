# dclearn: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest-xdist workers in `make test`: tests/ (one torch thread each), then the notebooks, one
# notebook a worker at a time, each kernel on NB_THREADS torch threads (workers x threads =
# the cores: two kernels of two threads each would oversubscribe a 2-core machine)
TEST_WORKERS ?= 2
NB_THREADS ?= 1

.PHONY: demo test lab bench lint exercises site browser-test clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m dclearn demo

# the notebooks run once: nbval's execution is kept in build/executed/ and the site reuses it
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) tools/make_exercises.py --check
	$(PY) tools/make_tables.py --check
	$(PY) -m pytest tests --ignore=tests/browser -n $(TEST_WORKERS) --dist loadscope
	OMP_NUM_THREADS=$(NB_THREADS) $(PY) -m pytest notebooks solutions exercises \
		-n $(TEST_WORKERS) --dist loadfile
	$(PY) tools/build_site.py
	$(MAKE) --no-print-directory browser-test

# headless Chromium on the built site and on notebook 02 in JupyterLab; without a Chromium,
# one line says how to install it (DCLEARN_REQUIRE_BROWSER=1 makes that an error)
browser-test: $(STAMP)
	@if $(PY) tools/chromium.py >/dev/null; then \
		$(PY) -m pytest tests/browser -p no:nbval -o addopts="-p no:cacheprovider --durations=5"; \
	else \
		$(PY) tools/chromium.py; test "$$DCLEARN_REQUIRE_BROWSER" != 1; \
	fi

# the course site in build/site/ (executes only the notebooks `make test` has not just run)
site: $(STAMP)
	$(PY) tools/build_site.py

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
