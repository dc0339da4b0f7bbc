"""Use cases of the exchange service: draft, act on, read and count information requests; keep
the projections of the directory and the catalogue; run the deadline and retention jobs.

Every use case takes the acting identity and plain inputs, so that the HTTP API and a national
system's commands reach the same function. They may flush, never commit: the route or the
consumer that calls them owns the transaction (the jobs and the upload, which must not hold a
transaction while they wait, open their own short ones).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange import domain
from services.exchange.domain import (
    Action,
    Actor,
    ActorRole,
    AnswerInput,
    AuthorityProfile,
    CatalogueRules,
    DeadlinePolicy,
    DraftChanges,
    Happened,
    InformationRequest,
    Outcome,
    ProcedureRule,
    Rating,
    RetentionPolicy,
    RetentionStep,
    Side,
    State,
    TextInput,
)
from services.exchange.file_types import (
    ContentSniffer,
    ContentTooLarge,
    check_declared,
    safe_filename,
)
from services.exchange.repository import (
    AttachmentRepository,
    IdempotencyRepository,
    ListFilters,
    PersonalDataRepository,
    ProjectionRepository,
    RequestRepository,
    ViewParts,
    request_values,
)
from services.exchange.schemas import DataSubjectIn, DraftIn, DraftPatch, FreeTextIn
from services.exchange.settings import ExchangeSettings
from services.exchange.storage import AttachmentStorage, new_key
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot
from shared.contracts.envelope import Envelope
from shared.contracts.exchange import (
    PersonalDataBlocked,
    PersonalDataDeleted,
    RequestAccepted,
    RequestAllocated,
    RequestAnswerAccepted,
    RequestAnswered,
    RequestClosed,
    RequestDateAgreed,
    RequestDateProposed,
    RequestEscalated,
    RequestEvent,
    RequestForwarded,
    RequestInformationRequested,
    RequestOverdue,
    RequestRejected,
    RequestReminded,
    RequestSent,
    RequestSplit,
    RequestWithdrawn,
)
from shared.contracts.national import OUTBOUND, OUTBOUND_TYPE, OutboundEvent
from shared.contracts.translation import CataloguePublished, ProcedureSpec, TranslationRequested
from shared.db import Database
from shared.identity import Identity
from shared.logging import correlation_id_var, get_logger
from shared.messaging import Outbox
from shared.problems import Conflict, DomainError, Forbidden, InvalidInput, NotFound, StaleVersion

log = get_logger(__name__)

SERVICE = "exchange"
Clock = Callable[[], datetime]

EVENT_TYPES: Mapping[str, type[RequestEvent]] = {
    "sent": RequestSent,
    "accepted": RequestAccepted,
    "rejected": RequestRejected,
    "forwarded": RequestForwarded,
    "split": RequestSplit,
    "allocated": RequestAllocated,
    "date_proposed": RequestDateProposed,
    "date_agreed": RequestDateAgreed,
    "answered": RequestAnswered,
    "information_requested": RequestInformationRequested,
    "answer_accepted": RequestAnswerAccepted,
    "closed": RequestClosed,
    "withdrawn": RequestWithdrawn,
    "reminded": RequestReminded,
    "overdue": RequestOverdue,
    "escalated": RequestEscalated,
    "personal_data_blocked": PersonalDataBlocked,
    "personal_data_deleted": PersonalDataDeleted,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class PreconditionRequired(DomainError):
    status = 428
    slug = "precondition-required"
    title = "The request must say which version it acts on"


# --- what every use case works with --------------------------------------------------------------


@dataclass(frozen=True)
class LoadedCatalogue:
    rules: CatalogueRules
    area_names: Mapping[str, Mapping[str, str]]
    procedure_names: Mapping[str, Mapping[str, str]]

    def name(self, kind: str, key: str, language: str) -> str | None:
        names = (self.area_names if kind == "area" else self.procedure_names).get(key, {})
        return names.get(language) or names.get("en")


class CatalogueVersions:
    """Catalogue versions in memory: a published version never changes, so once read it is kept
    (the least recently used ones leave when more than ``capacity`` are held)."""

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._held: OrderedDict[str, LoadedCatalogue] = OrderedDict()

    async def get(self, session: AsyncSession, version: str | None, field: str) -> LoadedCatalogue:
        """The version asked for (default the newest seen), or a 422 naming ``field``."""
        repository = ProjectionRepository(session)
        if version is None:
            version = await repository.latest_catalogue_version()
            if version is None:
                raise InvalidInput(
                    "no catalogue version has been received from the translation service yet",
                    field=field,
                )
        found = self._held.get(version)
        if found is not None:
            self._held.move_to_end(version)
            return found
        row = await repository.catalogue(version)
        if row is None:
            raise InvalidInput(f"unknown catalogue version {version!r}", field=field)
        specs = [ProcedureSpec.model_validate(p) for p in row["procedures"]]
        found = LoadedCatalogue(
            rules=CatalogueRules(
                version=version,
                procedures={s.key: domain.ProcedureRule.from_spec(s) for s in specs},
            ),
            area_names=row["area_names"],
            procedure_names=row["procedure_names"],
        )
        self._held[version] = found
        while len(self._held) > self.capacity:
            self._held.popitem(last=False)
        return found


@dataclass
class ExchangeDesk:
    """What the use cases work with besides the transaction: settings, the outbox, the
    attachment storage, the clock, the catalogue versions and the deadline and retention rules."""

    settings: ExchangeSettings
    outbox: Outbox
    storage: AttachmentStorage
    clock: Clock
    catalogues: CatalogueVersions
    deadlines: DeadlinePolicy
    retention: RetentionPolicy

    @classmethod
    def build(
        cls,
        settings: ExchangeSettings,
        outbox: Outbox,
        storage: AttachmentStorage,
        clock: Clock = utc_now,
    ) -> ExchangeDesk:
        return cls(
            settings=settings,
            outbox=outbox,
            storage=storage,
            clock=clock,
            catalogues=CatalogueVersions(),
            deadlines=DeadlinePolicy(
                acceptance_days=settings.acceptance_days,
                acceptance_reminder_days=settings.acceptance_reminder_days,
                reply_reminder_days=settings.reply_reminder_days,
                escalation_grace_days=settings.escalation_grace_days,
                idle_months=settings.idle_months,
            ),
            retention=RetentionPolicy(deletion_months=settings.deletion_months),
        )


def actor_of(identity: Identity) -> Actor:
    return Actor(
        user_id=identity.user_id,
        authority_id=identity.authority_id,
        country=identity.country,
        roles=tuple(ActorRole(r.name, r.area, r.region) for r in identity.roles),
        language=identity.language,
    )


def parse_if_match(value: str | None) -> int:
    """The version an ``If-Match`` header names; 428 when it is missing."""
    if value is None or not value.strip():
        raise PreconditionRequired(
            'send If-Match with the version you act on (the ETag, e.g. "3")',
            field="headers.if-match",
        )
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    try:
        return int(raw)
    except ValueError:
        raise StaleVersion(
            f"If-Match {value!r} names no version of this request", field="headers.if-match"
        ) from None


# --- storing outcomes ----------------------------------------------------------------------------


def _row(desk: ExchangeDesk, request: InformationRequest) -> dict[str, Any]:
    return request_values(
        request,
        next_deadline_at=domain.next_deadline_at(request, desk.deadlines),
        next_retention_at=domain.next_retention_at(request, desk.retention),
        overdue=domain.is_overdue(request),
    )


def event_for(happened: Happened, acting_user_id: uuid.UUID | None, now: datetime) -> RequestEvent:
    request = happened.request
    return EVENT_TYPES[happened.name](
        request_id=request.id,
        version=request.version,
        state=request.state.value,
        procedure=request.procedure,
        area=request.area,
        catalogue_version=request.catalogue_version,
        requesting_authority_id=request.requesting.id,
        requesting_country=request.requesting.country,
        responding_authority_id=request.responding.id,
        responding_country=request.responding.country,
        visible_authority_ids=request.involved_ids,
        visible_countries=request.involved_countries,
        participant_user_ids=request.participant_ids,
        reply_by=request.reply_by,
        acting_user_id=acting_user_id,
        occurred_at=now,
        **happened.fields,
    )


async def _publish(
    session: AsyncSession,
    desk: ExchangeDesk,
    happened: Sequence[Happened],
    acting_user_id: uuid.UUID | None,
    now: datetime,
) -> None:
    rows: list[tuple[Envelope, str, str, dict[str, Any] | None]] = []
    events = []
    for item in happened:
        event = event_for(item, acting_user_id, now)
        envelope = desk.outbox.envelope(event, subject=str(item.request.id))
        rows.append((envelope, "imi.events", event.type, None))
        events.append(event)
    contents = {item.request.id: domain.render_content(item.request) for item in happened}
    rows += await _outbound(session, desk, events, contents)
    await desk.outbox.add_envelopes(session, rows)


async def _outbound(
    session: AsyncSession,
    desk: ExchangeDesk,
    events: Sequence[RequestEvent],
    contents: Mapping[uuid.UUID, dict[str, Any]],
) -> list[tuple[Envelope, str, str, dict[str, Any] | None]]:
    """Each event once more on ``imi.outbound`` for every authority that sees the request
    (not drafts): ``<country>.<authority id>.<event type>``, for the national systems, with the
    procedure and the area named in the authority's language and the request's content as the
    web client shows it (questions, answers, free texts; personal data stays out: it is read
    through the personal-data resource, where every read is recorded)."""
    wanted = {a for e in events if e.state != "draft" for a in e.visible_authority_ids}
    if not wanted:
        return []
    found = await ProjectionRepository(session).authorities(sorted(wanted))
    rows: list[tuple[Envelope, str, str, dict[str, Any] | None]] = []
    for event in events:
        if event.state == "draft":
            continue
        catalogue: LoadedCatalogue | None
        try:
            catalogue = await desk.catalogues.get(session, event.catalogue_version, "catalogue")
        except InvalidInput:
            catalogue = None
        data = {**event.model_dump(mode="json"), "content": contents.get(event.request_id)}
        for authority_id in event.visible_authority_ids:
            authority = found.get(authority_id)
            if authority is None:
                continue
            language = authority.languages[0] if authority.languages else "en"
            outbound = OutboundEvent(
                event=event.type,
                country=authority.country,
                authority_id=authority_id,
                language=language,
                resource="request",
                resource_id=event.request_id,
                version=event.version,
                state=event.state,
                title=catalogue.name("procedure", event.procedure, language) if catalogue else None,
                area=catalogue.name("area", event.area, language) if catalogue else None,
                occurred_at=event.occurred_at,
                data=data,
            )
            envelope = Envelope(
                source="imi/exchange",
                type=OUTBOUND_TYPE,
                subject=str(event.request_id),
                correlationid=correlation_id_var.get(),
                data=outbound.model_dump(mode="json"),
            )
            key = f"{authority.country}.{authority_id}.{event.type}"
            rows.append((envelope, OUTBOUND, key, {"type": event.type}))
    return rows


async def _store(
    session: AsyncSession,
    desk: ExchangeDesk,
    outcome: Outcome,
    acting_user_id: uuid.UUID | None,
    now: datetime,
    *,
    new: bool = False,
) -> None:
    """The changed request (and a split's new one), their history, their events."""
    repository = RequestRepository(session)
    if new:
        await repository.insert(_row(desk, outcome.request))
    else:
        await repository.update(_row(desk, outcome.request))
    if outcome.new_request is not None:
        await repository.insert(_row(desk, outcome.new_request))
    await repository.add_history(outcome.request.id, outcome.entries)
    if outcome.new_request is not None:
        await repository.add_history(outcome.new_request.id, outcome.new_entries)
    await _publish(session, desk, outcome.happened, acting_user_id, now)


async def _request_translations(
    session: AsyncSession,
    desk: ExchangeDesk,
    request: InformationRequest,
    texts: Iterable[tuple[str, str, str]],
    reader: AuthorityProfile | None,
) -> None:
    """Ask the translation service for the reader authority's languages of each (reference
    part, text, language) now, so the translation is ready when the text is read."""
    if reader is None or not reader.languages:
        return
    rows = []
    for part, text, language in texts:
        targets = tuple(lang for lang in reader.languages if lang != language)
        if not targets:
            continue
        event = TranslationRequested(
            reference=f"exchange:request:{request.id}:{part}",
            requester=SERVICE,
            text=text,
            source_language=language,
            target_languages=targets,
        )
        rows.append(
            (desk.outbox.envelope(event, subject=str(request.id)), "imi.events", event.type, None)
        )
    await desk.outbox.add_envelopes(session, rows)


def _free_texts(
    request: InformationRequest, ids: Iterable[str] | None = None
) -> list[tuple[str, str, str]]:
    wanted = set(ids) if ids is not None else None
    return [
        (f"text:{t.id}", t.text, t.language)
        for t in request.free_texts
        if wanted is None or t.id in wanted
    ]


# --- reading -------------------------------------------------------------------------------------


async def _visible(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, *, lock: bool = False
) -> InformationRequest:
    request = await RequestRepository(session).get(request_id, lock=lock)
    if request is None or not domain.can_see(actor, request):
        raise NotFound(f"no request {request_id}")
    return request


async def _for_action(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, expected_version: int
) -> InformationRequest:
    request = await _visible(session, actor, request_id, lock=True)
    if request.version != expected_version:
        raise StaleVersion(
            f"the request is at version {request.version}, not {expected_version}; "
            "read it again and retry",
            field="headers.if-match",
            extra={"current_version": request.version},
        )
    return request


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _authority_view(
    ref: domain.AuthorityRef, names: Mapping[str, Mapping[str, Any]], language: str
) -> dict[str, Any]:
    known = names.get(str(ref.id), {})
    titles: Mapping[str, str] = known.get("informal_titles") or {}
    return {
        "id": str(ref.id),
        "country": ref.country,
        "region": ref.region,
        "official_name": known.get("official_name"),
        "name_language": known.get("name_language"),
        "title": titles.get(language) or titles.get("en"),
    }


def request_view(
    request: InformationRequest,
    parts: ViewParts,
    actor: Actor,
    language: str,
    catalogue: LoadedCatalogue | None,
    policy: DeadlinePolicy,
) -> dict[str, Any]:
    """The request as the reader sees it: structured content ready for rendering, state,
    deadlines, participants, history and the actions the reader may take now."""
    names = {a["id"]: a for a in parts.authorities}
    personal_questions = [i.question for i in request.items if i.personal_data]
    return {
        "id": str(request.id),
        "state": request.state.value,
        "version": request.version,
        "language": language,
        "procedure": request.procedure,
        "procedure_name": catalogue.name("procedure", request.procedure, language)
        if catalogue
        else None,
        "area": request.area,
        "area_name": catalogue.name("area", request.area, language) if catalogue else None,
        "catalogue_version": request.catalogue_version,
        "requesting_authority": _authority_view(request.requesting, names, language),
        "responding_authority": _authority_view(request.responding, names, language),
        "involved_authorities": [_authority_view(a, names, language) for a in request.involved],
        "content": domain.render_content(request),
        "questions": [
            {
                "question": i.question,
                "personal_data": i.personal_data,
                "answered": i.answered_at is not None,
                "answered_at": _iso(i.answered_at),
            }
            for i in request.items
        ],
        "free_text_details": [
            {
                "id": t.id,
                "side": t.side.value,
                "language": t.language,
                "written_at": t.written_at.isoformat(),
                "written_by": str(t.written_by),
            }
            for t in request.free_texts
        ],
        "reply_date": {
            "requested": _iso(request.requested_reply_date),
            "reply_by": _iso(request.reply_by),
            "agreed": request.reply_date_agreed,
            "pending_proposal": {
                "date": request.date_proposal.date.isoformat(),
                "proposed_by": request.date_proposal.side.value,
                "proposed_at": request.date_proposal.proposed_at.isoformat(),
            }
            if request.date_proposal
            else None,
        },
        "deadlines": {
            "acceptance_due_at": _iso(domain.acceptance_due_at(request, policy)),
            "reply_due_at": _iso(domain.reply_due_at(request)),
            "overdue": domain.is_overdue(request),
            "acceptance_reminded_at": _iso(request.acceptance_reminded_at),
            "acceptance_overdue_at": _iso(request.acceptance_overdue_at),
            "reply_reminded_at": _iso(request.reply_reminded_at),
            "reply_overdue_at": _iso(request.reply_overdue_at),
            "escalated_at": _iso(request.overdue_escalated_at),
            "idle_escalated_at": _iso(request.idle_escalated_at),
        },
        "handler_user_id": str(request.handler_user_id) if request.handler_user_id else None,
        "participants": [
            {
                "user_id": str(p.user_id),
                "authority_id": str(p.authority_id) if p.authority_id else None,
                "role": p.role,
                "since": p.since.isoformat(),
            }
            for p in request.participants
        ],
        "history": parts.history,
        "attachments": parts.attachments,
        "rating": {
            "timeliness": request.rating.timeliness,
            "effort": request.rating.effort,
            "negative": request.rating.negative,
        }
        if request.rating
        else None,
        "personal_data": {
            "present": parts.data_subject_fields is not None,
            "fields": sorted(parts.data_subject_fields or ()),
            "personal_questions": personal_questions,
            "blocked": request.personal_data_blocked_at is not None,
            "blocked_at": _iso(request.personal_data_blocked_at),
            "deleted": request.personal_data_deleted_at is not None,
            "deleted_at": _iso(request.personal_data_deleted_at),
        },
        "split_from": str(request.split_from) if request.split_from else None,
        "splits": [
            h["details"]["new_request_id"]
            for h in parts.history
            if h["action"] == Action.SPLIT.value and "new_request_id" in h["details"]
        ],
        "created_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
        "sent_at": _iso(request.sent_at),
        "received_at": _iso(request.received_at),
        "accepted_at": _iso(request.accepted_at),
        "first_answered_at": _iso(request.first_answered_at),
        "answered_at": _iso(request.answered_at),
        "answer_accepted_at": _iso(request.answer_accepted_at),
        "formal_closure_at": _iso(request.formal_closure_at),
        "allowed_actions": [a.value for a in domain.allowed_actions(actor, request)],
        "can_edit": domain.may_edit(actor, request),
        "can_upload_attachments": domain.may_upload(actor, request),
        "can_read_personal_data": domain.may_read_personal_data(actor, request),
        "can_read_access_log": domain.may_read_access_log(actor, request),
    }


async def view_of(
    session: AsyncSession,
    desk: ExchangeDesk,
    actor: Actor,
    request: InformationRequest,
    language: str,
) -> dict[str, Any]:
    parts = await RequestRepository(session).view_parts(request)
    try:
        catalogue: LoadedCatalogue | None = await desk.catalogues.get(
            session, request.catalogue_version, "catalogue_version"
        )
    except InvalidInput:
        catalogue = None
    return request_view(request, parts, actor, language, catalogue, desk.deadlines)


async def get_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    language: str,
) -> dict[str, Any]:
    actor = actor_of(identity)
    request = await _visible(session, actor, request_id)
    return await view_of(session, desk, actor, request, language)


