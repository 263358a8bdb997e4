"""Faust web views: the REST API under ``/error-monitor/``, the dashboard page and ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamfix.app import StreamfixApp


def register_views(sf: StreamfixApp) -> None:
    from streamfix.web import health, patterns

    health.register(sf)
    patterns.register(sf)
