"""Use cases of the alerts service: draft, the flows of the three kinds, reading, fan-out,
projections, deadlines and retention.

Every use case takes the session of the caller's transaction, the acting identity and plain
inputs, so the HTTP API and (later) national systems' broker commands drive the same functions.
They may flush, never commit: the route or the consumer that calls them owns the transaction,
and the outbox events are written in it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts.domain import (
    Action,
    Actor,
    AlertFacts,
    AlertKind,
    AlertState,
    CatalogueView,
    Involvement,
    ProcedureInfo,
    Retention,
    RoleName,
    alert_procedure,
    allowed_actions,
    broadcast_target,
    can_see,
    catalogue_view,
    check_personal_data_read,
    check_reason,
    decode_cursor,
    dissemination_target,
    due_for_blocking,
    due_for_deletion,
    encode_cursor,
    is_overdue,
    matches_if_match,
    may_draft,
    may_read_access_log,
    next_state,
    pq_send_by,
    read_time_cursor,
    require_action,
    require_decision_date,
    require_profession,
    sent_late,
    split_personal,
    time_cursor,
    tracking_scope,
    validate_free_texts,
    validate_items,
    validate_professional,
    without_personal,
)
from services.alerts.models import (
    AccessLogRecord,
    AlertRecord,
    CommentRecord,
    ContentVersionRecord,
    DisseminationRecord,
    HistoryRecord,
    UpdateRecord,
)
from services.alerts.repository import (
    AlertRepository,
    CatalogueRepository,
    DirectoryRepository,
    FanOutRepository,
    NewRecipient,
    VisibilityFilter,
)
from shared.contracts.alerts import ALERT_EVENTS, NOTIFICATION_EVENTS, AlertEvent
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot
from shared.contracts.envelope import Envelope
from shared.contracts.national import OUTBOUND, OUTBOUND_TYPE, OutboundEvent
from shared.contracts.translation import (
    LANGUAGES,
    CataloguePublished,
    TranslationCompleted,
    TranslationRequested,
)
from shared.db import Database
from shared.identity import Identity
from shared.languages import language_tag, require_language
from shared.logging import correlation_id_var, get_logger
from shared.messaging import EVENTS_EXCHANGE, Outbox
from shared.problems import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion

log = get_logger(__name__)

SERVICE = "alerts"
Clock = Callable[[], datetime]

# Who holds an alert's inbox entry for its authority and is told one by one (gateway, SSE).
TOLD_ROLES: Mapping[AlertKind, tuple[str, ...]] = {
    AlertKind.SERVICES_ALERT: ("alert_handler", "alert_coordinator", "commission"),
    AlertKind.PQ_ALERT: ("alert_handler", "alert_coordinator", "commission"),
    AlertKind.NOTIFICATION: ("national_coordinator", "alert_coordinator", "commission"),
}
# Whose authority receives a broadcast in each chosen country.
COORDINATOR_ROLES: Mapping[AlertKind, tuple[str, ...]] = {
    AlertKind.SERVICES_ALERT: ("alert_coordinator",),
    AlertKind.PQ_ALERT: ("alert_coordinator",),
    AlertKind.NOTIFICATION: ("national_coordinator", "alert_coordinator"),
}
# The Commission's authorities receive through the users who handle alerts there.
COMMISSION_ROLES: tuple[str, ...] = ("commission", "alert_coordinator")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- context and inputs ----------------------------------------------------------------------


class CatalogueCache:
    """Parsed catalogue versions held in memory; a version never changes once published."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._versions: OrderedDict[str, CatalogueView] = OrderedDict()

    async def get(self, session: AsyncSession, version: str | None, *, field: str) -> CatalogueView:
        """The version asked for, or the newest one; 422 naming ``field`` when unknown."""
        repository = CatalogueRepository(session)
        if version is None:
            version = await repository.current_version()
            if version is None:
                raise InvalidInput("no catalogue has been published yet", field=field)
        found = self._versions.get(version)
        if found is not None:
            self._versions.move_to_end(version)
            return found
        event = await repository.event(version)
        if event is None:
            raise InvalidInput(f"unknown catalogue version {version!r}", field=field)
        found = catalogue_view(CataloguePublished.model_validate(event))
        self._versions[version] = found
        while len(self._versions) > self.capacity:
            self._versions.popitem(last=False)
        return found


@dataclass
class AlertsContext:
    """What the use cases need besides the session: the outbox, the catalogue, the clock."""

    outbox: Outbox
    catalogues: CatalogueCache = field(default_factory=CatalogueCache)
    clock: Clock = utc_now
    job_batch_size: int = 200
    # Countries whose national systems get alerts on imi.outbound (None: all).
    national_countries: frozenset[str] | None = frozenset()


@dataclass(frozen=True)
class ContentInput:
    items: Sequence[tuple[str, Mapping[str, Any] | None]] = ()
    free_texts: Sequence[tuple[str, str, str | None]] = ()


@dataclass(frozen=True)
class DraftInput:
    procedure: str
    content: ContentInput
    catalogue_version: str | None = None
    language: str | None = None
    profession: str | None = None
    professional: Mapping[str, Any] | None = None
    deciding_authority: str | None = None


@dataclass(frozen=True)
class EditInput:
    """A draft's changes; only the fields in ``given`` change."""

    given: frozenset[str]
    content: ContentInput | None = None
    language: str | None = None
    profession: str | None = None
    professional: Mapping[str, Any] | None = None
    deciding_authority: str | None = None


@dataclass(frozen=True)
class ActionInput:
    """The inputs of every action; each action reads its own."""

    reason: str | None = None
    countries: Sequence[str] | str | None = None
    country: str | None = None
    procedures: Sequence[str] = ()
    regions: Sequence[str] = ()
    authority_ids: Sequence[uuid.UUID] = ()
    text: str | None = None
    language: str | None = None
    content: ContentInput | None = None
    profession: str | None = None
    professional: Mapping[str, Any] | None = None
    deciding_authority: str | None = None


def actor_of(identity: Identity) -> Actor:
    return Actor(
        user_id=identity.user_id,
        authority_id=identity.authority_id,
        country=identity.country.lower() if identity.country else None,
        roles=tuple((role.name, role.area) for role in identity.roles),
    )


def facts_of(alert: AlertRecord) -> AlertFacts:
    return AlertFacts(
        kind=AlertKind(alert.kind),
        state=AlertState(alert.state),
        area=alert.area,
        sender_authority_id=alert.sender_authority_id,
        sender_country=alert.sender_country,
    )


def retention_of(alert: AlertRecord) -> Retention:
    return Retention(
        ended_at=alert.ended_at,
        retention_months=alert.retention_months,
        blocked_at=alert.personal_data_blocked_at,
        deleted_at=alert.personal_data_deleted_at,
    )


def writer_language(identity: Identity, given: str | None, field: str) -> str:
    if given:
        return require_language(given, field)
    return language_tag(identity.language) or "en"


# --- projections (event handlers) ------------------------------------------------------------


async def record_catalogue(session: AsyncSession, event: CataloguePublished, now: datetime) -> None:
    """Keep every catalogue version seen: an alert keeps the version it was written with."""
    stored = await CatalogueRepository(session).add(
        event.version, event.published_at, event.model_dump(mode="json"), now
    )
    if stored:
        log.info("catalogue version kept", version=event.version)