def _encode_cursor(created_at: datetime, request_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{request_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, _, request_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        return datetime.fromisoformat(created), uuid.UUID(request_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "the cursor is not one this service gave", field="query.cursor"
        ) from None


async def list_requests(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    filters: ListFilters,
    cursor: str | None,
    limit: int | None,
) -> dict[str, Any]:
    """The requests the caller may see, newest first, a page at a time."""
    settings = desk.settings
    size = limit or settings.list_default_limit
    if not 1 <= size <= settings.list_max_limit:
        raise InvalidInput(f"limit runs from 1 to {settings.list_max_limit}", field="query.limit")
    if filters.state is not None and filters.state not in {s.value for s in State}:
        raise InvalidInput(
            f"unknown state; one of {', '.join(s.value for s in State)}", field="query.state"
        )
    actor = actor_of(identity)
    if filters.box in ("incoming", "outgoing") and actor.authority_id is None:
        return {"items": [], "next_cursor": None}
    rows = await RequestRepository(session).visible(
        domain.visibility_scope(actor),
        filters,
        _decode_cursor(cursor) if cursor else None,
        size + 1,
    )
    more = len(rows) > size
    rows = rows[:size]
    items = [
        {
            key: (
                str(value)
                if isinstance(value, uuid.UUID)
                else _iso(value)
                if isinstance(value, datetime | date)
                else value
            )
            for key, value in row.items()
        }
        for row in rows
    ]
    next_cursor = _encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
    return {"items": items, "next_cursor": next_cursor}


# --- drafts --------------------------------------------------------------------------------------


def _texts(given: Sequence[FreeTextIn]) -> list[TextInput]:
    return [TextInput(t.text, t.language) for t in given]


def _subject(data_subject: DataSubjectIn | None) -> dict[str, Any] | None:
    if data_subject is None:
        return None
    return data_subject.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def _fingerprint(body: DraftIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _requesting_authority(session: AsyncSession, actor: Actor) -> AuthorityProfile:
    if actor.authority_id is None:
        raise Forbidden("only a user of an authority drafts requests")
    found = await ProjectionRepository(session).authority(actor.authority_id)
    if found is None:
        raise Conflict(
            "your authority is not known to the exchange service yet (directory events pending)"
        )
    return found


async def create_draft(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    body: DraftIn,
    idempotency_key: str | None,
    language: str,
) -> tuple[dict[str, Any], bool]:
    """A new draft; with an ``Idempotency-Key`` the same caller and key get the same request
    back (False: it existed already) and no second one is made."""
    actor = actor_of(identity)
    request_id = uuid.uuid4()
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not key or len(key) > 200:
            raise InvalidInput(
                "an Idempotency-Key has 1 to 200 characters", field="headers.idempotency-key"
            )
        fingerprint = _fingerprint(body)
        earlier = await IdempotencyRepository(session).claim(
            actor.user_id, key, fingerprint, request_id
        )
        if earlier is not None:
            earlier_id, earlier_fingerprint = earlier
            if earlier_fingerprint != fingerprint:
                raise InvalidInput(
                    "this Idempotency-Key was used for a different request body",
                    field="headers.idempotency-key",
                )
            request = await _visible(session, actor, earlier_id)
            return await view_of(session, desk, actor, request, language), False
    now = desk.clock()
    catalogue = await desk.catalogues.get(session, body.catalogue_version, "body.catalogue_version")
    procedure = catalogue.rules.request_procedure(body.procedure, "body.procedure")
    if actor.authority_id is not None:  # both profiles in one read
        await ProjectionRepository(session).authorities(
            [actor.authority_id, body.responding_authority_id]
        )
    requesting = await _requesting_authority(session, actor)
    responding = await ProjectionRepository(session).authority(body.responding_authority_id)
    outcome = domain.new_draft(
        request_id=request_id,
        actor=actor,
        requesting=requesting,
        responding=responding,
        procedure=procedure,
        catalogue_version=catalogue.rules.version,
        question_keys=[i.question for i in body.items],
        free_texts=_texts(body.free_texts),
        requested_reply_date=body.requested_reply_date,
        now=now,
    )
    await _store(session, desk, outcome, actor.user_id, now, new=True)
    subject = _subject(body.data_subject)
    if subject is not None:
        await PersonalDataRepository(session).put_subject(request_id, subject, now)
    log.info("request drafted", request_id=str(request_id), procedure=procedure.key)
    return await view_of(session, desk, actor, outcome.request, language), True


async def edit_draft(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    patch: DraftPatch,
    language: str,
) -> dict[str, Any]:
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    given = patch.model_fields_set
    version_field = (
        "body.catalogue_version" if "catalogue_version" in given else "catalogue_version"
    )
    catalogue = await desk.catalogues.get(
        session, patch.catalogue_version or request.catalogue_version, version_field
    )
    procedure = catalogue.rules.request_procedure(
        patch.procedure or request.procedure,
        "body.procedure" if "procedure" in given else "procedure",
    )
    responding_id = patch.responding_authority_id or request.responding.id
    responding = await ProjectionRepository(session).authority(responding_id)
    changes = DraftChanges(
        catalogue_version=catalogue.rules.version if "catalogue_version" in given else None,
        question_keys=[i.question for i in patch.items] if patch.items is not None else None,
        free_texts=_texts(patch.free_texts) if patch.free_texts is not None else None,
        requested_reply_date=patch.requested_reply_date,
        responding_changed=patch.responding_authority_id is not None
        and patch.responding_authority_id != request.responding.id,
        personal_data_changed="data_subject" in given,
    )
    outcome = domain.edit_draft(actor, request, changes, procedure, responding, now)
    await _store(session, desk, outcome, actor.user_id, now)
    if "data_subject" in given:
        await PersonalDataRepository(session).put_subject(
            request_id, _subject(patch.data_subject), now
        )
    return await view_of(session, desk, actor, outcome.request, language)


# --- transitions ---------------------------------------------------------------------------------


async def _procedure_of(
    session: AsyncSession, desk: ExchangeDesk, request: InformationRequest
) -> ProcedureRule:
    catalogue = await desk.catalogues.get(session, request.catalogue_version, "catalogue_version")
    return catalogue.rules.request_procedure(request.procedure, "procedure")


async def _finish(
    session: AsyncSession,
    desk: ExchangeDesk,
    actor: Actor,
    outcome: Outcome,
    now: datetime,
    language: str,
) -> dict[str, Any]:
    await _store(session, desk, outcome, actor.user_id, now)
    return await view_of(session, desk, actor, outcome.request, language)


async def _transition(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    language: str,
    step: Callable[[Actor, InformationRequest, datetime], Outcome],
) -> dict[str, Any]:
    """A transition that needs nothing but the request: ``step`` at the desk's clock, stored."""
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    return await _finish(session, desk, actor, step(actor, request, now), now, language)


async def send_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    language: str,
) -> dict[str, Any]:
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    outcome = domain.send(actor, request, now, desk.deadlines)
    # Both sides' profiles in one read: the national systems' copies need them as well.
    profiles = await ProjectionRepository(session).authorities(
        [request.responding.id, request.requesting.id]
    )
    responding = profiles.get(request.responding.id)
    view = await _finish(session, desk, actor, outcome, now, language)
    await _request_translations(
        session, desk, outcome.request, _free_texts(outcome.request), responding
    )
    return view


async def accept_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    language: str,
) -> dict[str, Any]:
    return await _transition(
        session, desk, identity, request_id, expected_version, language, domain.accept
    )


async def reject_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    reason: str,
    language: str,
) -> dict[str, Any]:
    return await _transition(
        session,
        desk,
        identity,
        request_id,
        expected_version,
        language,
        lambda actor, request, now: domain.reject(actor, request, reason, now),
    )


