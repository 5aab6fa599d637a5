#!/usr/bin/env bash
# Set up (if needed) and run every check and test: lint (ruff), types (mypy), import contracts
# (import-linter), then unit, integration and e2e on SQLite, then the integration tests again on
# a throwaway PostgreSQL cluster started on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PYTHONDONTWRITEBYTECODE=1

echo "== 1/3: lint, types and import contracts"
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports

echo "== 2/3: unit, integration and end-to-end tests on SQLite"
.venv/bin/python -m pytest -q -p no:cacheprovider tests e2e

echo "== 3/3: integration tests on PostgreSQL"
scripts/with-postgres.sh .venv/bin/python -m pytest -q -p no:cacheprovider tests/integration -m "not e2e"
