# fincast: `make demo` and `make test` each work on a fresh machine by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-all docs lint bench bench-size bench-ledger bench-memory bench-scale bench-scaleout bench-peers install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/fincast backtest builtin:sp500 --models seed-mlp,mlp --out runs/demo-$$(date +%Y%m%d-%H%M%S)

# `make test` is the everyday suite; the tests marked `slow` (whole runs in subprocesses,
# resume after a kill, tuning, every model on every task, the small size table) are the slow
# tier, which CI (.ci/run) runs after it: `make test-slow`, or both at once with `make test-all`.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

# The documentation site, into site/: --strict turns every warning (a broken link, a missing
# page, an unresolved reference) into a failure, and the tutorials are executed, so a notebook
# cell that raises fails it too. NO_MKDOCS_2_WARNING silences mkdocs-material's end-of-life
# banner, which is about the theme's future, not about these docs. Then check_site.py opens
# the user guide's volatility page and the three tutorials in headless Chromium and fails on a
# page that did not render (title, images, the notebooks' tables and plots, links);
# screenshots land in site/_checks/. Without Chromium it prints why it skips.
DOCS_STAMP := $(VENV)/.installed-docs

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python docs/hooks/check_site.py site

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs/hooks
	$(BIN)/ruff format --check src tests benchmarks docs/hooks
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-memory: $(STAMP)
	$(BIN)/python benchmarks/memory.py

# Rows vs wall time, peak RSS and stage shares of a ridge backtest at 1M and 2M rows
# (benchmarks/scale.py --help: --rows 1e6,2e6,5e6,1e7, --mlp); one run at a time.
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/scale.py

bench-scaleout: $(STAMP)
	$(BIN)/python benchmarks/scaleout.py

bench-size: $(STAMP)
	$(BIN)/python benchmarks/size.py

bench-ledger: $(STAMP)
	$(BIN)/python benchmarks/ledger_alarm.py

bench-peers: $(STAMP)
	$(BIN)/python benchmarks/peers.py

clean:
	rm -rf runs site .cache .pytest_cache .mypy_cache .ruff_cache
