"""Fingerprints: stable ids that put the same error into the same group.

A fingerprint is ``fp1:`` followed by 32 hex digits of a BLAKE2b digest, so it is the same in every
process and on every machine (``hash()`` is salted per process and never used). The version prefix
changes whenever the inputs below change meaning, as Sentry versions its grouping configs.

What goes in:

- with a stack: the error type and, for every in-app frame (all frames when none is in-app), the module
  (or the file when there is no module) and the function. Line numbers and code context are left out,
  so an edit that moves the code does not start a new group;
- without a stack: the error type and the message after :func:`~streamfix.core.params.parameterize`,
  so ``timeout after 30s talking to 10.0.0.1`` and ``timeout after 45s talking to 10.0.0.7`` match.

File paths are normalised (``\\`` to ``/``, dropped up to the last ``site-packages/``/``dist-packages/``,
leading ``./`` removed) so that the same code deployed under different roots fingerprints alike.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence

from streamfix.core.models import Frame
from streamfix.core.params import PARAMS_VERSION, parameterize

logger = logging.getLogger(__name__)

FINGERPRINT_VERSION = 1
PREFIX = f"fp{FINGERPRINT_VERSION}:"
_SEPARATOR = "\x1f"
_VENDOR_ROOT = re.compile(r"^.*/(?:site|dist)-packages/")
# Compiler-numbered names (``<lambda_3>``, ``run$1``) change when code is added around them.
_NUMBERED_NAME = re.compile(r"(<lambda)_\d+>|\$\d+$")
_WHITESPACE = re.compile(r"\s+")


def _digest(parts: Iterable[str]) -> str:
    data = _SEPARATOR.join(parts).encode("utf-8", "surrogatepass")
    return PREFIX + hashlib.blake2b(data, digest_size=16).hexdigest()


def normalize_path(path: str) -> str:
    """Return ``path`` with deployment-specific prefixes removed."""
    path = path.replace("\\", "/")
    path = _VENDOR_ROOT.sub("", path)
    while path.startswith("./"):
        path = path[2:]
    return path


def frame_key(frame: Frame) -> str:
    """The part of a frame that identifies it: module (or normalised file) and function, no line."""
    where = frame.module or normalize_path(frame.file)
    function = _NUMBERED_NAME.sub(
        lambda match: f"{match.group(1)}>" if match.group(1) else "", frame.function
    )
    return f"{where}:{function}"


def grouping_frames(frames: Sequence[Frame]) -> list[Frame]:
    """The frames that count for grouping: the in-app ones, or all of them when none is in-app."""
    in_app = [frame for frame in frames if frame.in_app]
    return in_app or list(frames)


def normalize_message(message: str) -> str:
    """The parameterised message, whitespace collapsed: the form used for message fingerprints."""
    return _WHITESPACE.sub(" ", parameterize(message)).strip()


def fingerprint_message(error_type: str, message: str) -> str:
    """Fingerprint of an error that has no usable stack: error type plus parameterised message."""
    return _digest(("message", f"params{PARAMS_VERSION}", error_type.strip(), normalize_message(message)))


def fingerprint_template(template: str) -> str:
    """Fingerprint of a mined log template (from :class:`~streamfix.core.templates.TemplateMiner`)."""
    return _digest(("template", f"params{PARAMS_VERSION}", template))


def fingerprint_event(error_type: str, frames: Sequence[Frame], message: str) -> str:
    """Fingerprint of an error event: from its stack when it has one, else from its message."""
    chosen = grouping_frames(frames)
    if not chosen:
        return fingerprint_message(error_type, message)
    return _digest(("stack", error_type.strip(), *(frame_key(frame) for frame in chosen)))


def fingerprint_group(group_id: str) -> str:
    """Fingerprint of a template group (:class:`~streamfix.core.templates.TemplateMiner` ids are stable
    across processes), for errors that have no stack."""
    return _digest(("group", group_id))
