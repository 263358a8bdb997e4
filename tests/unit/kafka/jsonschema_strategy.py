"""Hypothesis strategies for the JSON Schema keywords the published schemas use.

Covers ``type`` (object, array, string, integer, number, boolean, null), ``enum``, ``anyOf``, local
``$ref`` into ``$defs``, ``properties``/``required``/``additionalProperties``, ``items``,
``minLength``/``maxLength``, ``pattern`` (anchored) and ``minimum``/``maximum``. An unknown keyword is
an error, so a schema that grows a rule this generator does not know fails loudly instead of being
under-tested.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

KNOWN = {
    "$defs",
    "$id",
    "$ref",
    "$schema",
    "additionalProperties",
    "anyOf",
    "default",
    "description",
    "enum",
    "items",
    "maxLength",
    "maximum",
    "minLength",
    "minimum",
    "pattern",
    "properties",
    "required",
    "title",
    "type",
}
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


def from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    root = root if root is not None else schema
    unknown = set(schema) - KNOWN
    if unknown:
        raise ValueError(f"keywords this generator does not know: {sorted(unknown)}")
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return from_schema(root["$defs"][name], root)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(s, root) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "string" and "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    if kind == "string":
        return st.text(
            st.characters(codec="utf-8"),
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", 30), 30),
        )
    if kind == "integer":
        ints = st.integers(min_value=schema.get("minimum", -(2**53)), max_value=schema.get("maximum", 2**53))
        return ints | ints.map(float)  # JSON Schema: 3.0 is an integer
    if kind == "number":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False) | st.integers(
            min_value=int(low) if low is not None else -(2**53),
            max_value=int(high) if high is not None else 2**53,
        )
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {"type": "string"}), root), max_size=4)
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        extra = schema.get("additionalProperties")
        extras = (
            st.dictionaries(TEXT.filter(lambda k: k not in props), from_schema(extra, root), max_size=3)
            if isinstance(extra, dict)
            else st.just({})
        )
        optional = sorted(set(props) - required)

        @st.composite
        def objects(draw: st.DrawFn) -> dict[str, Any]:
            out = dict(draw(extras))
            for name in sorted(required):
                out[name] = draw(from_schema(props[name], root))
            for name in optional:
                if draw(st.booleans()):
                    out[name] = draw(from_schema(props[name], root))
            return out

        return objects()
    raise ValueError(f"schema without a type this generator knows: {schema}")
