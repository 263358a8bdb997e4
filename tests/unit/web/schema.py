"""Validate answers against the OpenAPI document's response schemas."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from streamfix.web import openapi

DOCUMENT = openapi.document()
_REGISTRY: Registry[Any] = Registry().with_resource(
    "urn:streamfix-openapi", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


def response_schema(
    path: str, method: str, status: int, content_type: str = "application/json"
) -> dict[str, Any]:
    responses = DOCUMENT["paths"][path][method]["responses"]
    response = responses[str(status)]
    schema: dict[str, Any] = response["content"][content_type]["schema"]
    return schema


def validate(body: Any, path: str, method: str, status: int) -> None:
    schema = response_schema(path, method, status)
    if "$ref" in schema:
        schema = {"$ref": "urn:streamfix-openapi" + schema["$ref"]}
    validator = jsonschema.Draft202012Validator(_rewrite(schema), registry=_REGISTRY)
    validator.validate(body)


def _rewrite(schema: Any) -> Any:
    """Point the document's local refs at the registered document."""
    if isinstance(schema, dict):
        return {k: ("urn:streamfix-openapi" + v if k == "$ref" and v.startswith("#") else _rewrite(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rewrite(v) for v in schema]
    return schema
