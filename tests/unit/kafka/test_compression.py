"""streamfix's producers write gzip at level 6 (Kafka's Java default), through both aiokafka builders."""

from __future__ import annotations

import gzip

import pytest
from aiokafka.record.default_records import (
    DefaultRecordBatch,
    DefaultRecordBatchBuilder,
    _DefaultRecordBatchBuilderPy,
)

from streamfix.kafka import compression
from streamfix.kafka.clients import PRODUCER_COMPRESSION

GZIP_CODEC = 1
VALUES = [b'{"message":"line %d","level":"info"}' % i * 8 for i in range(200)]


def _batch(builder: type) -> bytes:
    b = builder(magic=2, compression_type=GZIP_CODEC, is_transactional=0, producer_id=-1, producer_epoch=-1,
                base_sequence=-1, batch_size=1 << 20)
    for offset, value in enumerate(VALUES):
        assert b.append(offset, timestamp=None, key=None, value=value, headers=[]) is not None
    return bytes(b.build())


@pytest.mark.parametrize("builder", [DefaultRecordBatchBuilder, _DefaultRecordBatchBuilderPy],
                         ids=["compiled", "python"])
def test_batches_are_gzip_at_level_6_and_read_back_whole(builder: type) -> None:
    assert PRODUCER_COMPRESSION == "gzip"
    data = _batch(builder)
    member = data[data.index(b"\x1f\x8b\x08"):]
    # gzip's XFL byte: 2 for level 9 (aiokafka's own choice), 4 for level 1, 0 for the levels between
    assert member[8] == 0
    assert member[4:8] == b"\x00\x00\x00\x00"  # mtime 0: the same batch compresses to the same bytes
    records = list(DefaultRecordBatch(bytearray(data)))
    assert [r.value for r in records] == VALUES


def test_level_6_is_what_gzip_encode_writes() -> None:
    payload = b"".join(VALUES)
    assert compression.gzip_encode(payload) == gzip.compress(payload, compresslevel=6, mtime=0)
    assert compression.gzip_encode(payload, 9) == gzip.compress(payload, compresslevel=9, mtime=0)
