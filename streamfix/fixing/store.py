"""Where the service remembers the latest :class:`~streamfix.kafka.wire.FixResult` of each fix.

:class:`MemoryStore` keeps what this process wrote. It can sit on top of a read-only mapping shaped
like the worker's ``fixes`` table (fingerprint → {fix_id: latest FixResult}), derived from the
fix-results topic, so replays and the PR tracker also see results written before a restart. Values
in that mapping may be FixResult records, decoded dicts or JSON bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from streamfix.errors import WireError
from streamfix.kafka.wire import FixResult

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

    def get(self, fingerprint: str, fix_id: str) -> FixResult | None:
        if fix_id in self._own:
            return self._own[fix_id]
        if self._base is not None:
            history = self._base.get(fingerprint)
            if isinstance(history, Mapping) and fix_id in history:
                return _decode(history[fix_id])
        return None

    def put(self, result: FixResult) -> None:
        self._own[result.fix_id] = result

    def of_pattern(self, fingerprint: str) -> list[FixResult]:
        """Every attempt's latest result for one pattern."""
        own = {r.fix_id: r for r in self._own.values() if r.fingerprint == fingerprint}
        history = self._base.get(fingerprint) if self._base is not None else None
        if isinstance(history, Mapping):
            for fid, value in list(history.items()):
                if fid not in own:
                    decoded = _decode(value)
                    if decoded is not None:
                        own[fid] = decoded
        return list(own.values())

    def values(self) -> Iterator[FixResult]:
        yield from list(self._own.values())
        if self._base is None:
            return
        for fingerprint in list(self._base.keys()):
            history = self._base.get(fingerprint)
            if not isinstance(history, Mapping):
                continue
            for fid, value in list(history.items()):
                if fid not in self._own:
                    decoded = _decode(value)
                    if decoded is not None:
                        yield decoded