async def project_authority(
    session: AsyncSession, snapshot: AuthoritySnapshot, now: datetime
) -> None:
    await DirectoryRepository(session).upsert_authority(snapshot, now)


async def project_user(session: AsyncSession, snapshot: UserSnapshot, now: datetime) -> None:
    await DirectoryRepository(session).upsert_user(snapshot, now)


TRANSLATION_REFERENCE_PREFIX = "alerts:alert:"


def translation_reference(alert_id: uuid.UUID, text_key: str) -> str:
    return f"{TRANSLATION_REFERENCE_PREFIX}{alert_id}:{text_key}"


async def record_translation(
    session: AsyncSession, event: TranslationCompleted, now: datetime
) -> None:
    """Keep a machine translation of one of our free texts (others' are not ours)."""
    if event.requester != SERVICE or not event.reference.startswith(TRANSLATION_REFERENCE_PREFIX):
        return
    alert_part, _, text_key = event.reference.removeprefix(TRANSLATION_REFERENCE_PREFIX).partition(
        ":"
    )
    try:
        alert_id = uuid.UUID(alert_part)
    except ValueError:
        log.warning("translation with an unreadable reference", reference=event.reference)
        return
    if not text_key:
        return
    await AlertRepository(session).keep_translation(
        {
            "alert_id": alert_id,
            "text_key": text_key,
            "target_language": event.target_language,
            "source_language": event.source_language,
            "translated_text": event.translated_text,
            "provider": event.provider,
            "machine_translated": event.machine_translated,
            "received_at": now,
        }
    )


# --- drafting --------------------------------------------------------------------------------


