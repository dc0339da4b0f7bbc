"""Pure rules of alerts and notifications: no I/O, no SQLAlchemy.

Three kinds share one shape. A Services Directive alert passes the sender country's alert
coordinator (submit → approve or reject → broadcast to the chosen countries' coordinators and the
Commission), whose counterparts disseminate it to their own competent authorities. A
professional-qualifications alert goes straight to every other EEA country within 3 days of the
decision it reports. A notification goes from a country's coordinator to the chosen countries'
coordinators and the Commission. Recipients acknowledge and comment; the sender updates,
rectifies, withdraws or closes.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.contracts.translation import (
    AnswerType,
    CataloguePublished,
    ProcedureKind,
)
from shared.languages import SOURCE_LANGUAGE, require_language
from shared.problems import Conflict, DomainError, Forbidden, InvalidInput

# EU-27 plus Iceland, Liechtenstein and Norway (ISO 3166-1 alpha-2, lower case).
EEA_COUNTRIES: tuple[str, ...] = (
    "at", "be", "bg", "cy", "cz", "de", "dk", "ee", "es", "fi", "fr", "gr", "hr", "hu", "ie",
    "is", "it", "li", "lt", "lu", "lv", "mt", "nl", "no", "pl", "pt", "ro", "se", "si", "sk",
)  # fmt: skip
COMMISSION_COUNTRY = "eu"  # the European Commission's authorities
PROFESSIONAL_QUALIFICATIONS = "professional_qualifications"
PQ_DECISION_QUESTION = "pq_alert_decision_date"
PQ_SEND_WITHIN = timedelta(days=3)
DELETE_AFTER_MONTHS = 36  # personal data are deleted 3 years after formal closure

MAX_ITEMS = 200
MAX_FREE_TEXTS = 50
MAX_TEXT_LENGTH = 20_000
MAX_REASON_LENGTH = 4_000


class PreconditionRequired(DomainError):
    """A state transition without ``If-Match``: the caller must say which version it acts on."""

    status = 428
    slug = "precondition-required"
    title = "If-Match with the version you read is required"


class PersonalDataGone(DomainError):
    """The personal data existed and were deleted at the end of their retention."""

    status = 410
    slug = "personal-data-deleted"
    title = "The personal data were deleted"


# --- kinds, states, actions ------------------------------------------------------------------


class AlertKind(StrEnum):
    SERVICES_ALERT = "services_alert"
    PQ_ALERT = "pq_alert"
    NOTIFICATION = "notification"

    @property
    def aggregate(self) -> str:
        """The event aggregate: ``alerts.alert.*`` or ``alerts.notification.*``."""
        return "notification" if self is AlertKind.NOTIFICATION else "alert"


class AlertState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for the sender country's alert coordinator
    APPROVED = "approved"  # approved, not yet broadcast
    REJECTED = "rejected"  # sent back by the coordinator; the sender may edit and resubmit
    BROADCAST = "broadcast"  # sent: in the recipients' inboxes
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


ENDED_STATES = frozenset({AlertState.CLOSED, AlertState.WITHDRAWN})


class Action(StrEnum):
    EDIT = "edit"  # PATCH of a draft
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    BROADCAST = "broadcast"
    DISSEMINATE = "disseminate"
    ACKNOWLEDGE = "acknowledge"
    COMMENT = "comment"
    UPDATE = "update"
    RECTIFY = "rectify"
    WITHDRAW = "withdraw"
    CLOSE = "close"

    @property
    def verb_past(self) -> str:
        return _PAST[self]

    @property
    def needs_if_match(self) -> bool:
        """Transitions of the sender and the coordinators act on a version they read;
        acknowledge and comment act on the caller's own recipient entry."""
        return self not in (Action.ACKNOWLEDGE, Action.COMMENT)

    @property
    def changes_version(self) -> bool:
        """Whether the alert's version moves. A dissemination adds one country's recipients
        and leaves the alert as it was, so the coordinators of 30 countries can disseminate
        the same version at once."""
        return self not in (Action.DISSEMINATE, Action.ACKNOWLEDGE, Action.COMMENT)