async def forward_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    authority_id: uuid.UUID,
    reason: str | None,
    language: str,
) -> dict[str, Any]:
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    domain.authorize(actor, request, Action.FORWARD)
    procedure = await _procedure_of(session, desk, request)
    target = await ProjectionRepository(session).authority(authority_id)
    outcome = domain.forward(actor, request, target, procedure, reason, now, desk.deadlines)
    view = await _finish(session, desk, actor, outcome, now, language)
    await _request_translations(
        session, desk, outcome.request, _free_texts(outcome.request), target
    )
    return view


async def split_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    authority_id: uuid.UUID,
    questions: Sequence[str],
    language: str,
) -> dict[str, Any]:
    """The new request gets the moved questions, the requester's texts, a copy of the data
    subject part and copies of the requester's attachments."""
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    domain.authorize(actor, request, Action.SPLIT)
    procedure = await _procedure_of(session, desk, request)
    target = await ProjectionRepository(session).authority(authority_id)
    outcome = domain.split(
        actor, request, target, procedure, questions, uuid.uuid4(), now, desk.deadlines
    )
    new = outcome.new_request
    assert new is not None
    await _store(session, desk, outcome, actor.user_id, now)
    await PersonalDataRepository(session).copy(request.id, new.id, new.question_keys, now)
    await _copy_attachments(session, desk, request.id, new.id, Side.REQUESTER)
    await _request_translations(session, desk, new, _free_texts(new), target)
    return await view_of(session, desk, actor, outcome.request, language)


