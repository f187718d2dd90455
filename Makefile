# The commands of the README: `make demo`, `make test` (the fast lane) and `make test-all`
# (everything; CI runs it). All set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-all lint bench

$(BIN)/interestlens: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# pinned: the CPU build on disk; an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[torch,test]"
	touch $(BIN)/interestlens

setup: $(BIN)/interestlens

demo: setup
	$(BIN)/interestlens demo --out interestlens-demo
	$(BIN)/interestlens demo --drift --out interestlens-demo/drift

# The fast lane: every test not marked `slow` (tests/conftest.py says what is slow and why), on
# two worker processes (pytest-xdist; a module's tests stay on one worker, so its fixtures are
# built once): under a minute on a 2-core laptop.
test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile

# Everything: the fast lane plus the live server, the browser, Spark, schemathesis, real data
# (skipped with the reason when ../shared/data is absent), UMAP and the heavy fuzz cases.
# (RUN_* rather than INTERESTLENS_*: that prefix is read as settings.)
# One process: the live-server, kill -9 and concurrency tests measure the machine they run on.
test-all: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	RUN_UMAP_TESTS=1 RUN_FUZZ_TESTS=1 $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
