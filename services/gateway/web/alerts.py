"""Alerts and notifications pages: boxes, drafting, the alert page with every allowed action."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.web.core import (
    N_,
    CsrfFormDep,
    WebCallerDep,
    call,
    problem_message,
    render,
)

router = APIRouter()
log = structlog.get_logger(__name__)

BOXES = ("incoming", "outgoing", "coordination", "all")
# The kinds a user can draft, each with its catalogue procedure.
KINDS = {
    "svc_alert": N_("Services Directive alert"),
    "pq_alert": N_("Professional-qualifications alert"),
    "svc_notification": N_("Notification"),
}
# Actions whose form carries no fields beyond the CSRF token.
PLAIN_ACTIONS = ("submit", "approve", "acknowledge")
REASON_ACTIONS = ("reject", "withdraw", "close")
ACTIONS = (
    "submit",
    "approve",
    "reject",
    "broadcast",
    "disseminate",
    "acknowledge",
    "comment",
    "update",
    "rectify",
    "withdraw",
    "close",
)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list(form: Any, name: str) -> list[str]:
    values = form.getlist(name) if hasattr(form, "getlist") else []
    found: list[str] = []
    for value in values:
        if isinstance(value, str):
            found.extend(part.strip().lower() for part in value.split(",") if part.strip())
    return found


def action_body(action: str, form: Any) -> dict[str, Any]:
    """The JSON body of an alert action from its HTML form."""
    if action in PLAIN_ACTIONS:
        return {}
    if action in REASON_ACTIONS:
        reason = _text(form, "reason")
        return {"reason": reason} if reason or action == "reject" else {}
    if action == "broadcast":
        if _text(form, "scope") == "all":
            return {"countries": "all"}
        countries = _list(form, "countries")
        return {"countries": countries} if countries else {}
    if action == "disseminate":
        body: dict[str, Any] = {
            "procedures": _list(form, "procedures"),
            "regions": [r.upper() for r in _list(form, "regions")],
        }
        ids = _list(form, "authority_ids")
        if ids:
            body["authority_ids"] = ids
        return body
    if action == "comment":
        return {"text": _text(form, "text")}
    if action == "update":
        return {
            "free_texts": [{"id": f"update-{uuid.uuid4().hex[:8]}", "text": _text(form, "text")}]
        }
    if action == "rectify":
        body = {"content": content_from_form(form)}
        reason = _text(form, "reason")
        if reason:
            body["reason"] = reason
        return body
    raise ValueError(action)


def content_from_form(form: Any) -> dict[str, Any]:
    """Structured items (``item.<question>.<text,option,date>`` fields) and free text."""
    items: list[dict[str, Any]] = []
    for key in form:
        if not key.startswith("item."):
            continue
        question, _, shape = key[len("item.") :].partition(".")
        value = _text(form, key)
        if not value:
            continue
        items.append({"question": question, "answer": {shape or "text": value}})
    free_texts = []
    summary = _text(form, "summary")
    if summary:
        free_texts.append({"id": "summary", "text": summary})
    return {"items": items, "free_texts": free_texts}


def draft_body(form: Any) -> dict[str, Any]:
    """The draft alert or notification from the creation form."""
    procedure = _text(form, "procedure")
    body: dict[str, Any] = {"procedure": procedure, "content": content_from_form(form)}
    if procedure == "pq_alert":
        profession = _text(form, "profession")
        if profession:
            body["profession"] = profession
        decision = _text(form, "decision_date")
        if decision:
            body["content"]["items"].append(
                {"question": "pq_alert_decision_date", "answer": {"date": decision}}
            )
        scope = _text(form, "scope")
        if scope:
            body["content"]["items"].append(
                {"question": "pq_alert_scope", "answer": {"text": scope}}
            )
        period = _text(form, "period")
        if period:
            body["content"]["free_texts"].append({"id": "period", "text": period})
        name = _text(form, "full_name")
        if name:
            body["professional"] = {"full_name": name}
    return body


@router.get("/alerts", name="web_alerts")
async def alerts_list(request: Request, caller: WebCallerDep, box: str = "incoming") -> Response:
    if box not in BOXES:
        box = "incoming"
    response = await call(request, caller, "alerts", "GET", "alerts", params={"box": box})
    items: list[dict[str, Any]] = []
    error = None
    if response.status_code == 200:
        items = response.json().get("items", [])
    else:
        error = problem_message(response)
    return render(
        request,
        "alerts/list.html",
        {"box": box, "boxes": BOXES, "items": items, "error": error},
        caller=caller,
    )


async def _questions(request: Request, caller: Any, kind: str) -> list[dict[str, Any]]:
    """The questions of the procedure's sets, in the reader's language."""
    response = await call(request, caller, "translation", "GET", f"catalogue/procedures/{kind}")
    if response.status_code != 200:
        return []
    return [q for s in response.json().get("question_sets", []) for q in s.get("questions", [])]


@router.get("/alerts/new", name="web_alert_new")
async def alert_new(request: Request, caller: WebCallerDep, kind: str = "svc_alert") -> Response:
    if kind not in KINDS:
        kind = "svc_alert"
    questions = await _questions(request, caller, kind)
    return render(
        request,
        "alerts/new.html",
        {"kind": kind, "kinds": KINDS, "questions": questions, "error": None, "values": {}},
        caller=caller,
    )


@router.post("/alerts/new", name="web_alert_create")
async def alert_create(request: Request, caller: WebCallerDep, form: CsrfFormDep) -> Response:
    body = draft_body(form)
    kind = body["procedure"] if body["procedure"] in KINDS else "svc_alert"
    response = await call(request, caller, "alerts", "POST", "alerts", json=body)
    if response.status_code == 201:
        alert_id = response.json()["id"]
        log.info("web.alert.drafted", alert_id=alert_id)
        return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
    return render(
        request,
        "alerts/new.html",
        {
            "kind": kind,
            "kinds": KINDS,
            "questions": await _questions(request, caller, kind),
            "error": problem_message(response),
            "values": dict(form),
        },
        caller=caller,
        status_code=422 if response.status_code < 500 else 503,
    )


async def _alert_page(
    request: Request,
    caller: Any,
    alert_id: uuid.UUID,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    response = await call(request, caller, "alerts", "GET", f"alerts/{alert_id}")
    if response.status_code != 200:
        return render(
            request,
            "alerts/missing.html",
            {"error": problem_message(response)},
            caller=caller,
            status_code=404 if response.status_code in (403, 404) else response.status_code,
        )
    alert = response.json()
    recipients: list[dict[str, Any]] = []
    listed = await call(
        request, caller, "alerts", "GET", f"alerts/{alert_id}/recipients", params={"limit": 500}
    )
    if listed.status_code == 200:
        recipients = listed.json().get("items", [])
    return render(
        request,
        "alerts/detail.html",
        {"alert": alert, "recipients": recipients, "error": error},
        caller=caller,
        status_code=status_code,
    )


@router.get("/alerts/{alert_id}", name="web_alert")
async def alert_page(request: Request, caller: WebCallerDep, alert_id: uuid.UUID) -> Response:
    return await _alert_page(request, caller, alert_id)


@router.post("/alerts/{alert_id}/{action}", name="web_alert_action")
async def alert_action(
    request: Request, caller: WebCallerDep, form: CsrfFormDep, alert_id: uuid.UUID, action: str
) -> Response:
    if action not in ACTIONS:
        return await _alert_page(
            request, caller, alert_id, error=f"unknown action: {action}", status_code=404
        )
    body = action_body(action, form)
    version = _text(form, "version")
    headers = {"if-match": f'"{version}"'} if version else None
    response = await call(
        request, caller, "alerts", "POST", f"alerts/{alert_id}/{action}", json=body, headers=headers
    )
    if response.status_code < 300:
        log.info("web.alert.action", alert_id=str(alert_id), action=action)
        return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
    if response.status_code == 404:
        return await _alert_page(request, caller, alert_id)
    return await _alert_page(
        request,
        caller,
        alert_id,
        error=problem_message(response),
        status_code=response.status_code if response.status_code < 500 else 503,
    )
