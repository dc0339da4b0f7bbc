"""Information repositories: the list, search with the definition's filters, record pages."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.web.core import CsrfFormDep, WebCallerDep, call, problem_message, render

router = APIRouter()
log = structlog.get_logger(__name__)

SEARCH_PARAMETERS = ("q", "lang", "valid_on")


def shown(value: Any) -> str:
    """A rendered field value as text (translated text, terms, lists, plain values)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "text" in value:
            return str(value["text"])
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(shown(v.get("label", v) if isinstance(v, dict) else v) for v in value)
    return str(value)


def _items(response: Any) -> list[dict[str, Any]]:
    data = response.json()
    if isinstance(data, list):
        return data
    items = data.get("items", [])
    return items if isinstance(items, list) else []


def record_fields(definition: dict[str, Any], form: Any, language: str) -> dict[str, Any]:
    """The record's fields from the form; a translatable field is written in ``language``."""
    fields: dict[str, Any] = {}
    for spec in definition.get("fields", []):
        raw = form.get(f"field.{spec['name']}")
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            continue
        if spec.get("translatable"):
            fields[spec["name"]] = {language: value}
        elif spec.get("type") == "terms":
            fields[spec["name"]] = [v.strip() for v in value.split(",") if v.strip()]
        elif spec.get("type") in ("integer", "int"):
            fields[spec["name"]] = int(value) if value.lstrip("-").isdigit() else value
        else:
            fields[spec["name"]] = value
    return fields


@router.get("/repositories", name="web_repositories")
async def repositories_list(request: Request, caller: WebCallerDep) -> Response:
    response = await call(request, caller, "repository", "GET", "repositories")
    ok = response.status_code == 200
    return render(
        request,
        "repositories/list.html",
        {
            "items": _items(response) if ok else [],
            "error": None if ok else problem_message(response),
        },
        caller=caller,
    )


async def _definition(request: Request, caller: Any, key: str) -> tuple[dict[str, Any] | None, Any]:
    response = await call(request, caller, "repository", "GET", f"repositories/{key}")
    if response.status_code != 200:
        return None, response
    return response.json(), response


def _missing(request: Request, caller: Any, response: Any) -> Response:
    return render(
        request,
        "repositories/missing.html",
        {"error": problem_message(response)},
        caller=caller,
        status_code=404 if response.status_code in (403, 404) else 503,
    )


@router.get("/repositories/{key}", name="web_repository")
async def repository_search(request: Request, caller: WebCallerDep, key: str) -> Response:
    definition, response = await _definition(request, caller, key)
    if definition is None:
        return _missing(request, caller, response)
    filterable = [f for f in definition.get("fields", []) if f.get("filterable")]
    params: dict[str, str] = {}
    for name in SEARCH_PARAMETERS:
        value = request.query_params.get(name, "").strip()
        if value:
            params[name] = value
    for spec in filterable:
        value = request.query_params.get(spec["name"], "").strip()
        if value:
            params[spec["name"]] = value
    found = await call(
        request, caller, "repository", "GET", f"repositories/{key}/records", params=params
    )
    error = None if found.status_code == 200 else problem_message(found)
    records = _items(found) if found.status_code == 200 else []
    return render(
        request,
        "repositories/search.html",
        {
            "definition": definition,
            "filterable": filterable,
            "params": params,
            "records": records,
            "error": error,
            "shown": shown,
        },
        caller=caller,
        status_code=200 if error is None else 422,
    )


@router.get("/repositories/{key}/records/{record_id}", name="web_repository_record")
async def record_page(
    request: Request, caller: WebCallerDep, key: str, record_id: uuid.UUID
) -> Response:
    definition, response = await _definition(request, caller, key)
    if definition is None:
        return _missing(request, caller, response)
    found = await call(
        request, caller, "repository", "GET", f"repositories/{key}/records/{record_id}"
    )
    if found.status_code != 200:
        return _missing(request, caller, found)
    history = await call(
        request, caller, "repository", "GET", f"repositories/{key}/records/{record_id}/history"
    )
    return render(
        request,
        "repositories/record.html",
        {
            "definition": definition,
            "record": found.json(),
            "history": _items(history) if history.status_code == 200 else [],
            "shown": shown,
        },
        caller=caller,
    )


@router.get("/repositories/{key}/new", name="web_repository_record_new")
async def record_new(request: Request, caller: WebCallerDep, key: str) -> Response:
    definition, response = await _definition(request, caller, key)
    if definition is None:
        return _missing(request, caller, response)
    return render(
        request,
        "repositories/form.html",
        {"definition": definition, "error": None, "values": {}},
        caller=caller,
    )


@router.post("/repositories/{key}/new", name="web_repository_record_create")
async def record_create(
    request: Request, caller: WebCallerDep, form: CsrfFormDep, key: str
) -> Response:
    definition, response = await _definition(request, caller, key)
    if definition is None:
        return _missing(request, caller, response)
    language = getattr(caller, "language", None) or "en"
    fields = record_fields(definition, form, language)
    created = await call(
        request,
        caller,
        "repository",
        "POST",
        f"repositories/{key}/records",
        json={"fields": fields},
    )
    if created.status_code in (200, 201):
        record_id = created.json()["id"]
        log.info("web.repository.record_created", repository=key, record_id=record_id)
        return RedirectResponse(f"/repositories/{key}/records/{record_id}", status_code=303)
    return render(
        request,
        "repositories/form.html",
        {"definition": definition, "error": problem_message(created), "values": dict(form)},
        caller=caller,
        status_code=created.status_code if created.status_code < 500 else 503,
    )
