"""The handle agents and web views receive: the Faust app with streamfix's topics, tables and views.

Kept apart from the builder (:mod:`streamfix.runtime.app`), which imports the agents and the web
views, so that they can name this type without importing the builder back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from streamfix.kafka.views import ChangelogView
from streamfix.runtime.settings import Settings


@dataclass
class StreamfixApp:
    """The Faust app with streamfix's topics and tables, passed to agents and views."""

    settings: Settings
    app: faust.App
    topics: dict[str, Any]
    tables: dict[str, Any] = field(default_factory=dict)
    views: dict[str, ChangelogView] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def topic_name(self, role: str) -> str:
        return str(self.topics[role].get_topic_name())
