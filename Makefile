# carprivacy: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest workers: parallel by default
PYTEST_ARGS ?= -n auto

.PHONY: run test lint typecheck check bench clean docs fuzz soak durability

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "carprivacy needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Run the platform with demo data on the embedded SQLite default.
run: $(STAMP)
	$(BIN)/carprivacy db upgrade
	$(BIN)/carprivacy demo load --if-empty
	$(BIN)/carprivacy serve --host $(HOST) --port $(PORT)

## Run the whole test suite (PostgreSQL tests run when CARPRIVACY_TEST_POSTGRES_URL is set or CI=true).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The long fuzzing run (schemathesis, every operation x every role, >= 20,000 requests).
fuzz: $(STAMP)
	CARPRIVACY_FUZZ_EXAMPLES=$${CARPRIVACY_FUZZ_EXAMPLES:-40} $(BIN)/python -m pytest -s tests/e2e/test_api_fuzz.py

## The soak: serve --workers 2 and an MQTT ingest worker under a steady load, memory of every process
## sampled (10 minutes; SOAK_MINUTES=N for another duration, SOAK_ARGS="--db postgresql").
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes $${SOAK_MINUTES:-10} $${SOAK_ARGS:-}

## The durability suite with its full count of kills (20 SIGKILLs of the server and of the worker).
durability: $(STAMP)
	CARPRIVACY_TEST_KILLS=$${CARPRIVACY_TEST_KILLS:-20} $(BIN)/python -m pytest -s -p no:cacheprovider tests/e2e/test_durability.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

docs: $(STAMP)
	$(BIN)/carprivacy config reference > docs/configuration.md
	$(BIN)/typer carprivacy.entrypoints.cli.main utils docs --name carprivacy --output docs/cli.md
	$(BIN)/python -m carprivacy.entrypoints.cli.main policy notice --lang nl --format md > docs/notice-nl.md
	$(BIN)/python -m carprivacy.entrypoints.cli.main policy notice --lang en --format md > docs/notice-en.md
	$(BIN)/python -m carprivacy.entrypoints.cli.main policy register --format md > docs/register.md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
