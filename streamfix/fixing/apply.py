"""Safe apply of search/replace edits to a checkout.

:func:`plan` reads files and checks every rule, writing nothing; :func:`write` writes a plan that
passed. A plan is refused with :class:`UnsafeEdit` (its ``reason`` becomes the ``fix_invalid`` error)
when an edit's path:

- is absolute, empty, contains a NUL, or leaves the checkout (``..``);
- names or goes through ``.git``;
- goes through a symbolic link anywhere along it, or resolves outside the checkout;
- matches a blocked glob (``.github/workflows/``, ``**/secrets*``, ``**/migrations/`` by default);
- is not an existing regular file;

or when a search block does not occur exactly once, a Python file no longer compiles, or the diff
has more changed lines than the cap.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from streamfix.errors import FixError


class UnsafeEdit(FixError):
    """An edit was refused; nothing was written."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Edit:
    path: str
    search: str
    replace: str


@dataclass(frozen=True, slots=True)
class Plan:
    """New contents per repo path, and the unified diff of the whole change."""

    files: dict[str, str]
    diff: str
    changed_lines: int

    @property
    def paths(self) -> list[str]:
        return sorted(self.files)


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``**/`` any folders, ``*`` within one component, ``?`` one character; ``dir/`` blocks a folder."""
    folder = pattern.endswith("/")
    body = pattern.rstrip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    tail = "/.*" if folder else "(?:/.*)?"
    return re.compile("".join(out) + tail + r"\Z", re.IGNORECASE)


def is_blocked(path: str, blocked: Sequence[str]) -> str | None:
    """The first blocked glob that ``path`` (a normalised repo path) matches."""
    for pattern in blocked:
        if _glob_regex(pattern).match(path):
            return pattern
    return None


def check_path(root: Path, raw: str, blocked: Sequence[str]) -> Path:
    """Validate one edit path and return the file it names inside ``root``."""
    if not raw or "\0" in raw or "\\" in raw:
        raise UnsafeEdit(raw, "invalid path")
    posix = PurePosixPath(raw)
    if posix.is_absolute():
        raise UnsafeEdit(raw, "absolute path outside the repository")
    if any(part == ".." for part in posix.parts):
        raise UnsafeEdit(raw, "path escapes the repository (..)")
    parts = [p for p in posix.parts if p != "."]
    if not parts:
        raise UnsafeEdit(raw, "invalid path")
    if any(part.lower() == ".git" for part in parts):
        raise UnsafeEdit(raw, "path inside .git")
    normal = "/".join(parts)
    pattern = is_blocked(normal, blocked)
    if pattern is not None:
        raise UnsafeEdit(raw, f"path is blocked ({pattern})")
    real_root = root.resolve()
    current = real_root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise UnsafeEdit(raw, "path goes through a symbolic link")
    target = real_root.joinpath(*parts)
    resolved = target.resolve()
    if resolved != target or not resolved.is_relative_to(real_root):
        raise UnsafeEdit(raw, "path resolves outside the repository")
    if not target.is_file():
        raise UnsafeEdit(raw, "not an existing file")
    return target


def plan(root: Path, edits: Sequence[Edit], *, blocked: Sequence[str], max_diff_lines: int) -> Plan:
    """Check every edit and compute the new file contents; writes nothing."""
    if not edits:
        raise UnsafeEdit("-", "no edits")
    originals: dict[str, str] = {}
    contents: dict[str, str] = {}
    for edit in edits:
        target = check_path(root, edit.path, blocked)
        key = target.relative_to(root.resolve()).as_posix()
        if key not in contents:
            try:
                text = target.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError) as exc:
                raise UnsafeEdit(edit.path, f"cannot read as UTF-8 text ({exc.__class__.__name__})") from None
            originals[key] = contents[key] = text
        if not edit.search:
            raise UnsafeEdit(edit.path, "empty search block")
        found = contents[key].count(edit.search)
        if found != 1:
            raise UnsafeEdit(edit.path, f"search block matches {found} times, expected exactly once")
        contents[key] = contents[key].replace(edit.search, edit.replace, 1)
    diff_parts: list[str] = []
    changed = 0
    for key in sorted(contents):
        if key.endswith(".py"):
            try:
                compile(contents[key], key, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                raise UnsafeEdit(key, f"does not compile after the edit: {exc}") from None
        lines = list(
            difflib.unified_diff(
                originals[key].splitlines(keepends=True),
                contents[key].splitlines(keepends=True),
                fromfile=f"a/{key}",
                tofile=f"b/{key}",
            )
        )
        changed += sum(1 for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---")))
        diff_parts.extend(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
        )
    if changed == 0:
        raise UnsafeEdit("-", "the edits change nothing")
    if changed > max_diff_lines:
        raise UnsafeEdit("-", f"diff has {changed} changed lines, more than the cap of {max_diff_lines}")
    changed_files = {k: v for k, v in contents.items() if v != originals[k]}
    return Plan(files=changed_files, diff="".join(diff_parts), changed_lines=changed)


def write(root: Path, planned: Plan, *, blocked: Sequence[str]) -> None:
    """Write a checked plan; every path is checked again just before its write."""
    for key, text in planned.files.items():
        target = check_path(root, key, blocked)
        flags = os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
