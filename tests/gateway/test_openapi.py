"""The public OpenAPI document describes every resource of the map, as the gateway serves it."""

from __future__ import annotations

import httpx

from services.gateway.domain import RESOURCE_OWNERS
from services.gateway.openapi import merge_documents
from tests.stack import Stack


def _doc(paths: dict[str, object], schemas: dict[str, object]) -> dict[str, object]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas}}


class TestMerge:
    def test_owned_paths_are_renamed_and_the_rest_left_out(self) -> None:
        gateway = _doc({"/api/v1/me": {"get": {}}, "/api/v1/{path}": {"get": {}}}, {})
        exchange = _doc(
            {
                "/v1/requests": {
                    "get": {"parameters": [{"name": "authorization", "in": "header"}]}
                },
                "/v1/authorities": {"get": {}},  # not the exchange's resource
                "/healthz": {"get": {}},
            },
            {},
        )
        merged = merge_documents(gateway, {"exchange": exchange})
        assert sorted(merged["paths"]) == ["/api/v1/me", "/api/v1/requests"]
        operation = merged["paths"]["/api/v1/requests"]["get"]
        assert "parameters" not in operation  # the internal identity header is the gateway's
        assert operation["security"] == [{"imi": []}]
        assert "directory" in merged["info"]["description"]  # named as not described

    def test_a_schema_name_two_services_use_differently_is_prefixed(self) -> None:
        ref = {"$ref": "#/components/schemas/Address"}
        body = {"content": {"application/json": {"schema": ref}}}
        directory = _doc(
            {"/v1/authorities": {"post": {"requestBody": body}}},
            {"Address": {"type": "object", "properties": {"street": {"type": "string"}}}},
        )
        exchange = _doc(
            {"/v1/requests": {"post": {"requestBody": body}}},
            {"Address": {"type": "object", "properties": {"city": {"type": "string"}}}},
        )
        merged = merge_documents(_doc({}, {}), {"directory": directory, "exchange": exchange})
        schemas = merged["components"]["schemas"]
        assert set(schemas) == {"Address", "ExchangeAddress"}
        exchange_ref = merged["paths"]["/api/v1/requests"]["post"]["requestBody"]["content"]
        assert exchange_ref["application/json"]["schema"]["$ref"].endswith("/ExchangeAddress")


class TestServed:
    def test_every_resource_of_the_map_is_described(self, stack: Stack) -> None:
        response = httpx.get(f"{stack.gateway}/api/v1/openapi.json", timeout=30)
        assert response.status_code == 200
        document = response.json()
        heads = {p.removeprefix("/api/v1/").split("/", 1)[0] for p in document["paths"]}
        assert heads >= set(RESOURCE_OWNERS) - {"users", "render"} | {"auth", "me"}
        assert "/api/v1/requests/{request_id}/accept" in document["paths"]
        assert "Not described now" not in document["info"]["description"]
        schemas = document["components"]["schemas"]
        for item in document["paths"].values():
            for operation in item.values():
                for answer in operation.get("responses", {}).values():
                    for content in answer.get("content", {}).values():
                        ref = content.get("schema", {}).get("$ref")
                        if ref:
                            assert ref.removeprefix("#/components/schemas/") in schemas

    def test_the_docs_page_lists_the_operations_without_scripts(self, stack: Stack) -> None:
        response = httpx.get(f"{stack.gateway}/api/v1/docs", timeout=30)
        assert response.status_code == 200
        assert "/api/v1/requests/{request_id}/accept" in response.text
        assert "<script" not in response.text
        assert "https://" not in response.text
