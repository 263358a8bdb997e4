"""The published JSON Schemas as the decoder's contract.

Wire records (:mod:`streamfix.kafka.wire`) validate in pydantic's strict mode: a string is never read
as a number (``"seq": "3"``), a number or string never as a boolean (``"auto_fix": "yes"``) and a
boolean never as a number. What JSON Schema allows, strict mode must allow too: JSON has one number
type, and JSON Schema counts ``3.0`` as an ``integer``, so :func:`integral_floats_as_ints` turns an
integral float into an int for integer fields (and the items of integer lists) before validation.
``tests/unit/kafka/test_schema_contract.py`` checks decoder and schema files against each other over
generated valid and invalid records.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

from pydantic import BaseModel


def _converter(annotation: Any) -> Any:
    """A function that makes integral floats ints wherever ``annotation`` expects an int, or None."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is int:
        return lambda v: int(v) if type(v) is float and v.is_integer() else v
    if origin in (typing.Union, types.UnionType):
        inner = [c for c in (_converter(a) for a in args) if c is not None]
        return inner[0] if len(inner) == 1 else None
    if origin is list and args:
        item = _converter(args[0])
        return None if item is None else (lambda v: [item(x) for x in v] if isinstance(v, list) else v)
    if origin is dict and len(args) == 2:
        value = _converter(args[1])
        return (
            None
            if value is None
            else (lambda v: {k: value(x) for k, x in v.items()} if isinstance(v, dict) else v)
        )
    return None


@functools.cache
def _integer_fields(model: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for name, info in model.model_fields.items():
        convert = _converter(info.annotation)
        if convert is not None:
            out[name] = convert
    return out


def integral_floats_as_ints(model: type[BaseModel], data: Any) -> Any:
    """``data`` with integral floats made ints where the model expects ints (the rest is left to
    validation)."""
    if not isinstance(data, dict):
        return data
    fields = _integer_fields(model)
    present = [name for name in fields if name in data]
    if not present:
        return data
    out = dict(data)
    for name in present:
        out[name] = fields[name](data[name])
    return out


def version_of(obj: Any) -> int | None:
    """The integer ``schema_version`` of a decoded record, when it has one (3.0 counts as 3)."""
    if not isinstance(obj, dict):
        return None
    version = obj.get("schema_version", 1)
    if type(version) is float and version.is_integer():
        return int(version)
    return version if type(version) is int else None
