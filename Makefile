# Two commands on a fresh machine: `make report` (monthly report on the bundled sample) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MONTH  ?= 2026-10
DATA   ?= data/sample
SAMPLE := data/sample/transactions.csv
STAMP  := $(VENV)/.installed

.PHONY: report test test-slow nbval nbval-refresh lab sample bench docs clean system-deps

# constraints.txt pins the versions the suite was last tested with (pyproject.toml holds the lower bounds).
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
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

# The notebooks under nbval: each re-run on the sample and its outputs compared with the reference executed
# copy in tests/nbval/ (images not compared; table ids, addresses, timings and paths sanitized). A change that
# alters a notebook's output fails here: refresh the references (`make nbval-refresh`) and review their diff.
# DuckDB runs one thread here: its parallel sums of doubles differ in the last bits from run to run, which a
# numerical Hessian can lift into the 4th decimal of a printed confidence bound (the Gamma-Gamma's gamma).
NBENV := KAMLIB_BATCH=1 KAM_DUCKDB='{"threads": 1}'
NBVAL := $(NBENV) $(BIN)/python -m pytest -p no:xdist -p no:randomly --nbval --nbval-current-env \
         --nbval-sanitize-with tests/nbval/sanitize.cfg tests/nbval
nbval: $(STAMP) $(SAMPLE)
	$(NBVAL)

nbval-refresh: $(STAMP) $(SAMPLE)
	$(NBENV) $(BIN)/python tests/nbval/refresh.py

lab: $(STAMP) $(SAMPLE)
	cd notebooks && ../$(BIN)/jupyter lab

bench: $(STAMP) $(SAMPLE)
	$(BIN)/python benchmarks/run.py

docs: $(STAMP)
	$(BIN)/python -m kamlib.analysis.metrics > docs/metrics.md

# Debian packages some tests need (headless browser, CJK font, PostgreSQL server, Java for Spark); .ci/run
# calls this. Without them those tests skip with a message naming the package.
SYSTEM_PACKAGES := chromium fonts-noto-cjk postgresql openjdk-17-jre-headless poppler-utils
system-deps:
	@if command -v apt-get >/dev/null 2>&1; then \
	  missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	else echo "apt-get not found: install $(SYSTEM_PACKAGES) with your package manager"; fi

clean:
	rm -rf $(VENV) reports/20* reports/.tmp-* data/sample
