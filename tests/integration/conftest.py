"""A real Apache Kafka broker for integration tests.

The session fixture starts the project's own local broker (``streamfix kafka up``) on a test port
(``STREAMFIX_TEST_KAFKA_PORT``, default 19192) and stops it at the end, unless
``STREAMFIX_TEST_BROKER`` names a broker to use instead. Each test gets a :class:`Settings` with its
own topic prefix and app id, so tests never share topics or consumer groups.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamfix.runtime.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    """``kafka://host:port`` of a running broker."""
    external = os.environ.get("STREAMFIX_TEST_BROKER")
    if external:
        yield external if "://" in external else f"kafka://{external}"
        return
    from streamfix.kafka.local import LocalKafka

    port = int(os.environ.get("STREAMFIX_TEST_KAFKA_PORT", "19192"))
    local = LocalKafka(Settings(kafka_port=port, kafka_home=REPO_ROOT / ".cache" / "kafka"))
    already = local.status().running
    local.up()
    try:
        yield f"kafka://127.0.0.1:{port}"
    finally:
        if not already:
            local.down()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def kafka_settings(kafka_broker: str, tmp_path: Path) -> Settings:
    """Settings for one test: a real broker, and topics and groups of its own."""
    tag = f"t{uuid.uuid4().hex[:10]}"
    return Settings(
        broker=kafka_broker,
        app_id=tag,
        topic_prefix=tag,
        topic_partitions=4,
        web_port=free_port(),
        data_dir=tmp_path / "worker",
        broker_session_timeout=10.0,
        log_format="text",
    )
