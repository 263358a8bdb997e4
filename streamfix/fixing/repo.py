"""Repository context for an analysis: map runtime frame paths to repo files, cut bounded windows.

A runtime path such as ``/app/src/shop/pricing.py`` is mapped to the tracked repo file that shares
the longest suffix of path components with it (``src/shop/pricing.py``); ties go to the shortest repo
path, then alphabetical order, so the mapping is deterministic. For each mapped frame (innermost
first) a window of source lines around the frame's line is taken, plus the file's import lines, until
a character budget is spent.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from streamfix.kafka.wire import FrameRecord

log = logging.getLogger(__name__)

_NOT_APP = ("site-packages/", "dist-packages/", "/lib/python", "<frozen ", "<string>")


@dataclass(frozen=True, slots=True)
class SourceWindow:
    """Lines ``start..end`` (1-based, inclusive) of ``path``; ``focus`` is the frame's line."""

    path: str
    start: int
    end: int
    focus: int | None
    text: str
    imports: str


def _parts(path: str) -> list[str]:
    return [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", "")]


def map_path(runtime_path: str, files: Iterable[str]) -> str | None:
    """The repo file whose path components match the longest suffix of ``runtime_path``."""
    want = _parts(runtime_path)
    if not want:
        return None
    best: tuple[int, int, str] | None = None
    for name in files:
        have = _parts(name)
        n = 0
        while n < min(len(want), len(have)) and want[-1 - n] == have[-1 - n]:
            n += 1
        if n == 0:
            continue
        key = (-n, len(name), name)
        if best is None or key < (best[0], best[1], best[2]):
            best = key
    return best[2] if best else None


def is_app_frame(frame: FrameRecord, in_app_paths: Sequence[str]) -> bool:
    if in_app_paths:
        return any(frame.file.startswith(prefix) for prefix in in_app_paths)
    return frame.in_app and not any(marker in frame.file for marker in _NOT_APP)


def imports_of(source: str) -> str:
    """The module-level import statements of a Python file (or its leading import lines otherwise)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return "\n".join(line for line in source.splitlines()[:200] if line.startswith(("import ", "from ")))
    lines = source.splitlines()
    out = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            end = node.end_lineno or node.lineno
            out.extend(lines[node.lineno - 1 : end])
    return "\n".join(out)


def _numbered(lines: Sequence[str], start: int) -> str:
    return "\n".join(f"{start + i:>5} | {line}" for i, line in enumerate(lines))


def gather_context(
    root: Path,
    frames: Sequence[FrameRecord],
    files: Sequence[str],
    *,
    context_lines: int,
    max_chars: int,
    in_app_paths: Sequence[str] = (),
) -> list[SourceWindow]:
    """Windows around the app frames (innermost first), merged per file, within ``max_chars``."""
    wanted: dict[str, list[int | None]] = {}
    for frame in reversed(frames):
        if not is_app_frame(frame, in_app_paths):
            continue
        mapped = map_path(frame.file, files)
        if mapped is None:
            log.debug("frame not in repo", extra={"frame_file": frame.file})
            continue
        wanted.setdefault(mapped, []).append(frame.line)
    windows: list[SourceWindow] = []
    spent = 0
    for path, focus_lines in wanted.items():
        try:
            source = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines = source.splitlines()
        imports = imports_of(source)
        for focus in _merge_ranges(focus_lines, len(lines), context_lines):
            start, end, line = focus
            text = _numbered(lines[start - 1 : end], start)
            cost = len(text) + len(imports)
            if spent + cost > max_chars:
                room = max_chars - spent - len(imports)
                if room < 200:
                    return windows
                text = text[:room]
            windows.append(SourceWindow(path, start, end, line, text, imports))
            imports = ""  # once per file
            spent += cost
    return windows


def _merge_ranges(
    focus_lines: Sequence[int | None], n_lines: int, context: int
) -> list[tuple[int, int, int | None]]:
    if n_lines == 0:
        return []
    ranges: list[tuple[int, int, int | None]] = []
    known = sorted({ln for ln in focus_lines if ln})
    if not known:
        return [(1, min(n_lines, 2 * context), None)]
    for line in known:
        start, end = max(1, line - context), min(n_lines, line + context)
        if ranges and start <= ranges[-1][1] + 1:
            prev = ranges[-1]
            ranges[-1] = (prev[0], max(prev[1], end), prev[2])
        else:
            ranges.append((start, end, line))
    return ranges
