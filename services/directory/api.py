"""Internal HTTP API of the directory (thin: parse, call one use case, shape the answer).

The gateway forwards ``/api/v1/X`` here as ``/v1/X`` with the caller's identity token.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from services.directory import service
from services.directory.deps import (
    CatalogueDep,
    ClockDep,
    IdempotencyKey,
    IdentityDep,
    IfMatch,
    PasswordsDep,
    ReaderLanguageDep,
    SessionDep,
    SettingsDep,
)
from services.directory.domain import Transition, etag
from services.directory.geography import EEA_COUNTRIES
from services.directory.schemas import (
    AuthorityIn,
    AuthorityPatch,
    CredentialsIn,
    FederatedIn,
    TransitionIn,
    UserIn,
    UserPatch,
)
from services.directory.service import Answer, NewUser, SearchRequest
from services.directory.views import authority_out, country_out, user_out
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot
from shared.problems import InvalidInput, NotFound

router = APIRouter(prefix="/v1")
Limit = Annotated[int | None, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2000)]


def _authority_answer(
    snapshot: AuthoritySnapshot,
    language: str,
    catalogue: Any,
    actions: list[str],
    status: int = 200,
    *,
    location: bool = False,
) -> Answer:
    headers = {"ETag": etag(snapshot.version), "Content-Language": language}
    if location:
        headers["Location"] = f"/v1/authorities/{snapshot.id}"
    return Answer(status, authority_out(snapshot, language, catalogue, actions), headers)


def _user_answer(snapshot: UserSnapshot, status: int = 200, *, location: bool = False) -> Answer:
    headers = {"ETag": etag(snapshot.version)}
    if location:
        headers["Location"] = f"/v1/users/{snapshot.id}"
    return Answer(status, user_out(snapshot), headers)


def _respond(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))


def _not_modified(if_none_match: str | None, version: int) -> Response | None:
    if if_none_match and etag(version) in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": etag(version)})
    return None


# --- countries -------------------------------------------------------------------------------


@router.get("/countries", tags=["countries"])
async def list_countries(identity: IdentityDep, language: ReaderLanguageDep) -> dict[str, Any]:
    """The 30 EEA countries: name in the reader's language, official languages, regions."""
    return {
        "items": [country_out(code, language) for code in EEA_COUNTRIES],
        "next_cursor": None,
        "language": language,
    }


@router.get("/countries/{code}", tags=["countries"])
async def get_country(code: str, identity: IdentityDep, language: ReaderLanguageDep) -> Any:
    if code.lower() not in EEA_COUNTRIES:
        raise NotFound(f"{code!r} is not a country of the network")
    return country_out(code.lower(), language)


# --- authorities -----------------------------------------------------------------------------


@router.get("/authorities", tags=["authorities"])
async def search_authorities(
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    language: ReaderLanguageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(max_length=20)] = None,
    country: Annotated[str | None, Query(max_length=10)] = None,
    region: Annotated[str | None, Query(max_length=20)] = None,
    area: Annotated[str | None, Query(max_length=100)] = None,
    procedure: Annotated[str | None, Query(max_length=100)] = None,
    keyword: Annotated[str | None, Query(max_length=100)] = None,
    level: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Cursor = None,
    limit: Limit = None,
) -> JSONResponse:
    """Who is competent for a procedure, a keyword or a text (in any of the 26 languages), in a
    country or region: ranked, with the matched competences named in the reader's language."""
    found = await service.search_authorities(
        session,
        identity,
        SearchRequest(
            q=q,
            lang=lang,
            country=country,
            region=region,
            area=area,
            procedure=procedure,
            keyword=keyword,
            level=level,
            status=status,
            cursor=cursor,
            limit=limit,
        ),
        language,
        await catalogue.current(session),
    )
    return JSONResponse(found, headers={"Content-Language": language})


