"""The public OpenAPI document: the gateway's own routes plus every service's resources.

`GET /api/v1/openapi.json` merges the gateway's routes (sign-in, me) with each service's internal
document (`/openapi.json` of the service), keeping only the paths the resource map gives that
service and renaming `/v1/...` to `/api/v1/...`; a schema name that two services use for
different shapes is prefixed with the service's name. `GET /api/v1/docs` renders the document as
a plain HTML page (no script, no CDN). A service that does not answer is left out and named in
the document's description until it answers again.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, select_autoescape

from services.gateway.domain import RESOURCE_OWNERS
from services.gateway.upstream import Upstreams
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter()

CACHE_SECONDS = 60.0
SCHEMA_REF = "#/components/schemas/"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Headers the gateway sets itself towards the services: not the client's business.
INTERNAL_HEADERS = {"authorization", "x-correlation-id"}
SECURITY_SCHEME = {
    "type": "oauth2",
    "description": "A bearer token from POST /api/v1/auth/token (or the web session cookie).",
    "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
}


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value.removeprefix(SCHEMA_REF)
                out[key] = SCHEMA_REF + renames.get(name, name)
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _public_operation(operation: dict[str, Any]) -> dict[str, Any]:
    operation = dict(operation)
    parameters = [
        p
        for p in operation.get("parameters", [])
        if not (p.get("in") == "header" and p.get("name", "").lower() in INTERNAL_HEADERS)
    ]
    if parameters:
        operation["parameters"] = parameters
    else:
        operation.pop("parameters", None)
    operation["security"] = [{"imi": []}]
    return operation


def merge_documents(gateway: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The public document from the gateway's own and the services' internal documents."""
    merged = copy.deepcopy(gateway)
    paths: dict[str, Any] = {
        path: item
        for path, item in merged.get("paths", {}).items()
        if path.startswith("/api/v1/") and "{path" not in path
    }
    schemas: dict[str, Any] = dict(merged.get("components", {}).get("schemas", {}))
    for service, document in sorted(services.items()):
        theirs: dict[str, Any] = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service.capitalize()}{name}"
            for name, schema in theirs.items()
            if name in schemas and schemas[name] != schema
        }
        for name, schema in theirs.items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, item in document.get("paths", {}).items():
            if not path.startswith("/v1/"):
                continue
            head = path.removeprefix("/v1/").split("/", 1)[0]
            if RESOURCE_OWNERS.get(head) != service:
                continue
            public = {
                method: _public_operation(operation) if method in HTTP_METHODS else operation
                for method, operation in _rename_refs(item, renames).items()
            }
            paths["/api" + path] = public
    merged["paths"] = dict(sorted(paths.items()))
    components = merged.setdefault("components", {})
    components["schemas"] = dict(sorted(schemas.items()))
    components.setdefault("securitySchemes", {})["imi"] = SECURITY_SCHEME
    missing = sorted(set(RESOURCE_OWNERS.values()) - set(services))
    info = merged.setdefault("info", {})
    info["description"] = (
        "The public API of the IMI network: every resource of the resource map, answered by the "
        "service that owns it. Errors are application/problem+json naming the failing field; "
        "state changes take If-Match; creations accept Idempotency-Key; what the caller may not "
        "see is answered 404."
        + (f" Not described now (service not answering): {', '.join(missing)}." if missing else "")
    )
    return merged


class PublicDocument:
    """The merged document, rebuilt at most once a minute while every service answers."""

    def __init__(self) -> None:
        self._document: dict[str, Any] | None = None
        self._built_at = 0.0
        self._complete = False
        self._lock = asyncio.Lock()

    async def get(self, gateway: dict[str, Any], upstreams: Upstreams) -> dict[str, Any]:
        fresh = time.monotonic() - self._built_at < (CACHE_SECONDS if self._complete else 5.0)
        if self._document is not None and fresh:
            return self._document
        async with self._lock:
            if self._document is not None and time.monotonic() - self._built_at < 1.0:
                return self._document
            services = await _service_documents(upstreams)
            self._document = merge_documents(gateway, services)
            self._complete = set(services) == set(RESOURCE_OWNERS.values())
            self._built_at = time.monotonic()
            return self._document


async def _service_documents(upstreams: Upstreams) -> dict[str, dict[str, Any]]:
    names = sorted(set(RESOURCE_OWNERS.values()))

    async def one(service: str) -> dict[str, Any] | None:
        url = f"{upstreams.settings.upstream(service)}/openapi.json"
        try:
            response = await upstreams.client.get(url, timeout=5)
        except httpx.TransportError:
            log.warning("openapi of a service not reachable", service=service)
            return None
        if response.status_code != 200:
            return None
        found: dict[str, Any] = response.json()
        return found

    documents = await asyncio.gather(*(one(name) for name in names))
    return {name: doc for name, doc in zip(names, documents, strict=True) if doc is not None}


def _document_of(request: Request) -> PublicDocument:
    state = request.app.state
    if not hasattr(state, "public_openapi"):
        state.public_openapi = PublicDocument()
    document: PublicDocument = state.public_openapi
    return document


@router.get("/api/v1/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    document = await _document_of(request).get(request.app.openapi(), request.app.state.upstreams)
    return JSONResponse(document)


_DOCS = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ info.title }}: API reference</title>
</head><body>
<header><h1>{{ info.title }}: API reference</h1>
<p>{{ info.description }}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
Events: <a href="/asyncapi">AsyncAPI documents</a>.</p></header>
<main>
<nav aria-label="Resources"><ul>
{% for tag in tags %}<li><a href="#{{ tag }}">{{ tag }}</a></li>{% endfor %}
</ul></nav>
{% for tag, operations in by_tag %}
<section id="{{ tag }}" aria-labelledby="h-{{ tag }}"><h2 id="h-{{ tag }}">{{ tag }}</h2>
{% for op in operations %}
<article><h3><span class="m">{{ op.method }}</span> <code>{{ op.path }}</code></h3>
{% if op.summary %}<p>{{ op.summary }}</p>{% endif %}
{% if op.description %}<p>{{ op.description }}</p>{% endif %}
{% if op.parameters %}<table><caption>Parameters</caption>
<thead><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">required</th></tr>
</thead><tbody>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td><td>{{ p["in"] }}</td>
<td>{{ "yes" if p.required else "no" }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
{% if op.body %}<p>Body: <code>{{ op.body }}</code></p>{% endif %}
<p>Answers: {{ op.responses | join(", ") }}</p></article>
{% endfor %}</section>
{% endfor %}
</main></body></html>"""
)


def _operations(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            body = operation.get("requestBody", {}).get("content", {})
            schema_refs = [
                v.get("schema", {}).get("$ref", "").removeprefix(SCHEMA_REF) for v in body.values()
            ]
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(
                {
                    "method": method,
                    "path": path,
                    "summary": operation.get("summary"),
                    "description": operation.get("description"),
                    "parameters": operation.get("parameters", []),
                    "body": ", ".join(r for r in schema_refs if r) or ", ".join(body),
                    "responses": sorted(operation.get("responses", {})),
                }
            )
    return sorted(by_tag.items())


@router.get("/api/v1/docs", include_in_schema=False)
async def api_docs(request: Request) -> HTMLResponse:
    document = await _document_of(request).get(request.app.openapi(), request.app.state.upstreams)
    by_tag = _operations(document)
    html = _DOCS.render(
        info=document.get("info", {}), by_tag=by_tag, tags=[tag for tag, _ in by_tag]
    )
    return HTMLResponse(html)
