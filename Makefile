# Two commands on a fresh machine: `make report` (monthly report on the bundled sample) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MONTH  ?= 2026-10
DATA   ?= data/sample
SAMPLE := data/sample/transactions.csv
STAMP  := $(VENV)/.installed

.PHONY: report test test-slow lab sample bench docs clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(SAMPLE): | $(STAMP)
	$(BIN)/kam sample --out data/sample

sample: $(STAMP)
	$(BIN)/kam sample --out data/sample

report: $(STAMP) $(SAMPLE)
	$(BIN)/kam report --data $(DATA) --month $(MONTH)

test: $(STAMP) $(SAMPLE)
	$(BIN)/python -m pytest -n 2

test-slow: $(STAMP) $(SAMPLE)
	$(BIN)/python -m pytest -n 2 -m slow

lab: $(STAMP) $(SAMPLE)
	cd notebooks && ../$(BIN)/jupyter lab

bench: $(STAMP) $(SAMPLE)
	$(BIN)/python benchmarks/run.py

docs: $(STAMP)
	$(BIN)/python -m kamlib.metrics > docs/metrics.md

clean:
	rm -rf $(VENV) reports/20* reports/.tmp-* data/sample
