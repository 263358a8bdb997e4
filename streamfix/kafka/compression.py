"""gzip for streamfix's producers at the level Kafka's own clients use, not aiokafka's fixed maximum.

aiokafka compresses gzip batches at level 9 and offers no setting for it; the Java client (and
librdkafka) default to zlib's level 6 (``compression.gzip.level``). On log lines level 9 costs about
3.8 times the CPU of level 6 for batches about 10 % smaller (1M synthetic Railway lines in 1,000-line
batches: 3.4 s against 0.9 s of CPU, ratio 14.2 against 12.9; ``docs/benchmarks.md``), and a tailer
spends most of its CPU there. :func:`install` makes aiokafka's record builders compress at
:data:`GZIP_LEVEL`. The output is ordinary gzip that every consumer decodes; decoding is unchanged.
"""

from __future__ import annotations

import gzip
from types import ModuleType
from typing import Any

import aiokafka.codec
import aiokafka.record.default_records
import aiokafka.record.legacy_records

GZIP_LEVEL = 6
"""zlib's default level, the one ``compression.gzip.level`` of the Java client defaults to."""


def _builder_modules() -> list[ModuleType]:
    modules = [aiokafka.codec, aiokafka.record.default_records, aiokafka.record.legacy_records]
    try:  # the compiled builders are optional in aiokafka
        from aiokafka.record._crecords import default_records, legacy_records
    except ImportError:
        return modules
    return [*modules, default_records, legacy_records]


def gzip_encode(payload: Any, compresslevel: int | None = None) -> bytes:
    """aiokafka's ``gzip_encode`` with :data:`GZIP_LEVEL` as the default level (mtime 0, as Java writes)."""
    return gzip.compress(bytes(payload), compresslevel=compresslevel or GZIP_LEVEL, mtime=0)


def install() -> None:
    """Point every aiokafka module that compresses batches at :func:`gzip_encode` (idempotent)."""
    for module in _builder_modules():
        if hasattr(module, "gzip_encode"):
            module.gzip_encode = gzip_encode  # type: ignore[attr-defined]
