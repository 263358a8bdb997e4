"""HTTP plumbing of the REST API: JSON answers, typed request errors and query-parameter parsing.

Every error the API gives is ``{"error": <machine-readable reason>, "detail": <human-readable text>}``
with a 4xx status; an unexpected exception becomes a logged 500 with a generic body (see
:mod:`streamfix.web.middleware`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from aiohttp import web

from streamfix.core.queries import api_json

JSON = "application/json"


class ApiError(Exception):
    """A request the API refuses, with its status and JSON body."""

    def __init__(
        self, status: int, error: str, detail: Any = "", headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return json_response(
            {"error": self.error, "detail": self.detail}, status=self.status, headers=self.headers
        )


def dumps(value: Any) -> bytes:
    """The JSON body of an answer, in the API's representation (:func:`streamfix.core.queries.api_json`:
    ISO 8601 UTC timestamps with their ``*_epoch`` values, lowercase severities)."""
    return orjson.dumps(api_json(value), option=orjson.OPT_NON_STR_KEYS)


def json_response(value: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return raw_json(dumps(value), status=status, headers=headers)


def raw_json(body: bytes, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)


def _invalid(name: str, why: str) -> ApiError:
    return ApiError(422, "invalid_parameter", {"parameter": name, "message": why})


def _raw(query: Mapping[str, str], name: str, required: bool) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "missing_parameter", {"parameter": name, "message": f"{name} is required"})
        return None
    return value


def number(query: Mapping[str, str], name: str, *, default: float, low: float, high: float,
           required: bool = False) -> float:
    """A finite number in ``(low, high]`` (``low`` excluded when it is 0, so ``hours=0`` is refused)."""
    raw = _raw(query, name, required)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _invalid(name, f"{name} must be a number, not {raw[:50]!r}") from None
    if not math.isfinite(value) or value < low or value > high or (low == 0 and value == 0):
        raise _invalid(name, f"{name} must be {'>' if low == 0 else '>='} {low:g} and <= {high:g}")
    return value


def integer(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = _raw(query, name, False)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, f"{name} must be an integer, not {raw[:50]!r}") from None
    if not low <= value <= high:
        raise _invalid(name, f"{name} must be between {low} and {high}")
    return value


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def boolean(query: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = _raw(query, name, False)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise _invalid(name, f"{name} must be true or false")


def choice(query: Mapping[str, str], name: str, choices: Sequence[str], *, default: str | None) -> str | None:
    """One of ``choices``, or ``default`` when the parameter is absent."""
    raw = _raw(query, name, False)
    if raw is None:
        return default
    if raw not in choices:
        raise _invalid(name, f"{name} must be one of {', '.join(choices)}")
    return raw


def text(query: Mapping[str, str], name: str, *, max_length: int = 256) -> str:
    raw = _raw(query, name, True)
    assert raw is not None
    if len(raw) > max_length:
        raise _invalid(name, f"{name} is longer than {max_length} characters")
    return raw


def id_list(query: Mapping[str, str], name: str, *, max_items: int = 50, max_length: int = 256) -> list[str]:
    """A comma-separated list of ids, duplicates removed, order kept."""
    raw = _raw(query, name, True)
    assert raw is not None
    ids = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not ids:
        raise ApiError(400, "missing_parameter", {"parameter": name, "message": f"{name} names no ids"})
    if len(ids) > max_items:
        raise _invalid(name, f"at most {max_items} ids at once")
    if any(len(i) > max_length for i in ids):
        raise _invalid(name, f"an id is longer than {max_length} characters")
    return ids
