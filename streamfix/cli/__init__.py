"""The ``streamfix`` command line.

Subcommands are loaded lazily, so that ``streamfix templates`` or ``streamfix extract`` do not pay for
importing Faust, aiokafka or the SDKs. Each entry of :data:`COMMANDS` names ``module:attribute`` of a
:class:`click.Command`.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from streamfix import __version__

COMMANDS: dict[str, str] = {
    "kafka": "streamfix.cli.kafka:command",
    "worker": "streamfix.cli.worker:command",
    "fixer": "streamfix.cli.worker:fixer_command",
    "replay": "streamfix.cli.replay:command",
    "extract": "streamfix.cli.extract:command",
    "templates": "streamfix.cli.templates:command",
    "watch": "streamfix.cli.watch:command",
    "scan": "streamfix.cli.watch:scan_command",
    "fix": "streamfix.cli.fix:command",
    "bench": "streamfix.cli.bench:command",
    "demo": "streamfix.cli.demo:command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when they are invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        command: Any = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="streamfix")
def main() -> None:
    """streamfix: turn production logs into grouped errors and reviewed fix pull requests."""