_PAST: Mapping[Action, str] = {
    Action.EDIT: "edited",
    Action.SUBMIT: "submitted",
    Action.APPROVE: "approved",
    Action.REJECT: "rejected",
    Action.BROADCAST: "broadcast",
    Action.DISSEMINATE: "disseminated",
    Action.ACKNOWLEDGE: "acknowledged",
    Action.COMMENT: "commented",
    Action.UPDATE: "updated",
    Action.RECTIFY: "rectified",
    Action.WITHDRAW: "withdrawn",
    Action.CLOSE: "closed",
}

# Actions a caller names in POST /v1/alerts/{id}/{action} (editing is PATCH).
ROUTED_ACTIONS: tuple[Action, ...] = tuple(a for a in Action if a is not Action.EDIT)


class Party(StrEnum):
    """Who acts: the sender, the coordinator of the sender's country, a coordinator of a
    country that received the alert, or a recipient authority."""

    SENDER = "sender"
    SENDER_COORDINATOR = "sender_coordinator"
    RECEIVING_COORDINATOR = "receiving_coordinator"
    RECIPIENT = "recipient"


@dataclass(frozen=True)
class Step:
    party: Party
    from_states: frozenset[AlertState]
    to_state: AlertState | None = None  # None: the state does not change


def _step(party: Party, states: Iterable[AlertState], to: AlertState | None = None) -> Step:
    return Step(party, frozenset(states), to)


S = AlertState
_SENT = (S.BROADCAST,)
FLOWS: Mapping[AlertKind, Mapping[Action, Step]] = {
    AlertKind.SERVICES_ALERT: {
        Action.EDIT: _step(Party.SENDER, (S.DRAFT, S.REJECTED)),
        Action.SUBMIT: _step(Party.SENDER, (S.DRAFT, S.REJECTED), S.SUBMITTED),
        Action.APPROVE: _step(Party.SENDER_COORDINATOR, (S.SUBMITTED,), S.APPROVED),
        Action.REJECT: _step(Party.SENDER_COORDINATOR, (S.SUBMITTED,), S.REJECTED),
        Action.BROADCAST: _step(Party.SENDER_COORDINATOR, (S.APPROVED,), S.BROADCAST),
        Action.DISSEMINATE: _step(Party.RECEIVING_COORDINATOR, _SENT),
        Action.ACKNOWLEDGE: _step(Party.RECIPIENT, _SENT),
        Action.COMMENT: _step(Party.RECIPIENT, _SENT),
        Action.UPDATE: _step(Party.SENDER, _SENT),
        Action.RECTIFY: _step(Party.SENDER, _SENT),
        Action.WITHDRAW: _step(Party.SENDER, (S.SUBMITTED, S.APPROVED, S.BROADCAST), S.WITHDRAWN),
        Action.CLOSE: _step(Party.SENDER, _SENT, S.CLOSED),
    },
    AlertKind.PQ_ALERT: {
        Action.EDIT: _step(Party.SENDER, (S.DRAFT,)),
        Action.BROADCAST: _step(Party.SENDER, (S.DRAFT,), S.BROADCAST),
        Action.DISSEMINATE: _step(Party.RECEIVING_COORDINATOR, _SENT),
        Action.ACKNOWLEDGE: _step(Party.RECIPIENT, _SENT),
        Action.COMMENT: _step(Party.RECIPIENT, _SENT),
        Action.UPDATE: _step(Party.SENDER, _SENT),
        Action.RECTIFY: _step(Party.SENDER, _SENT),
        Action.WITHDRAW: _step(Party.SENDER, _SENT, S.WITHDRAWN),
        Action.CLOSE: _step(Party.SENDER, _SENT, S.CLOSED),
    },
    AlertKind.NOTIFICATION: {
        Action.EDIT: _step(Party.SENDER, (S.DRAFT,)),
        Action.BROADCAST: _step(Party.SENDER, (S.DRAFT,), S.BROADCAST),
        Action.COMMENT: _step(Party.RECIPIENT, _SENT),
        Action.UPDATE: _step(Party.SENDER, _SENT),
        Action.RECTIFY: _step(Party.SENDER, _SENT),
        Action.CLOSE: _step(Party.SENDER, _SENT, S.CLOSED),
    },
}


def states_of(kind: AlertKind) -> frozenset[AlertState]:
    """Every state an alert of ``kind`` can be in."""
    found = {AlertState.DRAFT}
    for step in FLOWS[kind].values():
        found |= step.from_states
        if step.to_state is not None:
            found.add(step.to_state)
    return frozenset(found)


