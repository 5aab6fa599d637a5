#!/usr/bin/env bash
# Install what the portal needs on a fresh Debian machine; a second run is quick.
# Usage: scripts/setup.sh run|test
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

packages=(fonts-noto-cjk poppler-utils python3-venv)
if [ "$mode" = "test" ]; then packages+=(chromium postgresql wrk); fi

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "安装系统软件包: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$mode"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  if [ "$mode" = "test" ]; then extra=".[test]"; else extra="."; fi
  .venv/bin/python -m pip install -q -e "$extra" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import portal, starlette, sqlalchemy, authlib, weasyprint" 
  touch "$stamp"
fi

# The receipt's re-ordered copy of Noto Sans CJK SC (pdf/fonts.py): built once, about a
# minute; without it receipts still render, only slower.
.venv/bin/python -m pdf.fonts

# Brotli and gzip copies of the static files (CSS, JS), served as they are: quick, and only
# files changed since the last run are compressed again.
.venv/bin/python -m portal precompress
