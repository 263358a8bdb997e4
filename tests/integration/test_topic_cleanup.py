"""Deleting a benchmark's topics by prefix, against a real broker: its own go, nobody else's."""

from __future__ import annotations

import asyncio

import pytest

from streamfix.kafka.clients import delete_topics_with_prefix, ensure_topics, new_admin
from streamfix.runtime.settings import Settings

pytestmark = pytest.mark.kafka


async def _topics(bootstrap: str) -> set[str]:
    admin = new_admin(bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_delete_topics_with_prefix_deletes_only_that_prefix(kafka_settings: Settings) -> None:
    tag = kafka_settings.topic_prefix
    stranger = f"u{tag[1:]}"  # another run's prefix
    other = kafka_settings.model_copy(update={"topic_prefix": stranger, "app_id": stranger})
    asyncio.run(ensure_topics(kafka_settings))
    asyncio.run(ensure_topics(other))
    ours = {t for t in asyncio.run(_topics(kafka_settings.bootstrap_servers)) if t.startswith(tag)}
    assert len(ours) >= 5

    deleted = asyncio.run(delete_topics_with_prefix(kafka_settings.bootstrap_servers, tag))

    assert set(deleted) == ours
    left = asyncio.run(_topics(kafka_settings.bootstrap_servers))
    assert not {t for t in left if t.startswith(tag)}
    assert {t for t in left if t.startswith(other.topic_prefix)}  # another prefix is untouched
    asyncio.run(delete_topics_with_prefix(kafka_settings.bootstrap_servers, other.topic_prefix))


def test_an_empty_prefix_is_refused(kafka_settings: Settings) -> None:
    with pytest.raises(ValueError, match="prefix is required"):
        asyncio.run(delete_topics_with_prefix(kafka_settings.bootstrap_servers, ""))
