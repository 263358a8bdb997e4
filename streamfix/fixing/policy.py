"""The edit policy of a fix, from settings, and the context it is checked against, from the checkout.

:func:`edit_policy` reads the ``fix_*`` settings once; :func:`edit_context` maps the request's in-app
frames to repository files (the files a fix may change by default), collects the modules the
repository already depends on, and the words of the log text and of the source shown to the model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from streamfix.core.editpolicy import EditContext, EditPolicy, repo_modules, words
from streamfix.fixing.repo import SourceWindow, is_app_frame, map_path
from streamfix.kafka.wire import FixRequest
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

MANIFESTS = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "package.json")
MAX_SOURCES = 3000
MAX_SOURCE_BYTES = 512 * 1024


def edit_policy(settings: Settings) -> EditPolicy:
    return EditPolicy(
        scope=settings.fix_edit_scope,
        extra_allowed=tuple(settings.fix_allowed_paths),
        allow_sensitive=tuple(settings.fix_allow_sensitive_paths),
        refuse_new_urls=settings.fix_refuse_new_urls,
        refuse_new_imports=settings.fix_refuse_new_imports,
        refuse_new_calls=settings.fix_refuse_new_calls,
        refuse_log_echo=settings.fix_refuse_log_echo,
    )


def frame_files(request: FixRequest, files: Sequence[str], in_app_paths: Sequence[str] = ()) -> frozenset[str]:
    """Repository paths of the request's in-app frames."""
    mapped = set()
    for frame in request.frames:
        if is_app_frame(frame, in_app_paths):
            path = map_path(frame.file, files)
            if path is not None:
                mapped.add(path)
    return frozenset(mapped)


def _read(path: Path) -> str:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def edit_context(
    root: Path,
    request: FixRequest,
    files: Sequence[str],
    windows: Sequence[SourceWindow],
    *,
    in_app_paths: Sequence[str] = (),
) -> EditContext:
    manifests = [_read(root / name) for name in files if name.split("/")[-1] in MANIFESTS
                 or (name.split("/")[-1].startswith("requirements") and name.endswith(".txt"))]
    sources = [_read(root / name) for name in [f for f in files if f.endswith(".py")][:MAX_SOURCES]]
    log_text = "\n".join(
        [request.error_type, request.message, request.sample_traceback, request.suggested_fix,
         *(f"{f.file} {f.function}" for f in request.frames), *request.services]
    )
    shown = "\n".join(f"{w.path}\n{w.text}\n{w.imports}" for w in windows)
    return EditContext(
        frame_files=frame_files(request, files, in_app_paths),
        known_modules=repo_modules(files, manifests, sources),
        log_words=frozenset(words(log_text)),
        shown_words=frozenset(words(shown)),
    )
