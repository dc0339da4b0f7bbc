"""Use cases of the directory: authorities, users, search, import, credentials, the catalogue.

Each takes the acting identity and plain inputs, so the HTTP API and a national system's
commands drive the same rules. They may flush, never commit: the caller owns the transaction.
Every change writes its history row and its outbox event in that same transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.directory import geography
from services.directory.credentials import Passwords
from services.directory.domain import (
    ActorScope,
    AuthorityFields,
    CatalogueUnavailable,
    CatalogueView,
    FieldError,
    ImportRow,
    SearchFilters,
    Transition,
    allowed_actions,
    changed_fields,
    check_country,
    check_display_name,
    check_email,
    check_password,
    check_region,
    check_register,
    check_role_changes,
    check_transition,
    check_update,
    check_user_deactivation,
    check_user_registration,
    check_user_update,
    check_username,
    check_version,
    clean_authority,
    clean_roles,
    decode_cursor,
    encode_cursor,
    fields_of,
    may_see,
    may_see_user,
    may_see_users,
    name_key,
    needs_old_password,
    page_size,
    plan_search,
    read_import,
    search_fingerprint,
    visibility,
    with_changes,
)
from services.directory.models import Authority, User, outbox
from services.directory.repository import (
    AuthorityRepository,
    CatalogueRepository,
    IdempotencyRepository,
    SearchCriteria,
    UserRepository,
    violated_constraint,
)
from services.directory.views import (
    authority_out,
    history_out,
    interpretation_out,
    search_hit_out,
    user_out,
)
from shared.contracts.directory import (
    AuthorityActivated,
    AuthorityDeactivated,
    AuthorityLevel,
    AuthorityRegistered,
    AuthoritySnapshot,
    AuthorityStatus,
    AuthorityUpdated,
    AuthorityValidated,
    Competence,
    PostalAddress,
    UserDeactivated,
    UserRegistered,
    UserSnapshot,
    UserUpdated,
)
from shared.contracts.translation import CataloguePublished
from shared.db import Database
from shared.identity import Identity, Role, RoleName
from shared.languages import require_language
from shared.logging import get_logger
from shared.problems import Conflict, DomainError, Forbidden, InvalidInput, NotFound

log = get_logger(__name__)

PLACES = geography.PLACES
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class InvalidCredentials(DomainError):
    status = 401
    slug = "invalid-credentials"
    title = "Wrong user name or password"


# --- the catalogue projection ----------------------------------------------------------------


def catalogue_record(event: CataloguePublished) -> dict[str, Any]:
    """What the directory keeps of a published catalogue version."""
    return {
        "version": event.version,
        "published_at": event.published_at,
        "area_names": {k: dict(v) for k, v in event.area_names.items()},
        "procedure_names": {k: dict(v) for k, v in event.procedure_names.items()},
        "procedure_areas": {p.key: p.area for p in event.procedures},
        "keywords": {
            k: {lang: list(t) for lang, t in v.items()} for k, v in event.keywords.items()
        },
        "keyword_areas": dict(event.keyword_areas),
    }


async def record_catalogue(session: AsyncSession, event: CataloguePublished) -> bool:
    """Keep a published catalogue version (every version; the newest published is current)."""
    stored = await CatalogueRepository(session).add_version(catalogue_record(event))
    if stored:
        log.info("catalogue version received", version=event.version)
    return stored


def catalogue_view(record: Any) -> CatalogueView:
    return CatalogueView(
        version=record.version,
        area_names=record.area_names,
        procedure_names=record.procedure_names,
        procedure_areas=record.procedure_areas,
        keywords={k: {lang: tuple(t) for lang, t in v.items()} for k, v in record.keywords.items()},
        keyword_areas=record.keyword_areas,
    )


class CatalogueCache:
    """The current catalogue version in memory (with its term index); the current version's id
    is trusted for ``ttl`` seconds, so a new version is taken up within that time."""

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._view: CatalogueView | None = None
        self._checked = 0.0
        self._loading = asyncio.Lock()

    async def current(self, session: AsyncSession) -> CatalogueView | None:
        if self._view is not None and time.monotonic() - self._checked < self.ttl:
            return self._view
        repository = CatalogueRepository(session)
        version = await repository.current_version()
        if version is None:
            return None
        if self._view is None or self._view.version != version:
            async with self._loading:
                if self._view is None or self._view.version != version:
                    record = await repository.version(version)
                    if record is None:
                        return self._view
                    self._view = catalogue_view(record)
        self._checked = time.monotonic()
        return self._view

    async def required(self, session: AsyncSession) -> CatalogueView:
        found = await self.current(session)
        if found is None:
            raise CatalogueUnavailable(
                "the directory has not received the catalogue yet; competences and roles "
                "cannot be checked (the translation service publishes it when it starts)"
            )
        return found


# --- snapshots -------------------------------------------------------------------------------


def authority_snapshot(row: Authority) -> AuthoritySnapshot:
    return AuthoritySnapshot(
        id=row.id,
        country=row.country,
        region=row.region,
        level=AuthorityLevel(row.level),
        official_name=row.official_name,
        name_language=row.name_language,
        informal_titles=dict(row.informal_titles),
        languages=tuple(row.languages),
        email=row.email,
        competences=tuple(Competence.model_validate(c) for c in row.competences),
        status=AuthorityStatus(row.status),
        version=row.version,
        descriptions=dict(row.descriptions),
        address=PostalAddress.model_validate(row.address) if row.address else None,
        phone=row.phone,
        website=row.website,
        coordinating=row.coordinating,
        registered_at=row.created_at,
        updated_at=row.updated_at,
    )


def user_snapshot(row: User) -> UserSnapshot:
    return UserSnapshot(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        authority_id=row.authority_id,
        country=row.country,
        language=row.language,
        roles=tuple(Role.model_validate(r) for r in row.roles),
        active=row.active,
        version=row.version,
        registered_at=row.created_at,
        updated_at=row.updated_at,
    )


def authority_values(fields: AuthorityFields) -> dict[str, Any]:
    """The stored columns of an authority's fields."""
    return {
        "country": fields.country,
        "region": fields.region,
        "level": fields.level.value,
        "official_name": fields.official_name,
        "name_language": fields.name_language,
        "name_key": name_key(fields.official_name),
        "informal_titles": dict(fields.informal_titles),
        "descriptions": dict(fields.descriptions),
        "languages": list(fields.languages),
        "email": fields.email,
        "phone": fields.phone,
        "website": fields.website,
        "address": fields.address.model_dump() if fields.address else None,
        "competences": [c.model_dump(mode="json") for c in fields.competences],
        "coordinating": fields.coordinating,
    }


