# insights — run `make help` for the list of targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SPARK_STAMP := $(VENV)/.installed-spark-stamp
QUARTER ?=
FORCE  ?=
# pytest-xdist workers of `make test` and `make test-fast`; a test file (or notebook) stays on one worker
WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv report test test-fast lint lab demo-data validate clean-reports

help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "} {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}'
	@echo "  variables: QUARTER=2026Q3 (report quarter), FORCE=1 (replace an existing report), WORKERS=2 (test processes)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The test suite also checks the Spark path (pyspark, large): installed for tests only.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

venv: $(STAMP) ## Create or refresh .venv from pyproject.toml (no-op when current)

report: $(STAMP) ## Run the quarterly report into reports/<quarter>/ (demo data if data/raw is empty)
	$(BIN)/insights report $(if $(QUARTER),--quarter $(QUARTER)) $(if $(FORCE),--force)

test: $(SPARK_STAMP) ## Run the whole test suite: pytest over tests/ and nbval over notebooks/
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 tests notebooks --nbval-lax --nbval-kernel-name python3

test-fast: $(STAMP) ## Run the tests not marked slow (quick feedback while editing)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder tests -m "not slow"

# All three checks run even when one fails, so one run lists every problem.
lint: $(STAMP) ## Check lint, format and types: ruff check, ruff format --check, mypy (config in pyproject.toml)
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

lab: $(STAMP) ## Start JupyterLab in the project environment
	$(BIN)/jupyter lab --notebook-dir=notebooks

demo-data: $(STAMP) ## Write demo data into data/raw (refuses if it holds data)
	$(BIN)/insights demo-data

validate: $(STAMP) ## Check data/raw against the data contract
	$(BIN)/insights validate

clean-reports: ## Delete generated reports (data is left alone)
	rm -rf reports/*/ reports/.*.tmp-* reports/.*.backup-*
