"""Faust agents: thin stream processors that decode, call :mod:`streamfix.core` and write tables/topics.

Each module exposes ``register(sf)``, which attaches its agents and timers to ``sf.app``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

PIPELINE_MODULES: tuple[str, ...] = ("agents.ingest", "agents.group", "agents.fix_trigger", "agents.alerts",
                                      "agents.alert_delivery")
FIXER_MODULES: tuple[str, ...] = ("agents.fixer",)


def register_all(sf: StreamfixApp, modules: tuple[str, ...] = PIPELINE_MODULES + FIXER_MODULES) -> None:
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sf)
