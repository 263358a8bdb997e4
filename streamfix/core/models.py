"""Domain types of the core: plain, frozen dataclasses with no I/O.

Wire schemas (what travels on Kafka) live in :mod:`streamfix.wire`; conversion between the two is
explicit there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"


class Category(StrEnum):
    PROVIDER = "provider_error"
    DATABASE = "database_error"
    RATE_LIMIT = "rate_limit_error"
    TIMEOUT = "timeout_error"
    AUTH = "auth_error"
    VALIDATION = "validation_error"
    CACHE = "cache_error"
    EXTERNAL_SERVICE = "external_service_error"
    INTERNAL = "internal_error"


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame, innermost last in a ``tuple[Frame, ...]`` (Python's order)."""

    file: str
    line: int | None
    function: str
    in_app: bool = True
    module: str | None = None
    code: str | None = None