# --- who acts --------------------------------------------------------------------------------


class RoleName(StrEnum):
    ALERT_HANDLER = "alert_handler"
    ALERT_COORDINATOR = "alert_coordinator"
    NATIONAL_COORDINATOR = "national_coordinator"
    COMMISSION = "commission"
    SUPERVISOR = "supervisor"
    DATA_PROTECTION_ADMINISTRATOR = "data_protection_administrator"


@dataclass(frozen=True)
class Actor:
    """The acting user as the rules need it: authority, country and roles (name, area)."""

    user_id: uuid.UUID
    authority_id: uuid.UUID | None
    country: str | None
    roles: tuple[tuple[str, str | None], ...] = ()

    def holds(self, name: str, area: str | None = None) -> bool:
        """True when the user holds ``name`` for ``area``; a role without area covers all."""
        return any(
            role == name and (role_area is None or area is None or role_area == area)
            for role, role_area in self.roles
        )


@dataclass(frozen=True)
class AlertFacts:
    """What the rules need to know of an alert."""

    kind: AlertKind
    state: AlertState
    area: str
    sender_authority_id: uuid.UUID
    sender_country: str


@dataclass(frozen=True)
class Involvement:
    """How the actor's authority and country are involved in one alert."""

    recipient: bool = False  # the actor's authority holds the alert in its inbox
    acknowledged: bool = False  # ... and has acknowledged it
    country_received: bool = False  # an authority of the actor's country holds it


def may_draft(kind: AlertKind, area: str, actor: Actor) -> bool:
    """Alerts are drafted by an alert handler for the area, notifications by a coordinator."""
    if actor.authority_id is None:
        return False
    if kind is AlertKind.NOTIFICATION:
        return actor.holds(RoleName.NATIONAL_COORDINATOR) or actor.holds(
            RoleName.ALERT_COORDINATOR, area
        )
    return actor.holds(RoleName.ALERT_HANDLER, area)


def _coordinates(kind: AlertKind, area: str, actor: Actor) -> bool:
    if kind is AlertKind.NOTIFICATION:
        return actor.holds(RoleName.NATIONAL_COORDINATOR) or actor.holds(
            RoleName.ALERT_COORDINATOR, area
        )
    return actor.holds(RoleName.ALERT_COORDINATOR, area)


def is_sender(alert: AlertFacts, actor: Actor) -> bool:
    return actor.authority_id == alert.sender_authority_id and may_draft(
        alert.kind, alert.area, actor
    )


def is_sender_coordinator(alert: AlertFacts, actor: Actor) -> bool:
    return actor.country == alert.sender_country and _coordinates(alert.kind, alert.area, actor)


def is_receiving_coordinator(alert: AlertFacts, actor: Actor, involvement: Involvement) -> bool:
    return involvement.country_received and actor.holds(RoleName.ALERT_COORDINATOR, alert.area)


def is_recipient(alert: AlertFacts, actor: Actor, involvement: Involvement) -> bool:
    if not involvement.recipient:
        return False
    return (
        actor.holds(RoleName.ALERT_HANDLER, alert.area)
        or actor.holds(RoleName.ALERT_COORDINATOR, alert.area)
        or actor.holds(RoleName.COMMISSION)
        or (alert.kind is AlertKind.NOTIFICATION and actor.holds(RoleName.NATIONAL_COORDINATOR))
    )


def plays(party: Party, alert: AlertFacts, actor: Actor, involvement: Involvement) -> bool:
    if party is Party.SENDER:
        return is_sender(alert, actor)
    if party is Party.SENDER_COORDINATOR:
        return is_sender_coordinator(alert, actor)
    if party is Party.RECEIVING_COORDINATOR:
        return is_receiving_coordinator(alert, actor, involvement)
    return is_recipient(alert, actor, involvement)


_PARTY_REFUSAL: Mapping[Party, str] = {
    Party.SENDER: "only an alert handler of the sending authority may do this",
    Party.SENDER_COORDINATOR: "only an alert coordinator of the sender's country may do this",
    Party.RECEIVING_COORDINATOR: (
        "only an alert coordinator of a country that received the alert may disseminate it"
    ),
    Party.RECIPIENT: "your authority did not receive this alert, or you hold no role to act on it",
}


