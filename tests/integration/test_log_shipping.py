"""With LOKI_ENABLED, the worker and the fixer ship their own logs to Loki for as long as they run.

Faust's logging setup (``logging.config.dictConfig``) closes every handler that exists when the worker
starts, the Loki shipper's thread included; records logged after it must still arrive.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import orjson
import pytest

from streamfix.runtime.settings import Settings
from streamfix.tools.procs import settings_env
from tests.fakes.loki_server import FakeLoki

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _records(loki: FakeLoki) -> list[dict[str, object]]:
    out = []
    for stream in loki.pushed:
        for _ts, line in stream["values"]:
            out.append(orjson.loads(line))
    return out


@pytest.mark.parametrize("role", ["worker", "fixer"])
async def test_process_ships_logs_after_faust_starts(role: str, kafka_settings: Settings) -> None:
    async with FakeLoki() as loki:
        env = settings_env(kafka_settings, LOKI_ENABLED="true", LOKI_PUSH_URL=f"{loki.url}/loki/api/v1/push",
                           STREAMFIX_LOG_FORMAT="json")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "streamfix", role, env=env,
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            async def started() -> None:
                # faust logs "Starting..." for each service once its logging is set up
                while not any(r.get("logger") == "faust.worker" and r.get("process") == role
                              for r in _records(loki)):
                    loki.pushed_event.clear()
                    await loki.pushed_event.wait()

            await asyncio.wait_for(started(), timeout=120)
            assert {r.get("process") for r in _records(loki)} == {role}
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), timeout=60)
