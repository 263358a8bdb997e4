"""Progress line: rendered on a terminal, silent when piped."""

from __future__ import annotations

import io

from streamfix.tools.progress import Progress, format_duration, render


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_render() -> None:
    assert render("scan", 1500, 2.0, 0.25) == "scan: 1,500 lines, 750 lines/s, 25.0%, ETA 0:06"
    assert render("replay", 10, 0.0, None) == "replay: 10 lines, 0 lines/s"
    assert format_duration(3725) == "1:02:05"


def test_terminal_gets_redrawn_line() -> None:
    now = [0.0]
    out = Tty()
    with Progress(out, label="scan", total=100, clock=lambda: now[0], min_interval=1) as p:
        now[0] = 1.0
        p.update(10, position=50)
        now[0] = 1.5
        p.update(10, position=60)  # throttled
    text = out.getvalue()
    assert text.startswith("\rscan: 10 lines, 10 lines/s, 50.0%, ETA 0:01")
    assert text.endswith("\n")
    assert text.count("\r") == 2


def test_quiet_when_piped() -> None:
    out = io.StringIO()
    with Progress(out, total=10) as p:
        p.update(5, position=5)
    assert out.getvalue() == ""
