"""The ``orjson`` Faust codec: values on streamfix's JSON topics are compact orjson bytes."""

from __future__ import annotations

from typing import Any

import orjson
from faust.serializers import codecs


class OrjsonCodec(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


def register() -> None:
    """Make ``value_serializer="orjson"`` available (idempotent)."""
    codecs.register("orjson", OrjsonCodec())
