"""The ``orjson`` Faust codec: values on streamfix's JSON topics are compact orjson bytes.

A value that is not JSON decodes to its bytes, unchanged, instead of raising: Faust would throw the
decode error into the agent's stream and stop the agent. The agents' decoders
(:meth:`streamfix.kafka.wire.WireRecord.from_obj`) reject bytes as ``invalid_json`` and the record
goes to the dead-letter topic like any other bad input.
"""

from __future__ import annotations

from typing import Any

import orjson
from faust.serializers import codecs


class OrjsonCodec(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            return bytes(s)


def register() -> None:
    """Make ``value_serializer="orjson"`` available (idempotent)."""
    codecs.register("orjson", OrjsonCodec())
