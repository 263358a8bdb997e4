"""Faust agents: thin stream processors that decode, call :mod:`streamfix.core` and write tables/topics.

Each module exposes ``register(sf)``, which attaches its agents and timers to ``sf.app``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamfix.app import StreamfixApp

AGENT_MODULES: tuple[str, ...] = ("agents.ingest", "agents.group", "agents.fix_trigger", "agents.fixer")


def register_all(sf: StreamfixApp) -> None:
    for name in AGENT_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sf)