def can_see(alert: AlertFacts, actor: Actor, involvement: Involvement) -> bool:
    """Who sees an alert: the sending authority, the recipients, the coordinators of the
    sender's country (once submitted) and of a receiving country, and a data protection
    administrator of a country involved. Anyone else gets 404."""
    if actor.authority_id is not None and actor.authority_id == alert.sender_authority_id:
        return True
    if involvement.recipient:
        return True
    if alert.state is AlertState.DRAFT:
        return False
    if is_sender_coordinator(alert, actor):
        return True
    if involvement.country_received and _coordinates(alert.kind, alert.area, actor):
        return True
    return actor.holds(RoleName.DATA_PROTECTION_ADMINISTRATOR) and (
        actor.country == alert.sender_country or involvement.country_received
    )


def allowed_actions(alert: AlertFacts, actor: Actor, involvement: Involvement) -> list[Action]:
    """The actions the caller may take now, in the order of the flow (the web client shows
    exactly these as buttons)."""
    return [
        action for action in FLOWS[alert.kind] if refusal(action, alert, actor, involvement) is None
    ]


def refusal(
    action: Action, alert: AlertFacts, actor: Actor, involvement: Involvement
) -> DomainError | None:
    """Why ``actor`` may not take ``action`` now (403 wrong party, 409 wrong state), or None."""
    step = FLOWS[alert.kind].get(action)
    if step is None:
        return Conflict(
            f"a {alert.kind.value} has no action {action.value!r}",
            extra={"allowed_actions": []},
        )
    if not plays(step.party, alert, actor, involvement):
        return Forbidden(_PARTY_REFUSAL[step.party])
    if alert.state not in step.from_states:
        return Conflict(
            f"a {alert.kind.value} in state {alert.state.value!r} cannot be {action.verb_past}",
        )
    if action is Action.ACKNOWLEDGE and involvement.acknowledged:
        return Conflict("your authority has acknowledged this alert already")
    return None


def require_action(
    action: Action, alert: AlertFacts, actor: Actor, involvement: Involvement
) -> Step:
    """The step of ``action``; raises Forbidden or Conflict (listing the allowed actions)."""
    problem = refusal(action, alert, actor, involvement)
    if problem is not None:
        if isinstance(problem, Conflict):
            problem.extra["allowed_actions"] = [
                a.value for a in allowed_actions(alert, actor, involvement)
            ]
        raise problem
    return FLOWS[alert.kind][action]


def next_state(alert: AlertFacts, action: Action) -> AlertState:
    step = FLOWS[alert.kind][action]
    return step.to_state if step.to_state is not None else alert.state


@dataclass(frozen=True)
class TrackingScope:
    """Whose per-recipient tracking the caller sees: every country, or its own."""

    country: str | None  # None: every country


def tracking_scope(
    alert: AlertFacts, actor: Actor, involvement: Involvement
) -> TrackingScope | None:
    """The sender and the sender country's coordinators see every recipient; a receiving
    country's alert coordinator sees its own country's; other callers none."""
    if actor.authority_id == alert.sender_authority_id or is_sender_coordinator(alert, actor):
        return TrackingScope(None)
    if is_receiving_coordinator(alert, actor, involvement) and actor.country:
        return TrackingScope(actor.country)
    return None


def may_read_access_log(alert: AlertFacts, actor: Actor, involvement: Involvement) -> bool:
    """The data protection administrator and the sending authority's supervisor."""
    if not can_see(alert, actor, involvement):
        return False
    if actor.holds(RoleName.DATA_PROTECTION_ADMINISTRATOR):
        return True
    return actor.authority_id == alert.sender_authority_id and actor.holds(RoleName.SUPERVISOR)


# --- personal data and retention --------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    """Where an alert's personal data stand in their retention."""

    ended_at: datetime | None  # closure or withdrawal
    retention_months: int
    blocked_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def block_due_at(self) -> datetime | None:
        if self.ended_at is None:
            return None
        return add_months(self.ended_at, self.retention_months)

    @property
    def delete_due_at(self) -> datetime | None:
        if self.ended_at is None:
            return None
        return add_months(self.ended_at, DELETE_AFTER_MONTHS)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months; the day is clamped to the month's last."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_for_blocking(retention: Retention, now: datetime) -> bool:
    due = retention.block_due_at
    return retention.blocked_at is None and due is not None and now >= due


