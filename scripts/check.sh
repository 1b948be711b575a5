#!/usr/bin/env bash
# Lint, format check, type check and the fast tests: what CI checks, in one command.
#   bash scripts/check.sh          # all four
#   bash scripts/check.sh --no-tests
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
echo "== ruff check";  "$PY" -m ruff check src tests benchmarks scripts
echo "== ruff format"; "$PY" -m ruff format --check src tests benchmarks scripts
echo "== mypy";        "$PY" -m mypy   # scope and strictness: [tool.mypy] in pyproject.toml
if [ "${1:-}" != "--no-tests" ]; then
  echo "== tests (fast: not slow, not integration)"
  CULTUREALIGN_DATA="${CULTUREALIGN_DATA:-../shared/data}" "$PY" -m pytest -q -m "not slow and not integration"
fi
