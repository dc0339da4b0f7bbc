"""Coordinator administration: register, validate, activate and deactivate authorities, and
register their users with roles. The directory enforces the coordinator's scope; its refusals
are shown as they come."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.web.core import CsrfFormDep, WebCallerDep, call, problem_message, render

router = APIRouter()
log = structlog.get_logger(__name__)

LEVELS = ("national", "regional", "local")
TRANSITIONS = ("validate", "activate", "deactivate")
ROLES = (
    "request_handler",
    "request_allocator",
    "alert_handler",
    "alert_coordinator",
    "local_data_administrator",
    "supervisor",
    "read_only",
    "delegated_coordinator",
)


def caller_country(caller: Any) -> str:
    """The signed-in coordinator's country, wherever the caller object keeps it."""
    for holder in (caller, getattr(caller, "identity", None)):
        country = getattr(holder, "country", None)
        if isinstance(country, str) and country:
            return country.lower()
    return ""


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def authority_body(form: Any) -> dict[str, Any]:
    """The directory's ``AuthorityIn`` from the registration form."""
    body: dict[str, Any] = {
        "official_name": _text(form, "official_name"),
        "name_language": _text(form, "name_language").lower(),
        "country": _text(form, "country").lower(),
        "level": _text(form, "level"),
    }
    for name in ("region", "email", "phone", "website"):
        value = _text(form, name)
        if value:
            body[name] = value.upper() if name == "region" else value
    area = _text(form, "area")
    if area:
        procedures = [p.strip() for p in _text(form, "procedures").split(",") if p.strip()]
        body["competences"] = [{"area": area, "procedures": procedures}]
    return body


def user_body(form: Any) -> dict[str, Any]:
    """The directory's ``UserIn`` from the user form; every ticked role, unscoped."""
    body: dict[str, Any] = {
        "username": _text(form, "username"),
        "display_name": _text(form, "display_name"),
        "password": _text(form, "password"),
        "roles": [{"name": r} for r in form.getlist("roles") if isinstance(r, str) and r],
    }
    for name in ("email", "language"):
        value = _text(form, name)
        if value:
            body[name] = value
    return body


async def _authorities(request: Request, caller: Any, country: str) -> tuple[list[Any], str | None]:
    params = {"country": country} if country else {}
    response = await call(request, caller, "directory", "GET", "authorities", params=params)
    if response.status_code != 200:
        return [], problem_message(response)
    data = response.json()
    return (data.get("items", []) if isinstance(data, dict) else data), None


async def _admin_page(
    request: Request,
    caller: Any,
    *,
    error: str | None = None,
    notice: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    country = caller_country(caller)
    authorities, listing_error = await _authorities(request, caller, country)
    return render(
        request,
        "admin/index.html",
        {
            "country": country,
            "authorities": authorities,
            "levels": LEVELS,
            "error": error or listing_error,
            "notice": notice,
            "values": values or {"country": country},
        },
        caller=caller,
        status_code=status_code,
    )


def _status(code: int) -> int:
    return code if 400 <= code < 500 else 503


@router.get("/admin", name="web_admin")
async def admin_index(request: Request, caller: WebCallerDep, notice: str = "") -> Response:
    return await _admin_page(request, caller, notice=notice or None)


@router.post("/admin/authorities", name="web_admin_register")
async def register_authority(request: Request, caller: WebCallerDep, form: CsrfFormDep) -> Response:
    response = await call(
        request, caller, "directory", "POST", "authorities", json=authority_body(form)
    )
    if response.status_code == 201:
        authority_id = response.json()["id"]
        log.info("web.admin.authority_registered", authority_id=authority_id)
        return RedirectResponse(f"/admin/authorities/{authority_id}", status_code=303)
    return await _admin_page(
        request,
        caller,
        error=problem_message(response),
        values=dict(form),
        status_code=_status(response.status_code),
    )


async def _authority_page(
    request: Request,
    caller: Any,
    authority_id: uuid.UUID,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    response = await call(request, caller, "directory", "GET", f"authorities/{authority_id}")
    if response.status_code != 200:
        return render(
            request,
            "admin/missing.html",
            {"error": problem_message(response)},
            caller=caller,
            status_code=404 if response.status_code in (403, 404) else 503,
        )
    users_response = await call(
        request, caller, "directory", "GET", f"authorities/{authority_id}/users"
    )
    users: list[Any] = []
    if users_response.status_code == 200:
        data = users_response.json()
        users = data.get("items", []) if isinstance(data, dict) else data
    return render(
        request,
        "admin/authority.html",
        {
            "authority": response.json(),
            "users": users,
            "roles": ROLES,
            "transitions": TRANSITIONS,
            "error": error,
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/admin/authorities/{authority_id}", name="web_admin_authority")
async def authority_page(
    request: Request, caller: WebCallerDep, authority_id: uuid.UUID
) -> Response:
    return await _authority_page(request, caller, authority_id)


@router.post("/admin/authorities/{authority_id}/users", name="web_admin_user")
async def register_user(
    request: Request, caller: WebCallerDep, form: CsrfFormDep, authority_id: uuid.UUID
) -> Response:
    response = await call(
        request,
        caller,
        "directory",
        "POST",
        f"authorities/{authority_id}/users",
        json=user_body(form),
    )
    if response.status_code == 201:
        log.info("web.admin.user_registered", authority_id=str(authority_id))
        return RedirectResponse(f"/admin/authorities/{authority_id}", status_code=303)
    return await _authority_page(
        request,
        caller,
        authority_id,
        error=problem_message(response),
        status_code=_status(response.status_code),
    )


@router.post("/admin/authorities/{authority_id}/{transition}", name="web_admin_transition")
async def transition_authority(
    request: Request,
    caller: WebCallerDep,
    form: CsrfFormDep,
    authority_id: uuid.UUID,
    transition: str,
) -> Response:
    if transition not in TRANSITIONS:
        return await _authority_page(
            request, caller, authority_id, error=f"unknown action: {transition}", status_code=404
        )
    reason = _text(form, "reason")
    version = _text(form, "version")
    response = await call(
        request,
        caller,
        "directory",
        "POST",
        f"authorities/{authority_id}/{transition}",
        json={"reason": reason} if reason else {},
        headers={"if-match": f'"{version}"'} if version else None,
    )
    if response.status_code < 300:
        log.info(
            "web.admin.authority_transition", authority_id=str(authority_id), action=transition
        )
        return RedirectResponse(f"/admin/authorities/{authority_id}", status_code=303)
    return await _authority_page(
        request,
        caller,
        authority_id,
        error=problem_message(response),
        status_code=_status(response.status_code),
    )
