"""Clients nobody here wrote: a Java producer (Apache kafka-clients from Maven Central) and kcat
(librdkafka, Debian package ``kafkacat``) send valid batches with every codec plus poison records.
Every valid batch counts once, every poison record reaches the dead-letter topic, the worker never
restarts."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import orjson
import pytest

from streamfix.kafka.clients import ensure_topics
from streamfix.kafka.wire import DeadLetter
from streamfix.runtime.settings import Settings
from streamfix.tools.replay import batches
from tests.integration.helpers import (
    expected_counts,
    read_topic,
    running_worker,
    synth_streams,
    wait_counts,
)
from tests.integration.test_wire_robustness import wait_metric

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]
REPO_ROOT = Path(__file__).resolve().parents[2]
JAVA_PRODUCER = REPO_ROOT / "tests" / "fixtures" / "java-producer"
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
BATCH = 150


@pytest.fixture(scope="module")
def java_producer(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    java, javac, mvn = shutil.which("java"), shutil.which("javac"), shutil.which("mvn")
    if not (java and javac and mvn):
        pytest.skip("the Java producer needs a JDK 17+ (java, javac) and Maven")
    out = tmp_path_factory.mktemp("java-producer")
    subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(JAVA_PRODUCER / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={out / 'lib'}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    subprocess.run(
        [
            javac,
            "-d",
            str(out / "classes"),
            "-cp",
            f"{out / 'lib'}/*",
            str(JAVA_PRODUCER / "src" / "main" / "java" / "SendRecords.java"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return [java, "-cp", f"{out / 'classes'}:{out / 'lib'}/*", "SendRecords"]


@pytest.fixture(scope="module")
def kcat() -> str:
    found = shutil.which("kcat") or shutil.which("kafkacat")
    if found is None:
        pytest.skip(
            "kcat is not installed: apt-get install kafkacat (`make test` installs it when run as root)"
        )
    return found


def poison(stream: str) -> list[tuple[bytes, bytes, str]]:
    """(key, value, reason) of one poison record of each kind."""
    good = {"batch_id": f"{stream}:p", "source": "test", "stream": stream, "lines": ["x"], "sent_at": 1.5}
    return [
        (stream.encode(), b"{not json", "invalid_json"),
        (stream.encode(), b"\xff\xfe\x00 not utf-8", "invalid_utf8"),
        (stream.encode(), b"[1, 2, 3]", "schema_mismatch"),
        (stream.encode(), orjson.dumps({**good, "seq": "3"}), "schema_mismatch"),
        (stream.encode(), orjson.dumps({**good, "auto_fix": "yes"}), "schema_mismatch"),
        (stream.encode(), orjson.dumps({**good, "sent_at": "1.5"}), "schema_mismatch"),
        (stream.encode(), orjson.dumps({**good, "schema_version": 2}), "unsupported_schema_version"),
        (stream.encode(), orjson.dumps({**good, "schema_version": "2"}), "schema_mismatch"),
    ]


def valid(stream: str, lines: list[str]) -> list[tuple[bytes, bytes]]:
    return [
        (stream.encode(), b.dumps())
        for b in batches(
            lines,
            stream=stream,
            source="test",
            labels={"service": stream.split(":")[0]},
            size=BATCH,
            fmt="railway",
            run_id=stream,
        )
    ]


def send_java(
    cmd: list[str], settings: Settings, topic: str, codec: str, records: list[tuple[bytes, bytes]]
) -> None:
    text = "".join(f"{base64.b64encode(k).decode()}\t{base64.b64encode(v).decode()}\n" for k, v in records)
    done = subprocess.run(
        [*cmd, settings.bootstrap_servers, topic, codec],
        input=text.encode(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert int(done.stdout.split()[-1]) == len(records)


def send_kcat(
    binary: str, settings: Settings, topic: str, codec: str, records: list[tuple[bytes, bytes]]
) -> None:
    assert all(b"\n" not in v and b"\t" not in k for k, v in records)
    data = b"".join(k + b"\t" + v + b"\n" for k, v in records)
    done = subprocess.run(
        [
            binary,
            "-P",
            "-b",
            settings.bootstrap_servers,
            "-t",
            topic,
            "-K",
            "\t",
            "-z",
            codec,
            "-X",
            "topic.partitioner=murmur2_random",
            "-X",
            "acks=all",
        ],
        input=data,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_java_and_kcat_batches_with_every_codec_and_poison(
    kafka_settings: Settings, tmp_path: Path, java_producer: list[str], kcat: str
) -> None:
    asyncio.run(ensure_topics(kafka_settings))
    raw = f"{kafka_settings.topic_prefix}.logs.raw"
    synth = list(synth_streams(12_000, seed=61, streams=10, error_rate=0.03).values())
    streams: dict[str, list[str]] = {}
    poisons: list[tuple[bytes, bytes, str]] = []
    n = 0
    with running_worker(kafka_settings, tmp_path / "worker.log") as proc:
        pid = proc.pid
        for client in ("java", "kcat"):
            for codec in CODECS:
                stream = f"{client}-{codec}:svc"
                streams[stream] = synth[n % len(synth)]
                n += 1
                bad = poison(stream)
                poisons += bad
                records = valid(stream, streams[stream])
                # poison in the middle of the valid batches, as it would arrive in real traffic
                records[len(records) // 2 : len(records) // 2] = [(k, v) for k, v, _ in bad]
                if client == "java":
                    send_java(java_producer, kafka_settings, raw, codec, records)
                else:
                    send_kcat(kcat, kafka_settings, raw, codec, records)
                assert proc.poll() is None, "the worker stopped"
        expected = expected_counts(streams, batch_size=BATCH)
        letters = asyncio.run(
            read_topic(
                kafka_settings, f"{kafka_settings.topic_prefix}.dead-letters", len(poisons), wait_s=180
            )
        )
        batches_sent = sum(len(valid(s, lines)) for s, lines in streams.items())
        wait_metric(kafka_settings, "streamfix_batches_ingested_total", batches_sent, timeout=180)
        counts = wait_counts(kafka_settings, expected, timeout=120)
        assert proc.poll() is None and proc.pid == pid, "the worker restarted"
        assert wait_metric(kafka_settings, "streamfix_batches_duplicate_total", 0) == 0
    dead = Counter(
        (DeadLetter.loads(m.value).original_value(), DeadLetter.loads(m.value).reason) for m in letters
    )
    assert dead == Counter((v, reason) for _, v, reason in poisons)
    assert counts == expected