def due_for_deletion(retention: Retention, now: datetime) -> bool:
    due = retention.delete_due_at
    return retention.deleted_at is None and due is not None and now >= due


def check_personal_data_read(
    retention: Retention, actor: Actor, purpose: str | None, justification: str | None
) -> None:
    """Every read names its purpose; once blocked only a data protection administrator reads,
    with a justification; once deleted nobody does."""
    if retention.deleted_at is not None:
        raise PersonalDataGone(
            f"the personal data were deleted on {retention.deleted_at.date().isoformat()}"
        )
    if not (purpose or "").strip():
        raise InvalidInput("say why you read the personal data (purpose)", field="query.purpose")
    if retention.blocked_at is None:
        return
    if not actor.holds(RoleName.DATA_PROTECTION_ADMINISTRATOR):
        raise Forbidden(
            "the personal data are blocked; only a data protection administrator may read them"
        )
    if not (justification or "").strip():
        raise InvalidInput(
            "reading blocked personal data needs a justification", field="query.justification"
        )


# --- professional-qualifications deadlines ----------------------------------------------------


def pq_send_by(decision: date) -> date:
    """A professional-qualifications alert is sent within 3 days of the decision it reports."""
    return decision + PQ_SEND_WITHIN


def is_overdue(send_by: date | None, sent_at: datetime | None, now: datetime) -> bool:
    """Not sent, and the last day to send it has passed."""
    return send_by is not None and sent_at is None and now.date() > send_by


def sent_late(send_by: date | None, sent_at: datetime | None) -> bool:
    return send_by is not None and sent_at is not None and sent_at.date() > send_by


# --- languages -------------------------------------------------------------------------------


# --- the catalogue as this service keeps it ----------------------------------------------------


@dataclass(frozen=True)
class QuestionInfo:
    key: str
    type: AnswerType
    personal_data: bool
    options: tuple[str, ...] = ()

    @property
    def option_keys(self) -> tuple[str, ...]:
        return ("yes", "no") if self.type is AnswerType.YES_NO else self.options


@dataclass(frozen=True)
class ProcedureInfo:
    key: str
    area: str
    kind: ProcedureKind
    retention_months: int
    questions: Mapping[str, QuestionInfo]

    @property
    def alert_kind(self) -> AlertKind | None:
        """The flow of this procedure: by its kind, then by its area for alerts."""
        if self.kind is ProcedureKind.NOTIFICATION:
            return AlertKind.NOTIFICATION
        if self.kind is ProcedureKind.ALERT:
            if self.area == PROFESSIONAL_QUALIFICATIONS:
                return AlertKind.PQ_ALERT
            return AlertKind.SERVICES_ALERT
        return None

    @property
    def personal_questions(self) -> frozenset[str]:
        return frozenset(k for k, q in self.questions.items() if q.personal_data)


@dataclass(frozen=True)
class CatalogueView:
    """One catalogue version: procedures with their questions, and names in 26 languages."""

    version: str
    procedures: Mapping[str, ProcedureInfo]
    area_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    procedure_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    keywords: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    keyword_areas: Mapping[str, str] = field(default_factory=dict)

    def procedure_name(self, key: str, language: str) -> str:
        return _name(self.procedure_names.get(key, {}), language, key)

    def area_name(self, key: str, language: str) -> str:
        return _name(self.area_names.get(key, {}), language, key)

    def keyword_name(self, key: str, language: str) -> str:
        terms = self.keywords.get(key, {})
        for lang in (language, SOURCE_LANGUAGE):
            found = [t for t in terms.get(lang, ()) if t.strip()]
            if found:
                return found[0]
        return key


def _name(names: Mapping[str, str], language: str, fallback: str) -> str:
    return names.get(language) or names.get(SOURCE_LANGUAGE) or fallback


def catalogue_view(event: CataloguePublished) -> CatalogueView:
    """What this service needs of a published catalogue version."""
    return CatalogueView(
        version=event.version,
        procedures={
            p.key: ProcedureInfo(
                key=p.key,
                area=p.area,
                kind=p.kind,
                retention_months=p.retention_months,
                questions={
                    q.key: QuestionInfo(q.key, q.type, q.personal_data, tuple(q.options))
                    for s in p.question_sets
                    for q in s.questions
                },
            )
            for p in event.procedures
        },
        area_names=event.area_names,
        procedure_names=event.procedure_names,
        keywords=event.keywords,
        keyword_areas=event.keyword_areas,
    )


