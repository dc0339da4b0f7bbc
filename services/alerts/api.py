"""Internal HTTP API of the alerts service (thin: parse, call one use case)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts.deps import (
    ContextDep,
    IdempotencyKeyDep,
    IdentityDep,
    IfMatchDep,
    ReaderLanguageDep,
    SessionDep,
)
from services.alerts.domain import Action
from services.alerts.schemas import (
    BroadcastIn,
    CommentIn,
    DisseminateIn,
    DraftIn,
    EditIn,
    NoInput,
    ReasonIn,
    RectifyIn,
    UpdateIn,
)
from services.alerts.service import (
    ActionInput,
    AlertsContext,
    DraftInput,
    EditInput,
    act,
    draft_alert,
    edit_alert,
    list_alerts,
    list_recipients,
    read_access_log,
    read_alert,
    read_personal_data,
)
from shared.identity import Identity

router = APIRouter(prefix="/v1", tags=["alerts"])

Box = Literal["outgoing", "incoming", "coordination", "all"]
Kind = Literal["services_alert", "pq_alert", "notification"]
State = Literal["draft", "submitted", "approved", "rejected", "broadcast", "closed", "withdrawn"]
RecipientStatus = Literal[
    "read", "not_read", "acknowledged", "not_acknowledged", "commented", "not_commented"
]


def answer(view: dict[str, Any], status: int = 200) -> JSONResponse:
    """The alert with its version as ETag (the If-Match of the next transition)."""
    return JSONResponse(
        view,
        status_code=status,
        headers={"ETag": f'"{view["version"]}"', "Location": f"/v1/alerts/{view['id']}"},
    )


@router.post("/alerts", status_code=201, response_class=JSONResponse)
async def create_alert(
    body: DraftIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> JSONResponse:
    """Draft an alert or a notification; the catalogue procedure decides which."""
    view, _ = await draft_alert(
        session,
        ctx,
        identity,
        DraftInput(
            procedure=body.procedure,
            catalogue_version=body.catalogue_version,
            content=body.content.to_input(),
            language=body.language,
            profession=body.profession,
            professional=body.professional.to_input() if body.professional else None,
            deciding_authority=body.deciding_authority,
        ),
        idempotency_key=idempotency_key,
        reader=reader,
    )
    return answer(view, 201)


@router.get("/alerts")
async def get_alerts(
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    box: Box = "all",
    kind: Kind | None = None,
    state: State | None = None,
    overdue: bool | None = None,
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=200),
) -> dict[str, Any]:
    """A box: outgoing (my authority sent), incoming (my authority received), coordination
    (what waits for me as alert coordinator), all (everything I may see); newest first."""
    return await list_alerts(
        session,
        ctx,
        identity,
        box=box,
        kind=kind,
        state=state,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
        reader=reader,
    )


@router.get("/alerts/{alert_id}", response_class=JSONResponse)
async def get_alert(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
) -> JSONResponse:
    """The alert in the reader's language, with allowed actions and (for the sender and the
    coordinators) the per-recipient tracking; a recipient's first read is recorded."""
    return answer(await read_alert(session, ctx, identity, alert_id, reader))