def _history_row(
    key: str,
    target: uuid.UUID,
    version: int,
    action: str,
    actor: Identity | None,
    now: datetime,
    changes: Mapping[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    return {
        key: target,
        "version": version,
        "action": action,
        "actor_id": actor.user_id if actor else None,
        "actor_username": actor.username if actor else None,
        "occurred_at": now,
        "changes": dict(changes),
        **extra,
    }


def _snapshot_json(snapshot: AuthoritySnapshot | UserSnapshot) -> dict[str, Any]:
    return snapshot.model_dump(mode="json")


def _duplicate_name(error: IntegrityError, country: str, field: str) -> DomainError:
    constraint = violated_constraint(error)
    if "uq_authorities_coordinating" in constraint:
        return Conflict(
            f"{country} has a national coordinating authority already", field="body.coordinating"
        )
    if "uq_authorities_country_name" in constraint:
        return Conflict(
            f"an authority of this name is registered in {country} already", field=field
        )
    if "uq_users_username" in constraint:
        return Conflict("this user name is taken", field="body.username")
    raise error


# --- authorities -----------------------------------------------------------------------------


async def _load_authority(
    session: AsyncSession, actor: ActorScope, authority_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Authority, AuthoritySnapshot]:
    """The authority, or 404 when it does not exist or the actor may not see it."""
    row = await AuthorityRepository(session).get(authority_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no authority {authority_id}")
    snapshot = authority_snapshot(row)
    if not may_see(actor, snapshot, PLACES):
        raise NotFound(f"no authority {authority_id}")
    return row, snapshot


async def register_authority(
    session: AsyncSession,
    actor: Identity,
    draft: AuthorityFields,
    catalogue: CatalogueView,
    now: datetime,
) -> AuthoritySnapshot:
    """A coordinator registers an authority inside their scope; it starts as registered."""
    scope = ActorScope.of(actor)
    fields = clean_authority(draft, catalogue, PLACES)
    check_register(scope, fields, PLACES)
    repository = AuthorityRepository(session)
    if await repository.name_taken(fields.country, name_key(fields.official_name)):
        raise Conflict(
            f"an authority of this name is registered in {fields.country} already",
            field="body.official_name",
        )
    if fields.coordinating and await repository.coordinating_authority(fields.country):
        raise Conflict(
            f"{fields.country} has a national coordinating authority already",
            field="body.coordinating",
        )
    authority_id = uuid.uuid4()
    row = {
        "id": authority_id,
        **authority_values(fields),
        "status": AuthorityStatus.REGISTERED.value,
        "version": 1,
        "registered_by": actor.user_id,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await repository.add([row])
    except IntegrityError as error:
        raise _duplicate_name(error, fields.country, "body.official_name") from error
    snapshot = await _reload(session, authority_id)
    await repository.add_history(
        [
            _history_row(
                "authority_id",
                authority_id,
                1,
                "registered",
                actor,
                now,
                changed_fields({}, _snapshot_json(snapshot)),
            )
        ]
    )
    await outbox.add(
        session,
        AuthorityRegistered(authority=snapshot, occurred_at=now, acting_user_id=actor.user_id),
        subject=str(authority_id),
    )
    return snapshot


async def _reload(session: AsyncSession, authority_id: uuid.UUID) -> AuthoritySnapshot:
    row = await AuthorityRepository(session).get(authority_id)
    assert row is not None
    await session.refresh(row)
    return authority_snapshot(row)


async def read_authority(
    session: AsyncSession, actor: Identity, authority_id: uuid.UUID
) -> tuple[AuthoritySnapshot, list[str]]:
    """The authority and what the actor may do with it; 404 when not visible."""
    scope = ActorScope.of(actor)
    _, snapshot = await _load_authority(session, scope, authority_id)
    return snapshot, allowed_actions(scope, snapshot, PLACES)


async def update_authority(
    session: AsyncSession,
    actor: Identity,
    authority_id: uuid.UUID,
    changes: Mapping[str, Any],
    if_match: str | None,
    catalogue: CatalogueView,
    now: datetime,
) -> AuthoritySnapshot:
    scope = ActorScope.of(actor)
    _, before = await _load_authority(session, scope, authority_id, for_update=True)
    check_version(if_match, before.version)
    if not changes:
        raise InvalidInput("nothing to change", field="body")
    after = clean_authority(with_changes(fields_of(before), changes, "body"), catalogue, PLACES)
    before_values = authority_values(fields_of(before))
    after_values = authority_values(after)
    touched = [k for k in after_values if after_values[k] != before_values[k] and k != "name_key"]
    check_update(scope, before, after, touched, PLACES)
    if not touched:
        return before
    repository = AuthorityRepository(session)
    if "official_name" in touched and await repository.name_taken(
        after.country, name_key(after.official_name), except_id=authority_id
    ):
        raise Conflict(
            f"an authority of this name is registered in {after.country} already",
            field="body.official_name",
        )
    try:
        await repository.change(
            authority_id, {**after_values, "version": before.version + 1, "updated_at": now}
        )
    except IntegrityError as error:
        raise _duplicate_name(error, after.country, "body.official_name") from error
    snapshot = await _reload(session, authority_id)
    changes_made = changed_fields(_snapshot_json(before), _snapshot_json(snapshot))
    await repository.add_history(
        [
            _history_row(
                "authority_id", authority_id, snapshot.version, "updated", actor, now, changes_made
            )
        ]
    )
    await outbox.add(
        session,
        AuthorityUpdated(
            authority=snapshot,
            changed_fields=tuple(changes_made),
            occurred_at=now,
            acting_user_id=actor.user_id,
        ),
        subject=str(authority_id),
    )
    return snapshot


TRANSITION_EVENTS = {
    Transition.VALIDATE: AuthorityValidated,
    Transition.ACTIVATE: AuthorityActivated,
}


async def transition_authority(
    session: AsyncSession,
    actor: Identity,
    authority_id: uuid.UUID,
    transition: Transition,
    if_match: str | None,
    now: datetime,
    reason: str | None = None,
) -> AuthoritySnapshot:
    """validate, activate or deactivate: the right role, the right state, the right version."""
    scope = ActorScope.of(actor)
    _, before = await _load_authority(session, scope, authority_id, for_update=True)
    check_version(if_match, before.version)
    target = check_transition(scope, before, transition, PLACES)
    repository = AuthorityRepository(session)
    try:
        await repository.change(
            authority_id,
            {"status": target.value, "version": before.version + 1, "updated_at": now},
        )
    except IntegrityError as error:
        # Bringing back an authority whose name or coordinating seat was taken meanwhile.
        raise _duplicate_name(error, before.country, "body") from error
    snapshot = await _reload(session, authority_id)
    await repository.add_history(
        [
            _history_row(
                "authority_id",
                authority_id,
                snapshot.version,
                f"{transition.value}d",
                actor,
                now,
                {"status": {"before": before.status.value, "after": target.value}},
                reason=reason,
            )
        ]
    )
    if transition is Transition.DEACTIVATE:
        event: Any = AuthorityDeactivated(
            authority=snapshot, reason=reason, occurred_at=now, acting_user_id=actor.user_id
        )
    else:
        event = TRANSITION_EVENTS[transition](
            authority=snapshot, occurred_at=now, acting_user_id=actor.user_id
        )
    await outbox.add(session, event, subject=str(authority_id))
    return snapshot


async def authority_history(
    session: AsyncSession, actor: Identity, authority_id: uuid.UUID, cursor: str | None, limit: int
) -> dict[str, Any]:
    scope = ActorScope.of(actor)
    _, snapshot = await _load_authority(session, scope, authority_id)
    if not may_see_users(scope, snapshot, PLACES):
        raise NotFound(f"no history of authority {authority_id} for you")
    fingerprint = f"authority-history:{authority_id}"
    position = decode_cursor(cursor, fingerprint) if cursor else None
    size = page_size(limit)
    rows = await AuthorityRepository(session).history(
        authority_id, int(position[0]) if position else None, size + 1
    )
    return _page([history_out(r) for r in rows[:size]], rows, size, lambda r: [r.id], fingerprint)


def _page(
    items: list[dict[str, Any]],
    rows: Sequence[Any],
    size: int,
    position: Callable[[Any], list[Any]],
    fingerprint: str,
) -> dict[str, Any]:
    more = len(rows) > size
    return {
        "items": items,
        "next_cursor": encode_cursor(position(rows[size - 1]), fingerprint) if more else None,
    }


# --- search ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    """A search as a caller states it (query parameters)."""

    q: str | None = None
    lang: str | None = None
    country: str | None = None
    region: str | None = None
    area: str | None = None
    procedure: str | None = None
    keyword: str | None = None
    level: str | None = None
    status: str | None = None
    cursor: str | None = None
    limit: int | None = None


def _search_filters(request: SearchRequest, catalogue: CatalogueView | None) -> SearchFilters:
    country = (
        check_country(request.country, PLACES, "query.country", allow_commission=True)
        if request.country
        else None
    )
    region = None
    if request.region:
        region_country = PLACES.region_country(geography.normalise_region(request.region))
        region = check_region(
            request.region, country or region_country or "", PLACES, "query.region"
        )
        country = country or region_country
    for name, known in (
        ("area", catalogue.areas if catalogue else None),
        ("procedure", catalogue.procedure_areas if catalogue else None),
        ("keyword", catalogue.keyword_areas if catalogue else None),
    ):
        value = getattr(request, name)
        if value and known is not None and value not in known:
            raise InvalidInput(f"unknown {name} {value!r}", field=f"query.{name}")
    try:
        level = AuthorityLevel(request.level) if request.level else None
    except ValueError as exc:
        raise InvalidInput("expected national, regional or local", field="query.level") from exc
    try:
        status = AuthorityStatus(request.status) if request.status else None
    except ValueError as exc:
        raise InvalidInput(
            "expected registered, validated, active or deactivated", field="query.status"
        ) from exc
    return SearchFilters(
        country=country,
        region=region,
        area=request.area or None,
        procedure=request.procedure or None,
        keyword=request.keyword or None,
        level=level,
        status=status,
    )


async def search_authorities(
    session: AsyncSession,
    actor: Identity,
    request: SearchRequest,
    reader: str,
    catalogue: CatalogueView | None,
) -> dict[str, Any]:
    """Who is competent for a procedure, a keyword or a text, where; best first, a page."""
    language = require_language(request.lang, "query.lang") if request.lang else None
    filters = _search_filters(request, catalogue)
    plan = plan_search(request.q or "", language, catalogue)
    size = page_size(request.limit)
    fingerprint = search_fingerprint(filters, plan)
    position = decode_cursor(request.cursor, fingerprint) if request.cursor else None
    status = filters.status or AuthorityStatus.ACTIVE
    criteria = SearchCriteria(
        country=filters.country,
        regions=geography.region_family(filters.region) if filters.region else (),
        region_exact=filters.region,
        area=filters.area,
        procedure=filters.procedure,
        keyword=filters.keyword,
        level=filters.level.value if filters.level else None,
        status=status.value,
        visibility=None
        if status is AuthorityStatus.ACTIVE
        else visibility(ActorScope.of(actor), PLACES),
        has_query=plan.has_query,
        keywords_exact=plan.keywords_exact,
        keywords_prefix=plan.keywords_prefix,
        procedures=sorted(plan.procedure_matches),
        areas=sorted(plan.area_matches),
        words=plan.words,
        word_keywords=plan.word_keywords(),
        languages=[language] if language else [],
    )
    repository = AuthorityRepository(session)
    hits = await repository.search(criteria, position, size + 1)
    page = hits[:size]
    rows = await repository.many([h.authority_id for h in page])
    items = [
        search_hit_out(
            authority_snapshot(rows[h.authority_id]), h, plan, filters, catalogue, reader
        )
        for h in page
        if h.authority_id in rows
    ]
    next_cursor = encode_cursor(page[-1].position, fingerprint) if len(hits) > size else None
    return {
        "items": items,
        "next_cursor": next_cursor,
        "language": reader,
        "interpretation": interpretation_out(plan, catalogue, reader),
    }


# --- import ----------------------------------------------------------------------------------


async def import_authorities(
    session: AsyncSession,
    actor: Identity,
    text: str,
    catalogue: CatalogueView,
    now: datetime,
    *,
    dry_run: bool,
) -> dict[str, Any]:
    """Register every authority of a CSV file, or none: a per-row report says what was refused
    and why (422 carrying the report); with ``dry_run`` nothing is stored either way."""
    scope = ActorScope.of(actor)
    if not scope.coordinator:
        raise Forbidden("only IMI coordinators register authorities")
    rows = read_import(text, catalogue, PLACES)
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        if not row.ok or row.fields is None:
            continue
        try:
            check_register(scope, row.fields, PLACES)
        except DomainError as exc:
            row.errors.append(FieldError(_column(exc.field), exc.detail))
            continue
        key = (row.fields.country, name_key(row.fields.official_name))
        if key in seen:
            row.errors.append(
                FieldError("official_name", f"the same authority as line {seen[key]}")
            )
        else:
            seen[key] = row.line
    taken = await AuthorityRepository(session).names_taken(list(seen))
    for row in rows:
        if row.fields is not None and not row.errors:
            key = (row.fields.country, name_key(row.fields.official_name))
            if key in taken:
                row.errors.append(
                    FieldError(
                        "official_name",
                        f"an authority of this name is registered in {key[0]} already",
                    )
                )
    refused = [row for row in rows if not row.ok]
    report_rows = [_import_report(row) for row in rows]
    if refused and not dry_run:
        raise InvalidInput(
            f"{len(refused)} of {len(rows)} rows are refused; nothing was imported",
            field="body",
            errors=[
                {"field": f"line {row.line}: {e.field}", "message": e.message}
                for row in refused
                for e in row.errors
            ],
            extra={"rows": report_rows, "refused": len(refused), "created": 0},
        )
    if dry_run:
        for item in report_rows:
            if item["status"] == "created":
                item["status"] = "valid"
        return {
            "dry_run": True,
            "valid": not refused,
            "rows": report_rows,
            "refused": len(refused),
            "created": 0,
        }
    records = []
    for row, item in zip(rows, report_rows, strict=True):
        assert row.fields is not None
        authority_id = uuid.uuid4()
        item["id"] = str(authority_id)
        records.append(
            {
                "id": authority_id,
                **authority_values(row.fields),
                "status": AuthorityStatus.REGISTERED.value,
                "version": 1,
                "registered_by": actor.user_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    repository = AuthorityRepository(session)
    try:
        await repository.add(records)
    except IntegrityError as error:
        raise _duplicate_name(error, "this country", "body") from error
    stored = await repository.many([r["id"] for r in records])
    history = []
    events = []
    for record in records:
        snapshot = authority_snapshot(stored[record["id"]])
        history.append(
            _history_row(
                "authority_id",
                snapshot.id,
                1,
                "imported",
                actor,
                now,
                changed_fields({}, _snapshot_json(snapshot)),
            )
        )
        events.append(
            AuthorityRegistered(authority=snapshot, occurred_at=now, acting_user_id=actor.user_id)
        )
    await repository.add_history(history)
    await outbox.add_envelopes(
        session,
        [
            (outbox.envelope(e, subject=str(e.authority.id)), "imi.events", e.type, None)
            for e in events
        ],
    )
    return {
        "dry_run": False,
        "valid": True,
        "rows": report_rows,
        "refused": 0,
        "created": len(records),
    }


def _column(field: str | None) -> str:
    if not field:
        return "row"
    name = field.removeprefix("body.")
    if name.startswith("competences"):
        return "areas"
    return name


def _import_report(row: ImportRow) -> dict[str, Any]:
    return {
        "line": row.line,
        "official_name": row.fields.official_name if row.fields else None,
        "country": row.fields.country if row.fields else None,
        "status": "created" if row.ok else "refused",
        "errors": [e.as_dict() for e in row.errors],
    }


# --- users -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    password: str
    email: str | None = None
    language: str | None = None
    roles: tuple[Role, ...] = ()


def _role_areas(roles: Sequence[Role], catalogue: CatalogueView | None) -> frozenset[str]:
    if catalogue is not None:
        return catalogue.areas
    if any(r.area for r in roles):
        raise CatalogueUnavailable("roles limited to an area need the catalogue, not received yet")
    return frozenset()


async def register_user(
    session: AsyncSession,
    actor: Identity,
    authority_id: uuid.UUID,
    new: NewUser,
    passwords: Passwords,
    catalogue: CatalogueView | None,
    now: datetime,
) -> UserSnapshot:
    scope = ActorScope.of(actor)
    _, authority = await _load_authority(session, scope, authority_id)
    if not may_see_users(scope, authority, PLACES):
        raise NotFound(f"no users of authority {authority_id} for you")
    username = check_username(new.username)
    display_name = check_display_name(new.display_name)
    email = check_email(new.email)
    language = (
        require_language(new.language, "body.language")
        if new.language
        else (authority.languages[0] if authority.languages else authority.name_language)
    )
    password = check_password(new.password)
    roles = clean_roles(new.roles, authority, _role_areas(new.roles, catalogue), PLACES)
    check_user_registration(scope, authority, roles, PLACES)
    users = UserRepository(session)
    if await users.username_taken(username):
        raise Conflict("this user name is taken", field="body.username")
    user_id = uuid.uuid4()
    row = {
        "id": user_id,
        "username": username,
        "display_name": display_name,
        "email": email,
        "authority_id": authority.id,
        "country": authority.country,
        "language": language,
        "roles": [r.model_dump() for r in roles],
        "active": True,
        "password_hash": await passwords.hash(password),
        "version": 1,
        "registered_by": actor.user_id,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await users.add([row])
    except IntegrityError as error:
        raise _duplicate_name(error, authority.country, "body.username") from error
    snapshot = await _reload_user(session, user_id)
    await users.add_history(
        [
            _history_row(
                "user_id",
                user_id,
                1,
                "registered",
                actor,
                now,
                changed_fields({}, _snapshot_json(snapshot)),
            )
        ]
    )
    await outbox.add(
        session,
        UserRegistered(user=snapshot, occurred_at=now, acting_user_id=actor.user_id),
        subject=str(user_id),
    )
    return snapshot


async def _reload_user(session: AsyncSession, user_id: uuid.UUID) -> UserSnapshot:
    row = await UserRepository(session).get(user_id)
    assert row is not None
    await session.refresh(row)
    return user_snapshot(row)


async def _load_user(
    session: AsyncSession, scope: ActorScope, user_id: uuid.UUID, *, for_update: bool = False
) -> tuple[User, UserSnapshot, AuthoritySnapshot]:
    row = await UserRepository(session).get(user_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no user {user_id}")
    authority_row = await AuthorityRepository(session).get(row.authority_id)
    assert authority_row is not None
    user, authority = user_snapshot(row), authority_snapshot(authority_row)
    if not may_see_user(scope, user, authority, PLACES):
        raise NotFound(f"no user {user_id}")
    return row, user, authority


async def read_user(session: AsyncSession, actor: Identity, user_id: uuid.UUID) -> UserSnapshot:
    _, user, _ = await _load_user(session, ActorScope.of(actor), user_id)
    return user


async def list_users(
    session: AsyncSession, actor: Identity, authority_id: uuid.UUID, cursor: str | None, limit: int
) -> dict[str, Any]:
    scope = ActorScope.of(actor)
    _, authority = await _load_authority(session, scope, authority_id)
    if not may_see_users(scope, authority, PLACES):
        raise NotFound(f"no users of authority {authority_id} for you")
    fingerprint = f"users:{authority_id}"
    position = decode_cursor(cursor, fingerprint) if cursor else None
    size = page_size(limit)
    rows = await UserRepository(session).of_authority(
        authority_id, str(position[0]) if position else None, size + 1
    )
    return _page(
        [user_out(user_snapshot(r)) for r in rows[:size]],
        rows,
        size,
        lambda r: [r.username],
        fingerprint,
    )


async def update_user(
    session: AsyncSession,
    actor: Identity,
    user_id: uuid.UUID,
    changes: Mapping[str, Any],
    if_match: str | None,
    passwords: Passwords,
    catalogue: CatalogueView | None,
    now: datetime,
) -> UserSnapshot:
    """Self-service (name, e-mail, language, password with the old one) or a manager's change
    (those, a password reset, the roles)."""
    scope = ActorScope.of(actor)
    row, before, authority = await _load_user(session, scope, user_id, for_update=True)
    check_version(if_match, before.version)
    wanted = {k: v for k, v in changes.items() if k != "old_password"}
    if not wanted:
        raise InvalidInput("nothing to change", field="body")
    check_user_update(scope, before, authority, wanted, PLACES)
    values: dict[str, Any] = {}
    if "display_name" in wanted:
        values["display_name"] = check_display_name(wanted["display_name"] or "")
    if "email" in wanted:
        values["email"] = check_email(wanted["email"])
    if "language" in wanted:
        values["language"] = require_language(wanted["language"], "body.language")
    if "roles" in wanted:
        roles = clean_roles(
            [Role.model_validate(r) for r in wanted["roles"] or []],
            authority,
            _role_areas([Role.model_validate(r) for r in wanted["roles"] or []], catalogue),
            PLACES,
        )
        check_role_changes(scope, authority, before.roles, roles, PLACES)
        values["roles"] = [r.model_dump() for r in roles]
    password_changed = False
    if "password" in wanted:
        password = check_password(wanted["password"] or "")
        if needs_old_password(scope, before):
            old = changes.get("old_password")
            if not old or not await passwords.verify(row.password_hash, old):
                raise InvalidInput("the old password is wrong", field="body.old_password")
        values["password_hash"] = await passwords.hash(password)
        password_changed = True
    users = UserRepository(session)
    comparable = {k: v for k, v in values.items() if k != "password_hash"}
    current = {k: getattr(row, k) for k in comparable}
    if comparable == current and not password_changed:
        return before
    await users.change(user_id, {**values, "version": before.version + 1, "updated_at": now})
    snapshot = await _reload_user(session, user_id)
    changes_made = changed_fields(_snapshot_json(before), _snapshot_json(snapshot))
    if password_changed:
        changes_made["password"] = {"before": "(hidden)", "after": "(changed)"}
    await users.add_history(
        [_history_row("user_id", user_id, snapshot.version, "updated", actor, now, changes_made)]
    )
    await outbox.add(
        session,
        UserUpdated(
            user=snapshot,
            changed_fields=tuple(changes_made),
            occurred_at=now,
            acting_user_id=actor.user_id,
        ),
        subject=str(user_id),
    )
    return snapshot


async def deactivate_user(
    session: AsyncSession, actor: Identity, user_id: uuid.UUID, if_match: str | None, now: datetime
) -> UserSnapshot:
    scope = ActorScope.of(actor)
    _, before, authority = await _load_user(session, scope, user_id, for_update=True)
    check_version(if_match, before.version)
    check_user_deactivation(scope, before, authority, PLACES)
    users = UserRepository(session)
    await users.change(user_id, {"active": False, "version": before.version + 1, "updated_at": now})
    snapshot = await _reload_user(session, user_id)
    await users.add_history(
        [
            _history_row(
                "user_id",
                user_id,
                snapshot.version,
                "deactivated",
                actor,
                now,
                {"active": {"before": True, "after": False}},
            )
        ]
    )
    await outbox.add(
        session,
        UserDeactivated(user=snapshot, occurred_at=now, acting_user_id=actor.user_id),
        subject=str(user_id),
    )
    return snapshot


async def user_history(
    session: AsyncSession, actor: Identity, user_id: uuid.UUID, cursor: str | None, limit: int
) -> dict[str, Any]:
    await _load_user(session, ActorScope.of(actor), user_id)
    fingerprint = f"user-history:{user_id}"
    position = decode_cursor(cursor, fingerprint) if cursor else None
    size = page_size(limit)
    rows = await UserRepository(session).history(
        user_id, int(position[0]) if position else None, size + 1
    )
    return _page([history_out(r) for r in rows[:size]], rows, size, lambda r: [r.id], fingerprint)


# --- credentials -----------------------------------------------------------------------------


async def verify_credentials(
    session: AsyncSession, actor: Identity, username: str, password: str, passwords: Passwords
) -> tuple[UserSnapshot, AuthoritySnapshot]:
    """For the gateway only: the user and authority behind a user name and password.

    An unknown user costs the same verification as a known one; an inactive user or a user of a
    deactivated authority cannot sign in. A hash made with weaker parameters is renewed.
    """
    users = UserRepository(session)
    row = await _signing_in(users, actor, username)
    if row is None:
        await passwords.verify_unknown(password)
        raise InvalidCredentials("the user name or the password is wrong")
    if not await passwords.verify(row.password_hash, password):
        raise InvalidCredentials("the user name or the password is wrong")
    authority_row = await _active_authority(session, row)
    if authority_row is None:
        raise InvalidCredentials("the user name or the password is wrong")
    if passwords.needs_rehash(row.password_hash):
        await users.set_password_hash(row.id, await passwords.hash(password))
    return user_snapshot(row), authority_snapshot(authority_row)


async def federated_user(
    session: AsyncSession, actor: Identity, username: str
) -> tuple[UserSnapshot, AuthoritySnapshot]:
    """For the gateway only: the active user whom an identity provider has vouched for.

    The gateway has verified the provider's signed ID token; the directory still decides who the
    user is, and an inactive user or a user of a deactivated authority cannot sign in.
    """
    row = await _signing_in(UserRepository(session), actor, username)
    authority_row = await _active_authority(session, row) if row is not None else None
    if row is None or authority_row is None:
        raise InvalidCredentials("no active user of this name")
    return user_snapshot(row), authority_snapshot(authority_row)


async def _signing_in(users: UserRepository, actor: Identity, username: str) -> Any:
    """The user row of a sign-in (for the gateway only), or None."""
    if RoleName.GATEWAY not in actor.role_names:
        raise NotFound("no such resource")
    return await users.by_username(username.strip().lower()) if len(username) <= 64 else None


async def _active_authority(session: AsyncSession, row: Any) -> Any:
    """The user's authority when the user may sign in: active, of an authority not
    deactivated; else None."""
    authority_row = await AuthorityRepository(session).get(row.authority_id)
    assert authority_row is not None
    if not row.active or authority_row.status == AuthorityStatus.DEACTIVATED.value:
        return None
    return authority_row


# --- idempotent creation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]


def request_fingerprint(operation: str, payload: Any) -> str:
    raw = json.dumps([operation, payload], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


async def idempotent(
    session: AsyncSession,
    actor: Identity,
    key: str | None,
    operation: str,
    payload: Any,
    produce: Callable[[], Awaitable[Answer]],
) -> Answer:
    """The same key and caller get the same answer and no second resource."""
    if key is None:
        return await produce()
    if not key.strip() or len(key) > 200:
        raise InvalidInput(
            "an Idempotency-Key has 1 to 200 characters", field="header.Idempotency-Key"
        )
    repository = IdempotencyRepository(session)
    fingerprint = request_fingerprint(operation, payload)
    if not await repository.claim(actor.user_id, key, operation, fingerprint):
        stored = await repository.stored(actor.user_id, key)
        assert stored is not None
        if stored.fingerprint != fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was used for a different request",
                field="header.Idempotency-Key",
            )
        return Answer(stored.status_code, stored.body, stored.headers)
    answer = await produce()
    await repository.complete(actor.user_id, key, answer.status, answer.body, answer.headers)
    return answer


async def purge_idempotency(db: Database, hours: int, now: datetime | None = None) -> int:
    async with db.transaction() as session:
        return await IdempotencyRepository(session).purge(
            (now or utc_now()) - timedelta(hours=hours)
        )


# --- views re-exported for the API -----------------------------------------------------------

__all__ = [
    "Answer",
    "CatalogueCache",
    "InvalidCredentials",
    "NewUser",
    "SearchRequest",
    "authority_history",
    "authority_out",
    "deactivate_user",
    "idempotent",
    "import_authorities",
    "list_users",
    "read_authority",
    "read_user",
    "record_catalogue",
    "register_authority",
    "register_user",
    "search_authorities",
    "transition_authority",
    "update_authority",
    "user_history",
    "user_out",
    "verify_credentials",
]