def alert_procedure(catalogue: CatalogueView, key: str, field: str) -> ProcedureInfo:
    """The procedure ``key`` when it is one of alerts or notifications; 422 naming ``field``."""
    procedure = catalogue.procedures.get(key)
    if procedure is None:
        raise InvalidInput(
            f"unknown procedure {key!r} in catalogue version {catalogue.version}", field=field
        )
    if procedure.alert_kind is None:
        raise InvalidInput(f"procedure {key!r} is not one of alerts or notifications", field=field)
    return procedure


# --- content ---------------------------------------------------------------------------------


def _text(value: Any, field: str, *, limit: int = MAX_TEXT_LENGTH) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("the text is empty", field=field)
    if len(value) > limit:
        raise InvalidInput(f"the text is longer than {limit} characters", field=field)
    return value.strip()


def _answer(
    question: QuestionInfo, answer: Mapping[str, Any] | None, field: str, writer_language: str
) -> dict[str, Any] | None:
    if answer is None:
        return None
    if not isinstance(answer, Mapping):
        raise InvalidInput("an answer is an object", field=field)
    kind = question.type
    if kind in (AnswerType.YES_NO, AnswerType.CHOICE):
        option = answer.get("option")
        if not isinstance(option, str):
            raise InvalidInput(f"a {kind.value} question is answered with an option", field=field)
        if option not in question.option_keys:
            raise InvalidInput(
                f"option {option!r} does not belong to question {question.key!r}; "
                f"expected one of {', '.join(question.option_keys)}",
                field=f"{field}.option",
            )
        return {"option": option}
    if kind is AnswerType.DATE:
        value = answer.get("date")
        if not isinstance(value, str):
            raise InvalidInput("a date question is answered with a date", field=field)
        try:
            parsed = date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"{value!r} is not an ISO 8601 date", field=f"{field}.date") from exc
        return {"date": parsed.isoformat()}
    if kind is AnswerType.DOCUMENT:
        value = answer.get("document")
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(
                "a document question is answered with an attachment id", field=f"{field}.document"
            )
        return {"document": value.strip()}
    text = _text(answer.get("text"), f"{field}.text")
    tag = answer.get("language")
    if tag is not None and not isinstance(tag, str):
        raise InvalidInput("expected a language tag", field=f"{field}.language")
    language = require_language(tag, f"{field}.language") if tag else writer_language
    return {"text": text, "language": language}


def validate_items(
    procedure: ProcedureInfo,
    items: Sequence[tuple[str, Mapping[str, Any] | None]],
    writer_language: str,
    field: str,
) -> list[dict[str, Any]]:
    """Items [(question, answer)] checked against the procedure's questions, in render shape."""
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} items", field=field)
    seen: set[str] = set()
    checked: list[dict[str, Any]] = []
    for i, (key, answer) in enumerate(items):
        question = procedure.questions.get(key)
        if question is None:
            raise InvalidInput(
                f"question {key!r} is not part of procedure {procedure.key!r}",
                field=f"{field}[{i}].question",
            )
        if key in seen:
            raise InvalidInput(f"question {key!r} appears twice", field=f"{field}[{i}].question")
        seen.add(key)
        checked.append(
            {
                "question": key,
                "answer": _answer(question, answer, f"{field}[{i}].answer", writer_language),
            }
        )
    return checked


def validate_free_texts(
    free_texts: Sequence[tuple[str, str, str | None]], writer_language: str, field: str
) -> list[dict[str, Any]]:
    """Free texts [(id, text, language)] with their language (the writer's when not given)."""
    if len(free_texts) > MAX_FREE_TEXTS:
        raise InvalidInput(f"at most {MAX_FREE_TEXTS} free texts", field=field)
    seen: set[str] = set()
    checked: list[dict[str, Any]] = []
    for i, (text_id, text, tag) in enumerate(free_texts):
        if not text_id.strip():
            raise InvalidInput("a free text needs an id", field=f"{field}[{i}].id")
        if text_id in seen:
            raise InvalidInput(f"free text id {text_id!r} is used twice", field=f"{field}[{i}].id")
        seen.add(text_id)
        checked.append(
            {
                "id": text_id,
                "text": _text(text, f"{field}[{i}].text"),
                "language": require_language(tag, f"{field}[{i}].language")
                if tag
                else writer_language,
            }
        )
    return checked


