# The two commands of the README: `make demo` and `make test`, from a fresh clone.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint env system-deps bench clean cli-docs

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

env: $(VENV)/.synced

system-deps:
	bash scripts/system-deps.sh postgresql

# Continuous training end to end, served (examples/demo.py); files under .conveyor-demo/.
demo: env
	$(VENV)/bin/python examples/demo.py --home .conveyor-demo

lint: env
	$(VENV)/bin/ruff check src tests benchmarks examples support
	$(VENV)/bin/ruff format --check src tests benchmarks examples support
	$(VENV)/bin/lint-imports

test: env system-deps lint
	$(VENV)/bin/pytest

# docs/cli.md from the commands' --help (a test fails when it falls behind).
cli-docs: env
	$(VENV)/bin/python support/cli_reference.py

clean:
	rm -rf $(VENV) $(TOOLS) .conveyor

bench: env
	$(VENV)/bin/python benchmarks/engine.py
	$(VENV)/bin/python benchmarks/cache.py
	$(VENV)/bin/python benchmarks/metadata.py
	$(VENV)/bin/python benchmarks/serving.py
	$(VENV)/bin/python benchmarks/runtimes.py
	$(VENV)/bin/python benchmarks/startup.py
