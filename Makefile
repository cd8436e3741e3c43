# spikeforge: `make demo` runs the end-to-end demo, `make test` the test suite.
# Both create .venv and install the project with its extras on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= reports/demo
# two workers (pytest-xdist), a test module whole on one: the suite is CPU-bound on 2 cores
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?= -m "not slow" -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: demo test test-all lint bench tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is installed first and pinned: the CPU wheel; an open range could fetch a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,peers,data,neurobench,ray]"
	# Norse (a test peer) requires torchvision, which would pull a CUDA torch; it runs without it.
	$(BIN)/pip install --quiet --no-deps norse==1.1.0
	touch $(STAMP)

# Icarus Verilog comes from Debian; without root or apt the Icarus tests skip and say why.
tools:
	@command -v iverilog >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && apt-get install -y -qq iverilog >/dev/null) \
	  || echo "note: iverilog not installed; Icarus tests will be skipped"; }

demo: $(STAMP) tools
	$(BIN)/spikeforge demo --out $(DEMO_OUT)

test: $(STAMP) tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-all: PYTEST_ARGS = -n $(PYTEST_WORKERS) --dist loadfile
test-all: test

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/spikeforge bench --out reports/bench

clean:
	rm -rf $(VENV) reports build sim_build .pytest_cache .hypothesis
