"""Fingerprints: stable across processes, blind to line numbers and values, sharp on type and frames."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streamfix.core.fingerprint import (
    PREFIX,
    fingerprint_event,
    fingerprint_message,
    fingerprint_template,
    frame_key,
    normalize_path,
)
from streamfix.core.models import Frame

REPO = Path(__file__).resolve().parents[3]

APP_STACK = (
    Frame(
        "/usr/lib/python3.11/site-packages/httpx/_client.py",
        1010,
        "send",
        in_app=False,
        module="httpx._client",
    ),
    Frame("/srv/app/api/orders.py", 42, "create_order", module="api.orders"),
    Frame("/srv/app/db/pool.py", 7, "acquire", module="db.pool"),
)


def moved(frames: tuple[Frame, ...], delta: int) -> tuple[Frame, ...]:
    return tuple(
        Frame(f.file, (f.line or 0) + delta, f.function, f.in_app, f.module, "changed code") for f in frames
    )


# (id, (type, frames, message), (type, frames, message)) that must fingerprint the same.
SAME = [
    (
        "line-numbers-and-code-ignored",
        ("TimeoutError", APP_STACK, "a"),
        ("TimeoutError", moved(APP_STACK, 30), "a"),
    ),
    ("message-ignored-with-stack", ("KeyError", APP_STACK, "'user_1'"), ("KeyError", APP_STACK, "'user_2'")),
    (
        "library-frames-ignored",
        ("ValueError", APP_STACK, "x"),
        ("ValueError", (Frame("/venv/lib/other.py", 3, "wrap", in_app=False), *APP_STACK[1:]), "x"),
    ),
    (
        "message-values-ignored-without-stack",
        ("TimeoutError", (), "timeout after 30s talking to 10.0.0.1:5432"),
        ("TimeoutError", (), "timeout after 45s talking to 10.0.0.7:5432"),
    ),
    (
        "ids-and-uuids-ignored",
        ("NotFound", (), "order 1234 for 5c5ad4e4-1f8b-4c2a-9d1e-2b4c8a9e7f01 missing"),
        ("NotFound", (), "order 98 for 0b0ad4e4-1f8b-4c2a-9d1e-2b4c8a9e7f99 missing"),
    ),
    (
        "whitespace-ignored-without-stack",
        ("E", (), "connection  reset\tby peer"),
        ("E", (), "connection reset by peer "),
    ),
    (
        "deploy-root-ignored-without-module",
        ("E", (Frame("/srv/a/site-packages/app/x.py", 1, "f"),), ""),
        ("E", (Frame("/opt/b/site-packages/app/x.py", 9, "f"),), ""),
    ),
]

# (id, left, right) that must fingerprint differently.
DIFFERENT = [
    ("error-type", ("TimeoutError", APP_STACK, "a"), ("ConnectionError", APP_STACK, "a")),
    (
        "in-app-function",
        ("E", APP_STACK, "a"),
        ("E", (*APP_STACK[:2], Frame("/srv/app/db/pool.py", 7, "release")), "a"),
    ),
    (
        "in-app-module",
        ("E", APP_STACK, "a"),
        ("E", (*APP_STACK[:2], Frame("/srv/app/db/x.py", 7, "acquire", module="db.x")), "a"),
    ),
    (
        "extra-in-app-frame",
        ("E", APP_STACK, "a"),
        ("E", (*APP_STACK, Frame("/srv/app/db/conn.py", 1, "open")), "a"),
    ),
    ("message-words-without-stack", ("E", (), "disk full on /var"), ("E", (), "disk missing on /var")),
    ("type-without-stack", ("E1", (), "disk full"), ("E2", (), "disk full")),
    ("stack-vs-no-stack", ("E", APP_STACK, "boom"), ("E", (), "boom")),
]


@pytest.mark.parametrize(("left", "right"), [c[1:] for c in SAME], ids=[c[0] for c in SAME])
def test_same_fingerprint(
    left: tuple[str, tuple[Frame, ...], str], right: tuple[str, tuple[Frame, ...], str]
) -> None:
    assert fingerprint_event(*left) == fingerprint_event(*right)


@pytest.mark.parametrize(("left", "right"), [c[1:] for c in DIFFERENT], ids=[c[0] for c in DIFFERENT])
def test_different_fingerprint(
    left: tuple[str, tuple[Frame, ...], str], right: tuple[str, tuple[Frame, ...], str]
) -> None:
    assert fingerprint_event(*left) != fingerprint_event(*right)


def test_format_is_versioned_hex() -> None:
    fp = fingerprint_event("E", APP_STACK, "m")
    assert fp.startswith(PREFIX)
    assert PREFIX == "fp1:"
    assert len(fp) == len(PREFIX) + 32
    int(fp[len(PREFIX) :], 16)


def test_known_values_are_pinned() -> None:
    """A change here changes every stored fingerprint: bump FINGERPRINT_VERSION when it is intended."""
    assert fingerprint_message("E", "x 1") == fingerprint_message("E", "x 2")
    assert fingerprint_event("E", (), "x 1") == fingerprint_message("E", "x 1")
    assert fingerprint_event("TimeoutError", APP_STACK, "ignored") == "fp1:0ce2f414fb3fbd2eb428443d89cb9aac"
    assert (
        fingerprint_event("TimeoutError", (), "timeout after 30s talking to 10.0.0.1:5432")
        == "fp1:f8964b2f68d48629ec3b731f235ada64"
    )


def test_stable_across_processes() -> None:
    code = (
        "from streamfix.core.fingerprint import fingerprint_event as f;"
        "from streamfix.core.models import Frame;"
        "print(f('E', (Frame('a.py', 1, 'g', module='m'),), 'x'), f('E', (), 'took 5ms'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2", "random")
    }
    assert len(outputs) == 1
    here = f"{fingerprint_event('E', (Frame('a.py', 1, 'g', module='m'),), 'x')} {fingerprint_event('E', (), 'took 5ms')}\n"  # noqa: E501
    assert outputs == {here}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/usr/lib/python3.11/site-packages/requests/api.py", "requests/api.py"),
        ("C:\\venv\\Lib\\site-packages\\app\\x.py", "app/x.py"),
        ("./src/app.py", "src/app.py"),
        ("/srv/app/main.py", "/srv/app/main.py"),
    ],
    ids=["site-packages", "windows", "dot-slash", "absolute-kept"],
)
def test_normalize_path(path: str, expected: str) -> None:
    assert normalize_path(path) == expected


def test_frame_key_prefers_module_and_drops_line() -> None:
    assert frame_key(Frame("/x/y.py", 10, "run", module="pkg.y")) == "pkg.y:run"
    assert frame_key(Frame("/x/y.py", 10, "<lambda_3>")) == "/x/y.py:<lambda>"
    assert frame_key(Frame("Main.java", 10, "run$1", module="com.x.Main")) == "com.x.Main:run"


def test_template_fingerprint() -> None:
    assert fingerprint_template("a <*> b") == fingerprint_template("a <*> b")
    assert fingerprint_template("a <*> b") != fingerprint_template("a <*> c")