async def _copy_attachments(
    session: AsyncSession,
    desk: ExchangeDesk,
    source: uuid.UUID,
    target: uuid.UUID,
    side: Side,
) -> None:
    repository = AttachmentRepository(session)
    copied: list[str] = []
    try:
        for row in await repository.of_request(source):
            if row["side"] != side.value:
                continue
            key = new_key()
            await desk.storage.copy(row["storage_key"], key)
            copied.append(key)
            await repository.add(
                {**row, "id": uuid.uuid4(), "request_id": target, "storage_key": key}
            )
    except BaseException:
        for key in copied:
            await desk.storage.delete(key)
        raise


async def allocate_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    handler_user_id: uuid.UUID,
    language: str,
) -> dict[str, Any]:
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    domain.authorize(actor, request, Action.ALLOCATE)
    handler = await ProjectionRepository(session).user(handler_user_id)
    outcome = domain.allocate(actor, request, handler, now)
    return await _finish(session, desk, actor, outcome, now, language)


async def propose_reply_date(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    proposed: date | None,
    accept: bool,
    language: str,
) -> dict[str, Any]:
    return await _transition(
        session,
        desk,
        identity,
        request_id,
        expected_version,
        language,
        lambda actor, request, now: domain.propose_date(actor, request, proposed, accept, now),
    )


