# Two commands for a newcomer: `make run` (the main job) and `make test` (every test).
# Both install what is missing first: a Python virtualenv here, and the native stack's
# binaries under ~/.cache/tradetrace (built once, then reused).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)

.PHONY: run stop test lint unit integration bench stack-up stack-down status install clean

run: install
	$(BIN)/tradetrace stack up
	$(BIN)/tradetrace demo
	@echo "Still running: \`make stop\` stops the services and the stack."

stop: install
	$(BIN)/tradetrace services down
	$(BIN)/tradetrace stack down

# The stack's binaries are built before pytest (a cold build takes minutes and must not run
# under a test's timeout); the integration fixtures then start and stop the stack.
test: install lint
	$(BIN)/tradetrace stack install
	$(BIN)/tradetrace stack install --profile scale
	$(BIN)/python -m pytest tests

# Lint and types: ruff over everything, mypy (strict on tracing/ and services/shared/).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The signal path at load, tracing on against off (not part of `make test`; a few minutes).
bench: install
	$(BIN)/tradetrace stack up
	$(BIN)/python benchmarks/fast_path.py

unit: install
	$(BIN)/python -m pytest tests/unit

integration: install
	$(BIN)/tradetrace stack install
	$(BIN)/tradetrace stack install --profile scale
	$(BIN)/python -m pytest tests/integration

stack-up: install
	$(BIN)/tradetrace stack up

stack-down: install
	$(BIN)/tradetrace stack down

status: install
	$(BIN)/tradetrace stack status

install: $(STAMP)

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt --config-settings editable_mode=compat -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) *.egg-info
