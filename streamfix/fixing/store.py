"""Where the service remembers the latest :class:`~streamfix.wire.FixResult` of each fix.

:class:`MemoryStore` keeps what this process wrote; it can sit on top of a read-only mapping (the
worker's table derived from the fix-results topic), so replays and the PR tracker also see results
written before a restart. Values of that mapping may be FixResult records, decoded dicts or JSON bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from streamfix.errors import WireError
from streamfix.wire import FixResult

log = logging.getLogger(__name__)


def _decode(value: Any) -> FixResult | None:
    try:
        if isinstance(value, FixResult):
            return value
        if isinstance(value, bytes | str):
            return FixResult.loads(value)
        return FixResult.from_obj(value)
    except WireError as exc:
        log.warning("unreadable fix result in table", extra={"error": str(exc)})
        return None


class MemoryStore:
    def __init__(self, base: Mapping[str, Any] | None = None) -> None:
        self._base = base
        self._own: dict[str, FixResult] = {}

    def get(self, fix_id: str) -> FixResult | None:
        if fix_id in self._own:
            return self._own[fix_id]
        if self._base is not None and fix_id in self._base:
            return _decode(self._base[fix_id])
        return None

    def put(self, result: FixResult) -> None:
        self._own[result.fix_id] = result

    def values(self) -> Iterator[FixResult]:
        seen = set(self._own)
        yield from self._own.values()
        if self._base is not None:
            for key in list(self._base.keys()):
                if key not in seen:
                    decoded = _decode(self._base[key])
                    if decoded is not None:
                        yield decoded
