"""Small failing programs: each one raises a real exception, and its docstring says what to expect.

``EXPECT type=<printed error type> function=<innermost in-app function> category=<category>``; the innermost in-app line
is marked with a ``RAISE-SITE`` comment. ``REQUIRES <module>`` skips the program when the module is
not installed, ``REQUIRES-BINARY <program>`` (``node``, ``java``, ``go``, ``rustc``, ``ruby``, ``mcs``) when the program is not on PATH
(``mcs`` also needs ``mono``: Debian's ``mono-mcs`` and ``mono-runtime``). They are run in subprocesses by the tests and by ``scripts/make_sample_logs.py``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
_EXPECT = re.compile(r"^(?:(?://|#)\s*)?EXPECT (?P<fields>.+)$", re.MULTILINE)
_REQUIRES = re.compile(r"^(?:(?://|#)\s*)?REQUIRES (?P<module>\S+)$", re.MULTILINE)
_REQUIRES_BINARY = re.compile(r"^(?:(?://|#)\s*)?REQUIRES-BINARY (?P<binary>\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Program:
    """One failing program and what its traceback must be extracted as."""

    name: str
    path: Path
    error_type: str
    function: str
    file: str
    line: int
    requires: str | None
    binary: str | None = None
    category: str | None = None

    @property
    def available(self) -> bool:
        if self.binary == "mcs":
            return shutil.which("mcs") is not None and shutil.which("mono") is not None
        if self.binary is not None:
            return shutil.which(self.binary) is not None
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    @property
    def missing(self) -> str:
        """What to install for the program to run (for a skip message)."""
        if self.binary == "mcs":
            return "mcs and mono (Debian: apt-get install mono-mcs mono-runtime)"
        return self.binary or self.requires or ""

    def run(self) -> str:
        """Run the program; return its stderr (the traceback).

        Go programs run with ``go run``; Rust programs are compiled with debug info and run with
        ``RUST_BACKTRACE=1``; C# programs are compiled with ``mcs -debug`` and run with ``mono --debug``
        (so their frames carry ``in FILE:LINE``).
        """
        env = None
        with tempfile.TemporaryDirectory() as build:
            if self.binary == "go":
                command = ["go", "run", str(self.path)]
            elif self.binary == "rustc":
                exe = str(Path(build) / self.name)
                subprocess.run(["rustc", "-g", "-o", exe, str(self.path)], check=True, timeout=120, capture_output=True)
                command = [exe]
                env = {**os.environ, "RUST_BACKTRACE": "1"}
            elif self.binary == "mcs":
                exe = str(Path(build) / f"{self.name}.exe")
                subprocess.run(["mcs", "-debug", f"-out:{exe}", str(self.path)], check=True, timeout=120, capture_output=True)
                command = ["mono", "--debug", exe]
            else:
                command = [self.binary or sys.executable, str(self.path)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=HERE, env=env)
        if done.returncode == 0:
            raise AssertionError(f"{self.name} did not fail")
        return done.stderr


def load(path: Path) -> Program:
    source = path.read_text()
    match = _EXPECT.search(source)
    if match is None:
        raise ValueError(f"{path} has no EXPECT line")
    fields = dict(item.split("=", 1) for item in match.group("fields").split())
    if "line" in fields:
        line = int(fields["line"])
    else:
        line = next(n for n, text in enumerate(source.splitlines(), 1) if "RAISE-SITE" in text and "EXPECT" not in text)
    requires = _REQUIRES.search(source)
    binary = _REQUIRES_BINARY.search(source)
    return Program(
        name=path.stem,
        path=path,
        error_type=fields["type"],
        function=fields["function"],
        file=fields.get("file", str(path)),
        line=line,
        requires=requires.group("module") if requires else None,
        binary=binary.group("binary") if binary else None,
        category=fields.get("category"),
    )


PROGRAMS: tuple[Program, ...] = tuple(
    load(path) for path in sorted(p for ext in ("py", "js", "java", "go", "rs", "rb", "cs") for p in HERE.glob(f"[a-z]*.{ext}"))
)
