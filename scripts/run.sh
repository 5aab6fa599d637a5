#!/usr/bin/env bash
# Set up (if needed), migrate, load demo data, and serve the portal at http://127.0.0.1:8000,
# with the background worker (texts, receipts, reminders) beside it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
.venv/bin/python -m portal migrate
.venv/bin/python -m portal seed-demo   # loads nothing (and says why) unless the stand-in provider is the issuer
.venv/bin/python -m portal worker &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT
.venv/bin/python -m portal serve
