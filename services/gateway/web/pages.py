"""The officer's pages: home, directory search, requests (lists, new, the request page)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from services.gateway.web.core import (
    N_,
    CsrfFormDep,
    WebCaller,
    WebCallerDep,
    _gettext,
    call,
    environment,
    error_page,
    problem_message,
    render,
)

router = APIRouter(include_in_schema=False)

STATES = {
    "draft": N_("Draft"),
    "sent": N_("Waiting for acceptance"),
    "accepted": N_("Accepted"),
    "allocated": N_("Allocated to a handler"),
    "rejected": N_("Rejected"),
    "forwarded": N_("Forwarded"),
    "answered": N_("Answered"),
    "information_requested": N_("More information requested"),
    "answer_accepted": N_("Answer accepted"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}
ACTIONS = {
    "send": N_("Send"),
    "accept": N_("Accept the request"),
    "reject": N_("Reject"),
    "forward": N_("Forward"),
    "split": N_("Split"),
    "allocate": N_("Allocate to a handler"),
    "propose-date": N_("Propose another reply date"),
    "answer": N_("Send the answer"),
    "request-info": N_("Ask for more information"),
    "accept-answer": N_("Accept the answer"),
    "close": N_("Close"),
    "withdraw": N_("Withdraw"),
}


def state_name(state: str) -> str:
    return _gettext(STATES.get(state) or state)


def action_name(action: str) -> str:
    return _gettext(ACTIONS.get(action) or action)


environment.globals["state_name"] = state_name
environment.globals["action_name"] = action_name
PAGE = 100


async def _count(
    request: Request, caller: WebCaller, service: str, path: str, **params: Any
) -> str:
    response = await call(request, caller, service, "GET", path, params={"limit": PAGE, **params})
    if response.status_code != 200:
        return "?"
    body = response.json()
    items = body.get("items", [])
    return f"{len(items)}+" if body.get("next_cursor") else str(len(items))


@router.get("/")
async def home(request: Request, caller: WebCallerDep) -> Response:
    counts = {
        "to_accept": await _count(
            request, caller, "exchange", "requests", box="incoming", state="sent"
        ),
        "answers": await _count(
            request, caller, "exchange", "requests", box="outgoing", state="answered"
        ),
        "alerts": await _count(request, caller, "alerts", "alerts", box="incoming"),
        "overdue": await _count(
            request, caller, "exchange", "requests", box="incoming", overdue="true"
        ),
    }
    return render(request, "home.html", {"counts": counts}, caller=caller)


async def _procedures(request: Request, caller: WebCaller) -> list[dict[str, Any]]:
    response = await call(request, caller, "translation", "GET", "catalogue/areas")
    if response.status_code != 200:
        return []
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@router.get("/directory")
async def directory(
    request: Request,
    caller: WebCallerDep,
    q: str = "",
    country: str = "",
    procedure: str = "",
    cursor: str = "",
) -> Response:
    countries = await call(request, caller, "directory", "GET", "countries")
    areas = await _procedures(request, caller)
    context: dict[str, Any] = {
        "q": q,
        "country": country,
        "procedure": procedure,
        "countries": countries.json()["items"] if countries.status_code == 200 else [],
        "procedures": [p for a in areas for p in a["procedures"]],
        "searched": bool(q or country or procedure),
        "items": [],
    }
    if context["searched"]:
        params = {
            k: v for k, v in {"q": q, "country": country, "procedure": procedure}.items() if v
        }
        if cursor:
            params["cursor"] = cursor
        found = await call(request, caller, "directory", "GET", "authorities", params=params)
        if found.status_code == 200:
            context["items"] = found.json()["items"]
            context["next_cursor"] = found.json().get("next_cursor")
        else:
            context["error"] = problem_message(found)
    return render(request, "directory.html", context, caller=caller)


@router.get("/requests")
async def requests_list(
    request: Request,
    caller: WebCallerDep,
    box: str = "incoming",
    state: str = "",
    overdue: str = "",
) -> Response:
    box = box if box in ("incoming", "outgoing") else "incoming"
    params: dict[str, Any] = {"box": box, "limit": PAGE}
    if state:
        params["state"] = state
    if overdue:
        params["overdue"] = overdue
    response = await call(request, caller, "exchange", "GET", "requests", params=params)
    names = {
        p["key"]: p["name"] for a in await _procedures(request, caller) for p in a["procedures"]
    }
    context: dict[str, Any] = {"box": box, "items": [], "procedure_names": names}
    if response.status_code == 200:
        context["items"] = response.json()["items"]
    else:
        context["error"] = problem_message(response)
    return render(request, "requests/list.html", context, caller=caller)


async def _new_form(
    request: Request,
    caller: WebCaller,
    procedure: str,
    responding: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    areas = await _procedures(request, caller)
    keys = [p["key"] for a in areas for p in a["procedures"] if p["kind"] == "request"]
    chosen = procedure if procedure in keys else (keys[0] if keys else "")
    detail = None
    if chosen:
        found = await call(request, caller, "translation", "GET", f"catalogue/procedures/{chosen}")
        detail = found.json() if found.status_code == 200 else None
    return render(
        request,
        "requests/new.html",
        {
            "areas": areas,
            "procedure": detail,
            "responding": responding,
            "default_date": (date.today() + timedelta(days=14)).isoformat(),
            "error": error,
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/requests/new")
async def request_new(
    request: Request, caller: WebCallerDep, procedure: str = "", responding: str = ""
) -> Response:
    return await _new_form(request, caller, procedure, responding)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/requests")
async def request_create(request: Request, caller: WebCallerDep, form: CsrfFormDep) -> Response:
    procedure = _text(form, "procedure")
    responding = _text(form, "responding_authority_id")
    body: dict[str, Any] = {
        "procedure": procedure,
        "responding_authority_id": responding,
        "items": [{"question": q} for q in form.getlist("question") if isinstance(q, str)],
        "free_texts": [{"text": t}] if (t := _text(form, "free_text")) else [],
        "requested_reply_date": _text(form, "requested_reply_date"),
    }
    created = await call(request, caller, "exchange", "POST", "requests", json=body)
    if created.status_code != 201:
        return await _new_form(
            request, caller, procedure, responding, problem_message(created), 422
        )
    draft = created.json()
    upload = form.get("attachment")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        attached = await request.app.state.upstreams.client.post(
            f"{request.app.state.settings.upstream('exchange')}/v1/requests/{draft['id']}/attachments",
            files={
                "file": (
                    upload.filename,
                    content,
                    upload.content_type or "application/octet-stream",
                )
            },
            headers=request.app.state.upstreams.headers(caller.identity),
        )
        if attached.status_code not in (200, 201):
            return RedirectResponse(f"/requests/{draft['id']}?error=attachment", status_code=303)
        draft = (await call(request, caller, "exchange", "GET", f"requests/{draft['id']}")).json()
    if form.get("then") == "send":
        sent = await call(
            request,
            caller,
            "exchange",
            "POST",
            f"requests/{draft['id']}/send",
            headers={"if-match": f'"{draft["version"]}"'},
        )
        if sent.status_code != 200:
            return await _detail(request, caller, draft["id"], error=problem_message(sent))
    return RedirectResponse(f"/requests/{draft['id']}", status_code=303)


def _answer_text(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    if "text" in answer and isinstance(answer["text"], str):
        return answer["text"]
    if "date" in answer:
        return str(answer["date"])
    if "translation" in answer and isinstance(answer.get("translation"), dict):
        return str(answer["translation"].get("text", ""))
    return str(answer.get("option", ""))


async def _detail(
    request: Request,
    caller: WebCaller,
    request_id: uuid.UUID | str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    found = await call(request, caller, "exchange", "GET", f"requests/{request_id}")
    if found.status_code != 200:
        return error_page(
            request,
            caller,
            404 if found.status_code == 404 else found.status_code,
            _gettext("There is no such request, or it is not one you may see.")
            if found.status_code == 404
            else problem_message(found),
        )
    view = found.json()
    rendered = await call(
        request,
        caller,
        "translation",
        "POST",
        "render",
        json={"language": caller.language, **view["content"]},
    )
    content = rendered.json() if rendered.status_code == 200 else {"items": [], "free_texts": []}
    procedure = await call(
        request, caller, "translation", "GET", f"catalogue/procedures/{view['procedure']}"
    )
    options: dict[str, list[dict[str, Any]]] = {}
    if procedure.status_code == 200:
        for question_set in procedure.json()["question_sets"]:
            for question in question_set["questions"]:
                options[question["key"]] = question.get("options") or []
    for item in content["items"]:
        item["options"] = options.get(item["question"], [])
        item["answer_text"] = _answer_text(item.get("answer"))
    return render(
        request,
        "requests/detail.html",
        {"r": view, "rendered": content, "error": error, "notice": notice},
        caller=caller,
        status_code=status_code,
    )


@router.get("/requests/{request_id}")
async def request_page(
    request: Request, caller: WebCallerDep, request_id: uuid.UUID, error: str = ""
) -> Response:
    return await _detail(request, caller, request_id, error=error or None)


def _answers(form: FormData) -> list[dict[str, Any]]:
    answers = []
    for name, value in form.multi_items():
        if not name.startswith("answer:") or not isinstance(value, str) or not value.strip():
            continue
        question = name.removeprefix("answer:")
        if value.startswith("option:"):
            answers.append(
                {"question": question, "answer": {"option": value.removeprefix("option:")}}
            )
        elif len(value) == 10 and value[4] == "-" and value[7] == "-":
            answers.append({"question": question, "answer": {"date": value}})
        else:
            answers.append({"question": question, "answer": {"text": value.strip()}})
    return answers


def _action_body(action: str, form: FormData) -> dict[str, Any] | None:
    if action in ("reject", "withdraw", "close"):
        reason = _text(form, "reason")
        return {"reason": reason} if reason or action == "reject" else None
    if action == "forward":
        return {
            "authority_id": _text(form, "authority_id"),
            "reason": _text(form, "reason") or None,
        }
    if action == "allocate":
        return {"user_id": _text(form, "user_id")}
    if action == "propose-date":
        return {"date": _text(form, "date")}
    if action == "answer":
        text = _text(form, "free_text")
        return {"answers": _answers(form), "free_texts": [{"text": text}] if text else []}
    if action == "request-info":
        return {"text": _text(form, "text")}
    if action == "accept-answer":
        return {
            "timeliness": int(_text(form, "timeliness") or 0),
            "effort": int(_text(form, "effort") or 0),
        }
    return None


@router.post("/requests/{request_id}/{action}")
async def request_action(
    request: Request, caller: WebCallerDep, form: CsrfFormDep, request_id: uuid.UUID, action: str
) -> Response:
    if action not in ACTIONS:
        return error_page(request, caller, 404, _gettext("There is no such action."))
    try:
        body = _action_body(action, form)
    except ValueError:
        return await _detail(
            request,
            caller,
            request_id,
            error=_gettext("Please give whole numbers."),
            status_code=422,
        )
    done = await call(
        request,
        caller,
        "exchange",
        "POST",
        f"requests/{request_id}/{action}",
        json=body,
        headers={"if-match": f'"{_text(form, "version")}"'},
    )
    if done.status_code == 404:
        return await _detail(request, caller, request_id)
    if done.status_code != 200:
        return await _detail(
            request, caller, request_id, error=problem_message(done), status_code=done.status_code
        )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)
