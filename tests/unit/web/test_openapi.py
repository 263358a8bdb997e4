"""The OpenAPI document and the registered routes describe the same API."""

from __future__ import annotations

import jsonschema  # type: ignore[import-untyped]

from streamfix.web import openapi

from .conftest import ApiFactory

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def documented() -> set[tuple[str, str]]:
    doc = openapi.document()
    return {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}


async def registered(make_api: ApiFactory) -> set[tuple[str, str]]:
    api = await make_api()
    out = set()
    for route in api.sf.app.web.web_app.router.routes():
        if route.method in METHODS and route.resource is not None:
            out.add((route.resource.canonical, route.method))
    return out


async def test_every_route_is_documented_and_every_documented_route_exists(make_api: ApiFactory) -> None:
    routes = await registered(make_api)
    # POST-only views answer GET with 405 themselves; that GET is not an operation
    post_only = {(path, "GET") for path, method in documented() if method == "POST"}
    assert routes - post_only == documented()


def test_document_is_openapi_3_1_with_unique_operation_ids() -> None:
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1.")
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for ops in doc["paths"].values():
        for op in ops.values():
            assert "500" in op["responses"] and "429" in op["responses"]
            for response in op["responses"].values():
                for media in response.get("content", {}).values():
                    jsonschema.Draft202012Validator.check_schema(media["schema"])
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_mutating_operations_declare_bearer_auth() -> None:
    doc = openapi.document()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method == "post":
                assert op["security"] == [{"bearerAuth": []}], path
                assert "401" in op["responses"] and "403" in op["responses"]


async def test_served_document_is_the_module_document(make_api: ApiFactory) -> None:
    api = await make_api()
    resp = await api.client.get("/error-monitor/openapi.json")
    assert resp.status == 200 and await resp.json() == openapi.document()
