# syntax=docker/dockerfile:1
#
# streamfix image. Stages:
#   build        installs streamfix and its dependencies into /opt/venv
#   base         the runtime: python:3.11-slim, git, the venv, a non-root user, the health check
#   runtime      base as it is: worker, fixer, Loki/file/stdin watchers (CMD streamfix worker)
#   railway-cli  fetches the Railway CLI (only built when the railway variant is)
#   railway      base + the Railway CLI, for `streamfix watch railway`
#   final        the image: runtime, or railway when STREAMFIX_VARIANT=railway
#
#   docker build -t streamfix .
#   docker build --build-arg STREAMFIX_VARIANT=railway -t streamfix:railway .   # or --target railway
#
# The build argument is there for platforms that build from a repository and pass service variables
# as build arguments but cannot pick a target (Railway); BuildKit builds only the stages it needs.
ARG STREAMFIX_VARIANT=runtime

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# A compiler for any dependency that has no wheel for this platform; it stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.run([sys.executable, '-m', 'pip', 'install', *deps], check=True)"
COPY streamfix ./streamfix
COPY agents ./agents
RUN pip install --no-deps . && python -c "import streamfix"

FROM python:3.11-slim AS base
# git: the fixer clones the target repository and pushes fix branches.
# tini: PID 1 that forwards signals, so a worker leaves its consumer group cleanly on stop.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 streamfix \
 && useradd --system --uid 10001 --gid streamfix --home-dir /home/streamfix --create-home \
        --shell /usr/sbin/nologin streamfix \
 && mkdir -p /var/lib/streamfix \
 && chown streamfix:streamfix /var/lib/streamfix
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STREAMFIX_WEB_HOST=0.0.0.0 \
    STREAMFIX_WEB_PORT=8000 \
    STREAMFIX_DATA_DIR=/var/lib/streamfix \
    STREAMFIX_LOG_FORMAT=json
WORKDIR /var/lib/streamfix
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000
# The worker's own health route. python:3.11-slim has no curl, so urllib does the request; any error
# (refused, timeout, non-2xx) raises and exits non-zero. Watchers and the fixer serve no web API:
# docker-compose.yml and the Kubernetes manifests give them their own checks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/error-monitor/health' % os.environ.get('STREAMFIX_WEB_PORT', '8000'), timeout=4).close()"]
ENTRYPOINT ["tini", "--"]
CMD ["streamfix", "worker"]

FROM base AS runtime

FROM node:22-slim AS railway-cli
# The npm package downloads the CLI binary in its install script (needs network at build time).
ARG RAILWAY_CLI_VERSION=5.63.1
RUN npm install --global --foreground-scripts "@railway/cli@${RAILWAY_CLI_VERSION}" \
 && install -m 0755 "$(npm root --global)/@railway/cli/bin/railway" /usr/local/bin/railway \
 && /usr/local/bin/railway --version

FROM base AS railway
COPY --from=railway-cli /usr/local/bin/railway /usr/local/bin/railway
# A watcher serves no web API; docker-compose.yml checks that it reaches the broker instead.
HEALTHCHECK NONE
CMD ["streamfix", "watch", "railway", "--auto-fix"]

FROM ${STREAMFIX_VARIANT} AS final