def _request_hash(draft: DraftInput) -> str:
    canonical = json.dumps(
        {
            "procedure": draft.procedure,
            "catalogue_version": draft.catalogue_version,
            "items": [[k, a] for k, a in draft.content.items],
            "free_texts": [list(f) for f in draft.content.free_texts],
            "language": draft.language,
            "profession": draft.profession,
            "professional": draft.professional,
            "deciding_authority": draft.deciding_authority,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Checked:
    """A content checked against its procedure, with what the kind adds."""

    items: list[dict[str, Any]]
    free_texts: list[dict[str, Any]]
    decision: date | None = None
    profession: str | None = None
    professional: dict[str, Any] | None = None


def _check_content(
    kind: AlertKind,
    catalogue: CatalogueView,
    procedure: ProcedureInfo,
    content: ContentInput,
    language: str,
    today: date,
    *,
    profession: str | None,
    professional: Mapping[str, Any] | None,
    professional_required: bool,
    prefix: str = "body",
) -> Checked:
    items = validate_items(procedure, content.items, language, f"{prefix}.content.items")
    free_texts = validate_free_texts(content.free_texts, language, f"{prefix}.content.free_texts")
    if kind is not AlertKind.PQ_ALERT:
        if profession is not None:
            raise InvalidInput(
                "only a professional-qualifications alert names a profession",
                field=f"{prefix}.profession",
            )
        if professional is not None:
            raise InvalidInput(
                "only a professional-qualifications alert carries a professional's identity",
                field=f"{prefix}.professional",
            )
        return Checked(items, free_texts)
    decision = require_decision_date(items, today, f"{prefix}.content.items")
    checked_profession = require_profession(catalogue, profession, f"{prefix}.profession")
    checked_professional = None
    if professional is not None:
        checked_professional = validate_professional(professional, today, f"{prefix}.professional")
    elif professional_required:
        raise InvalidInput(
            "a professional-qualifications alert carries the professional's identity",
            field=f"{prefix}.professional",
        )
    return Checked(items, free_texts, decision, checked_profession, checked_professional)


async def draft_alert(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    draft: DraftInput,
    *,
    idempotency_key: str | None,
    reader: str,
) -> tuple[dict[str, Any], bool]:
    """Draft an alert or a notification; the procedure's kind decides which. Returns the view
    and whether it was created now (False: the same Idempotency-Key answered before)."""
    actor = actor_of(identity)
    now = ctx.clock()
    alerts = AlertRepository(session)
    request_hash = _request_hash(draft)
    if idempotency_key is not None:
        if not idempotency_key.strip() or len(idempotency_key) > 200:
            raise InvalidInput(
                "an Idempotency-Key has 1 to 200 characters", field="header.Idempotency-Key"
            )
        await alerts.lock_idempotency_key(identity.user_id, idempotency_key)
        found = await alerts.idempotency(identity.user_id, idempotency_key)
        if found is not None:
            if found.request_hash != request_hash:
                raise Conflict(
                    "this Idempotency-Key was used for a different request",
                    field="header.Idempotency-Key",
                )
            return await read_alert(session, ctx, identity, found.alert_id, reader), False
    catalogue = await ctx.catalogues.get(
        session, draft.catalogue_version, field="body.catalogue_version"
    )
    procedure = alert_procedure(catalogue, draft.procedure, "body.procedure")
    kind = procedure.alert_kind
    assert kind is not None
    if not may_draft(kind, procedure.area, actor) or actor.country is None:
        raise Forbidden(
            "notifications are drafted by a coordinator, alerts by an alert handler of the area"
            if kind is AlertKind.NOTIFICATION
            else f"alerts of {procedure.area} are drafted by an alert handler of that area"
        )
    assert actor.authority_id is not None
    language = writer_language(identity, draft.language, "body.language")
    checked = _check_content(
        kind,
        catalogue,
        procedure,
        draft.content,
        language,
        now.date(),
        profession=draft.profession,
        professional=draft.professional,
        professional_required=True,
    )
    deciding = None
    if kind is AlertKind.PQ_ALERT:
        deciding = check_reason(draft.deciding_authority, "body.deciding_authority", required=False)
        if deciding is None:
            own = await DirectoryRepository(session).authority(actor.authority_id)
            deciding = own.official_name if own is not None else None
    elif draft.deciding_authority is not None:
        raise InvalidInput(
            "only a professional-qualifications alert names the deciding authority",
            field="body.deciding_authority",
        )
    alert = AlertRecord(
        id=uuid.uuid4(),
        kind=kind.value,
        procedure=procedure.key,
        area=procedure.area,
        catalogue_version=catalogue.version,
        retention_months=procedure.retention_months,
        state=AlertState.DRAFT.value,
        version=1,
        sender_authority_id=actor.authority_id,
        sender_country=actor.country,
        created_by=identity.user_id,
        language=language,
        content={"items": checked.items, "free_texts": checked.free_texts},
        content_version=1,
        profession=checked.profession,
        deciding_authority=deciding,
        decision_date=checked.decision,
        send_by=pq_send_by(checked.decision) if checked.decision else None,
        all_countries=False,
        created_at=now,
        updated_at=now,
    )
    await alerts.add(alert)
    if checked.professional is not None:
        await alerts.put_personal_data(alert.id, checked.professional, now)
    await _history(alerts, alert, "drafted", identity, now, {})
    if idempotency_key is not None:
        await alerts.remember_idempotency(
            identity.user_id, idempotency_key, request_hash, alert.id, now
        )
    return await _view(session, ctx, alert, identity, actor, Involvement(), reader), True


async def edit_alert(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    alert_id: uuid.UUID,
    changes: EditInput,
    *,
    if_match: str | None,
    reader: str,
) -> dict[str, Any]:
    """Change a draft (or a rejected Services Directive alert before resubmitting it)."""
    now = ctx.clock()
    alerts = AlertRepository(session)
    alert, actor, involvement = await _visible_alert(session, identity, alert_id, lock="update")
    _require_version(alert, if_match)
    facts = facts_of(alert)
    require_action(Action.EDIT, facts, actor, involvement)
    catalogue = await ctx.catalogues.get(
        session, alert.catalogue_version, field="catalogue_version"
    )
    procedure = catalogue.procedures[alert.procedure]
    language = alert.language
    if "language" in changes.given:
        language = writer_language(identity, changes.language, "body.language")
    content = changes.content
    if content is None:
        content = ContentInput(
            items=[(i["question"], i["answer"]) for i in alert.content["items"]],
            free_texts=[(f["id"], f["text"], f["language"]) for f in alert.content["free_texts"]],
        )
    profession = changes.profession if "profession" in changes.given else alert.profession
    if (
        "professional" in changes.given
        and changes.professional is None
        and facts.kind is AlertKind.PQ_ALERT
    ):
        raise InvalidInput(
            "a professional-qualifications alert carries the professional's identity",
            field="body.professional",
        )
    checked = _check_content(
        facts.kind,
        catalogue,
        procedure,
        content,
        language,
        now.date(),
        profession=profession,
        professional=changes.professional if "professional" in changes.given else None,
        professional_required=False,
    )
    if "deciding_authority" in changes.given:
        if facts.kind is not AlertKind.PQ_ALERT and changes.deciding_authority is not None:
            raise InvalidInput(
                "only a professional-qualifications alert names the deciding authority",
                field="body.deciding_authority",
            )
        alert.deciding_authority = check_reason(
            changes.deciding_authority, "body.deciding_authority", required=False
        )
    alert.language = language
    alert.content = {"items": checked.items, "free_texts": checked.free_texts}
    alert.profession = checked.profession
    alert.decision_date = checked.decision
    alert.send_by = pq_send_by(checked.decision) if checked.decision else None
    if not is_overdue(alert.send_by, alert.sent_at, now):
        alert.overdue_at = None
    if checked.professional is not None:
        await alerts.put_personal_data(alert.id, checked.professional, now)
    alert.version += 1
    alert.updated_at = now
    await _history(alerts, alert, "edited", identity, now, {"fields": sorted(changes.given)})
    return await _view(session, ctx, alert, identity, actor, involvement, reader)


# --- actions ---------------------------------------------------------------------------------


@dataclass
class Acting:
    """One action under way: the locked alert, who acts and how it is involved (a step that
    changes the actor's involvement updates it)."""

    session: AsyncSession
    ctx: AlertsContext
    alert: AlertRecord
    identity: Identity
    actor: Actor
    involvement: Involvement
    now: datetime
    inputs: ActionInput

    @property
    def facts(self) -> AlertFacts:
        return facts_of(self.alert)

    @property
    def kind(self) -> AlertKind:
        return AlertKind(self.alert.kind)

    @property
    def alerts(self) -> AlertRepository:
        return AlertRepository(self.session)


async def act(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    alert_id: uuid.UUID,
    action: Action,
    inputs: ActionInput,
    *,
    if_match: str | None,
    reader: str,
) -> dict[str, Any]:
    """Take ``action`` on the alert: 404 if the caller may not see it, 428/412 on a missing or
    stale If-Match, 403 for the wrong party, 409 in the wrong state, 422 for bad input."""
    lock = "update" if action.changes_version else "share"
    alert, actor, involvement = await _visible_alert(session, identity, alert_id, lock=lock)
    if action.needs_if_match:
        _require_version(alert, if_match)
    require_action(action, facts_of(alert), actor, involvement)
    acting = Acting(session, ctx, alert, identity, actor, involvement, ctx.clock(), inputs)
    # The transition is applied first so that history and events carry the version and state
    # the action leads to; a step that refuses its input raises and the transaction rolls back.
    alert.state = next_state(facts_of(alert), action).value
    if action.changes_version:
        alert.version += 1
        alert.updated_at = acting.now
    await _STEPS[action](acting)
    return await _view(session, ctx, alert, identity, actor, acting.involvement, reader)


async def _submit(a: Acting) -> None:
    coordinators = await DirectoryRepository(a.session).users_with_role(
        a.alert.sender_country, COORDINATOR_ROLES[a.kind], a.alert.area
    )
    if not coordinators:
        raise InvalidInput(
            f"there is no alert coordinator in {a.alert.sender_country} to submit the alert to"
        )
    a.alert.submitted_at = a.now
    a.alert.state_reason = None
    await _record(a, Action.SUBMIT, {}, coordinator_user_ids=tuple(coordinators))


async def _approve(a: Acting) -> None:
    a.alert.approved_at = a.now
    await _record(a, Action.APPROVE, {})


async def _reject(a: Acting) -> None:
    reason = check_reason(a.inputs.reason, "body.reason", required=True)
    a.alert.state_reason = reason
    await _record(a, Action.REJECT, {"reason": reason}, reason=reason)


async def _broadcast(a: Acting) -> None:
    alert, kind = a.alert, a.kind
    target = broadcast_target(kind, a.inputs.countries, alert.sender_country, "body.countries")
    directory = DirectoryRepository(a.session)
    if not target.all_countries:
        reached = await directory.countries_with_role(
            target.countries, COORDINATOR_ROLES[kind], alert.area
        )
        for i, country in enumerate(target.countries):
            if country not in reached:
                raise InvalidInput(
                    f"there is no coordinator in {country} to receive the alert",
                    field=f"body.countries[{i}]",
                )
    fan_out = FanOutRepository(a.session)
    common: dict[str, Any] = {
        "alert_id": alert.id,
        "sender_authority_id": alert.sender_authority_id,
        "area": alert.area,
        "countries": target.countries,
        "coordinator_roles": COORDINATOR_ROLES[kind],
        "user_roles": TOLD_ROLES[kind],
        "commission_roles": COMMISSION_ROLES,
        "user_id": a.identity.user_id,
        "now": a.now,
    }
    if kind is AlertKind.PQ_ALERT:
        if not await a.alerts.has_personal_data(alert.id):
            raise InvalidInput(
                "a professional-qualifications alert carries the professional's identity",
                field="body.professional",
            )
        assert alert.profession is not None
        recipients = await fan_out.broadcast_to_competent(keyword=alert.profession, **common)
    else:
        recipients = await fan_out.broadcast_to_coordinators(**common)
    if not recipients:
        raise InvalidInput("the broadcast reaches no recipient", field="body.countries")
    alert.sent_at = a.now
    alert.countries = list(target.countries)
    alert.recipient_countries = sorted({r.country for r in recipients})
    alert.all_countries = target.all_countries
    details = {
        "countries": list(target.countries),
        "all_countries": target.all_countries,
        "recipients": len(recipients),
    }
    await _history(a.alerts, alert, Action.BROADCAST.verb_past, a.identity, a.now, details)
    a.involvement = await a.alerts.involvement(alert.id, a.actor.authority_id, a.actor.country)
    await _fan_out_events(
        a,
        "broadcast",
        recipients,
        countries=tuple(target.countries),
        all_countries=target.all_countries,
    )


async def _disseminate(a: Acting) -> None:
    alert, inputs = a.alert, a.inputs
    catalogue = await a.ctx.catalogues.get(a.session, alert.catalogue_version, field="procedures")
    target = dissemination_target(
        a.actor.country,
        inputs.country,
        inputs.procedures,
        inputs.regions,
        inputs.authority_ids,
        catalogue,
    )
    if target.authority_ids:
        known = await DirectoryRepository(a.session).authorities(target.authority_ids)
        for i, authority_id in enumerate(inputs.authority_ids):
            found = known.get(authority_id)
            if found is None:
                raise InvalidInput(
                    f"unknown authority {authority_id}", field=f"body.authority_ids[{i}]"
                )
            if found.country != target.country:
                raise InvalidInput(
                    f"authority {authority_id} is not of your country ({target.country})",
                    field=f"body.authority_ids[{i}]",
                )
            if found.status != "active":
                raise InvalidInput(
                    f"authority {authority_id} is not active", field=f"body.authority_ids[{i}]"
                )
    recipients = await FanOutRepository(a.session).disseminate(
        alert_id=alert.id,
        sender_authority_id=alert.sender_authority_id,
        area=alert.area,
        country=target.country,
        procedures=target.procedures,
        regions=target.regions,
        authority_ids=target.authority_ids,
        user_roles=TOLD_ROLES[a.kind],
        user_id=a.identity.user_id,
        now=a.now,
    )
    if not recipients:
        raise InvalidInput(
            "the dissemination reaches no authority that does not hold the alert already",
            field="body.procedures",
        )
    criteria = {
        "procedures": list(target.procedures),
        "regions": list(target.regions),
        "authority_ids": [str(i) for i in target.authority_ids],
    }
    if a.actor.authority_id in {r.authority_id for r in recipients}:
        a.involvement = replace(a.involvement, recipient=True)
    await a.alerts.add_dissemination(
        DisseminationRecord(
            alert_id=alert.id,
            country=target.country,
            user_id=a.identity.user_id,
            at=a.now,
            criteria=criteria,
            recipients=len(recipients),
        )
    )
    await _history(
        a.alerts,
        alert,
        Action.DISSEMINATE.verb_past,
        a.identity,
        a.now,
        {**criteria, "country": target.country, "recipients": len(recipients)},
    )
    await _fan_out_events(
        a,
        "disseminated",
        recipients,
        procedures=target.procedures,
        regions=target.regions,
    )


async def _acknowledge(a: Acting) -> None:
    assert a.actor.authority_id is not None
    if not await a.alerts.acknowledge(a.alert.id, a.actor.authority_id, a.identity.user_id, a.now):
        raise Conflict("your authority has acknowledged this alert already")
    a.involvement = replace(a.involvement, acknowledged=True)
    recipient = await a.alerts.recipient(a.alert.id, a.actor.authority_id)
    assert recipient is not None
    await _publish(
        a,
        "acknowledged",
        recipient_authority_id=recipient.authority_id,
        recipient_country=recipient.country,
    )


async def _comment(a: Acting) -> None:
    assert a.actor.authority_id is not None
    text = check_reason(a.inputs.text, "body.text", required=True)
    assert text is not None
    language = writer_language(a.identity, a.inputs.language, "body.language")
    recipient = await a.alerts.recipient(a.alert.id, a.actor.authority_id)
    assert recipient is not None
    comment = CommentRecord(
        id=uuid.uuid4(),
        alert_id=a.alert.id,
        authority_id=recipient.authority_id,
        country=recipient.country,
        user_id=a.identity.user_id,
        text=text,
        language=language,
        at=a.now,
    )
    await a.alerts.add_comment(comment)
    await _publish(
        a,
        "commented",
        recipient_authority_id=recipient.authority_id,
        recipient_country=recipient.country,
        comment_id=comment.id,
        language=language,
    )
    await _translate(a, [(f"comment:{comment.id}", text, language)])


async def _update(a: Acting) -> None:
    content = a.inputs.content
    if content is None or (not content.items and not content.free_texts):
        raise InvalidInput("an update adds items or free texts", field="body.items")
    catalogue = await a.ctx.catalogues.get(a.session, a.alert.catalogue_version, field="items")
    procedure = catalogue.procedures[a.alert.procedure]
    language = writer_language(a.identity, a.inputs.language, "body.language")
    items = validate_items(procedure, content.items, language, "body.items")
    free_texts = validate_free_texts(content.free_texts, language, "body.free_texts")
    assert a.actor.authority_id is not None
    record = UpdateRecord(
        id=uuid.uuid4(),
        alert_id=a.alert.id,
        at=a.now,
        user_id=a.identity.user_id,
        authority_id=a.actor.authority_id,
        items=items,
        free_texts=free_texts,
    )
    await a.alerts.add_update(record)
    await _history(
        a.alerts,
        a.alert,
        Action.UPDATE.verb_past,
        a.identity,
        a.now,
        {"update_id": str(record.id), "items": len(items), "free_texts": len(free_texts)},
    )
    await _publish(a, "updated", update_id=record.id)
    await _translate(
        a, _texts_of(f"update:{record.id}", items, free_texts, procedure.personal_questions)
    )


async def _rectify(a: Acting) -> None:
    alert, inputs = a.alert, a.inputs
    if inputs.content is None:
        raise InvalidInput("a rectification replaces the content", field="body.content")
    catalogue = await a.ctx.catalogues.get(a.session, alert.catalogue_version, field="content")
    procedure = catalogue.procedures[alert.procedure]
    language = writer_language(a.identity, inputs.language, "body.language")
    checked = _check_content(
        a.kind,
        catalogue,
        procedure,
        inputs.content,
        language,
        a.now.date(),
        profession=inputs.profession if inputs.profession is not None else alert.profession,
        professional=inputs.professional,
        professional_required=False,
    )
    reason = check_reason(inputs.reason, "body.reason", required=False)
    await a.alerts.keep_content_version(
        ContentVersionRecord(
            alert_id=alert.id,
            content_version=alert.content_version,
            content=alert.content,
            profession=alert.profession,
            replaced_at=a.now,
            replaced_by=a.identity.user_id,
            reason=reason,
        )
    )
    alert.content = {"items": checked.items, "free_texts": checked.free_texts}
    alert.content_version += 1
    alert.language = language
    alert.profession = checked.profession
    if checked.decision is not None:
        alert.decision_date = checked.decision
        alert.send_by = pq_send_by(checked.decision)
    if checked.professional is not None:
        await a.alerts.put_personal_data(alert.id, checked.professional, a.now)
    if inputs.deciding_authority is not None:
        alert.deciding_authority = check_reason(
            inputs.deciding_authority, "body.deciding_authority", required=False
        )
    await _history(
        a.alerts,
        alert,
        Action.RECTIFY.verb_past,
        a.identity,
        a.now,
        {"content_version": alert.content_version, "reason": reason},
    )
    await _publish(a, "rectified", content_version=alert.content_version, reason=reason)
    await _translate(
        a,
        _texts_of(
            f"content:{alert.content_version}",
            checked.items,
            checked.free_texts,
            procedure.personal_questions,
        ),
    )


async def _end(a: Acting, action: Action, *, reason_required: bool) -> None:
    reason = check_reason(a.inputs.reason, "body.reason", required=reason_required)
    a.alert.ended_at = a.now
    a.alert.state_reason = reason
    await _record(a, action, {"reason": reason}, reason=reason)


async def _withdraw(a: Acting) -> None:
    await _end(a, Action.WITHDRAW, reason_required=True)


async def _close(a: Acting) -> None:
    await _end(a, Action.CLOSE, reason_required=False)


_STEPS: Mapping[Action, Callable[[Acting], Awaitable[None]]] = {
    Action.SUBMIT: _submit,
    Action.APPROVE: _approve,
    Action.REJECT: _reject,
    Action.BROADCAST: _broadcast,
    Action.DISSEMINATE: _disseminate,
    Action.ACKNOWLEDGE: _acknowledge,
    Action.COMMENT: _comment,
    Action.UPDATE: _update,
    Action.RECTIFY: _rectify,
    Action.WITHDRAW: _withdraw,
    Action.CLOSE: _close,
}


async def _record(a: Acting, action: Action, details: dict[str, Any], **fields: Any) -> None:
    """A transition of the alert itself: its history entry and its event."""
    await _history(a.alerts, a.alert, action.verb_past, a.identity, a.now, details)
    await _publish(a, action.verb_past, **fields)


# --- events, history, translations -----------------------------------------------------------


def _event_class(kind: AlertKind, verb: str) -> type[AlertEvent]:
    table = NOTIFICATION_EVENTS if kind is AlertKind.NOTIFICATION else ALERT_EVENTS
    return table[verb]


def _event_fields(
    alert: AlertRecord, acting_user_id: uuid.UUID | None, now: datetime, countries: Sequence[str]
) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "procedure": alert.procedure,
        "area": alert.area,
        "catalogue_version": alert.catalogue_version,
        "version": alert.version,
        "state": alert.state,
        "sender_authority_id": alert.sender_authority_id,
        "sender_country": alert.sender_country,
        "acting_user_id": acting_user_id,
        "occurred_at": now,
        "send_by": alert.send_by,
        "recipient_countries": tuple(countries),
    }


async def _publish(a: Acting, verb: str, **fields: Any) -> None:
    countries = a.alert.recipient_countries or []
    event = _event_class(a.kind, verb)(
        **_event_fields(a.alert, a.identity.user_id, a.now, countries), **fields
    )
    await a.ctx.outbox.add(a.session, event, subject=str(a.alert.id))


async def _fan_out_events(
    a: Acting, verb: str, recipients: Sequence[NewRecipient], **fields: Any
) -> None:
    """One event per recipient country (never one per recipient), written in one statement;
    then the free texts go to translation into the new recipients' languages."""
    by_country: dict[str, list[NewRecipient]] = defaultdict(list)
    for recipient in recipients:
        by_country[recipient.country].append(recipient)
    base = _event_fields(a.alert, a.identity.user_id, a.now, a.alert.recipient_countries or [])
    event_class = _event_class(a.kind, verb)
    outbox = a.ctx.outbox
    rows: list[tuple[Envelope, str, str, dict[str, Any] | None]] = []
    for batch, (country, group) in enumerate(sorted(by_country.items()), start=1):
        event = event_class(
            **base,
            country=country,
            recipient_authority_ids=tuple(r.authority_id for r in group),
            recipient_user_ids=tuple(u for r in group for u in r.user_ids),
            batch=batch,
            batches=len(by_country),
            **fields,
        )
        rows.append(
            (outbox.envelope(event, subject=str(a.alert.id)), EVENTS_EXCHANGE, event.type, None)
        )
    rows += await _outbound(a, recipients, [envelope for envelope, *_ in rows])
    await outbox.add_envelopes(a.session, rows)
    languages = set().union(*(r.languages for r in recipients))
    await _translate(a, await _current_texts(a), languages)


async def _outbound(
    a: Acting, recipients: Sequence[NewRecipient], batches: Sequence[Envelope]
) -> list[tuple[Envelope, str, str, dict[str, Any] | None]]:
    """The new inbox entries once more on ``imi.outbound`` for the countries whose national
    systems take them: one message per recipient authority
    (``<country>.<authority id>.<event type>``), the procedure named in its language."""
    wanted = a.ctx.national_countries
    told = [r for r in recipients if wanted is None or r.country in wanted]
    if not told:
        return []
    catalogue = await a.ctx.catalogues.get(a.session, a.alert.catalogue_version, field="alert")
    by_country = {e.data.get("country"): e for e in batches}
    rows: list[tuple[Envelope, str, str, dict[str, Any] | None]] = []
    for recipient in told:
        batch = by_country.get(recipient.country)
        event_type = batch.type if batch is not None else "alerts.alert.received"
        data = {
            key: value
            for key, value in (batch.data if batch is not None else {}).items()
            if key not in ("recipient_authority_ids", "recipient_user_ids")
        }
        outbound = OutboundEvent(
            event=event_type,
            country=recipient.country,
            authority_id=recipient.authority_id,
            language=recipient.language,
            resource="alert",
            resource_id=a.alert.id,
            version=a.alert.version,
            state=a.alert.state,
            title=catalogue.procedure_name(a.alert.procedure, recipient.language),
            area=catalogue.area_name(a.alert.area, recipient.language),
            occurred_at=a.now,
            data=data,
        )
        envelope = Envelope(
            source="imi/alerts",
            type=OUTBOUND_TYPE,
            subject=str(a.alert.id),
            correlationid=correlation_id_var.get(),
            data=outbound.model_dump(mode="json"),
        )
        key = f"{recipient.country}.{recipient.authority_id}.{event_type}"
        rows.append((envelope, OUTBOUND, key, {"type": event_type}))
    return rows


async def _history(
    alerts: AlertRepository,
    alert: AlertRecord,
    action: str,
    identity: Identity | None,
    now: datetime,
    details: dict[str, Any],
) -> None:
    await alerts.add_history(
        HistoryRecord(
            alert_id=alert.id,
            version=alert.version,
            action=action,
            state=alert.state,
            at=now,
            user_id=identity.user_id if identity else None,
            authority_id=identity.authority_id if identity else None,
            country=identity.country.lower() if identity and identity.country else None,
            details=details,
        )
    )


def _texts_of(
    prefix: str,
    items: Sequence[Mapping[str, Any]],
    free_texts: Sequence[Mapping[str, Any]],
    personal_questions: frozenset[str],
) -> list[tuple[str, str, str]]:
    """The free texts a reader may need translated: (key, text, language); never personal."""
    found = [
        (f"{prefix}:item:{i['question']}", i["answer"]["text"], i["answer"]["language"])
        for i in items
        if i.get("answer") and "text" in i["answer"] and i["question"] not in personal_questions
    ]
    found += [(f"{prefix}:text:{f['id']}", f["text"], f["language"]) for f in free_texts]
    return found


async def _current_texts(a: Acting) -> list[tuple[str, str, str]]:
    catalogue = await a.ctx.catalogues.get(a.session, a.alert.catalogue_version, field="content")
    personal = catalogue.procedures[a.alert.procedure].personal_questions
    texts = _texts_of(
        f"content:{a.alert.content_version}",
        a.alert.content["items"],
        a.alert.content["free_texts"],
        personal,
    )
    for record in await a.alerts.updates(a.alert.id):
        texts += _texts_of(f"update:{record.id}", record.items, record.free_texts, personal)
    for comment, _ in await a.alerts.comments(a.alert.id):
        texts.append((f"comment:{comment.id}", comment.text, comment.language))
    return texts


async def _translate(
    a: Acting, texts: Sequence[tuple[str, str, str]], languages: set[str] | None = None
) -> None:
    """Ask the translation service for the texts in the readers' languages, ahead of reading."""
    if not texts:
        return
    if languages is None:
        languages = await a.alerts.recipient_languages(a.alert.id)
    wanted = [lang for lang in LANGUAGES if lang in languages]
    outbox = a.ctx.outbox
    rows: list[tuple[Envelope, str, str, dict[str, Any] | None]] = []
    for text_key, text, source in texts:
        targets = tuple(lang for lang in wanted if lang != source)
        if not targets:
            continue
        event = TranslationRequested(
            reference=translation_reference(a.alert.id, text_key),
            requester=SERVICE,
            text=text,
            source_language=source,
            target_languages=targets,
        )
        rows.append(
            (outbox.envelope(event, subject=str(a.alert.id)), EVENTS_EXCHANGE, event.type, None)
        )
    await outbox.add_envelopes(a.session, rows)


# --- reading ---------------------------------------------------------------------------------


async def _visible_alert(
    session: AsyncSession, identity: Identity, alert_id: uuid.UUID, *, lock: str | None = None
) -> tuple[AlertRecord, Actor, Involvement]:
    """The alert the caller may see, or 404 (existence does not leak)."""
    actor = actor_of(identity)
    alerts = AlertRepository(session)
    alert = await alerts.get(alert_id, lock=lock)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    involvement = await alerts.involvement(alert.id, actor.authority_id, actor.country)
    if not can_see(facts_of(alert), actor, involvement):
        raise NotFound(f"no alert {alert_id}")
    return alert, actor, involvement


def _require_version(alert: AlertRecord, if_match: str | None) -> None:
    if not matches_if_match(if_match, alert.version):
        raise StaleVersion(
            f"the alert is at version {alert.version}; read it again",
            extra={"current_version": alert.version},
        )


async def read_alert(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    alert_id: uuid.UUID,
    reader: str,
) -> dict[str, Any]:
    """The alert as the caller sees it; a recipient's first read is recorded."""
    alert, actor, involvement = await _visible_alert(session, identity, alert_id)
    if involvement.recipient and actor.authority_id is not None:
        await AlertRepository(session).mark_read(
            alert.id, actor.authority_id, identity.user_id, ctx.clock()
        )
    return await _view(session, ctx, alert, identity, actor, involvement, reader)


def _free_text_view(
    text_key: str, text: str, language: str, reader: str, translations: Mapping[str, Any]
) -> dict[str, Any]:
    """The original always; the machine translation into the reader's language, labelled."""
    found = translations.get(text_key) if language != reader else None
    return {
        "text": text,
        "language": language,
        "translation": {
            "language": reader,
            "text": found.translated_text,
            "machine_translated": found.machine_translated,
            "provider": found.provider,
        }
        if found is not None
        else None,
        "translation_status": "same_language"
        if language == reader
        else ("available" if found is not None else "pending"),
    }


def _content_view(
    prefix: str,
    items: Sequence[Mapping[str, Any]],
    free_texts: Sequence[Mapping[str, Any]],
    personal: frozenset[str],
    reader: str,
    translations: Mapping[str, Any],
) -> dict[str, Any]:
    public, withheld = split_personal(items, personal)
    shown_items = []
    for item in public:
        answer = item["answer"]
        if answer and "text" in answer:
            answer = _free_text_view(
                f"{prefix}:item:{item['question']}",
                answer["text"],
                answer["language"],
                reader,
                translations,
            )
        shown_items.append({"question": item["question"], "answer": answer})
    return {
        "items": shown_items,
        "free_texts": [
            {
                "id": f["id"],
                **_free_text_view(
                    f"{prefix}:text:{f['id']}", f["text"], f["language"], reader, translations
                ),
            }
            for f in free_texts
        ],
        "personal_data_questions": [i["question"] for i in withheld],
    }


def _deadlines(alert: AlertRecord, now: datetime) -> dict[str, Any] | None:
    if alert.send_by is None:
        return None
    unsent_and_flagged = alert.overdue_at is not None and alert.sent_at is None
    return {
        "send_by": alert.send_by.isoformat(),
        "overdue": is_overdue(alert.send_by, alert.sent_at, now) or unsent_and_flagged,
        "overdue_flagged_at": _iso(alert.overdue_at),
        "sent_late": sent_late(alert.send_by, alert.sent_at),
        "days_left": (alert.send_by - now.date()).days if alert.sent_at is None else None,
    }


async def _view(
    session: AsyncSession,
    ctx: AlertsContext,
    alert: AlertRecord,
    identity: Identity,
    actor: Actor,
    involvement: Involvement,
    reader: str,
) -> dict[str, Any]:
    alerts = AlertRepository(session)
    directory = DirectoryRepository(session)
    now = ctx.clock()
    facts = facts_of(alert)
    catalogue = await ctx.catalogues.get(
        session, alert.catalogue_version, field="catalogue_version"
    )
    procedure = catalogue.procedures.get(alert.procedure)
    personal = procedure.personal_questions if procedure is not None else frozenset()
    translations = await alerts.translations(alert.id, reader)
    sender = await directory.authority(alert.sender_authority_id)
    content = _content_view(
        f"content:{alert.content_version}",
        alert.content["items"],
        alert.content["free_texts"],
        personal,
        reader,
        translations,
    )
    public_items, _ = split_personal(alert.content["items"], personal)
    updates = [
        {
            "id": str(u.id),
            "at": _iso(u.at),
            "user_id": str(u.user_id),
            "authority_id": str(u.authority_id),
            **_content_view(
                f"update:{u.id}", u.items, u.free_texts, personal, reader, translations
            ),
        }
        for u in await alerts.updates(alert.id)
    ]
    comments = [
        {
            "id": str(c.id),
            "at": _iso(c.at),
            "authority": {"id": str(c.authority_id), "name": name, "country": c.country},
            "user_id": str(c.user_id),
            **_free_text_view(f"comment:{c.id}", c.text, c.language, reader, translations),
        }
        for c, name in await alerts.comments(alert.id)
    ]
    history = [
        {
            "version": h.version,
            "action": h.action,
            "state": h.state,
            "at": _iso(h.at),
            "user_id": str(h.user_id) if h.user_id else None,
            "authority_id": str(h.authority_id) if h.authority_id else None,
            "country": h.country,
            "details": h.details,
        }
        for h in await alerts.history(alert.id)
    ]
    previous = [
        {
            "content_version": v.content_version,
            "replaced_at": _iso(v.replaced_at),
            "replaced_by": str(v.replaced_by),
            "reason": v.reason,
            "profession": v.profession,
            **_content_view(
                f"content:{v.content_version}",
                v.content["items"],
                v.content["free_texts"],
                personal,
                reader,
                translations,
            ),
        }
        for v in await alerts.content_versions(alert.id)
    ]
    tracking = None
    scope = tracking_scope(facts, actor, involvement)
    if scope is not None:
        rows = await alerts.tracking(alert.id, scope.country)
        disseminated = {c: (n, at) for c, n, at in await alerts.disseminated_countries(alert.id)}
        total = sum(r.total for r in rows)
        read = sum(r.read for r in rows)
        acknowledged = sum(r.acknowledged for r in rows)
        commented = sum(r.commented for r in rows)
        tracking = {
            "scope": scope.country or "all",
            "recipients": total,
            "read": read,
            "not_read": total - read,
            "acknowledged": acknowledged,
            "not_acknowledged": total - acknowledged,
            "commented": commented,
            "not_commented": total - commented,
            "by_country": [
                {
                    "country": r.country,
                    "recipients": r.total,
                    "read": r.read,
                    "acknowledged": r.acknowledged,
                    "commented": r.commented,
                    "disseminated": r.country in disseminated,
                    "disseminated_at": _iso(disseminated[r.country][1])
                    if r.country in disseminated
                    else None,
                }
                for r in rows
            ],
        }
    entry = None
    if involvement.recipient and actor.authority_id is not None:
        own = await alerts.recipient(alert.id, actor.authority_id)
        if own is not None:
            entry = {
                "authority_id": str(own.authority_id),
                "via": own.via,
                "delivered_at": _iso(own.delivered_at),
                "read_at": _iso(own.read_at),
                "acknowledged_at": _iso(own.acknowledged_at),
                "comment_count": own.comment_count,
            }
    retention = retention_of(alert)
    kind = AlertKind(alert.kind)
    return {
        "id": str(alert.id),
        "kind": alert.kind,
        "aggregate": kind.aggregate,
        "procedure": {
            "key": alert.procedure,
            "name": catalogue.procedure_name(alert.procedure, reader),
        },
        "area": {"key": alert.area, "name": catalogue.area_name(alert.area, reader)},
        "catalogue_version": alert.catalogue_version,
        "state": alert.state,
        "version": alert.version,
        "reason": alert.state_reason,
        "reader_language": reader,
        "language": alert.language,
        "sender": {
            "authority_id": str(alert.sender_authority_id),
            "name": sender.official_name if sender is not None else None,
            "country": alert.sender_country,
            "user_id": str(alert.created_by),
        },
        "created_at": _iso(alert.created_at),
        "updated_at": _iso(alert.updated_at),
        "submitted_at": _iso(alert.submitted_at),
        "approved_at": _iso(alert.approved_at),
        "sent_at": _iso(alert.sent_at),
        "ended_at": _iso(alert.ended_at),
        "countries": alert.countries,
        "all_countries": alert.all_countries,
        "deadlines": _deadlines(alert, now),
        "profession": {
            "key": alert.profession,
            "name": catalogue.keyword_name(alert.profession, reader),
        }
        if alert.profession
        else None,
        "deciding_authority": alert.deciding_authority,
        "content_version": alert.content_version,
        "content": content,
        "render": {
            "procedure": alert.procedure,
            "catalogue_version": alert.catalogue_version,
            "language": reader,
            "items": public_items,
            "free_texts": alert.content["free_texts"],
        },
        "updates": updates,
        "comments": comments,
        "previous_contents": previous,
        "history": history,
        "personal_data": {
            "professional": await alerts.has_personal_data(alert.id),
            "questions": content["personal_data_questions"],
            "blocked": retention.blocked_at is not None,
            "blocked_at": _iso(retention.blocked_at),
            "block_due_at": _iso(retention.block_due_at),
            "deleted": retention.deleted_at is not None,
            "deleted_at": _iso(retention.deleted_at),
            "delete_due_at": _iso(retention.delete_due_at),
        },
        "my_entry": entry,
        "tracking": tracking,
        "allowed_actions": [a.value for a in allowed_actions(facts, actor, involvement)],
    }


def visibility_of(actor: Actor) -> VisibilityFilter:
    """The SQL filter of what ``actor`` may see (the twin of ``domain.can_see``)."""
    areas: set[str] = set()
    every_area = False
    for name, area in actor.roles:
        if name == RoleName.ALERT_COORDINATOR:
            if area is None:
                every_area = True
            else:
                areas.add(area)
    return VisibilityFilter(
        authority_id=actor.authority_id,
        country=actor.country,
        alert_coordinator_areas=None if every_area else frozenset(areas),
        national_coordinator=actor.holds(RoleName.NATIONAL_COORDINATOR),
        data_protection_administrator=actor.holds(RoleName.DATA_PROTECTION_ADMINISTRATOR),
    )


BOXES = ("outgoing", "incoming", "coordination", "all")


async def list_alerts(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    *,
    box: str,
    kind: str | None,
    state: str | None,
    overdue: bool | None,
    cursor: str | None,
    limit: int,
    reader: str,
) -> dict[str, Any]:
    """One page of a box, newest first, with the cursor of the next page."""
    actor = actor_of(identity)
    if box == "coordination" and not actor.holds(RoleName.ALERT_COORDINATOR):
        raise Forbidden("the coordination box is an alert coordinator's", field="query.box")
    now = ctx.clock()
    after = read_time_cursor(cursor) if cursor else None
    rows = await AlertRepository(session).list_alerts(
        box=box,
        visibility=visibility_of(actor),
        kind=kind,
        state=state,
        overdue_before=now.date() if overdue else None,
        after=after,
        limit=limit + 1,
    )
    page = rows[:limit]
    items = []
    for alert, entry, sender_name in page:
        catalogue = await ctx.catalogues.get(session, alert.catalogue_version, field="catalogue")
        item: dict[str, Any] = {
            "id": str(alert.id),
            "kind": alert.kind,
            "procedure": {
                "key": alert.procedure,
                "name": catalogue.procedure_name(alert.procedure, reader),
            },
            "area": {"key": alert.area, "name": catalogue.area_name(alert.area, reader)},
            "state": alert.state,
            "version": alert.version,
            "sender": {
                "authority_id": str(alert.sender_authority_id),
                "name": sender_name,
                "country": alert.sender_country,
            },
            "created_at": _iso(alert.created_at),
            "sent_at": _iso(alert.sent_at),
            "profession": {
                "key": alert.profession,
                "name": catalogue.keyword_name(alert.profession, reader),
            }
            if alert.profession
            else None,
            "deadlines": _deadlines(alert, now),
            "overdue": is_overdue(alert.send_by, alert.sent_at, now),
            "my_entry": {
                "delivered_at": _iso(entry.delivered_at),
                "read_at": _iso(entry.read_at),
                "acknowledged_at": _iso(entry.acknowledged_at),
            }
            if entry is not None
            else None,
        }
        if box == "coordination":
            item["waiting_for"] = {
                "submitted": "approval",
                "approved": "broadcast",
            }.get(alert.state, "dissemination")
        items.append(item)
    next_cursor = None
    if len(rows) > limit and page:
        last, entry, _ = page[-1]
        moment = entry.delivered_at if box == "incoming" and entry is not None else last.created_at
        next_cursor = time_cursor(moment, last.id)
    return {"items": items, "next_cursor": next_cursor}


RECIPIENT_STATUSES = (
    "read",
    "not_read",
    "acknowledged",
    "not_acknowledged",
    "commented",
    "not_commented",
)


async def list_recipients(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    alert_id: uuid.UUID,
    *,
    status: str | None,
    country: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """Who has and has not read, acknowledged, commented: for the sender and coordinators."""
    alert, actor, involvement = await _visible_alert(session, identity, alert_id)
    scope = tracking_scope(facts_of(alert), actor, involvement)
    if scope is None:
        raise NotFound(f"no recipient list of alert {alert_id} for you")
    wanted = country.lower() if country else None
    if scope.country is not None:
        if wanted is not None and wanted != scope.country:
            raise Forbidden(
                f"you see the recipients of your own country ({scope.country})",
                field="query.country",
            )
        wanted = scope.country
    after = None
    if cursor:
        last_country, last_id = decode_cursor(cursor, 2)
        try:
            after = (last_country, uuid.UUID(last_id))
        except ValueError as exc:
            raise InvalidInput("the cursor is not valid", field="query.cursor") from exc
    rows = await AlertRepository(session).recipients_page(
        alert.id, status=status, country=wanted, after=after, limit=limit + 1
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        last = page[-1][0]
        next_cursor = encode_cursor(last.country, str(last.authority_id))
    return {
        "items": [
            {
                "authority_id": str(r.authority_id),
                "name": a.official_name if a is not None else None,
                "country": r.country,
                "region": a.region if a is not None else None,
                "via": r.via,
                "delivered_at": _iso(r.delivered_at),
                "read_at": _iso(r.read_at),
                "acknowledged_at": _iso(r.acknowledged_at),
                "comment_count": r.comment_count,
                "last_commented_at": _iso(r.last_commented_at),
            }
            for r, a in page
        ],
        "next_cursor": next_cursor,
    }


async def read_personal_data(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    alert_id: uuid.UUID,
    *,
    purpose: str | None,
    justification: str | None,
    reader: str,
) -> dict[str, Any]:
    """The professional's identity and the answers to personal-data questions; every read is
    recorded (who, when, which record, why)."""
    alert, actor, _ = await _visible_alert(session, identity, alert_id)
    retention = retention_of(alert)
    check_personal_data_read(retention, actor, purpose, justification)
    assert purpose is not None
    now = ctx.clock()
    alerts = AlertRepository(session)
    catalogue = await ctx.catalogues.get(session, alert.catalogue_version, field="catalogue")
    personal = catalogue.procedures[alert.procedure].personal_questions
    _, items = split_personal(alert.content["items"], personal)
    updates = []
    for record in await alerts.updates(alert.id):
        _, withheld = split_personal(record.items, personal)
        if withheld:
            updates.append({"id": str(record.id), "at": _iso(record.at), "items": withheld})
    found = await alerts.personal_data(alert.id)
    await alerts.log_access(
        AccessLogRecord(
            alert_id=alert.id,
            at=now,
            user_id=identity.user_id,
            username=identity.username,
            authority_id=identity.authority_id,
            country=actor.country,
            roles=sorted(identity.role_names),
            record="professional_and_personal_answers",
            purpose=purpose.strip(),
            justification=justification.strip() if justification else None,
            while_blocked=retention.blocked_at is not None,
        )
    )
    return {
        "alert_id": str(alert.id),
        "professional": found.professional if found is not None else None,
        "items": items,
        "updates": updates,
        "render": {
            "procedure": alert.procedure,
            "catalogue_version": alert.catalogue_version,
            "language": reader,
            "items": items,
            "free_texts": [],
        },
        "blocked": retention.blocked_at is not None,
        "recorded_at": _iso(now),
        "purpose": purpose.strip(),
    }


async def read_access_log(
    session: AsyncSession,
    ctx: AlertsContext,
    identity: Identity,
    alert_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """Every read of the alert's personal data: for the data protection administrator and the
    sending authority's supervisor."""
    alert, actor, involvement = await _visible_alert(session, identity, alert_id)
    if not may_read_access_log(facts_of(alert), actor, involvement):
        raise NotFound(f"no access log of alert {alert_id} for you")
    after = None
    if cursor:
        (value,) = decode_cursor(cursor, 1)
        if not value.isdigit():
            raise InvalidInput("the cursor is not valid", field="query.cursor")
        after = int(value)
    rows = await AlertRepository(session).access_log(alert.id, after, limit + 1)
    page = rows[:limit]
    return {
        "items": [
            {
                "at": _iso(r.at),
                "user_id": str(r.user_id),
                "username": r.username,
                "authority_id": str(r.authority_id) if r.authority_id else None,
                "country": r.country,
                "roles": r.roles,
                "record": r.record,
                "purpose": r.purpose,
                "justification": r.justification,
                "while_blocked": r.while_blocked,
            }
            for r in page
        ],
        "next_cursor": encode_cursor(str(page[-1].id)) if len(rows) > limit and page else None,
    }


# --- periodic jobs ---------------------------------------------------------------------------


class AlertJobs:
    """Deadlines and retention, run by every replica; rows are taken with SKIP LOCKED."""

    def __init__(self, ctx: AlertsContext) -> None:
        self.ctx = ctx

    async def flag_overdue(self, db: Database) -> int:
        """Flag professional-qualifications alerts not sent within 3 days of the decision."""
        flagged = 0
        while True:
            now = self.ctx.clock()
            async with db.transaction() as session:
                alerts = AlertRepository(session)
                claimed = await alerts.claim_overdue(now.date(), self.ctx.job_batch_size)
                for alert in claimed:
                    if not is_overdue(alert.send_by, alert.sent_at, now):
                        continue
                    alert.overdue_at = now
                    await _history(alerts, alert, "overdue", None, now, {})
                    event = _event_class(AlertKind(alert.kind), "overdue")(
                        **_event_fields(alert, None, now, ())
                    )
                    await self.ctx.outbox.add(session, event, subject=str(alert.id))
                    flagged += 1
            if len(claimed) < self.ctx.job_batch_size:
                return flagged

    async def apply_retention(self, db: Database) -> int:
        """Block personal data after the procedure's retention, delete them after 3 years."""
        done = 0
        for step in (self._block, self._delete):
            while True:
                async with db.transaction() as session:
                    count, claimed = await step(session, self.ctx.clock())
                done += count
                if claimed < self.ctx.job_batch_size:
                    break
        return done

    async def _block(self, session: AsyncSession, now: datetime) -> tuple[int, int]:
        alerts = AlertRepository(session)
        claimed = await alerts.claim_for_blocking(now, self.ctx.job_batch_size)
        count = 0
        for alert in claimed:
            if not due_for_blocking(retention_of(alert), now):
                continue
            alert.personal_data_blocked_at = now
            await _history(alerts, alert, "personal_data_blocked", None, now, {})
            await self._event(session, alert, "personal_data_blocked", now)
            count += 1
        return count, len(claimed)

    async def _delete(self, session: AsyncSession, now: datetime) -> tuple[int, int]:
        alerts = AlertRepository(session)
        claimed = await alerts.claim_for_deletion(now, self.ctx.job_batch_size)
        count = 0
        for alert in claimed:
            if not due_for_deletion(retention_of(alert), now):
                continue
            catalogue = await self.ctx.catalogues.get(
                session, alert.catalogue_version, field="catalogue_version"
            )
            personal = catalogue.procedures[alert.procedure].personal_questions
            await alerts.delete_personal_data(alert.id)
            alert.content = without_personal(alert.content, personal)
            for version in await alerts.content_versions(alert.id):
                await alerts.replace_version_content(
                    alert.id, version.content_version, without_personal(version.content, personal)
                )
            for record in await alerts.updates(alert.id):
                public, withheld = split_personal(record.items, personal)
                if withheld:
                    await alerts.replace_update_items(record.id, public)
            alert.decision_date = None
            alert.personal_data_blocked_at = alert.personal_data_blocked_at or now
            alert.personal_data_deleted_at = now
            await _history(alerts, alert, "personal_data_deleted", None, now, {})
            await self._event(session, alert, "personal_data_deleted", now)
            count += 1
        return count, len(claimed)

    async def _event(
        self, session: AsyncSession, alert: AlertRecord, verb: str, now: datetime
    ) -> None:
        assert alert.ended_at is not None
        event = _event_class(AlertKind(alert.kind), verb)(
            **_event_fields(alert, None, now, alert.recipient_countries or []),
            ended_at=alert.ended_at,
            retention_months=alert.retention_months,
        )
        await self.ctx.outbox.add(session, event, subject=str(alert.id))