async def answer_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    answers: Sequence[AnswerInput],
    texts: Sequence[FreeTextIn],
    language: str,
) -> dict[str, Any]:
    """Answers to personal-data questions go to the personal part, and the documents they name
    become personal attachments."""
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    domain.authorize(actor, request, Action.ANSWER)
    procedure = await _procedure_of(session, desk, request)
    attachments = AttachmentRepository(session)
    documents = await attachments.ids_of_side(request.id, Side.RESPONDER.value)
    outcome = domain.answer(actor, request, procedure, answers, _texts(texts), documents, now)
    given = {a.question for a in answers}
    answered = [i for i in outcome.request.items if i.question in given and i.answer is not None]
    personal_answers = {i.question: dict(i.answer or {}) for i in answered if i.personal_data}
    await PersonalDataRepository(session).merge_answers(request.id, personal_answers, now)
    await attachments.mark_personal(
        request.id,
        [uuid.UUID(a["document"]) for a in personal_answers.values() if "document" in a],
    )
    view = await _finish(session, desk, actor, outcome, now, language)
    added = set(outcome.entries[0].details.get("free_text_ids", ()))
    requesting = await ProjectionRepository(session).authority(request.requesting.id)
    texts_to_translate = _free_texts(outcome.request, added) + [
        (f"answer:{i.question}", str(i.answer["text"]), str(i.answer["language"]))
        for i in answered
        if not i.personal_data and i.answer is not None and "text" in i.answer
    ]
    await _request_translations(session, desk, outcome.request, texts_to_translate, requesting)
    return view