@router.patch("/alerts/{alert_id}", response_class=JSONResponse)
async def patch_alert(
    alert_id: uuid.UUID,
    body: EditIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Edit a draft (If-Match required)."""
    changes = EditInput(
        given=frozenset(body.model_fields_set),
        content=body.content.to_input() if body.content else None,
        language=body.language,
        profession=body.profession,
        professional=body.professional.to_input() if body.professional else None,
        deciding_authority=body.deciding_authority,
    )
    view = await edit_alert(
        session, ctx, identity, alert_id, changes, if_match=if_match, reader=reader
    )
    return answer(view)


@router.get("/alerts/{alert_id}/recipients")
async def get_recipients(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    status: RecipientStatus | None = None,
    country: str | None = Query(default=None, max_length=2),
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, Any]:
    """Who has and has not read, acknowledged, commented."""
    return await list_recipients(
        session,
        ctx,
        identity,
        alert_id,
        status=status,
        country=country,
        cursor=cursor,
        limit=limit,
    )


@router.get("/alerts/{alert_id}/personal-data", tags=["personal data"])
async def get_personal_data(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    purpose: str | None = Query(default=None, max_length=1000),
    justification: str | None = Query(default=None, max_length=4000),
) -> dict[str, Any]:
    """The professional's identity and the answers to personal-data questions; every read is
    recorded. Once blocked: only a data protection administrator, with a justification."""
    return await read_personal_data(
        session,
        ctx,
        identity,
        alert_id,
        purpose=purpose,
        justification=justification,
        reader=reader,
    )


@router.get("/alerts/{alert_id}/access-log", tags=["personal data"])
async def get_access_log(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, Any]:
    """Every read of the alert's personal data (data protection administrator, supervisor)."""
    return await read_access_log(session, ctx, identity, alert_id, cursor=cursor, limit=limit)


# --- actions ---------------------------------------------------------------------------------


async def _act(
    action: Action,
    alert_id: uuid.UUID,
    inputs: ActionInput,
    identity: Identity,
    session: AsyncSession,
    ctx: AlertsContext,
    reader: str,
    if_match: str | None,
) -> JSONResponse:
    view = await act(
        session, ctx, identity, alert_id, action, inputs, if_match=if_match, reader=reader
    )
    return answer(view)


@router.post("/alerts/{alert_id}/submit", response_class=JSONResponse)
async def submit(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    body: NoInput | None = None,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Submit a Services Directive alert to the country's alert coordinators."""
    return await _act(
        Action.SUBMIT, alert_id, ActionInput(), identity, session, ctx, reader, if_match
    )


@router.post("/alerts/{alert_id}/approve", response_class=JSONResponse)
async def approve(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    body: NoInput | None = None,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Approve a submitted alert (alert coordinator of the sender's country)."""
    return await _act(
        Action.APPROVE, alert_id, ActionInput(), identity, session, ctx, reader, if_match
    )


@router.post("/alerts/{alert_id}/reject", response_class=JSONResponse)
async def reject(
    alert_id: uuid.UUID,
    body: ReasonIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Send a submitted alert back to the sender, with the reason."""
    inputs = ActionInput(reason=body.reason)
    return await _act(Action.REJECT, alert_id, inputs, identity, session, ctx, reader, if_match)


@router.post("/alerts/{alert_id}/broadcast", response_class=JSONResponse)
async def broadcast(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    body: BroadcastIn | None = None,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Send: to the chosen countries' coordinators (or all) and the Commission; a
    professional-qualifications alert to every other EEA country."""
    inputs = ActionInput(countries=body.countries if body else None)
    return await _act(Action.BROADCAST, alert_id, inputs, identity, session, ctx, reader, if_match)


@router.post("/alerts/{alert_id}/disseminate", response_class=JSONResponse)
async def disseminate(
    alert_id: uuid.UUID,
    body: DisseminateIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Pass a received alert to competent authorities of one's own country."""
    inputs = ActionInput(
        country=body.country,
        procedures=body.procedures,
        regions=body.regions,
        authority_ids=body.authority_ids,
    )
    return await _act(
        Action.DISSEMINATE, alert_id, inputs, identity, session, ctx, reader, if_match
    )


@router.post("/alerts/{alert_id}/acknowledge", response_class=JSONResponse)
async def acknowledge(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    body: NoInput | None = None,
) -> JSONResponse:
    """Acknowledge receipt on behalf of one's authority."""
    return await _act(
        Action.ACKNOWLEDGE, alert_id, ActionInput(), identity, session, ctx, reader, None
    )


@router.post("/alerts/{alert_id}/comment", response_class=JSONResponse)
async def comment(
    alert_id: uuid.UUID,
    body: CommentIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
) -> JSONResponse:
    """Comment on a received alert, in one's own language."""
    inputs = ActionInput(text=body.text, language=body.language)
    return await _act(Action.COMMENT, alert_id, inputs, identity, session, ctx, reader, None)


@router.post("/alerts/{alert_id}/update", response_class=JSONResponse)
async def update(
    alert_id: uuid.UUID,
    body: UpdateIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Add information to a sent alert or notification."""
    inputs = ActionInput(content=body.to_input(), language=body.language)
    return await _act(Action.UPDATE, alert_id, inputs, identity, session, ctx, reader, if_match)


@router.post("/alerts/{alert_id}/rectify", response_class=JSONResponse)
async def rectify(
    alert_id: uuid.UUID,
    body: RectifyIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Replace the content of a sent alert; the previous content stays in its history."""
    inputs = ActionInput(
        content=body.content.to_input(),
        reason=body.reason,
        language=body.language,
        profession=body.profession,
        professional=body.professional.to_input() if body.professional else None,
        deciding_authority=body.deciding_authority,
    )
    return await _act(Action.RECTIFY, alert_id, inputs, identity, session, ctx, reader, if_match)


@router.post("/alerts/{alert_id}/withdraw", response_class=JSONResponse)
async def withdraw(
    alert_id: uuid.UUID,
    body: ReasonIn,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Withdraw an alert that proved unfounded (the reason is required)."""
    inputs = ActionInput(reason=body.reason)
    return await _act(Action.WITHDRAW, alert_id, inputs, identity, session, ctx, reader, if_match)


@router.post("/alerts/{alert_id}/close", response_class=JSONResponse)
async def close(
    alert_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    ctx: ContextDep,
    reader: ReaderLanguageDep,
    body: ReasonIn | None = None,
    if_match: IfMatchDep = None,
) -> JSONResponse:
    """Close: the risk is over, or the decision changed or expired."""
    inputs = ActionInput(reason=body.reason if body else None)
    return await _act(Action.CLOSE, alert_id, inputs, identity, session, ctx, reader, if_match)
