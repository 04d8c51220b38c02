# judgekit: the two commands a new user needs are `make demo` and `make test`.
# Both install everything first (once) into .venv: Python packages, llama.cpp + the local model,
# WordNet for METEOR. See scripts/setup.sh.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.judgekit-setup

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml scripts/setup.sh scripts/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	PYTHON=$(PY) bash scripts/setup.sh
	@touch $(STAMP)

setup: $(STAMP)

# Score the example LaMP-QA set with the bundled local judge (Gemma 3 270M via llama.cpp; no API key).
demo: $(STAMP)
	$(VENV)/bin/judgekit score --dataset examples/lamp_qa/dataset.json \
	    --responses examples/lamp_qa/responses.json --judge local --out scores.json

# The whole test suite, integration tests against the real local model included.
test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check judgekit tests benchmarks
	$(VENV)/bin/ruff format --check judgekit tests benchmarks
	$(VENV)/bin/mypy
	$(PY) scripts/check_structure.py judgekit

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_cli_throughput.py
	$(PY) benchmarks/bench_bootstrap.py
	$(PY) benchmarks/bench_compare.py
	$(PY) benchmarks/bench_report.py
	$(PY) benchmarks/bench_lexical.py --n 500

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache scores.json scores.log.jsonl