async def request_information(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    text: FreeTextIn,
    questions: Sequence[str],
    reply_by: date | None,
    language: str,
) -> dict[str, Any]:
    actor = actor_of(identity)
    request = await _for_action(session, actor, request_id, expected_version)
    now = desk.clock()
    domain.authorize(actor, request, Action.REQUEST_INFO)
    procedure = await _procedure_of(session, desk, request)
    outcome = domain.request_information(
        actor, request, procedure, TextInput(text.text, text.language), questions, reply_by, now
    )
    view = await _finish(session, desk, actor, outcome, now, language)
    added = set(outcome.entries[0].details.get("free_text_ids", ()))
    responding = await ProjectionRepository(session).authority(request.responding.id)
    await _request_translations(
        session, desk, outcome.request, _free_texts(outcome.request, added), responding
    )
    return view


async def accept_answer(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    timeliness: int,
    effort: int,
    language: str,
) -> dict[str, Any]:
    rating = Rating(timeliness, effort)
    return await _transition(
        session,
        desk,
        identity,
        request_id,
        expected_version,
        language,
        lambda actor, request, now: domain.accept_answer(actor, request, rating, now),
    )


async def close_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    language: str,
) -> dict[str, Any]:
    return await _transition(
        session, desk, identity, request_id, expected_version, language, domain.close
    )


async def withdraw_request(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    expected_version: int,
    reason: str,
    language: str,
) -> dict[str, Any]:
    return await _transition(
        session,
        desk,
        identity,
        request_id,
        expected_version,
        language,
        lambda actor, request, now: domain.withdraw(actor, request, reason, now),
    )


# --- personal data -------------------------------------------------------------------------------


def _require_purpose(purpose: str | None) -> str:
    if purpose is None or not purpose.strip():
        raise InvalidInput(
            "say why you read the personal data (purpose); every read is recorded",
            field="query.purpose",
        )
    if len(purpose) > 1000:
        raise InvalidInput("at most 1000 characters", field="query.purpose")
    return purpose.strip()


async def _record_read(
    session: AsyncSession,
    identity: Identity,
    request_id: uuid.UUID,
    record: str,
    purpose: str,
    justification: str | None,
    blocked: bool,
    now: datetime,
) -> None:
    await PersonalDataRepository(session).record_access(
        {
            "request_id": request_id,
            "at": now,
            "user_id": identity.user_id,
            "username": identity.username,
            "authority_id": identity.authority_id,
            "roles": sorted(identity.role_names),
            "record": record,
            "purpose": purpose,
            "justification": justification.strip() if justification and blocked else None,
            "blocked": blocked,
        }
    )


async def read_personal_data(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    purpose: str | None,
    justification: str | None,
) -> dict[str, Any]:
    """The data subject's part and the answers to personal-data questions; the read is recorded
    (who, when, which record, why) in the same transaction as it happens."""
    actor = actor_of(identity)
    request = await _visible(session, actor, request_id)
    reason = _require_purpose(purpose)
    blocked = domain.authorize_personal_data(actor, request, justification)
    now = desk.clock()
    stored = await PersonalDataRepository(session).get(request_id) or {}
    answers: Mapping[str, Any] = stored.get("answers") or {}
    subject = stored.get("data_subject")
    await _record_read(
        session, identity, request_id, "data_subject", reason, justification, blocked, now
    )
    return {
        "request_id": str(request_id),
        "data_subject": subject,
        "answers": [
            {"question": i.question, "answer": answers.get(i.question)}
            for i in request.items
            if i.personal_data
        ],
        "personal_data_fields": sorted(subject or {}),
        "blocked": blocked,
        "read_at": now.isoformat(),
        "purpose": reason,
    }


def _page_cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "the cursor is not one this service gave", field="query.cursor"
        ) from None


