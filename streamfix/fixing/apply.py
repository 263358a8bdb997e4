"""Safe apply of search/replace edits to a checkout.

:func:`plan` reads files and checks every rule, writing nothing; :func:`write` writes a plan that
passed. A plan is refused with :class:`UnsafeEdit` (its ``reason`` becomes the ``fix_invalid`` error)
when an edit's path:

- is absolute, empty, contains a NUL, or leaves the checkout (``..``);
- names or goes through ``.git``;
- goes through a symbolic link anywhere along it, or resolves outside the checkout;
- is over-long, or is not valid Unicode text (lone surrogates), or holds invisible characters;
- matches a blocked glob (``.github/workflows/``, ``**/secrets*``, ``**/migrations/`` by default);
- is refused by the edit policy (:mod:`streamfix.core.editpolicy`): by default only the in-app source
  files named in the error's frames may change, and sensitive files never without a setting;
- is not an existing regular file;

or when a search block does not occur exactly once, a Python file no longer compiles, the content
policy refuses what an edit adds, or the diff has more changed lines than the cap. Secrets in what an
edit adds are redacted before anything else looks at it. Files are written atomically (a temporary file
in the same folder, then a rename); a failed write ends the fix as ``fix_invalid``.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from streamfix.core import editpolicy
from streamfix.core.editpolicy import EditContext, EditPolicy
from streamfix.core.untrusted import is_invisible
from streamfix.errors import FixError
from streamfix.runtime.redaction import scrub_code

MAX_PATH_CHARS = 1024
MAX_COMPONENT_CHARS = 255


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


def is_blocked(path: str, blocked: Sequence[str]) -> str | None:
    """The first blocked glob that ``path`` (a normalised repo path) matches."""
    return editpolicy.matches(path, blocked)


def _printable(raw: str) -> str:
    """The path as it may appear in a reason: bounded and without control or invisible characters."""
    shown = raw[:120].encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(ch if ch.isprintable() and not is_invisible(ch) else "?" for ch in shown)


def check_path(
    root: Path,
    raw: str,
    blocked: Sequence[str],
    policy: EditPolicy | None = None,
    context: EditContext | None = None,
) -> Path:
    """Validate one edit path and return the file it names inside ``root``."""
    shown = _printable(raw)
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeEdit(shown, "path is not valid Unicode text") from None
    if len(raw) > MAX_PATH_CHARS or any(len(p) > MAX_COMPONENT_CHARS for p in raw.split("/")):
        raise UnsafeEdit(shown, "path is too long")
    if any(not ch.isprintable() or is_invisible(ch) for ch in raw):
        raise UnsafeEdit(shown, "path holds control or invisible characters")
    if not raw or "\\" in raw:
        raise UnsafeEdit(shown, "invalid path")
    posix = PurePosixPath(raw)
    if posix.is_absolute():
        raise UnsafeEdit(shown, "absolute path outside the repository")
    if any(part == ".." for part in posix.parts):
        raise UnsafeEdit(shown, "path escapes the repository (..)")
    parts = [p for p in posix.parts if p != "."]
    if not parts:
        raise UnsafeEdit(shown, "invalid path")
    if any(part.lower() == ".git" for part in parts):
        raise UnsafeEdit(shown, "path inside .git")
    normal = "/".join(parts)
    pattern = is_blocked(normal, blocked)
    if pattern is not None:
        raise UnsafeEdit(shown, f"path is blocked ({pattern})")
    real_root = root.resolve()
    current = real_root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise UnsafeEdit(shown, "path goes through a symbolic link")
    target = real_root.joinpath(*parts)
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        raise UnsafeEdit(shown, "path cannot be resolved") from None
    if resolved != target or not resolved.is_relative_to(real_root):
        raise UnsafeEdit(shown, "path resolves outside the repository")
    if policy is not None:
        why = editpolicy.check_path(normal, policy, context or EditContext())
        if why is not None:
            raise UnsafeEdit(shown, why)
    try:
        regular = target.is_file()
    except OSError:
        regular = False
    if not regular:
        raise UnsafeEdit(shown, "not an existing file")
    return target


def plan(
    root: Path,
    edits: Sequence[Edit],
    *,
    blocked: Sequence[str],
    max_diff_lines: int,
    policy: EditPolicy | None = None,
    context: EditContext | None = None,
    known: Iterable[str] = (),
) -> Plan:
    """Check every edit and compute the new file contents; writes nothing.

    Without ``policy`` only the path checks and the blocklist apply (as for an operator's own tools).
    """
    if not edits:
        raise UnsafeEdit("-", "no edits")
    known = tuple(known)
    originals: dict[str, str] = {}
    contents: dict[str, str] = {}
    for raw_edit in edits:
        target = check_path(root, raw_edit.path, blocked, policy, context)
        for text in (raw_edit.search, raw_edit.replace):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise UnsafeEdit(raw_edit.path, "edit is not valid Unicode text (lone surrogates)") from None
        edit = Edit(raw_edit.path, raw_edit.search, scrub_code(raw_edit.replace, where="edit", known=known))
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
        if policy is not None:
            why = editpolicy.check_content(key, originals[key], contents[key], policy, context or EditContext())
            if why is not None:
                raise UnsafeEdit(key, why)
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
    """Write a checked plan; every path is checked again just before its write.

    Each file is written to a temporary file in its own folder and renamed over the original, so a
    failure leaves the old content whole. A failure raises :class:`UnsafeEdit`.
    """
    for key, text in planned.files.items():
        target = check_path(root, key, blocked)
        tmp: str | None = None
        try:
            mode = target.stat().st_mode & 0o7777
            fd, tmp = tempfile.mkstemp(prefix=".streamfix-", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, target)
            tmp = None
        except (OSError, UnicodeEncodeError) as exc:
            raise UnsafeEdit(key, f"cannot write the file ({exc.__class__.__name__})") from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
