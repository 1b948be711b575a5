# Developer shortcuts; CI runs .ci/run (install, scripts/check.sh --no-tests, the README's test command).
.PHONY: install check lint types test format

install:
	bash scripts/install.sh

check:  ## lint + format check + types + fast tests
	bash scripts/check.sh

lint:
	.venv/bin/python -m ruff check src tests benchmarks

format:
	.venv/bin/python -m ruff format src tests benchmarks

types:
	.venv/bin/python -m mypy

test:  ## the README's test command (what CI runs)
	CULTUREALIGN_DATA=$${CULTUREALIGN_DATA:-../shared/data} .venv/bin/python -m pytest -q