async def access_log(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    cursor: str | None,
    limit: int | None,
) -> dict[str, Any]:
    actor = actor_of(identity)
    request = await _visible(session, actor, request_id)
    if not domain.may_read_access_log(actor, request):
        raise Forbidden(
            "the access log is for the data protection administrator and the requesting "
            "authority's supervisor"
        )
    size = limit or desk.settings.list_default_limit
    if not 1 <= size <= desk.settings.list_max_limit:
        raise InvalidInput(
            f"limit runs from 1 to {desk.settings.list_max_limit}", field="query.limit"
        )
    rows = await PersonalDataRepository(session).access_log(
        request_id, _page_cursor(cursor), size + 1
    )
    more = len(rows) > size
    rows = rows[:size]
    return {
        "items": [
            {
                "id": r["id"],
                "at": r["at"].isoformat(),
                "user_id": str(r["user_id"]),
                "username": r["username"],
                "authority_id": str(r["authority_id"]) if r["authority_id"] else None,
                "roles": list(r["roles"]),
                "record": r["record"],
                "purpose": r["purpose"],
                "justification": r["justification"],
                "blocked": r["blocked"],
            }
            for r in rows
        ],
        "next_cursor": base64.urlsafe_b64encode(str(rows[-1]["id"]).encode()).decode().rstrip("=")
        if more
        else None,
    }


# --- attachments ---------------------------------------------------------------------------------


def attachment_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "filename": row["filename"],
        "content_type": row["content_type"],
        "size": row["size"],
        "sha256": row["sha256"],
        "personal_data": row["personal_data"],
        "side": row["side"],
        "uploaded_by": str(row["uploaded_by"]),
        "uploaded_at": row["uploaded_at"].isoformat(),
    }


async def upload_attachment(
    db: Database,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    *,
    filename: str | None,
    declared_type: str | None,
    declared_length: int | None,
    personal_data: bool,
    chunks: AsyncIterator[bytes],
) -> dict[str, Any]:
    """Receive a file into the storage while hashing, counting and sniffing it, then record it.

    No transaction is held while the bytes arrive: the permission is checked in one short
    transaction before, the record is written in another after. A refused file (too large,
    of a kind not accepted, contradicting its declared name or type) leaves nothing behind.
    """
    actor = actor_of(identity)
    name = safe_filename(filename, "query.filename")
    async with db.transaction() as session:
        request = await _visible(session, actor, request_id)
        domain.authorize_upload(actor, request)
    limit = desk.settings.attachment_max_bytes
    if declared_length is not None and declared_length > limit:
        raise ContentTooLarge(f"the file is larger than {limit} bytes", field="body")
    upload = await desk.storage.open_upload()
    key = new_key()
    committed = False
    try:
        digest = hashlib.sha256()
        sniffer = ContentSniffer()
        size = 0
        async for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise ContentTooLarge(f"the file is larger than {limit} bytes", field="body")
            digest.update(chunk)
            sniffer.feed(chunk)
            await upload.write(chunk)
        if size == 0:
            raise InvalidInput("the file is empty", field="body")
        listing = await upload.zip_listing() if sniffer.is_zip else None
        content_type = check_declared(
            sniffer.content_type(listing),
            name,
            declared_type,
            filename_field="query.filename",
            type_field="headers.content-type",
        )
        await upload.commit(key)
        committed = True
        now = desk.clock()
        async with db.transaction() as session:
            # the state may have moved on while the bytes arrived
            request = await _visible(session, actor, request_id, lock=True)
            side = domain.authorize_upload(actor, request)
            values = {
                "id": uuid.uuid4(),
                "request_id": request_id,
                "filename": name,
                "declared_type": declared_type,
                "content_type": content_type,
                "size": size,
                "sha256": digest.hexdigest(),
                "storage_key": key,
                "personal_data": personal_data,
                "side": side.value,
                "uploaded_by": actor.user_id,
                "uploaded_at": now,
            }
            await AttachmentRepository(session).add(values)
        log.info("attachment stored", request_id=str(request_id), size=size, type=content_type)
        return attachment_view(values)
    except BaseException:
        await upload.discard()
        if committed:
            await desk.storage.delete(key)
        raise


async def list_attachments(
    session: AsyncSession, identity: Identity, request_id: uuid.UUID
) -> dict[str, Any]:
    actor = actor_of(identity)
    await _visible(session, actor, request_id)
    rows = await AttachmentRepository(session).of_request(request_id)
    return {"items": [attachment_view(r) for r in rows]}


@dataclass(frozen=True)
class AttachmentDownload:
    filename: str
    content_type: str
    size: int
    sha256: str
    chunks: AsyncIterator[bytes]


async def open_attachment(
    session: AsyncSession,
    desk: ExchangeDesk,
    identity: Identity,
    request_id: uuid.UUID,
    attachment_id: uuid.UUID,
    purpose: str | None,
    justification: str | None,
) -> AttachmentDownload:
    """A stored file as a stream; reading a personal-data attachment is recorded like any other
    read of personal data and follows its blocking."""
    actor = actor_of(identity)
    request = await _visible(session, actor, request_id)
    row = await AttachmentRepository(session).get(request_id, attachment_id)
    if row is None:
        raise NotFound(f"no attachment {attachment_id} on request {request_id}")
    if row["personal_data"]:
        reason = _require_purpose(purpose)
        blocked = domain.authorize_personal_data(actor, request, justification)
        await _record_read(
            session,
            identity,
            request_id,
            f"attachment:{attachment_id}",
            reason,
            justification,
            blocked,
            desk.clock(),
        )
    return AttachmentDownload(
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        chunks=desk.storage.read(row["storage_key"]),
    )


# --- statistics ----------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _group(row: Mapping[str, Any]) -> dict[str, Any]:
    average = row["average_reply_days"]
    return {
        "country": row["country"],
        "area": row["area"],
        "requests_sent": row["sent"],
        "accepted_within_deadline_share": _share(row["accepted_within"], row["acceptance_decided"]),
        "average_reply_days": round(float(average), 2) if average is not None else None,
        "answered_by_agreed_date_share": _share(row["answered_by_date"], row["answered_with_date"]),
        "negative_rating_share": _share(row["negative"], row["rated"]),
        "counts_by_state": {
            s.value: row[f"state_{s.value}"] for s in State if s is not State.DRAFT
        },
    }