@router.post("/authorities", tags=["authorities"], status_code=201)
async def register_authority(
    body: AuthorityIn,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A coordinator registers an authority inside their scope (status registered)."""

    async def produce() -> Answer:
        current = await catalogue.required(session)
        snapshot = await service.register_authority(
            session, identity, body.fields(), current, clock()
        )
        _, actions = await service.read_authority(session, identity, snapshot.id)
        return _authority_answer(snapshot, language, current, actions, 201, location=True)

    return _respond(
        await service.idempotent(
            session,
            identity,
            idempotency_key,
            "register_authority",
            body.model_dump(mode="json"),
            produce,
        )
    )


@router.post("/authorities/import", tags=["authorities"])
async def import_authorities(
    request: Request,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    settings: SettingsDep,
    clock: ClockDep,
    dry_run: bool = False,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Bulk registration from a CSV file (text/csv body or a multipart ``file``): every row or
    none, with a report per row."""
    text = await _csv_text(request, settings.import_max_bytes)

    async def produce() -> Answer:
        report = await service.import_authorities(
            session, identity, text, await catalogue.required(session), clock(), dry_run=dry_run
        )
        return Answer(200 if dry_run else 201, report, {})

    return _respond(
        await service.idempotent(
            session,
            identity,
            idempotency_key,
            "import_authorities",
            {"csv": text, "dry_run": dry_run},
            produce,
        )
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


@router.get("/authorities/{authority_id}", tags=["authorities"])
async def get_authority(
    authority_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    language: ReaderLanguageDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    snapshot, actions = await service.read_authority(session, identity, authority_id)
    return _not_modified(if_none_match, snapshot.version) or _respond(
        _authority_answer(snapshot, language, await catalogue.current(session), actions)
    )


@router.patch("/authorities/{authority_id}", tags=["authorities"])
async def update_authority(
    authority_id: uuid.UUID,
    body: AuthorityPatch,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    current = await catalogue.required(session)
    snapshot = await service.update_authority(
        session, identity, authority_id, body.changes(), if_match, current, clock()
    )
    _, actions = await service.read_authority(session, identity, authority_id)
    return _respond(_authority_answer(snapshot, language, current, actions))


async def _transition(
    transition: Transition,
    authority_id: uuid.UUID,
    body: TransitionIn | None,
    identity: Any,
    session: Any,
    catalogue: Any,
    language: str,
    now: Any,
    if_match: str | None,
) -> JSONResponse:
    snapshot = await service.transition_authority(
        session,
        identity,
        authority_id,
        transition,
        if_match,
        now,
        reason=body.reason if body else None,
    )
    _, actions = await service.read_authority(session, identity, authority_id)
    return _respond(
        _authority_answer(snapshot, language, await catalogue.current(session), actions)
    )


@router.post("/authorities/{authority_id}/validate", tags=["authorities"])
async def validate_authority(
    authority_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    if_match: IfMatch = None,
    body: TransitionIn | None = None,
) -> JSONResponse:
    """registered → validated, by a coordinator whose scope holds the authority."""
    return await _transition(
        Transition.VALIDATE, authority_id, body, identity, session, catalogue, language, clock(),
        if_match,
    )  # fmt: skip


@router.post("/authorities/{authority_id}/activate", tags=["authorities"])
async def activate_authority(
    authority_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    if_match: IfMatch = None,
    body: TransitionIn | None = None,
) -> JSONResponse:
    """validated → active (a coordinator, or the authority's local data administrator);
    deactivated → active (a coordinator)."""
    return await _transition(
        Transition.ACTIVATE, authority_id, body, identity, session, catalogue, language, clock(),
        if_match,
    )  # fmt: skip


@router.post("/authorities/{authority_id}/deactivate", tags=["authorities"])
async def deactivate_authority(
    authority_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    language: ReaderLanguageDep,
    clock: ClockDep,
    if_match: IfMatch = None,
    body: TransitionIn | None = None,
) -> JSONResponse:
    """Takes the authority out of the network; its users can no longer sign in."""
    return await _transition(
        Transition.DEACTIVATE, authority_id, body, identity, session, catalogue, language, clock(),
        if_match,
    )  # fmt: skip


@router.get("/authorities/{authority_id}/history", tags=["authorities"])
async def get_authority_history(
    authority_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> dict[str, Any]:
    """Every change: who, when, the action, before and after of each changed field."""
    return await service.authority_history(session, identity, authority_id, cursor, limit or 20)


# --- users -----------------------------------------------------------------------------------


@router.get("/authorities/{authority_id}/users", tags=["users"])
async def list_users(
    authority_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> dict[str, Any]:
    return await service.list_users(session, identity, authority_id, cursor, limit or 20)


@router.post("/authorities/{authority_id}/users", tags=["users"], status_code=201)
async def register_user(
    authority_id: uuid.UUID,
    body: UserIn,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    passwords: PasswordsDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A coordinator or the authority's local data administrator registers a user."""

    async def produce() -> Answer:
        snapshot = await service.register_user(
            session,
            identity,
            authority_id,
            NewUser(
                username=body.username,
                display_name=body.display_name,
                password=body.password,
                email=body.email,
                language=body.language,
                roles=tuple(r.contract() for r in body.roles),
            ),
            passwords,
            await catalogue.current(session),
            clock(),
        )
        return _user_answer(snapshot, 201, location=True)

    payload = body.model_dump(mode="json")
    payload["password"] = service.request_fingerprint("password", body.password)
    return _respond(
        await service.idempotent(
            session,
            identity,
            idempotency_key,
            f"register_user:{authority_id}",
            payload,
            produce,
        )
    )


@router.get("/users/{user_id}", tags=["users"])
async def get_user(
    user_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    snapshot = await service.read_user(session, identity, user_id)
    return _not_modified(if_none_match, snapshot.version) or _respond(_user_answer(snapshot))


@router.patch("/users/{user_id}", tags=["users"])
async def update_user(
    user_id: uuid.UUID,
    body: UserPatch,
    identity: IdentityDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    passwords: PasswordsDep,
    clock: ClockDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Your own name, e-mail, language, password (with the old one); a manager also the
    roles and a password reset."""
    snapshot = await service.update_user(
        session,
        identity,
        user_id,
        body.changes(),
        if_match,
        passwords,
        await catalogue.current(session),
        clock(),
    )
    return _respond(_user_answer(snapshot))


@router.post("/users/{user_id}/deactivate", tags=["users"])
async def deactivate_user(
    user_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    clock: ClockDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    snapshot = await service.deactivate_user(session, identity, user_id, if_match, clock())
    return _respond(_user_answer(snapshot))


@router.get("/users/{user_id}/history", tags=["users"])
async def get_user_history(
    user_id: uuid.UUID,
    identity: IdentityDep,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> dict[str, Any]:
    return await service.user_history(session, identity, user_id, cursor, limit or 20)


# --- credentials -----------------------------------------------------------------------------


@router.post("/credentials/verify", tags=["credentials"])
async def verify_credentials(
    body: CredentialsIn, identity: IdentityDep, session: SessionDep, passwords: PasswordsDep
) -> dict[str, Any]:
    """For the gateway only: the user and authority behind a user name and password, or 401."""
    user, authority = await service.verify_credentials(
        session, identity, body.username, body.password, passwords
    )
    return {"user": user_out(user), "authority": authority.model_dump(mode="json")}


@router.post("/credentials/federated", tags=["credentials"])
async def federated_user(
    body: FederatedIn, identity: IdentityDep, session: SessionDep
) -> dict[str, Any]:
    """For the gateway only: the user and authority an identity provider vouched for, or 401."""
    user, authority = await service.federated_user(session, identity, body.username)
    return {"user": user_out(user), "authority": authority.model_dump(mode="json")}