def split_personal(
    items: Sequence[Mapping[str, Any]], personal_questions: frozenset[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(items anyone who sees the alert reads, items that are personal data)."""
    public = [dict(i) for i in items if i["question"] not in personal_questions]
    personal = [dict(i) for i in items if i["question"] in personal_questions]
    return public, personal


def without_personal(
    content: Mapping[str, Any], personal_questions: frozenset[str]
) -> dict[str, Any]:
    """The content with the answers to personal-data questions removed (deletion)."""
    public, _ = split_personal(content.get("items", []), personal_questions)
    return {**content, "items": public}


def decision_date(items: Sequence[Mapping[str, Any]]) -> date | None:
    for item in items:
        if item["question"] == PQ_DECISION_QUESTION and item.get("answer"):
            value = item["answer"].get("date")
            return date.fromisoformat(value) if isinstance(value, str) else None
    return None


def require_decision_date(items: Sequence[Mapping[str, Any]], today: date, field: str) -> date:
    """The date of the decision a professional-qualifications alert reports; 422 when missing
    or in the future."""
    found = decision_date(items)
    if found is None:
        raise InvalidInput(
            f"a professional-qualifications alert needs the date of the decision "
            f"(question {PQ_DECISION_QUESTION})",
            field=field,
            extra={"question": PQ_DECISION_QUESTION},
        )
    if found > today:
        raise InvalidInput(
            f"the date of the decision ({PQ_DECISION_QUESTION}) is in the future",
            field=field,
            extra={"question": PQ_DECISION_QUESTION},
        )
    return found


def require_profession(catalogue: CatalogueView, profession: str | None, field: str) -> str:
    """A competence keyword of the professional-qualifications area (e.g. ``teacher``)."""
    if not profession:
        raise InvalidInput(
            "a professional-qualifications alert names the profession (a catalogue keyword)",
            field=field,
        )
    if catalogue.keyword_areas.get(profession) != PROFESSIONAL_QUALIFICATIONS:
        raise InvalidInput(
            f"{profession!r} is not a profession of the catalogue "
            f"(a keyword of {PROFESSIONAL_QUALIFICATIONS})",
            field=field,
        )
    return profession


_COUNTRY_CODE = re.compile(r"^[a-z]{2}$")
PROFESSIONAL_FIELDS = (
    "full_name",
    "date_of_birth",
    "place_of_birth",
    "nationality",
    "registration_number",
    "qualification",
)


def validate_professional(raw: Mapping[str, Any], today: date, field: str) -> dict[str, Any]:
    """The professional's identity: full name required, the rest checked when given."""
    unknown = sorted(set(raw) - set(PROFESSIONAL_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=f"{field}.{unknown[0]}")
    checked: dict[str, Any] = {
        "full_name": _text(raw.get("full_name"), f"{field}.full_name", limit=500)
    }
    born = raw.get("date_of_birth")
    if born is not None:
        try:
            parsed = date.fromisoformat(str(born))
        except ValueError as exc:
            raise InvalidInput(
                f"{born!r} is not an ISO 8601 date", field=f"{field}.date_of_birth"
            ) from exc
        if parsed >= today:
            raise InvalidInput(
                "the date of birth is not in the past", field=f"{field}.date_of_birth"
            )
        checked["date_of_birth"] = parsed.isoformat()
    nationality = raw.get("nationality")
    if nationality is not None:
        code = str(nationality).strip().lower()
        if not _COUNTRY_CODE.match(code):
            raise InvalidInput(
                "the nationality is an ISO 3166-1 alpha-2 country code",
                field=f"{field}.nationality",
            )
        checked["nationality"] = code
    for name in ("place_of_birth", "registration_number", "qualification"):
        value = raw.get(name)
        if value is not None:
            checked[name] = _text(value, f"{field}.{name}", limit=1000)
    return checked


def check_reason(reason: str | None, field: str, *, required: bool) -> str | None:
    if reason is None or not reason.strip():
        if required:
            raise InvalidInput("a reason is required", field=field)
        return None
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"the reason is longer than {MAX_REASON_LENGTH} characters", field=field)
    return reason.strip()


# --- recipients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastTarget:
    countries: tuple[str, ...]
    all_countries: bool


def broadcast_target(
    kind: AlertKind, countries: Sequence[str] | str | None, sender_country: str, field: str
) -> BroadcastTarget:
    """The countries a broadcast reaches (the Commission always receives besides).

    A professional-qualifications alert goes to every other EEA country; the others go to
    the countries chosen, or to all 30 with ``"all"``.
    """
    if kind is AlertKind.PQ_ALERT:
        if countries not in (None, "all"):
            raise InvalidInput(
                "a professional-qualifications alert goes to every other EEA country; "
                "leave the countries out",
                field=field,
            )
        return BroadcastTarget(tuple(c for c in EEA_COUNTRIES if c != sender_country), True)
    if countries is None:
        raise InvalidInput('choose the countries, or "all"', field=field)
    if isinstance(countries, str):
        if countries != "all":
            raise InvalidInput('expected a list of countries or "all"', field=field)
        return BroadcastTarget(EEA_COUNTRIES, True)
    if not countries:
        raise InvalidInput("choose at least one country", field=field)
    chosen: list[str] = []
    for i, raw in enumerate(countries):
        code = raw.strip().lower()
        if code not in EEA_COUNTRIES:
            raise InvalidInput(f"{raw!r} is not an EEA country", field=f"{field}[{i}]")
        if code not in chosen:
            chosen.append(code)
    return BroadcastTarget(tuple(chosen), False)


@dataclass(frozen=True)
class DisseminationTarget:
    """Authorities of the coordinator's country: competent for one of ``procedures`` (when
    given) and in one of ``regions`` (when given), plus those named in ``authority_ids``."""

    country: str
    procedures: tuple[str, ...]
    regions: tuple[str, ...]
    authority_ids: tuple[uuid.UUID, ...]


def dissemination_target(
    actor_country: str | None,
    country: str | None,
    procedures: Sequence[str],
    regions: Sequence[str],
    authority_ids: Sequence[uuid.UUID],
    catalogue: CatalogueView,
) -> DisseminationTarget:
    """A coordinator disseminates within its own country only."""
    if actor_country is None:
        raise Forbidden("you belong to no country")
    if country is not None and country.strip().lower() != actor_country:
        raise Forbidden(
            f"you may disseminate only within your own country ({actor_country})",
            field="body.country",
        )
    for i, key in enumerate(procedures):
        if key not in catalogue.procedures:
            raise InvalidInput(f"unknown procedure {key!r}", field=f"body.procedures[{i}]")
    prefix = f"{actor_country.upper()}-"
    checked_regions: list[str] = []
    for i, region in enumerate(regions):
        code = region.strip().upper()
        if not code.startswith(prefix) or len(code) <= len(prefix):
            raise InvalidInput(
                f"region {region!r} is not a region of your country ({actor_country})",
                field=f"body.regions[{i}]",
            )
        checked_regions.append(code)
    if not procedures and not regions and not authority_ids:
        raise InvalidInput(
            "choose the authorities by procedure, region or id", field="body.procedures"
        )
    return DisseminationTarget(
        actor_country,
        tuple(dict.fromkeys(procedures)),
        tuple(dict.fromkeys(checked_regions)),
        tuple(dict.fromkeys(authority_ids)),
    )


# --- HTTP preconditions and cursors -------------------------------------------------------


def matches_if_match(header: str | None, version: int) -> bool:
    """True when ``If-Match`` names ``version``; PreconditionRequired when it is missing."""
    if header is None or not header.strip():
        raise PreconditionRequired("send If-Match with the version (ETag) you read")
    tags = [t.strip() for t in header.split(",")]
    for tag in tags:
        value = tag.removeprefix("W/").strip().strip('"')
        if value == str(version):
            return True
    if all(not t.removeprefix("W/").strip().strip('"').isdigit() for t in tags):
        raise PreconditionRequired("If-Match must carry the version (ETag) you read")
    return False


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("the cursor is not valid", field="query.cursor") from exc
    if len(parts) != size:
        raise InvalidInput("the cursor is not valid", field="query.cursor")
    return parts


def time_cursor(moment: datetime, alert_id: uuid.UUID) -> str:
    return encode_cursor(moment.isoformat(), str(alert_id))


def read_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    moment, ident = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(moment), uuid.UUID(ident)
    except ValueError as exc:
        raise InvalidInput("the cursor is not valid", field="query.cursor") from exc
