"""Typed errors. Everything streamfix raises on purpose derives from :class:`StreamfixError`.

Third-party exceptions are translated at the boundary where they occur (the Kafka, HTTP, git, GitHub
and Claude adapters), so callers only ever need to know this hierarchy.
"""

from __future__ import annotations


class StreamfixError(Exception):
    """Root of every error streamfix raises on purpose."""


class ConfigError(StreamfixError):
    """A setting is missing or invalid."""


class WireError(StreamfixError):
    """A record on a topic does not match its wire schema (bad JSON, wrong type, unknown version)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class BrokerError(StreamfixError):
    """The local Kafka broker could not be resolved, started, reached or stopped."""


class SourceError(StreamfixError):
    """A log source (Railway CLI, Loki, a file) failed in a way the watcher cannot recover from."""


class FixError(StreamfixError):
    """Generating, applying or publishing a fix failed."""
