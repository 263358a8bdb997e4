#!/usr/bin/env bash
# Install headless Chromium and its WebDriver for the dashboard browser test
# (tests/integration/test_dashboard_browser.py). Idempotent: returns at once when both are there.
#
#   chromium          Debian package "chromium"         (/usr/bin/chromium)
#   chromedriver      Debian package "chromium-driver"  (/usr/bin/chromedriver)
#
# The Python side (selenium) belongs in the project's dev extra; if the virtualenv ($VENV, default
# .venv) lacks it, it is installed there too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)

if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-browser: apt-get not found; install ${missing[*]} with your package manager" >&2
        exit 1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c "import selenium" >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install -q "selenium>=4.20"
fi

chromium --version
chromedriver --version
