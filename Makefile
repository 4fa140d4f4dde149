# The two commands of the README: `make demo` and `make test`, from a fresh clone.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint env ui system-deps bench clean cli-docs

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

env: $(VENV)/.synced ui

# The web console (console/, npm) built into the package: src/conveyor/ui/static/.
UI_BUILT := src/conveyor/ui/static/index.html
NODE_PACKAGES := $(if $(and $(shell command -v node),$(shell command -v npm)),,nodejs npm)

ui: $(UI_BUILT)

console/node_modules/.installed: console/package.json console/package-lock.json
	bash scripts/system-deps.sh $(NODE_PACKAGES)
	cd console && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(UI_BUILT): console/node_modules/.installed console/build.mjs $(wildcard console/src/*)
	cd console && npm run --silent build

system-deps:
	bash scripts/system-deps.sh postgresql chromium $(NODE_PACKAGES)

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
	rm -rf $(VENV) $(TOOLS) .conveyor console/node_modules src/conveyor/ui/static

bench: env
	$(VENV)/bin/python benchmarks/engine.py
	$(VENV)/bin/python benchmarks/cache.py
	$(VENV)/bin/python benchmarks/metadata.py
	$(VENV)/bin/python benchmarks/serving.py
	$(VENV)/bin/python benchmarks/runtimes.py
	$(VENV)/bin/python benchmarks/startup.py
