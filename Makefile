# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv and run the example link on the embedded emulator
#   make test   set up .venv (with test and browser tools) and run the whole test suite
# For contributors (CONTRIBUTING.md):
#   make lint             ruff: lint and format check          make format   ruff: fix and format
#   make typecheck        mypy over lib/
#   make test-fast        everything but end-to-end, notebook, browser and slow tests, in parallel
#   make notebooks        write notebooks/ from the phases' declarations, and the packaged example copies
#   make notebooks-check  fail if notebooks/ or the packaged examples differ from their sources
#   make wheel            build the wheel into dist/ (the notebooks' template and the examples ship in it)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-fast lint format typecheck setup setup-dev clean notebooks notebooks-check wheel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,lab]'
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

demo: setup
	$(BIN)/vpclink run params/example.yaml

# The whole suite, in parallel (pytest-xdist): one worker more than the cores, as the end-to-end tests
# spend part of their time waiting on the cloud's lag. Whole files per worker: the tests of a module
# share its runs (module-scoped fixtures), made once, not per worker; in the order tests/conftest.py
# gives them (longest first), not xdist's (most tests first).
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: setup-dev
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: setup-dev
	$(BIN)/python -m pytest -n auto -q -m "not e2e and not notebook and not browser and not slow"

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: setup-dev
	$(BIN)/mypy

# One source each: a phase's notebook is generated from its declaration (lib/vpclink/phases/),
# the example parameter files live in params/ and are copied into the package for the wheel.
notebooks: | $(VENV)/.installed
	$(BIN)/python -m vpclink.notebook.generate notebooks
	rm -f lib/vpclink/examples/*.yaml
	cp params/*.yaml lib/vpclink/examples/

notebooks-check: | $(VENV)/.installed
	$(BIN)/python -m vpclink.notebook.generate --check notebooks
	@for f in params/*.yaml; do \
	  cmp -s "$$f" "lib/vpclink/examples/$$(basename $$f)" || \
	  { echo "$$f: differs from its copy in lib/vpclink/examples/; run make notebooks" >&2; exit 1; }; \
	done

wheel: setup
	$(BIN)/pip wheel --quiet --no-deps -w dist .

clean:
	rm -rf $(VENV) runs dist
