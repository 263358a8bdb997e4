#!/usr/bin/env bash
# Install the tools the deployment tests (tests/deploy/) use. Idempotent: each step checks first and
# returns at once when the tool is already there.
#
#   promtool         Debian package "prometheus"  (promtool check rules / check config)
#   systemd-analyze  Debian package "systemd"     (systemd-analyze verify of the unit file)
#   kubectl          expected on PATH              (kubectl kustomize); not installed here, see below
#
# Python packages the tests import (kubernetes-validate, jsonschema, PyYAML) come from the project's
# dev extra, not from this script.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

apt_updated=0
apt_install() {
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

if command -v kubectl >/dev/null 2>&1; then
    echo "install-deploy-tools: kubectl present ($(kubectl version --client 2>/dev/null | head -n 1))"
else
    echo "install-deploy-tools: kubectl not found; the kustomize tests will be skipped." >&2
    echo "  Install kubectl from your distribution or the Kubernetes package repository." >&2
fi
