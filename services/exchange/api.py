"""Internal HTTP API of the exchange service (thin: parse, call one use case, shape the answer).

The gateway forwards ``/api/v1/<path>`` here as ``/v1/<path>`` with the caller's identity.
Transitions take ``If-Match`` with the version they act on (428 without, 412 when stale); an
answer carries the request's version as its ``ETag``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from services.exchange import service
from services.exchange.deps import (
    DatabaseDep,
    DeskDep,
    IdentityDep,
    IfMatchDep,
    ReaderLanguageDep,
    SessionDep,
)
from services.exchange.domain import AnswerInput
from services.exchange.form_upload import FormFile, boundary_of
from services.exchange.repository import ListFilters
from services.exchange.schemas import (
    AcceptAnswerIn,
    AccessLogOut,
    AllocateIn,
    AnswerIn,
    AttachmentListOut,
    AttachmentOut,
    DraftIn,
    DraftPatch,
    ForwardIn,
    FreeTextIn,
    NoBody,
    PersonalDataOut,
    ProposeDateIn,
    ReasonIn,
    RequestInfoIn,
    RequestListOut,
    RequestOut,
    SplitIn,
    StatisticsOut,
)
from shared.web import JSONBody

router = APIRouter(prefix="/v1", tags=["requests"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such request, or one the caller may not see"},
    409: {"description": "the state does not allow the action; lists the allowed actions"},
    412: {"description": "If-Match names an older version"},
    422: {"description": "invalid input, naming the field"},
    428: {"description": "If-Match is missing"},
}
DETAIL = {200: {"model": RequestOut}, **PROBLEMS}


def _request_response(view: dict[str, Any], status: int = 200) -> JSONResponse:
    headers = {"ETag": f'"{view["version"]}"'}
    if status == 201:
        headers["Location"] = f"/v1/requests/{view['id']}"
    return JSONBody(view, status_code=status, headers=headers)


# --- drafts and reading --------------------------------------------------------------------------


@router.post("/requests", status_code=201, responses={201: {"model": RequestOut}, **PROBLEMS})
async def create_request(
    body: DraftIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Draft a request (Idempotency-Key: the same key and caller get the same draft back)."""
    view, created = await service.create_draft(
        session, desk, identity, body, idempotency_key, language
    )
    return _request_response(view, 201 if created else 200)


