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

# Root installs directly; otherwise only through a sudo that needs no password. Without either, a
# missing system package is reported and skipped (the tests that need it skip with the same message).
SUDO=""
CAN_INSTALL=1
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo"
    else
        CAN_INSTALL=0
    fi
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)

if [ "${#missing[@]}" -gt 0 ] && [ "$CAN_INSTALL" -eq 0 ]; then
    echo "install-browser: not root and no password-less sudo; skipping Debian package(s) ${missing[*]}" >&2
    echo "  (the browser test is skipped; install them as root to run it)" >&2
    missing=()
fi
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