async def statistics(
    session: AsyncSession,
    desk: ExchangeDesk,
    *,
    country: str | None,
    area: str | None,
    period_from: date | None,
    period_to: date | None,
    side: str,
) -> dict[str, Any]:
    """Scoreboard indicators of the requests sent in the period (``to`` inclusive)."""
    if side not in ("responding", "requesting"):
        raise InvalidInput("side is responding or requesting", field="query.side")
    if country is not None and not (len(country) == 2 and country.isalpha()):
        raise InvalidInput("a country is its ISO 3166-1 alpha-2 code", field="query.country")
    if period_from and period_to and period_to < period_from:
        raise InvalidInput("the period ends before it starts", field="query.to")
    rows = await RequestRepository(session).statistics(
        side=side,
        country=country.lower() if country else None,
        area=area,
        sent_from=datetime.combine(period_from, time(0), tzinfo=UTC) if period_from else None,
        sent_to=datetime.combine(period_to + timedelta(days=1), time(0), tzinfo=UTC)
        if period_to
        else None,
        now=desk.clock(),
        acceptance_days=desk.deadlines.acceptance_days,
    )
    groups = [_group(r) for r in rows if r["level"] == 0]
    totals = [_group(r) for r in rows if r["level"] != 0]
    total = totals[0] if totals else _group(
        {
            "country": None, "area": None, "sent": 0, "acceptance_decided": 0,
            "accepted_within": 0, "answered": 0, "average_reply_days": None,
            "answered_with_date": 0, "answered_by_date": 0, "rated": 0, "negative": 0,
            **{f"state_{s.value}": 0 for s in State},
        }
    )  # fmt: skip
    total.update(country=country, area=area)
    return {
        "side": side,
        "country": country,
        "area": area,
        "period_from": _iso(period_from),
        "period_to": _iso(period_to),
        "acceptance_days": desk.deadlines.acceptance_days,
        "total": total,
        "groups": groups,
    }


# --- projections ---------------------------------------------------------------------------------


async def project_authority(session: AsyncSession, snapshot: AuthoritySnapshot) -> None:
    await ProjectionRepository(session).put_authority(snapshot)


async def project_user(session: AsyncSession, snapshot: UserSnapshot) -> None:
    await ProjectionRepository(session).put_user(snapshot)


async def project_catalogue(session: AsyncSession, event: CataloguePublished) -> None:
    if await ProjectionRepository(session).put_catalogue(event):
        log.info("catalogue version received", version=event.version)


# --- periodic jobs -------------------------------------------------------------------------------


class DeadlineJob:
    """Reminders, overdue marks and escalations; safe with replicas (rows taken with SKIP
    LOCKED, each batch in its own transaction)."""

    def __init__(self, desk: ExchangeDesk) -> None:
        self.desk = desk

    async def run(self, db: Database) -> int:
        """One round over every request with a step due; returns how many were handled."""
        now = self.desk.clock()
        batch = self.desk.settings.job_batch_size
        handled = 0
        while True:
            async with db.transaction() as session:
                due = await RequestRepository(session).due_for_deadlines(now, batch)
                if not due:
                    break
                coordinators = await ProjectionRepository(session).national_coordinators(
                    r.responding.country for r in due
                )
                for request in due:
                    outcome = domain.apply_deadlines(
                        request,
                        now,
                        self.desk.deadlines,
                        coordinators.get(request.responding.country, ()),
                    )
                    await _store(session, self.desk, outcome, None, now)
                    if any(
                        h.name == "escalated" for h in outcome.happened
                    ) and not coordinators.get(request.responding.country):
                        log.warning(
                            "escalation without a national coordinator in the directory",
                            request_id=str(request.id),
                            country=request.responding.country,
                        )
            handled += len(due)
            if len(due) < batch:
                break
        return handled


class RetentionJob:
    """Blocks personal data 6 (or 18) months after formal closure and deletes it after three
    years; the request keeps its non-personal shell. Safe with replicas."""

    def __init__(self, desk: ExchangeDesk) -> None:
        self.desk = desk

    async def run(self, db: Database) -> int:
        now = self.desk.clock()
        batch = self.desk.settings.job_batch_size
        handled = 0
        while True:
            async with db.transaction() as session:
                due = await RequestRepository(session).due_for_retention(now, batch)
                if not due:
                    break
                for request in due:
                    await self._apply(session, request, now)
            handled += len(due)
            if len(due) < batch:
                break
        await self.remove_files(db)
        async with db.transaction() as session:
            await IdempotencyRepository(session).purge(
                now - timedelta(days=self.desk.settings.idempotency_key_days)
            )
        return handled

    async def _apply(
        self, session: AsyncSession, request: InformationRequest, now: datetime
    ) -> None:
        updated, steps, entries = domain.apply_retention(request, now, self.desk.retention)
        if RetentionStep.DELETE in steps:
            await PersonalDataRepository(session).delete(request.id)
            await AttachmentRepository(session).mark_removal(request.id)
            await RequestRepository(session).blank_history_texts(request.id)
        happened = [
            Happened(step.value, updated, {"formal_closure_at": request.formal_closure_at})
            for step in steps
        ]
        await _store(
            session, self.desk, Outcome(updated, tuple(entries), tuple(happened)), None, now
        )
        log.info("retention applied", request_id=str(request.id), steps=[s.value for s in steps])

    async def remove_files(self, db: Database) -> int:
        """Delete the files whose removal was decided; a crash in between is picked up again."""
        removed = 0
        while True:
            async with db.transaction() as session:
                repository = AttachmentRepository(session)
                pending = await repository.pending_removals(self.desk.settings.job_batch_size)
                if not pending:
                    return removed
                for _, key in pending:
                    await self.desk.storage.delete(key)
                await repository.forget([attachment_id for attachment_id, _ in pending])
            removed += len(pending)
