"""The AsyncAPI documents of the network, served by the gateway.

``GET /asyncapi`` lists them; ``GET /asyncapi/{name}.json`` is one: each service's events
(fetched from the service's ``/v1/asyncapi.json``, kept a minute) and ``national``, the
channels of national IT systems (``imi.inbound``, ``imi.outbound``), generated from the same
pydantic contracts as the code (``docs/asyncapi/national.json`` is its committed copy).
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, select_autoescape

from services.gateway.upstream import GATEWAY_IDENTITY, Upstreams
from shared.national import national_asyncapi_document
from shared.problems import NotFound

router = APIRouter(include_in_schema=False)
SERVICES = ("directory", "exchange", "alerts", "translation", "repository")
CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}

_INDEX = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IMI: AsyncAPI documents</title></head>
<body><main>
<h1>AsyncAPI documents of the IMI network</h1>
<ul>
{% for name, title in documents %}
<li><a href="/asyncapi/{{ name }}.json">{{ title }}</a></li>
{% endfor %}
</ul>
</main></body></html>"""
)


@cache
def national() -> dict[str, Any]:
    document: dict[str, Any] = national_asyncapi_document()
    return document


async def service_document(upstreams: Upstreams, service: str) -> dict[str, Any] | None:
    held = _cache.get(service)
    if held is not None and time.monotonic() - held[0] < CACHE_SECONDS:
        return held[1]
    try:
        response = await upstreams.call(service, "GET", "asyncapi.json", GATEWAY_IDENTITY)
    except Exception:  # a service that does not answer is left out of the list for now
        return None
    if response.status_code != 200:
        return None
    try:
        document: dict[str, Any] = response.json()
    except (ValueError, httpx.DecodingError):
        return None
    _cache[service] = (time.monotonic(), document)
    return document


@router.get("/asyncapi")
async def asyncapi_index(request: Request) -> HTMLResponse:
    upstreams: Upstreams = request.app.state.upstreams
    documents = [("national", "National IT systems: imi.inbound and imi.outbound")]
    for service in SERVICES:
        document = await service_document(upstreams, service)
        if document is not None:
            documents.append((service, document.get("info", {}).get("title", service)))
    return HTMLResponse(_INDEX.render(documents=documents))


@router.get("/asyncapi/{name}.json")
async def asyncapi_document(name: str, request: Request) -> JSONResponse:
    if name == "national":
        return JSONResponse(national())
    if name not in SERVICES:
        raise NotFound(f"no AsyncAPI document {name!r}")
    document = await service_document(request.app.state.upstreams, name)
    if document is None:
        raise NotFound(f"the {name} service does not answer now")
    return JSONResponse(document)
