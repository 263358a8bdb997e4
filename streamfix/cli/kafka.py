"""``streamfix kafka up|down|status``: the local Apache Kafka broker;
``console-consumer`` and Kafka's other tools."""

from __future__ import annotations

import os
import sys

import click

from streamfix.errors import BrokerError
from streamfix.runtime.settings import load_settings


@click.group("kafka")
def command() -> None:
    """Run a local Apache Kafka broker (KRaft, single node) on 127.0.0.1.

    The port comes from STREAMFIX_KAFKA_PORT (default 9092), files live in STREAMFIX_KAFKA_HOME
    (default .cache/kafka).
    """


def _local(port: int | None):  # type: ignore[no-untyped-def]
    from streamfix.kafka.local import LocalKafka

    settings = load_settings(**({"kafka_port": port} if port else {}))
    return LocalKafka(settings)


_port = click.option(
    "--port", type=int, default=None, help="Broker port (default: STREAMFIX_KAFKA_PORT or 9092)."
)


@command.command("up")
@_port
@click.option(
    "--timeout", type=float, default=90.0, show_default=True, help="Seconds to wait until it answers."
)
def up(port: int | None, timeout: float) -> None:
    """Resolve the broker (once), format its storage (once), start it and wait until it answers."""
    try:
        status = _local(port).up(timeout=timeout)
    except BrokerError as exc:
        click.echo(f"streamfix kafka up: {exc}", err=True)
        sys.exit(1)
    click.echo(status.describe())


@command.command("down")
@_port
def down(port: int | None) -> None:
    """Stop the broker that `up` started (only that process)."""
    stopped = _local(port).down()
    click.echo("stopped" if stopped else "not running")


@command.command("status")
@_port
def status(port: int | None) -> None:
    """Say whether the broker runs and answers; exit 0 only when it is up and answering."""
    current = _local(port).status()
    click.echo(current.describe())
    sys.exit(0 if current.running and current.answering else 3)


def _tool(name: str, help_text: str) -> None:
    @command.command(
        name,
        help=help_text,
        context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    )
    @_port
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def run(port: int | None, args: tuple[str, ...]) -> None:
        local = _local(port)
        settings = load_settings(**({"kafka_port": port} if port else {}))
        bootstrap = f"127.0.0.1:{port}" if port else settings.bootstrap_servers
        if name.startswith("console-") and args and not args[0].startswith("-"):
            args = ("--topic", *args)  # `console-consumer TOPIC ...`
        try:
            cmd = local.tool_command(name, args, bootstrap)
        except BrokerError as exc:
            click.echo(f"streamfix kafka {name}: {exc}", err=True)
            sys.exit(1)
        os.execv(cmd[0], cmd)


_tool(
    "console-consumer",
    "Kafka's console consumer: `streamfix kafka console-consumer TOPIC --from-beginning`.\n\n"
    "Arguments after the command go to Kafka's tool as they are; --bootstrap-server is set for you.",
)
_tool("console-producer", "Kafka's console producer: `streamfix kafka console-producer TOPIC`.")
_tool(
    "consumer-groups",
    "Kafka's consumer-group tool: `streamfix kafka consumer-groups --describe --all-groups`.",
)
_tool("topics", "Kafka's topic tool: `streamfix kafka topics --list`.")
