#!/usr/bin/env bash
# Install the tools the deployment tests (tests/deploy/) use. Idempotent: each step checks first and
# returns at once when the tool is already there.
#
#   promtool         Debian package "prometheus"  (promtool check rules / check config)
#   systemd-analyze  Debian package "systemd"     (systemd-analyze verify of the unit file)
#   kubectl          expected on PATH              (kubectl kustomize); not installed here, see below
#
# The Python packages the tests import (kubernetes-validate, jsonschema, PyYAML) belong in the
# project's dev extra; if the virtualenv ($VENV, default .venv) lacks one, it is installed there too.
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

apt_updated=0
apt_install() {
    if [ "$CAN_INSTALL" -eq 0 ]; then
        echo "install-deploy-tools: not root and no password-less sudo; skipping Debian package(s) $*" >&2
        echo "  (the tests that need them are skipped; install them as root to run those tests)" >&2
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-deploy-tools: apt-get not found; install $* with your package manager" >&2
        return 1
    fi
    if [ "$apt_updated" -eq 0 ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

if command -v promtool >/dev/null 2>&1; then
    echo "install-deploy-tools: promtool present ($(promtool --version 2>&1 | head -n 1))"
else
    echo "install-deploy-tools: installing promtool (Debian package prometheus)"
    apt_install prometheus
    # The package starts a Prometheus server where systemd runs; the tests need only the binary.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
fi

if command -v systemd-analyze >/dev/null 2>&1; then
    echo "install-deploy-tools: systemd-analyze present"
else
    echo "install-deploy-tools: installing systemd-analyze (Debian package systemd)"
    apt_install systemd
fi

# Runtimes whose genuine error output the traceback corpus records (tests/unit/core/tracebacks/).
if command -v ruby >/dev/null 2>&1; then
    echo "install-deploy-tools: ruby present"
else
    echo "install-deploy-tools: installing ruby (Debian package ruby) for the Ruby traceback corpus"
    apt_install ruby
fi
if command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1; then
    echo "install-deploy-tools: mono present"
else
    echo "install-deploy-tools: installing mcs and mono (Debian mono-mcs, mono-runtime) for the .NET corpus"
    apt_install mono-mcs mono-runtime
fi

if command -v kubectl >/dev/null 2>&1; then
    echo "install-deploy-tools: kubectl present ($(kubectl version --client 2>/dev/null | head -n 1))"
else
    echo "install-deploy-tools: kubectl not found; the kustomize tests will be skipped." >&2
    echo "  Install kubectl from your distribution or the Kubernetes package repository." >&2
fi

if [ -x "$VENV/bin/python" ]; then
    missing=()
    "$VENV/bin/python" -c "import kubernetes_validate" 2>/dev/null || missing+=("kubernetes-validate>=1.31")
    "$VENV/bin/python" -c "import jsonschema" 2>/dev/null || missing+=("jsonschema>=4.20")
    "$VENV/bin/python" -c "import yaml" 2>/dev/null || missing+=("PyYAML>=6")
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "install-deploy-tools: installing into $VENV: ${missing[*]}"
        "$VENV/bin/python" -m pip install -q "${missing[@]}"
    else
        echo "install-deploy-tools: Python packages present in $VENV"
    fi
else
    echo "install-deploy-tools: no virtualenv at $VENV; install kubernetes-validate, jsonschema and PyYAML" >&2
    echo "  into the environment that runs the tests." >&2
fi
