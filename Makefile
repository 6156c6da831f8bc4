# fincast: `make demo` and `make test` each work on a fresh machine by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench bench-size bench-ledger bench-memory bench-scaleout bench-peers install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/fincast backtest builtin:sp500 --models seed-mlp,mlp --out runs/demo-$$(date +%Y%m%d-%H%M%S)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-memory: $(STAMP)
	$(BIN)/python benchmarks/memory.py

bench-scaleout: $(STAMP)
	$(BIN)/python benchmarks/scaleout.py

bench-size: $(STAMP)
	$(BIN)/python benchmarks/size.py

bench-ledger: $(STAMP)
	$(BIN)/python benchmarks/ledger_alarm.py

bench-peers: $(STAMP)
	$(BIN)/python benchmarks/peers.py

clean:
	rm -rf runs .pytest_cache .mypy_cache .ruff_cache
