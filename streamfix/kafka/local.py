"""A real Apache Kafka broker on 127.0.0.1 for development, demos and tests.

The broker's jars are resolved from Maven Central by ``deploy/kafka/pom.xml`` into a cache folder;
the broker runs in KRaft mode (combined broker and controller, single node) with a bounded heap.
Everything it owns (jars, data, config, PID, log) lives under ``settings.kafka_home``:

    <kafka_home>/lib-<version>/           jars (shared by every port)
    <kafka_home>/port-<port>/server.properties, data/, broker.pid, broker.log

``up`` is idempotent, ``down`` stops only the PID that ``up`` recorded, and ``status`` checks both
the process and whether the port answers a metadata request.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from streamfix.errors import BrokerError
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "the local Kafka broker needs Java 17+ and Maven (apt-get install openjdk-17-jre-headless maven); "
    "or run `docker compose up kafka` and set STREAMFIX_BROKER=kafka://127.0.0.1:9092"
)
_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


# Kafka's reserved ids (org.apache.kafka.common.Uuid): ZERO_UUID and METADATA_TOPIC_ID.
_RESERVED_IDS = frozenset({bytes(16), bytes(15) + b"\x01"})
CONSOLE_TOOLS = {
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "topics": "org.apache.kafka.tools.TopicCommand",
}
_TOOLS_LOG4J2 = """\
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
"""


def cluster_id(random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """A KRaft cluster id as Kafka's ``Uuid.randomUuid()`` makes one: 16 random bytes, URL-safe base64
    without padding, drawn again while the id is reserved or starts with ``-`` (the storage tool would
    read such an id as an option)."""
    while True:
        raw = random_bytes()
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if raw not in _RESERVED_IDS and not text.startswith("-"):
            return text


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def pom_path() -> Path:
    return repo_root() / "deploy" / "kafka" / "pom.xml"


def kafka_version(pom: Path | None = None) -> str:
    text = (pom or pom_path()).read_text(encoding="utf-8")
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", text)
    if match is None:
        raise BrokerError(f"no <kafka.version> in {pom or pom_path()}")
    return match.group(1).strip()


@dataclass(frozen=True)
class Status:
    pid: int | None
    running: bool
    answering: bool
    port: int

    def describe(self) -> str:
        if self.running and self.answering:
            return f"running: pid {self.pid}, answering on 127.0.0.1:{self.port}"
        if self.running:
            return f"starting or unhealthy: pid {self.pid} is alive but 127.0.0.1:{self.port} does not answer"
        if self.answering:
            return f"not started by streamfix, but a Kafka broker answers on 127.0.0.1:{self.port}"
        return f"stopped (nothing on 127.0.0.1:{self.port})"


class LocalKafka:
    """Resolve, start, check and stop the local broker described by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.port = settings.kafka_port
        self.controller_port = settings.kafka_controller_port or settings.kafka_port + 1
        self.heap = settings.kafka_heap
        self.home = settings.kafka_home.expanduser().resolve()
        self.version = kafka_version()
        self.lib = self.home / f"lib-{self.version}"
        self.dir = self.home / f"port-{self.port}"
        self.pid_file = self.dir / "broker.pid"
        self.log_file = self.dir / "broker.log"
        self.config_file = self.dir / "server.properties"

    # --- resolution -------------------------------------------------------------------------------
    def resolve(self) -> Path:
        """Copy the broker's and tools' jars from Maven Central into the cache (again when the pom changes)."""
        marker = self.lib / ".complete"
        digest = hashlib.sha256(pom_path().read_bytes()).hexdigest()
        if marker.exists() and marker.read_text(encoding="utf-8").strip() == digest:
            return self.lib
        java, mvn = shutil.which("java"), shutil.which("mvn")
        if java is None or mvn is None:
            raise BrokerError(INSTALL_HINT)
        tmp = self.home / f"lib-{self.version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        # Maven's own default is the passwd entry's home, which a service account may not be able to write;
        # $HOME (what every other tool here uses) is where a user expects ~/.m2
        repo = Path(os.path.expanduser("~")) / ".m2" / "repository"
        cmd = [mvn, "-q", "-B", "-f", str(pom_path()), "dependency:copy-dependencies", f"-DoutputDirectory={tmp}",
               f"-Dmaven.repo.local={repo}"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise BrokerError("resolving Kafka with Maven failed: " + " | ".join(tail))
        shutil.rmtree(self.lib, ignore_errors=True)
        tmp.rename(self.lib)
        (self.lib / ".complete").write_text(digest, encoding="utf-8")
        return self.lib

    # --- state ------------------------------------------------------------------------------------
    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text(encoding="utf-8").strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _is_our_broker(pid, self.config_file) else None

    def status(self) -> Status:
        pid = self._pid()
        return Status(pid=pid, running=pid is not None, answering=answers_metadata(self.port), port=self.port)

    # --- up/down ----------------------------------------------------------------------------------
    def up(self, timeout: float = 90.0) -> Status:
        current = self.status()
        if current.running:
            if not current.answering:
                self._wait_ready(current.pid, timeout)
            return self.status()
        if current.answering or _port_taken(self.port) or _port_taken(self.controller_port):
            raise BrokerError(
                f"port {self.port} or {self.controller_port} on 127.0.0.1 is taken by another process; "
                "stop it or set STREAMFIX_KAFKA_PORT"
            )
        java = shutil.which("java")
        if java is None:
            raise BrokerError(INSTALL_HINT)
        lib = self.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        classpath = f"{lib}/*"
        if not (self.dir / "data" / "meta.properties").exists():
            fmt = [java, "-cp", classpath, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id()}",
                   "-c", str(self.config_file)]
            done = subprocess.run(fmt, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise BrokerError(f"formatting Kafka storage failed: {(done.stdout + done.stderr).strip()[-400:]}")
        cmd = [
            java, f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true", f"-Dkafka.logs.dir={self.dir}",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp", classpath, "kafka.Kafka", str(self.config_file),
        ]
        with open(self.dir / "stdout.log", "ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.dir,
            )
        self.pid_file.write_text(str(proc.pid), encoding="utf-8")
        self._wait_ready(proc.pid, timeout, proc)
        return self.status()

    def tool_command(self, tool: str, args: Sequence[str], bootstrap: str) -> list[str]:
        """The command line of one of Kafka's own tools (:data:`CONSOLE_TOOLS`) against ``bootstrap``."""
        java = shutil.which("java")
        if java is None:
            raise BrokerError(INSTALL_HINT)
        if tool not in CONSOLE_TOOLS:
            raise BrokerError(f"unknown Kafka tool {tool!r}; one of {', '.join(sorted(CONSOLE_TOOLS))}")
        lib = self.resolve()
        config = self.home / "tools-log4j2.properties"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(_TOOLS_LOG4J2, encoding="utf-8")
        return [java, "-Xmx256m", f"-Dlog4j2.configurationFile={config}", "-cp", f"{lib}/*",
                CONSOLE_TOOLS[tool], "--bootstrap-server", bootstrap, *args]

    def _wait_ready(self, pid: int | None, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(f"the Kafka broker exited with {proc.returncode}; see {self.dir}/stdout.log")
            if answers_metadata(self.port):
                return
            time.sleep(0.2)
        raise BrokerError(f"the Kafka broker (pid {pid}) did not answer within {timeout:.0f} s; see {self.log_file}")

    def down(self, timeout: float = 30.0) -> bool:
        """Stop the broker ``up`` started. Returns False if it was not running."""
        pid = self._pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _write_config(self) -> None:
        (self.dir / "log4j2.properties").write_text(_LOG4J2, encoding="utf-8")
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.dir / "data"),
            "num.partitions": "4",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(16 * 1024 * 1024),
            "log.retention.hours": "24",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")


def answers_metadata(port: int, host: str = "127.0.0.1", timeout: float = 3.0) -> bool:
    """True when a Kafka broker on host:port answers a metadata request."""
    if not _port_taken(port, host):
        return False
    from aiokafka.errors import KafkaError

    from streamfix.kafka.clients import new_admin

    async def probe() -> bool:
        admin = new_admin(f"{host}:{port}", request_timeout_ms=int(timeout * 1000))
        try:
            await asyncio.wait_for(admin.start(), timeout)
            await asyncio.wait_for(admin.list_topics(), timeout)
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await admin.close()
        return True

    return asyncio.run(probe())


def _port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return waited == 0


def _is_our_broker(pid: int, config_file: Path) -> bool:
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline and str(config_file).encode() in cmdline
