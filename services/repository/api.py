"""Internal HTTP API of the repository service (thin: parse, call one use case, shape the answer).

The gateway forwards ``/api/v1/X`` here as ``/v1/X`` with the caller's identity token.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from services.repository import service
from services.repository.deps import (
    ClockDep,
    IdentityDep,
    IfMatch,
    ReaderLanguageDep,
    SessionDep,
    SettingsDep,
)
from services.repository.domain import Definition
from services.repository.repository import StoredRecord
from services.repository.schemas import RecordIn, RecordPatch, RetireIn
from services.repository.service import SearchRequest
from shared.languages import language_tag
from shared.problems import InvalidInput

router = APIRouter(prefix="/v1")
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2000)]
Purpose = Annotated[str | None, Query(max_length=500)]
# Query parameters of the records list that are not field filters.
_LIST_PARAMETERS = {"q", "lang", "across", "valid_on", "cursor", "limit", "include_retired"}


def etag(version: int) -> str:
    return f'"{version}"'


def _record_response(
    definition: Definition, record: StoredRecord, language: str, status: int = 200
) -> JSONResponse:
    body = service.record_out(definition, record, language, with_personal=True)
    headers = {"ETag": etag(record.version), "Content-Language": language}
    if status == 201:
        headers["Location"] = f"/v1/repositories/{record.repository}/records/{record.id}"
    return JSONResponse(body, status_code=status, headers=headers)


@router.get("/repositories", tags=["repositories"])
async def list_repositories(
    identity: IdentityDep, session: SessionDep, language: ReaderLanguageDep
) -> dict[str, Any]:
    """The repositories the caller may read, each with its schema."""
    return {"items": await service.list_repositories(session, identity, language)}


@router.get("/repositories/{key}", tags=["repositories"])
async def describe_repository(
    key: str, identity: IdentityDep, session: SessionDep, language: ReaderLanguageDep
) -> dict[str, Any]:
    return await service.describe_repository(session, identity, key, language)


@router.get("/repositories/{key}/records", tags=["records"])
async def search_records(
    key: str,
    request: Request,
    identity: IdentityDep,
    session: SessionDep,
    language: ReaderLanguageDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=500)] = None,
    lang: Annotated[str | None, Query(max_length=10)] = None,
    across: bool = True,
    valid_on: date | None = None,
    include_retired: bool = False,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> dict[str, Any]:
    """Full-text search in the reader's language (``across=false``) or across every language,
    filtered by any filterable field (``?country=de``) and validity (``valid_on``)."""
    reader = language
    if lang is not None:
        found = language_tag(lang)
        if found is None or found != lang.lower():
            raise InvalidInput(f"unknown language {lang!r}", field="query.lang")
        reader = found
    filters = {k: v for k, v in request.query_params.items() if k not in _LIST_PARAMETERS}
    return await service.search_records(
        session,
        identity,
        key,
        SearchRequest(
            q=q,
            language=reader,
            across_languages=across,
            filters=filters,
            valid_on=valid_on,
            cursor=cursor,
            limit=limit,
            include_retired=include_retired,
            rank_window=settings.search_rank_window,
        ),
    )


@router.post("/repositories/{key}/records", tags=["records"], status_code=201)
async def create_record(
    key: str,
    body: RecordIn,
    identity: IdentityDep,
    session: SessionDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """A new record (Idempotency-Key: the same key and body get the same record back, 200)."""
    definition, record, created = await service.create_record(
        session, identity, key, body.fields, clock(), idempotency_key
    )
    return _record_response(definition, record, language, 201 if created else 200)


@router.get("/repositories/{key}/records/{record_id}", tags=["records"])
async def read_record(
    key: str,
    record_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    purpose: Purpose = None,
) -> JSONResponse:
    """One record with every field; reading personal data is recorded with ``purpose``."""
    body, version = await service.read_record(
        session, identity, key, record_id, language, purpose, clock()
    )
    return JSONResponse(body, headers={"ETag": etag(version), "Content-Language": language})


@router.patch("/repositories/{key}/records/{record_id}", tags=["records"])
async def update_record(
    key: str,
    record_id: uuid.UUID,
    body: RecordPatch,
    identity: IdentityDep,
    session: SessionDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    definition, record = await service.update_record(
        session, identity, key, record_id, body.fields, if_match, clock()
    )
    return _record_response(definition, record, language)


@router.post("/repositories/{key}/records/{record_id}/retire", tags=["records"])
async def retire_record(
    key: str,
    record_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    body: RetireIn | None = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    definition, record = await service.retire_record(
        session, identity, key, record_id, body.reason if body else None, if_match, clock()
    )
    return _record_response(definition, record, language)


@router.get("/repositories/{key}/records/{record_id}/history", tags=["records"])
async def record_history(
    key: str, record_id: uuid.UUID, identity: IdentityDep, session: SessionDep
) -> dict[str, Any]:
    return {"items": await service.record_history(session, identity, key, record_id)}


@router.post("/repositories/{key}/import", tags=["records"], status_code=201)
async def import_records(
    key: str,
    request: Request,
    identity: IdentityDep,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> dict[str, Any]:
    """Records from a CSV file (text/csv body or a multipart ``file``): every row or none."""
    text = await _csv_text(request, settings.import_max_bytes)
    return await service.import_records(
        session, identity, key, text, clock(), max_rows=settings.import_max_rows
    )


@router.get("/repositories/{key}/export", tags=["records"])
async def export_records(
    key: str,
    identity: IdentityDep,
    session: SessionDep,
    clock: ClockDep,
    format: Literal["csv", "json"] = "csv",  # noqa: A002 (the query parameter's public name)
    purpose: Purpose = None,
) -> Response:
    body = await service.export_records(session, identity, key, format, purpose, clock())
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{key}.{format}"'},
    )


async def _csv_text(request: Request, limit: int) -> str:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("send the CSV file in the part named 'file'", field="body.file")
        raw = await upload.read(limit + 1)
    elif content_type.startswith(("text/csv", "text/plain", "application/csv")):
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        raw = b"".join(chunks) if size <= limit else b"x" * (limit + 1)
    else:
        raise InvalidInput(
            "send the file as text/csv or multipart/form-data", field="header.Content-Type"
        )
    if len(raw) > limit:
        raise InvalidInput(f"the file is larger than {limit} bytes", field="body")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", field="body") from exc