@router.patch("/requests/{request_id}", responses=DETAIL)
async def edit_request(
    request_id: uuid.UUID,
    body: DraftPatch,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    """Change a draft."""
    view = await service.edit_draft(session, desk, identity, request_id, version, body, language)
    return _request_response(view)


@router.get("/requests", responses={200: {"model": RequestListOut}})
async def list_requests(
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    box: Literal["incoming", "outgoing", "all"] = "all",
    state: str | None = None,
    procedure: str | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: int | None = Query(default=None, ge=1),
) -> JSONResponse:
    """The requests the caller may see, newest first: incoming (to the caller's authority),
    outgoing (from it) or all."""
    page = await service.list_requests(
        session,
        desk,
        identity,
        ListFilters(box=box, state=state, procedure=procedure, overdue=overdue),
        cursor,
        limit,
    )
    return JSONBody(page)


@router.get("/requests/{request_id}", responses=DETAIL)
async def get_request(
    request_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
) -> JSONResponse:
    """The request with its structured content, state, deadlines, participants, history and the
    actions the caller may take now; its version is the ETag."""
    view = await service.get_request(session, desk, identity, request_id, language)
    return _request_response(view)


# --- transitions ---------------------------------------------------------------------------------


@router.post("/requests/{request_id}/send", responses=DETAIL)
async def send(
    request_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
    body: NoBody | None = None,
) -> JSONResponse:
    view = await service.send_request(session, desk, identity, request_id, version, language)
    return _request_response(view)


@router.post("/requests/{request_id}/accept", responses=DETAIL)
async def accept(
    request_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
    body: NoBody | None = None,
) -> JSONResponse:
    view = await service.accept_request(session, desk, identity, request_id, version, language)
    return _request_response(view)


@router.post("/requests/{request_id}/reject", responses=DETAIL)
async def reject(
    request_id: uuid.UUID,
    body: ReasonIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    view = await service.reject_request(
        session, desk, identity, request_id, version, body.reason, language
    )
    return _request_response(view)


@router.post("/requests/{request_id}/forward", responses=DETAIL)
async def forward(
    request_id: uuid.UUID,
    body: ForwardIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    """To another competent authority of the responding authority's country."""
    view = await service.forward_request(
        session, desk, identity, request_id, version, body.authority_id, body.reason, language
    )
    return _request_response(view)


@router.post("/requests/{request_id}/split", responses=DETAIL)
async def split(
    request_id: uuid.UUID,
    body: SplitIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    """Move some questions into a new request to another competent authority of the responding
    authority's country; the answer is the original request, its ``splits`` name the new one."""
    view = await service.split_request(
        session, desk, identity, request_id, version, body.authority_id, body.questions, language
    )
    return _request_response(view)


@router.post("/requests/{request_id}/allocate", responses=DETAIL)
async def allocate(
    request_id: uuid.UUID,
    body: AllocateIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    view = await service.allocate_request(
        session, desk, identity, request_id, version, body.handler_user_id, language
    )
    return _request_response(view)


@router.post("/requests/{request_id}/propose-date", responses=DETAIL)
async def propose_date(
    request_id: uuid.UUID,
    body: ProposeDateIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    """``{"date": "YYYY-MM-DD"}`` proposes a reply date; ``{"accept": true}`` accepts the date
    the other side proposed."""
    view = await service.propose_reply_date(
        session, desk, identity, request_id, version, body.date, body.accept, language
    )
    return _request_response(view)


@router.post("/requests/{request_id}/answer", responses=DETAIL)
async def answer(
    request_id: uuid.UUID,
    body: AnswerIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    view = await service.answer_request(
        session,
        desk,
        identity,
        request_id,
        version,
        [AnswerInput(a.question, a.answer) for a in body.answers],
        body.free_texts,
        language,
    )
    return _request_response(view)


@router.post("/requests/{request_id}/request-info", responses=DETAIL)
async def request_info(
    request_id: uuid.UUID,
    body: RequestInfoIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    view = await service.request_information(
        session,
        desk,
        identity,
        request_id,
        version,
        FreeTextIn(text=body.text, language=body.language),
        body.questions,
        body.reply_by,
        language,
    )
    return _request_response(view)


@router.post("/requests/{request_id}/accept-answer", responses=DETAIL)
async def accept_answer(
    request_id: uuid.UUID,
    body: AcceptAnswerIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    view = await service.accept_answer(
        session, desk, identity, request_id, version, body.timeliness, body.effort, language
    )
    return _request_response(view)


@router.post("/requests/{request_id}/close", responses=DETAIL)
async def close(
    request_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
    body: NoBody | None = None,
) -> JSONResponse:
    """Formal closure."""
    view = await service.close_request(session, desk, identity, request_id, version, language)
    return _request_response(view)


@router.post("/requests/{request_id}/withdraw", responses=DETAIL)
async def withdraw(
    request_id: uuid.UUID,
    body: ReasonIn,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    language: ReaderLanguageDep,
    version: IfMatchDep,
) -> JSONResponse:
    view = await service.withdraw_request(
        session, desk, identity, request_id, version, body.reason, language
    )
    return _request_response(view)


# --- personal data -------------------------------------------------------------------------------


@router.get(
    "/requests/{request_id}/personal-data",
    tags=["personal data"],
    responses={200: {"model": PersonalDataOut}, **PROBLEMS},
)
async def personal_data(
    request_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    purpose: str | None = None,
    justification: str | None = None,
) -> JSONResponse:
    """The data subject's part; every read is recorded (who, when, which record, why). Blocked
    data: only a data protection administrator, with a justification."""
    found = await service.read_personal_data(
        session, desk, identity, request_id, purpose, justification
    )
    return JSONBody(found, headers={"Cache-Control": "no-store"})


@router.get(
    "/requests/{request_id}/access-log",
    tags=["personal data"],
    responses={200: {"model": AccessLogOut}, **PROBLEMS},
)
async def personal_data_access_log(
    request_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    cursor: str | None = None,
    limit: int | None = Query(default=None, ge=1),
) -> JSONResponse:
    """Who read the personal data of the request, when and why."""
    page = await service.access_log(session, desk, identity, request_id, cursor, limit)
    return JSONBody(page)


# --- attachments ---------------------------------------------------------------------------------


@router.post(
    "/requests/{request_id}/attachments",
    status_code=201,
    tags=["attachments"],
    responses={201: {"model": AttachmentOut}, 413: {}, 415: {}, **PROBLEMS},
)
async def upload_attachment(
    request_id: uuid.UUID,
    request: Request,
    identity: IdentityDep,
    db: DatabaseDep,
    desk: DeskDep,
    filename: str | None = None,
    personal_data: bool | None = None,
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[int | None, Header()] = None,
) -> JSONResponse:
    """The file is the body (its name in ``?filename=``, its type in Content-Type), or the part
    ``file`` of a multipart/form-data body. Its kind is told from its bytes; ``personal_data``
    (default true) makes every download a recorded read of personal data."""
    declared_type, declared_length = content_type, content_length
    chunks: AsyncIterator[bytes] = request.stream()
    form_personal: str | None = None
    boundary = boundary_of(content_type)
    if boundary is not None:
        form = FormFile(chunks, boundary)
        await form.start()
        filename = filename or form.filename or form.fields.get("filename")
        form_personal = form.fields.get("personal_data")
        declared_type, declared_length, chunks = form.content_type, None, form.chunks()
    marked = personal_data
    if marked is None and form_personal is not None:
        marked = form_personal.strip().lower() not in ("false", "0", "no", "off")
    view = await service.upload_attachment(
        db,
        desk,
        identity,
        request_id,
        filename=filename,
        declared_type=declared_type,
        declared_length=declared_length,
        personal_data=True if marked is None else marked,
        chunks=chunks,
    )
    return JSONBody(
        view,
        status_code=201,
        headers={"Location": f"/v1/requests/{request_id}/attachments/{view['id']}"},
    )


@router.get(
    "/requests/{request_id}/attachments",
    tags=["attachments"],
    responses={200: {"model": AttachmentListOut}, 404: PROBLEMS[404]},
)
async def list_attachments(
    request_id: uuid.UUID, identity: IdentityDep, session: SessionDep
) -> JSONResponse:
    return JSONBody(await service.list_attachments(session, identity, request_id))


@router.get(
    "/requests/{request_id}/attachments/{attachment_id}",
    tags=["attachments"],
    response_class=StreamingResponse,
    responses={404: PROBLEMS[404], 422: PROBLEMS[422]},
)
async def download_attachment(
    request_id: uuid.UUID,
    attachment_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    purpose: str | None = None,
    justification: str | None = None,
) -> Response:
    """The file, streamed with the type its bytes were found to be; a personal-data attachment
    needs ``purpose`` and its download is recorded."""
    found = await service.open_attachment(
        session, desk, identity, request_id, attachment_id, purpose, justification
    )
    return StreamingResponse(
        found.chunks,
        media_type=found.content_type,
        headers={
            "Content-Length": str(found.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "ETag": f'"{found.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- statistics ----------------------------------------------------------------------------------


@router.get("/statistics", tags=["statistics"], responses={200: {"model": StatisticsOut}})
async def statistics(
    identity: IdentityDep,
    session: SessionDep,
    desk: DeskDep,
    country: str | None = None,
    area: str | None = None,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
    side: str = "responding",
) -> JSONResponse:
    """Scoreboard indicators per country (the responding one; ``side=requesting`` for the
    other), area and period of sending: share accepted within 7 days, average reply time, share
    answered by the agreed date, share of negative ratings, counts by state."""
    figures = await service.statistics(
        session,
        desk,
        country=country,
        area=area,
        period_from=period_from,
        period_to=period_to,
        side=side,
    )
    return JSONBody(figures)
