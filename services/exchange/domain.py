"""Pure rules of information requests: no I/O, no SQLAlchemy.

The state machine (who may do what, in which state), the content rules (questions of the chosen
procedure, answers of the right type, free texts with their language), the deadlines (acceptance
within 7 days, the agreed reply date, reminders, overdue marks, escalation), the retention of
personal data (Regulation (EU) 1024/2012, Art. 14) and the replay of a request's history.

A use case loads an ``InformationRequest``, calls one function here and stores what comes back: a
new request, the history entry and what happened (the events to publish).
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from shared.contracts.translation import AnswerType, ProcedureKind, ProcedureSpec
from shared.languages import language_tag, require_language
from shared.problems import Conflict, DomainError, Forbidden, InvalidInput

YES_NO_OPTIONS: tuple[str, ...] = ("yes", "no")
MAX_FREE_TEXT = 20_000
RATING_RANGE = range(1, 6)
NEGATIVE_RATING = 2  # a timeliness or effort rating of 2 or less counts as negative


# --- vocabulary ----------------------------------------------------------------------------------


class State(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    ALLOCATED = "allocated"
    ANSWERED = "answered"
    INFORMATION_REQUESTED = "information_requested"
    ANSWER_ACCEPTED = "answer_accepted"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TERMINAL_STATES = frozenset({State.CLOSED, State.REJECTED, State.WITHDRAWN})
AWAITING_ANSWER = frozenset(
    {State.SENT, State.ACCEPTED, State.ALLOCATED, State.INFORMATION_REQUESTED}
)
OPEN_STATES = AWAITING_ANSWER | {State.ANSWERED, State.ANSWER_ACCEPTED}


class Action(StrEnum):
    """The transitions of ``POST /v1/requests/{id}/{action}``."""

    SEND = "send"
    ACCEPT = "accept"
    REJECT = "reject"
    FORWARD = "forward"
    SPLIT = "split"
    ALLOCATE = "allocate"
    PROPOSE_DATE = "propose-date"
    ANSWER = "answer"
    REQUEST_INFO = "request-info"
    ACCEPT_ANSWER = "accept-answer"
    CLOSE = "close"
    WITHDRAW = "withdraw"


class Record(StrEnum):
    """History entries that are not transitions."""

    CREATED = "created"
    EDITED = "edited"
    REMINDED = "reminded"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    PERSONAL_DATA_BLOCKED = "personal_data_blocked"
    PERSONAL_DATA_DELETED = "personal_data_deleted"


class Side(StrEnum):
    REQUESTER = "requester"
    RESPONDER = "responder"


class Role(StrEnum):
    """The role names of shared.identity.RoleName this service looks at."""

    REQUEST_HANDLER = "request_handler"
    REQUEST_ALLOCATOR = "request_allocator"
    SUPERVISOR = "supervisor"
    READ_ONLY = "read_only"
    NATIONAL_COORDINATOR = "national_coordinator"
    DELEGATED_COORDINATOR = "delegated_coordinator"
    DATA_PROTECTION_ADMINISTRATOR = "data_protection_administrator"


SEEING_ROLES = frozenset(
    {Role.REQUEST_HANDLER, Role.REQUEST_ALLOCATOR, Role.SUPERVISOR, Role.READ_ONLY}
)


# --- languages -----------------------------------------------------------------------------------


# --- who acts, and the authorities and users they act on -----------------------------------------


@dataclass(frozen=True)
class ActorRole:
    name: str
    area: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the identity token says."""

    user_id: uuid.UUID
    authority_id: uuid.UUID | None
    country: str | None
    roles: tuple[ActorRole, ...]
    language: str = "en"

    def holds(self, name: str, area: str | None) -> bool:
        """True when the actor holds ``name`` for ``area``; a role without area covers all."""
        return any(r.name == name and (r.area is None or r.area == area) for r in self.roles)

    def holds_any(self, names: Iterable[str], area: str | None) -> bool:
        return any(self.holds(name, area) for name in names)


@dataclass(frozen=True)
class AuthorityRef:
    """An authority as a request remembers it."""

    id: uuid.UUID
    country: str
    region: str | None = None


@dataclass(frozen=True)
class AuthorityProfile:
    """An authority of the directory projection: what the rules need to know of it."""

    id: uuid.UUID
    country: str
    region: str | None
    status: str
    competences: Mapping[str, tuple[str, ...]]  # area -> procedures (empty: every procedure)
    languages: tuple[str, ...] = ()

    @property
    def ref(self) -> AuthorityRef:
        return AuthorityRef(self.id, self.country, self.region)

    def competent_for(self, area: str, procedure: str) -> bool:
        if area not in self.competences:
            return False
        procedures = self.competences[area]
        return not procedures or procedure in procedures


@dataclass(frozen=True)
class UserProfile:
    """A user of the directory projection."""

    id: uuid.UUID
    authority_id: uuid.UUID
    country: str
    roles: tuple[ActorRole, ...]
    active: bool

    def holds(self, name: str, area: str | None) -> bool:
        return any(r.name == name and (r.area is None or r.area == area) for r in self.roles)


# --- the catalogue as the rules see it -----------------------------------------------------------


@dataclass(frozen=True)
class QuestionRule:
    key: str
    type: AnswerType
    personal_data: bool
    options: tuple[str, ...]

    @property
    def option_keys(self) -> tuple[str, ...]:
        return YES_NO_OPTIONS if self.type is AnswerType.YES_NO else self.options


@dataclass(frozen=True)
class ProcedureRule:
    key: str
    area: str
    kind: ProcedureKind
    retention_months: int
    questions: Mapping[str, QuestionRule]

    @classmethod
    def from_spec(cls, spec: ProcedureSpec) -> ProcedureRule:
        return cls(
            key=spec.key,
            area=spec.area,
            kind=spec.kind,
            retention_months=spec.retention_months,
            questions={
                q.key: QuestionRule(q.key, q.type, q.personal_data, tuple(q.options))
                for s in spec.question_sets
                for q in s.questions
            },
        )


@dataclass(frozen=True)
class CatalogueRules:
    """One catalogue version: its procedures by key."""

    version: str
    procedures: Mapping[str, ProcedureRule]

    def request_procedure(self, key: str, field: str) -> ProcedureRule:
        """The procedure of a request, or a 422 naming ``field``."""
        procedure = self.procedures.get(key)
        if procedure is None:
            raise InvalidInput(
                f"no procedure {key!r} in catalogue version {self.version}", field=field
            )
        if procedure.kind is not ProcedureKind.REQUEST:
            raise InvalidInput(
                f"procedure {key!r} is for {procedure.kind.value}s, not for information requests",
                field=field,
            )
        return procedure


# --- the request ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One question of the request and, once answered, its answer.

    The answer of a question whose catalogue entry is personal data is stored apart, with the
    data subject's part; in the request's shell it is None and ``answered_at`` tells it exists.
    """

    question: str
    personal_data: bool
    answer: Mapping[str, Any] | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class FreeText:
    id: str
    text: str
    language: str
    side: Side
    written_at: datetime
    written_by: uuid.UUID


@dataclass(frozen=True)
class DateProposal:
    date: date
    side: Side
    proposed_at: datetime


@dataclass(frozen=True)
class Rating:
    timeliness: int
    effort: int

    @property
    def negative(self) -> bool:
        return min(self.timeliness, self.effort) <= NEGATIVE_RATING


@dataclass(frozen=True)
class Participant:
    user_id: uuid.UUID
    authority_id: uuid.UUID | None
    role: str  # requester, responder, handler, coordinator
    since: datetime


@dataclass(frozen=True)
class InformationRequest:
    id: uuid.UUID
    state: State
    version: int
    procedure: str
    area: str
    catalogue_version: str
    retention_months: int
    requesting: AuthorityRef
    responding: AuthorityRef
    involved: tuple[AuthorityRef, ...]
    items: tuple[Item, ...]
    free_texts: tuple[FreeText, ...]
    requested_reply_date: date | None
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    reply_by: date | None = None
    reply_date_agreed: bool = False
    date_proposal: DateProposal | None = None
    handler_user_id: uuid.UUID | None = None
    participants: tuple[Participant, ...] = ()
    sent_at: datetime | None = None
    received_at: datetime | None = None
    accepted_at: datetime | None = None
    first_answered_at: datetime | None = None
    answered_at: datetime | None = None
    answer_accepted_at: datetime | None = None
    formal_closure_at: datetime | None = None
    rating: Rating | None = None
    split_from: uuid.UUID | None = None
    acceptance_reminded_at: datetime | None = None
    acceptance_overdue_at: datetime | None = None
    reply_reminded_at: datetime | None = None
    reply_overdue_at: datetime | None = None
    overdue_escalated_at: datetime | None = None
    idle_escalated_at: datetime | None = None
    personal_data_blocked_at: datetime | None = None
    personal_data_deleted_at: datetime | None = None

    @property
    def involved_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(a.id for a in self.involved)

    @property
    def involved_countries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.country for a in self.involved))

    @property
    def involved_regions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.region for a in self.involved if a.region))

    @property
    def question_keys(self) -> tuple[str, ...]:
        return tuple(i.question for i in self.items)

    @property
    def participant_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(dict.fromkeys(p.user_id for p in self.participants))

    def side_of(self, actor: Actor) -> Side | None:
        if actor.authority_id is None:
            return None
        if actor.authority_id == self.requesting.id:
            return Side.REQUESTER
        if actor.authority_id == self.responding.id:
            return Side.RESPONDER
        return None


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a request's history: a transition, an edit, or what a job did."""

    version: int
    action: str
    at: datetime
    from_state: State
    to_state: State
    user_id: uuid.UUID | None = None
    authority_id: uuid.UUID | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Happened:
    """Something to publish: ``name`` is the verb of ``exchange.request.<name>``."""

    name: str
    request: InformationRequest
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a use case stores: the changed request, its history entry, what to publish, and for a
    split the new request with its own history."""

    request: InformationRequest
    entries: tuple[HistoryEntry, ...]
    happened: tuple[Happened, ...] = ()
    new_request: InformationRequest | None = None
    new_entries: tuple[HistoryEntry, ...] = ()


# --- who may do what -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    sides: frozenset[Side]
    role: Role
    states: frozenset[State]


_REQUESTER = frozenset({Side.REQUESTER})
_RESPONDER = frozenset({Side.RESPONDER})
_BEFORE_ANSWER = frozenset({State.SENT, State.ACCEPTED, State.ALLOCATED})

RULES: Mapping[Action, Rule] = {
    Action.SEND: Rule(_REQUESTER, Role.REQUEST_HANDLER, frozenset({State.DRAFT})),
    Action.ACCEPT: Rule(_RESPONDER, Role.REQUEST_HANDLER, frozenset({State.SENT})),
    Action.REJECT: Rule(_RESPONDER, Role.REQUEST_HANDLER, frozenset({State.SENT})),
    Action.FORWARD: Rule(_RESPONDER, Role.REQUEST_HANDLER, _BEFORE_ANSWER),
    Action.SPLIT: Rule(_RESPONDER, Role.REQUEST_HANDLER, _BEFORE_ANSWER),
    Action.ALLOCATE: Rule(
        _RESPONDER,
        Role.REQUEST_ALLOCATOR,
        frozenset({State.ACCEPTED, State.ALLOCATED, State.INFORMATION_REQUESTED}),
    ),
    Action.PROPOSE_DATE: Rule(_REQUESTER | _RESPONDER, Role.REQUEST_HANDLER, AWAITING_ANSWER),
    Action.ANSWER: Rule(
        _RESPONDER,
        Role.REQUEST_HANDLER,
        frozenset({State.ACCEPTED, State.ALLOCATED, State.INFORMATION_REQUESTED}),
    ),
    Action.REQUEST_INFO: Rule(_REQUESTER, Role.REQUEST_HANDLER, frozenset({State.ANSWERED})),
    Action.ACCEPT_ANSWER: Rule(_REQUESTER, Role.REQUEST_HANDLER, frozenset({State.ANSWERED})),
    Action.CLOSE: Rule(_REQUESTER, Role.REQUEST_HANDLER, frozenset({State.ANSWER_ACCEPTED})),
    Action.WITHDRAW: Rule(
        _REQUESTER, Role.REQUEST_HANDLER, frozenset({State.DRAFT}) | _BEFORE_ANSWER
    ),
}


def next_state(action: Action, state: State) -> State:
    """Where ``action`` leads from ``state`` (which the rules allow)."""
    if action is Action.ALLOCATE:
        return State.ALLOCATED if state in (State.ACCEPTED, State.ALLOCATED) else state
    if action in (Action.SPLIT, Action.PROPOSE_DATE):
        return state
    return {
        Action.SEND: State.SENT,
        Action.ACCEPT: State.ACCEPTED,
        Action.REJECT: State.REJECTED,
        Action.FORWARD: State.SENT,
        Action.ANSWER: State.ANSWERED,
        Action.REQUEST_INFO: State.INFORMATION_REQUESTED,
        Action.ACCEPT_ANSWER: State.ANSWER_ACCEPTED,
        Action.CLOSE: State.CLOSED,
        Action.WITHDRAW: State.WITHDRAWN,
    }[action]


def _possible(request: InformationRequest, action: Action) -> bool:
    """True when the request's state (and content) lets someone do ``action``."""
    if request.state not in RULES[action].states:
        return False
    if action is Action.SPLIT:
        return len(request.items) >= 2
    return True


def may(actor: Actor, request: InformationRequest, action: Action) -> bool:
    """True when ``actor`` may do ``action`` on ``request`` now."""
    rule = RULES[action]
    side = request.side_of(actor)
    return (
        _possible(request, action)
        and side is not None
        and side in rule.sides
        and actor.holds(rule.role, request.area)
    )


def allowed_actions(actor: Actor, request: InformationRequest) -> list[Action]:
    """The actions the actor may take now: the web client shows exactly these as buttons."""
    return [action for action in Action if may(actor, request, action)]


def authorize(actor: Actor, request: InformationRequest, action: Action) -> None:
    """409 when the state does not allow ``action``, 403 when the actor may not do it."""
    if may(actor, request, action):
        return
    allowed = [a.value for a in allowed_actions(actor, request)]
    extra = {"allowed_actions": allowed, "state": request.state.value}
    if not _possible(request, action):
        raise Conflict(
            f"{action.value} is not possible on a request in state {request.state.value}"
            + (f"; you may: {', '.join(allowed)}" if allowed else ""),
            extra=extra,
        )
    rule = RULES[action]
    raise Forbidden(
        f"{action.value} is for a {rule.role.value} of the "
        f"{' or '.join(sorted(s.value for s in rule.sides))} authority"
        + (f"; you may: {', '.join(allowed)}" if allowed else ""),
        extra=extra,
    )


def may_edit(actor: Actor, request: InformationRequest) -> bool:
    return (
        request.state is State.DRAFT
        and request.side_of(actor) is Side.REQUESTER
        and actor.holds(Role.REQUEST_HANDLER, request.area)
    )


UPLOAD_STATES: Mapping[Side, frozenset[State]] = {
    # the requester attaches to its draft, or to a request for more information
    Side.REQUESTER: frozenset({State.DRAFT, State.ANSWERED}),
    # the responder attaches documents that its answer refers to
    Side.RESPONDER: frozenset({State.ACCEPTED, State.ALLOCATED, State.INFORMATION_REQUESTED}),
}


def may_upload(actor: Actor, request: InformationRequest) -> bool:
    side = request.side_of(actor)
    return (
        side is not None
        and request.state in UPLOAD_STATES[side]
        and actor.holds(Role.REQUEST_HANDLER, request.area)
    )


def authorize_upload(actor: Actor, request: InformationRequest) -> Side:
    side = request.side_of(actor)
    if may_upload(actor, request):
        assert side is not None
        return side
    if request.state not in UPLOAD_STATES[Side.REQUESTER] | UPLOAD_STATES[Side.RESPONDER]:
        raise Conflict(
            f"no attachment can be added to a request in state {request.state.value}",
            extra={"state": request.state.value},
        )
    raise Forbidden(
        "attachments are added by a request handler of the side whose turn it is",
        extra={"state": request.state.value},
    )


# --- who sees what -------------------------------------------------------------------------------


def can_see(actor: Actor, request: InformationRequest) -> bool:
    """Users of the involved authorities, their coordinators and participants; nobody else."""
    if actor.user_id in request.participant_ids:
        return True
    if actor.authority_id is not None and actor.authority_id in request.involved_ids:
        if actor.holds_any(SEEING_ROLES, request.area):
            return True
        if actor.holds(Role.DATA_PROTECTION_ADMINISTRATOR, None):
            return True
    if actor.country is None or actor.country not in request.involved_countries:
        return False
    for role in actor.roles:
        if role.name in (Role.NATIONAL_COORDINATOR, Role.DATA_PROTECTION_ADMINISTRATOR):
            return True
        if role.name == Role.DELEGATED_COORDINATOR:
            area_ok = role.area is None or role.area == request.area
            region_ok = role.region is None or role.region in request.involved_regions
            if area_ok and region_ok:
                return True
    return False


@dataclass(frozen=True)
class VisibilityScope:
    """What an actor sees, as the list query needs it (``can_see`` in set form)."""

    user_id: uuid.UUID
    authority_id: uuid.UUID | None
    # Areas seen through the actor's own authority: None every area, empty nothing.
    authority_areas: frozenset[str] | None
    country: str | None
    whole_country: bool
    delegated: tuple[tuple[str | None, str | None], ...]  # (area, region) per delegation


def visibility_scope(actor: Actor) -> VisibilityScope:
    limited: set[str] = set()
    every_area = False
    for role in actor.roles:
        if role.name == Role.DATA_PROTECTION_ADMINISTRATOR or (
            role.name in SEEING_ROLES and role.area is None
        ):
            every_area = True
        elif role.name in SEEING_ROLES and role.area is not None:
            limited.add(role.area)
    areas: frozenset[str] | None = None if every_area else frozenset(limited)
    return VisibilityScope(
        user_id=actor.user_id,
        authority_id=actor.authority_id,
        authority_areas=areas,
        country=actor.country,
        whole_country=actor.country is not None
        and any(
            r.name in (Role.NATIONAL_COORDINATOR, Role.DATA_PROTECTION_ADMINISTRATOR)
            for r in actor.roles
        ),
        delegated=tuple(
            (r.area, r.region) for r in actor.roles if r.name == Role.DELEGATED_COORDINATOR
        )
        if actor.country is not None
        else (),
    )


class PersonalDataDeleted(DomainError):
    status = 410
    slug = "personal-data-deleted"
    title = "The personal data has been deleted"


def authorize_personal_data(
    actor: Actor, request: InformationRequest, justification: str | None
) -> bool:
    """Whether the actor may read the data subject's personal data now; True when the read is
    one of blocked data (by a data protection administrator with a justification).

    Users of the involved authorities read it while it is not blocked; coordinators follow the
    workflow without it. After blocking only a data protection administrator reads it, and only
    with a justification; after deletion nobody.
    """
    if request.personal_data_deleted_at is not None:
        raise PersonalDataDeleted(
            "the personal data of this request was deleted three years after its formal closure"
        )
    if request.personal_data_blocked_at is not None:
        if not actor.holds(Role.DATA_PROTECTION_ADMINISTRATOR, None):
            raise Forbidden(
                "the personal data of this request is blocked; only a data protection "
                "administrator may read it, with a justification"
            )
        if not (justification or "").strip():
            raise InvalidInput(
                "reading blocked personal data needs a justification",
                field="query.justification",
            )
        return True
    involved = actor.authority_id is not None and actor.authority_id in request.involved_ids
    if actor.holds(Role.DATA_PROTECTION_ADMINISTRATOR, None):
        return False
    if not (involved and actor.holds_any(SEEING_ROLES, request.area)):
        raise Forbidden(
            "personal data is read only by users of the authorities involved in the request"
        )
    return False


def may_read_access_log(actor: Actor, request: InformationRequest) -> bool:
    """The data protection administrator, and the requesting authority's supervisor."""
    if actor.holds(Role.DATA_PROTECTION_ADMINISTRATOR, None):
        return True
    return actor.authority_id == request.requesting.id and actor.holds(
        Role.SUPERVISOR, request.area
    )


def may_read_personal_data(actor: Actor, request: InformationRequest) -> bool:
    try:
        authorize_personal_data(actor, request, "check")
    except DomainError:
        return False
    return True


# --- content -------------------------------------------------------------------------------------


def require_question_keys(
    procedure: ProcedureRule, keys: Sequence[str], field: str, *, at_least_one: bool = True
) -> tuple[str, ...]:
    """The keys in order, each a question of the procedure, none twice."""
    if at_least_one and not keys:
        raise InvalidInput("choose at least one question of the procedure", field=field)
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key not in procedure.questions:
            raise InvalidInput(
                f"{key!r} is not a question of procedure {procedure.key}",
                field=f"{field}[{index}]",
            )
        if key in seen:
            raise InvalidInput(f"question {key!r} is chosen twice", field=f"{field}[{index}]")
        seen.add(key)
    return tuple(keys)


def items_for(procedure: ProcedureRule, keys: Sequence[str]) -> tuple[Item, ...]:
    return tuple(Item(key, procedure.questions[key].personal_data) for key in keys)


def require_future_date(value: date, today: date, field: str) -> date:
    if value <= today:
        raise InvalidInput(
            f"the reply date {value.isoformat()} is not after today ({today.isoformat()})",
            field=field,
        )
    return value


def validate_answer(
    question: QuestionRule,
    answer: Mapping[str, Any],
    field: str,
    *,
    writer_language: str | None,
    documents: frozenset[uuid.UUID],
) -> dict[str, Any]:
    """The answer in the stored (render) shape, or a 422 naming ``field``."""
    kind = question.type
    if kind in (AnswerType.YES_NO, AnswerType.CHOICE):
        option = answer.get("option")
        if set(answer) != {"option"} or not isinstance(option, str):
            raise InvalidInput(f"question {question.key} takes {{'option': key}}", field=field)
        if option not in question.option_keys:
            raise InvalidInput(
                f"{option!r} is not an option of {question.key}; "
                f"expected one of {', '.join(question.option_keys)}",
                field=f"{field}.option",
            )
        return {"option": option}
    if kind is AnswerType.DATE:
        raw = answer.get("date")
        if set(answer) != {"date"} or not isinstance(raw, str):
            raise InvalidInput(
                f"question {question.key} takes {{'date': 'YYYY-MM-DD'}}", field=field
            )
        try:
            parsed = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(f"{raw!r} is not a date", field=f"{field}.date") from None
        return {"date": parsed.isoformat()}
    if kind is AnswerType.DOCUMENT:
        raw = answer.get("document")
        if set(answer) != {"document"} or not isinstance(raw, str):
            raise InvalidInput(
                f"question {question.key} takes {{'document': attachment id}}", field=field
            )
        try:
            document = uuid.UUID(raw)
        except ValueError:
            raise InvalidInput(
                f"{raw!r} is not an attachment id", field=f"{field}.document"
            ) from None
        if document not in documents:
            raise InvalidInput(
                f"attachment {raw} is not an attachment added by your side to this request",
                field=f"{field}.document",
            )
        return {"document": str(document)}
    text = answer.get("text")
    if not set(answer) <= {"text", "language"} or not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            f"question {question.key} takes {{'text': ..., 'language': tag}}", field=field
        )
    if len(text) > MAX_FREE_TEXT:
        raise InvalidInput(f"at most {MAX_FREE_TEXT} characters", field=f"{field}.text")
    raw_language = answer.get("language")
    if raw_language is not None and not isinstance(raw_language, str):
        raise InvalidInput("expected a language tag", field=f"{field}.language")
    language = require_language(raw_language or writer_language, f"{field}.language")
    return {"text": text, "language": language}


@dataclass(frozen=True)
class TextInput:
    text: str
    language: str | None = None


def new_free_texts(
    existing: Sequence[FreeText],
    texts: Sequence[TextInput],
    side: Side,
    actor: Actor,
    now: datetime,
    field: str,
) -> tuple[FreeText, ...]:
    """Free texts written by ``actor``: each keeps its writer's language; ids run on."""
    written: list[FreeText] = []
    number = len(existing)
    for index, given in enumerate(texts):
        if not given.text.strip():
            raise InvalidInput("the text is empty", field=f"{field}[{index}].text")
        if len(given.text) > MAX_FREE_TEXT:
            raise InvalidInput(
                f"at most {MAX_FREE_TEXT} characters", field=f"{field}[{index}].text"
            )
        language = (
            require_language(given.language, f"{field}[{index}].language")
            if given.language
            else require_language(actor.language, f"{field}[{index}].language")
        )
        number += 1
        written.append(FreeText(f"t{number}", given.text, language, side, now, actor.user_id))
    return tuple(written)


def render_content(request: InformationRequest) -> dict[str, Any]:
    """The request's content in the shape of the translation service's ``POST /v1/render``.

    Answers to personal-data questions are not part of it: they are read through the personal
    data, where every read is recorded.
    """
    return {
        "procedure": request.procedure,
        "catalogue_version": request.catalogue_version,
        "items": [
            {
                "question": i.question,
                "answer": dict(i.answer) if i.answer and not i.personal_data else None,
            }
            for i in request.items
        ],
        "free_texts": [
            {"id": t.id, "text": t.text, "language": t.language} for t in request.free_texts
        ],
    }


# --- creating and editing drafts -----------------------------------------------------------------


def require_counterpart(
    target: AuthorityProfile | None,
    procedure: ProcedureRule,
    field: str,
    *,
    excluded: Sequence[uuid.UUID] = (),
    country: str | None = None,
    other_than_country: str | None = None,
) -> AuthorityProfile:
    """An authority a request may go to: known, active, competent for the procedure."""
    if target is None:
        raise InvalidInput("no such authority in the directory", field=field)
    if target.id in excluded:
        raise InvalidInput("the request cannot go to this authority", field=field)
    if target.status != "active":
        raise InvalidInput(f"the authority is {target.status}, not active", field=field)
    if not target.competent_for(procedure.area, procedure.key):
        raise InvalidInput(
            f"the authority is not competent for procedure {procedure.key}", field=field
        )
    if country is not None and target.country != country:
        raise InvalidInput(f"the authority must be one of country {country}", field=field)
    if other_than_country is not None and target.country == other_than_country:
        raise InvalidInput(
            "an information request goes to an authority of another country", field=field
        )
    return target


def new_draft(
    *,
    request_id: uuid.UUID,
    actor: Actor,
    requesting: AuthorityProfile,
    responding: AuthorityProfile | None,
    procedure: ProcedureRule,
    catalogue_version: str,
    question_keys: Sequence[str],
    free_texts: Sequence[TextInput],
    requested_reply_date: date,
    now: datetime,
) -> Outcome:
    """A draft written by a request handler of the requesting authority."""
    if not actor.holds(Role.REQUEST_HANDLER, procedure.area):
        raise Forbidden(f"drafting a request needs the request_handler role for {procedure.area}")
    if requesting.status != "active":
        raise Conflict(f"your authority is {requesting.status}, not active")
    target = require_counterpart(
        responding,
        procedure,
        "body.responding_authority_id",
        excluded=(requesting.id,),
        other_than_country=requesting.country,
    )
    keys = require_question_keys(procedure, question_keys, "body.items")
    require_future_date(requested_reply_date, now.date(), "body.requested_reply_date")
    request = InformationRequest(
        id=request_id,
        state=State.DRAFT,
        version=1,
        procedure=procedure.key,
        area=procedure.area,
        catalogue_version=catalogue_version,
        retention_months=procedure.retention_months,
        requesting=requesting.ref,
        responding=target.ref,
        involved=(requesting.ref,),
        items=items_for(procedure, keys),
        free_texts=new_free_texts((), free_texts, Side.REQUESTER, actor, now, "body.free_texts"),
        requested_reply_date=requested_reply_date,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        participants=(Participant(actor.user_id, actor.authority_id, Side.REQUESTER.value, now),),
    )
    entry = HistoryEntry(
        version=1,
        action=Record.CREATED.value,
        at=now,
        from_state=State.DRAFT,
        to_state=State.DRAFT,
        user_id=actor.user_id,
        authority_id=actor.authority_id,
        details={
            "question_keys": list(keys),
            "responding_authority_id": str(target.id),
            "requested_reply_date": requested_reply_date.isoformat(),
        },
    )
    return Outcome(request, (entry,))


@dataclass(frozen=True)
class DraftChanges:
    """What a PATCH of a draft changes; None leaves a field as it is."""

    catalogue_version: str | None = None
    question_keys: Sequence[str] | None = None
    free_texts: Sequence[TextInput] | None = None
    requested_reply_date: date | None = None
    responding_changed: bool = False
    personal_data_changed: bool = False


def edit_draft(
    actor: Actor,
    request: InformationRequest,
    changes: DraftChanges,
    procedure: ProcedureRule,
    responding: AuthorityProfile | None,
    now: datetime,
) -> Outcome:
    """Change a draft. ``procedure`` and ``responding`` are those the draft has after the change
    (the current ones when unchanged; ``responding`` None when the directory does not know it)."""
    if not may_edit(actor, request):
        allowed = [a.value for a in allowed_actions(actor, request)]
        extra = {"allowed_actions": allowed, "state": request.state.value}
        if request.state is not State.DRAFT:
            raise Conflict("only a draft can be edited", extra=extra)
        raise Forbidden("a draft is edited by a request handler of its authority", extra=extra)
    if not actor.holds(Role.REQUEST_HANDLER, procedure.area):
        raise Forbidden(f"drafting a request needs the request_handler role for {procedure.area}")
    changed: list[str] = []
    updated = request
    procedure_changed = procedure.key != request.procedure or (
        changes.catalogue_version is not None
        and changes.catalogue_version != request.catalogue_version
    )
    if procedure_changed:
        updated = replace(
            updated,
            procedure=procedure.key,
            area=procedure.area,
            retention_months=procedure.retention_months,
            catalogue_version=changes.catalogue_version or request.catalogue_version,
        )
        changed.append("procedure")
    keys = changes.question_keys
    if keys is None and procedure_changed:
        keys = request.question_keys
    if keys is not None:
        chosen = require_question_keys(procedure, keys, "body.items")
        updated = replace(updated, items=items_for(procedure, chosen))
        if changes.question_keys is not None:
            changed.append("items")
    if changes.responding_changed or procedure_changed:
        target = require_counterpart(
            responding,
            procedure,
            "body.responding_authority_id" if changes.responding_changed else "body.procedure",
            excluded=(request.requesting.id,),
            other_than_country=request.requesting.country,
        )
        updated = replace(updated, responding=target.ref)
        if changes.responding_changed:
            changed.append("responding_authority_id")
    if changes.free_texts is not None:
        updated = replace(
            updated,
            free_texts=new_free_texts(
                (), changes.free_texts, Side.REQUESTER, actor, now, "body.free_texts"
            ),
        )
        changed.append("free_texts")
    if changes.requested_reply_date is not None:
        require_future_date(changes.requested_reply_date, now.date(), "body.requested_reply_date")
        updated = replace(updated, requested_reply_date=changes.requested_reply_date)
        changed.append("requested_reply_date")
    if changes.personal_data_changed:
        changed.append("data_subject")
    if not changed:
        raise InvalidInput("nothing to change", field="body")
    updated = replace(updated, version=request.version + 1, updated_at=now, last_activity_at=now)
    entry = HistoryEntry(
        version=updated.version,
        action=Record.EDITED.value,
        at=now,
        from_state=State.DRAFT,
        to_state=State.DRAFT,
        user_id=actor.user_id,
        authority_id=actor.authority_id,
        details={
            "fields": changed,
            "question_keys": list(updated.question_keys),
            "responding_authority_id": str(updated.responding.id),
        },
    )
    return Outcome(updated, (entry,))


# --- transitions ---------------------------------------------------------------------------------


def _with_participant(
    participants: tuple[Participant, ...],
    user_id: uuid.UUID,
    authority_id: uuid.UUID | None,
    role: str,
    now: datetime,
) -> tuple[Participant, ...]:
    if any(p.user_id == user_id and p.role == role for p in participants):
        return participants
    return (*participants, Participant(user_id, authority_id, role, now))


def _involve(involved: tuple[AuthorityRef, ...], *refs: AuthorityRef) -> tuple[AuthorityRef, ...]:
    known = {a.id for a in involved}
    added = list(involved)
    for ref in refs:
        if ref.id not in known:
            added.append(ref)
            known.add(ref.id)
    return tuple(added)


def _transition(
    actor: Actor,
    request: InformationRequest,
    action: Action,
    now: datetime,
    details: Mapping[str, Any] | None = None,
    **changes: Any,
) -> tuple[InformationRequest, HistoryEntry]:
    """Authorize, move to the next state, count the version, record the history entry."""
    authorize(actor, request, action)
    side = request.side_of(actor)
    assert side is not None
    target = next_state(action, request.state)
    updated = replace(
        request,
        state=target,
        version=request.version + 1,
        updated_at=now,
        last_activity_at=now,
        idle_escalated_at=None,
        participants=_with_participant(
            request.participants, actor.user_id, actor.authority_id, side, now
        ),
        **changes,
    )
    entry = HistoryEntry(
        version=updated.version,
        action=action.value,
        at=now,
        from_state=request.state,
        to_state=target,
        user_id=actor.user_id,
        authority_id=actor.authority_id,
        details=dict(details or {}),
    )
    return updated, entry


_RESET_REPLY_DEADLINE: Mapping[str, Any] = {
    "reply_reminded_at": None,
    "reply_overdue_at": None,
    "overdue_escalated_at": None,
}
_RESET_ACCEPTANCE_DEADLINE: Mapping[str, Any] = {
    "acceptance_reminded_at": None,
    "acceptance_overdue_at": None,
}


def send(
    actor: Actor, request: InformationRequest, now: datetime, policy: DeadlinePolicy
) -> Outcome:
    authorize(actor, request, Action.SEND)
    if request.requested_reply_date is None:
        raise InvalidInput("a reply date is needed to send", field="requested_reply_date")
    require_future_date(request.requested_reply_date, now.date(), "requested_reply_date")
    reply_by = request.requested_reply_date
    updated, entry = _transition(
        actor,
        request,
        Action.SEND,
        now,
        {"reply_by": reply_by.isoformat(), "responding_authority_id": str(request.responding.id)},
        sent_at=now,
        received_at=now,
        reply_by=reply_by,
        reply_date_agreed=False,
        date_proposal=DateProposal(reply_by, Side.REQUESTER, now),
        involved=_involve(request.involved, request.responding),
        **_RESET_ACCEPTANCE_DEADLINE,
        **_RESET_REPLY_DEADLINE,
    )
    return Outcome(updated, (entry,), (sent_happened(updated, policy),))


def sent_happened(request: InformationRequest, policy: DeadlinePolicy) -> Happened:
    due = acceptance_due_at(request, policy)
    assert due is not None
    return Happened(
        "sent",
        request,
        {
            "question_keys": request.question_keys,
            "free_text_languages": tuple(dict.fromkeys(t.language for t in request.free_texts)),
            "acceptance_due_at": due,
            "split_from": request.split_from,
        },
    )


def accept(actor: Actor, request: InformationRequest, now: datetime) -> Outcome:
    updated, entry = _transition(actor, request, Action.ACCEPT, now, accepted_at=now)
    return Outcome(updated, (entry,), (Happened("accepted", updated),))


def _require_reason(reason: str, field: str) -> str:
    if not reason.strip():
        raise InvalidInput("give a reason", field=field)
    return reason.strip()


def reject(actor: Actor, request: InformationRequest, reason: str, now: datetime) -> Outcome:
    authorize(actor, request, Action.REJECT)
    reason = _require_reason(reason, "body.reason")
    updated, entry = _transition(
        actor, request, Action.REJECT, now, {"reason": reason}, formal_closure_at=now
    )
    return Outcome(updated, (entry,), (Happened("rejected", updated, {"reason": reason}),))


def forward(
    actor: Actor,
    request: InformationRequest,
    target: AuthorityProfile | None,
    procedure: ProcedureRule,
    reason: str | None,
    now: datetime,
    policy: DeadlinePolicy,
) -> Outcome:
    """To another authority of the responding authority's country; acceptance starts again."""
    authorize(actor, request, Action.FORWARD)
    chosen = require_counterpart(
        target,
        procedure,
        "body.authority_id",
        excluded=(request.responding.id, request.requesting.id),
        country=request.responding.country,
    )
    previous = request.responding
    reason = reason.strip() if reason and reason.strip() else None
    updated, entry = _transition(
        actor,
        request,
        Action.FORWARD,
        now,
        {
            "from_authority_id": str(previous.id),
            "to_authority_id": str(chosen.id),
            **({"reason": reason} if reason else {}),
        },
        responding=chosen.ref,
        involved=_involve(request.involved, chosen.ref),
        received_at=now,
        accepted_at=None,
        handler_user_id=None,
        **_RESET_ACCEPTANCE_DEADLINE,
    )
    due = acceptance_due_at(updated, policy)
    return Outcome(
        updated,
        (entry,),
        (
            Happened(
                "forwarded",
                updated,
                {
                    "from_authority_id": previous.id,
                    "to_authority_id": chosen.id,
                    "reason": reason,
                    "acceptance_due_at": due,
                },
            ),
        ),
    )


def split(
    actor: Actor,
    request: InformationRequest,
    target: AuthorityProfile | None,
    procedure: ProcedureRule,
    question_keys: Sequence[str],
    new_request_id: uuid.UUID,
    now: datetime,
    policy: DeadlinePolicy,
) -> Outcome:
    """Move some questions into a new request, sent at once to another authority of the
    responding authority's country; the requester, the new responder and the splitting
    authority see the new request."""
    authorize(actor, request, Action.SPLIT)
    chosen = require_counterpart(
        target,
        procedure,
        "body.authority_id",
        excluded=(request.responding.id, request.requesting.id),
        country=request.responding.country,
    )
    if not question_keys:
        raise InvalidInput("choose the questions to move", field="body.questions")
    asked = set(request.question_keys)
    moved: list[str] = []
    for index, key in enumerate(question_keys):
        if key not in asked:
            raise InvalidInput(
                f"{key!r} is not a question of this request", field=f"body.questions[{index}]"
            )
        if key in moved:
            raise InvalidInput(f"{key!r} is given twice", field=f"body.questions[{index}]")
        moved.append(key)
    if len(moved) == len(request.items):
        raise InvalidInput(
            "at least one question must stay; to pass every question on, forward the request",
            field="body.questions",
        )
    kept = tuple(i for i in request.items if i.question not in moved)
    moved_items = tuple(
        Item(i.question, i.personal_data) for i in request.items if i.question in moved
    )
    updated, entry = _transition(
        actor,
        request,
        Action.SPLIT,
        now,
        {
            "new_request_id": str(new_request_id),
            "to_authority_id": str(chosen.id),
            "moved_question_keys": moved,
        },
        items=kept,
    )
    requester_texts = tuple(t for t in request.free_texts if t.side is Side.REQUESTER)
    new = InformationRequest(
        id=new_request_id,
        state=State.SENT,
        version=2,
        procedure=request.procedure,
        area=request.area,
        catalogue_version=request.catalogue_version,
        retention_months=request.retention_months,
        requesting=request.requesting,
        responding=chosen.ref,
        involved=(request.requesting, chosen.ref, request.responding),
        items=moved_items,
        free_texts=requester_texts,
        requested_reply_date=request.requested_reply_date,
        created_by=request.created_by,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        reply_by=request.reply_by,
        reply_date_agreed=request.reply_date_agreed,
        date_proposal=request.date_proposal,
        participants=(Participant(actor.user_id, actor.authority_id, "splitter", now),),
        sent_at=now,
        received_at=now,
        split_from=request.id,
    )
    created = HistoryEntry(
        version=1,
        action=Record.CREATED.value,
        at=now,
        from_state=State.DRAFT,
        to_state=State.DRAFT,
        user_id=actor.user_id,
        authority_id=actor.authority_id,
        details={"split_from": str(request.id), "question_keys": moved},
    )
    sent_entry = HistoryEntry(
        version=2,
        action=Action.SEND.value,
        at=now,
        from_state=State.DRAFT,
        to_state=State.SENT,
        user_id=actor.user_id,
        authority_id=actor.authority_id,
        details={
            "reply_by": new.reply_by.isoformat() if new.reply_by else None,
            "responding_authority_id": str(chosen.id),
            "split_from": str(request.id),
        },
    )
    return Outcome(
        updated,
        (entry,),
        (
            Happened(
                "split",
                updated,
                {
                    "new_request_id": new_request_id,
                    "to_authority_id": chosen.id,
                    "to_country": chosen.country,
                    "moved_question_keys": tuple(moved),
                },
            ),
            sent_happened(new, policy),
        ),
        new_request=new,
        new_entries=(created, sent_entry),
    )


def allocate(
    actor: Actor, request: InformationRequest, handler: UserProfile | None, now: datetime
) -> Outcome:
    """To a request handler of the responding authority for the request's area."""
    authorize(actor, request, Action.ALLOCATE)
    field_name = "body.handler_user_id"
    if handler is None:
        raise InvalidInput("no such user in the directory", field=field_name)
    if not handler.active:
        raise InvalidInput("the user is not active", field=field_name)
    if handler.authority_id != request.responding.id:
        raise InvalidInput("the user is not of the responding authority", field=field_name)
    if not handler.holds(Role.REQUEST_HANDLER, request.area):
        raise InvalidInput(
            f"the user is not a request handler for {request.area}", field=field_name
        )
    updated, entry = _transition(
        actor,
        request,
        Action.ALLOCATE,
        now,
        {"handler_user_id": str(handler.id)},
        handler_user_id=handler.id,
    )
    updated = replace(
        updated,
        participants=_with_participant(
            updated.participants, handler.id, handler.authority_id, "handler", now
        ),
    )
    return Outcome(
        updated, (entry,), (Happened("allocated", updated, {"handler_user_id": handler.id}),)
    )


def propose_date(
    actor: Actor,
    request: InformationRequest,
    proposed: date | None,
    accept_pending: bool,
    now: datetime,
) -> Outcome:
    """Propose a reply date, or accept the other side's pending proposal."""
    authorize(actor, request, Action.PROPOSE_DATE)
    side = request.side_of(actor)
    assert side is not None
    if (proposed is None) == (not accept_pending):
        raise InvalidInput(
            'give either {"date": "YYYY-MM-DD"} to propose or {"accept": true} to accept '
            "the pending proposal",
            field="body",
        )
    if accept_pending:
        pending = request.date_proposal
        if pending is None or pending.side is side:
            raise Conflict(
                "there is no date proposed by the other side to accept",
                extra={"allowed_actions": [a.value for a in allowed_actions(actor, request)]},
            )
        if pending.date <= now.date():
            raise InvalidInput(
                f"the proposed date {pending.date.isoformat()} has passed; propose another",
                field="body.accept",
            )
        updated, entry = _transition(
            actor,
            request,
            Action.PROPOSE_DATE,
            now,
            {
                "accepted": True,
                "agreed_date": pending.date.isoformat(),
                "proposed_by": pending.side,
            },
            reply_by=pending.date,
            reply_date_agreed=True,
            date_proposal=None,
            **_RESET_REPLY_DEADLINE,
        )
        return Outcome(
            updated,
            (entry,),
            (
                Happened(
                    "date_agreed",
                    updated,
                    {"agreed_date": pending.date, "proposed_by": pending.side.value},
                ),
            ),
        )
    assert proposed is not None
    require_future_date(proposed, now.date(), "body.date")
    updated, entry = _transition(
        actor,
        request,
        Action.PROPOSE_DATE,
        now,
        {"proposed_date": proposed.isoformat(), "proposed_by": side.value},
        date_proposal=DateProposal(proposed, side, now),
    )
    return Outcome(
        updated,
        (entry,),
        (
            Happened(
                "date_proposed", updated, {"proposed_date": proposed, "proposed_by": side.value}
            ),
        ),
    )


@dataclass(frozen=True)
class AnswerInput:
    question: str
    answer: Mapping[str, Any]


def answer(
    actor: Actor,
    request: InformationRequest,
    procedure: ProcedureRule,
    answers: Sequence[AnswerInput],
    texts: Sequence[TextInput],
    documents: frozenset[uuid.UUID],
    now: datetime,
) -> Outcome:
    """Answers to asked questions only; a question answered again gets the newer answer."""
    authorize(actor, request, Action.ANSWER)
    if not answers and not texts:
        raise InvalidInput("answer at least one question or write a text", field="body.answers")
    asked = {i.question: i for i in request.items}
    given: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(answers):
        field_name = f"body.answers[{index}]"
        if item.question not in asked:
            raise InvalidInput(
                f"{item.question!r} is not a question of this request",
                field=f"{field_name}.question",
            )
        if item.question in given:
            raise InvalidInput(
                f"{item.question!r} is answered twice", field=f"{field_name}.question"
            )
        rule = procedure.questions.get(item.question)
        if rule is None:  # the catalogue version lost it: cannot happen for a stored request
            raise InvalidInput("unknown question", field=f"{field_name}.question")
        given[item.question] = validate_answer(
            rule,
            item.answer,
            f"{field_name}.answer",
            writer_language=language_tag(actor.language),
            documents=documents,
        )
    items = tuple(
        replace(i, answer=given[i.question], answered_at=now) if i.question in given else i
        for i in request.items
    )
    added = new_free_texts(request.free_texts, texts, Side.RESPONDER, actor, now, "body.free_texts")
    on_time = request.reply_by is None or now.date() <= request.reply_by
    updated, entry = _transition(
        actor,
        request,
        Action.ANSWER,
        now,
        {
            "answered_question_keys": list(given),
            "free_text_ids": [t.id for t in added],
            "on_time": on_time,
        },
        items=items,
        free_texts=(*request.free_texts, *added),
        answered_at=now,
        first_answered_at=request.first_answered_at or now,
        **_RESET_REPLY_DEADLINE,
    )
    return Outcome(
        updated,
        (entry,),
        (
            Happened(
                "answered",
                updated,
                {"answered_question_keys": tuple(given), "on_time": on_time},
            ),
        ),
    )


def request_information(
    actor: Actor,
    request: InformationRequest,
    procedure: ProcedureRule,
    text: TextInput,
    added_questions: Sequence[str],
    reply_by: date | None,
    now: datetime,
) -> Outcome:
    """Ask for more after an answer: a text, perhaps more questions, perhaps a new reply date."""
    authorize(actor, request, Action.REQUEST_INFO)
    keys = require_question_keys(procedure, added_questions, "body.questions", at_least_one=False)
    for index, key in enumerate(keys):
        if key in request.question_keys:
            raise InvalidInput(f"{key!r} is asked already", field=f"body.questions[{index}]")
    written = new_free_texts(request.free_texts, [text], Side.REQUESTER, actor, now, "body.texts")
    changes: dict[str, Any] = dict(_RESET_REPLY_DEADLINE)
    if reply_by is not None:
        require_future_date(reply_by, now.date(), "body.reply_by")
        changes.update(
            reply_by=reply_by,
            reply_date_agreed=False,
            date_proposal=DateProposal(reply_by, Side.REQUESTER, now),
        )
    updated, entry = _transition(
        actor,
        request,
        Action.REQUEST_INFO,
        now,
        {
            "added_question_keys": list(keys),
            "free_text_ids": [t.id for t in written],
            **({"reply_by": reply_by.isoformat()} if reply_by else {}),
        },
        items=(*request.items, *items_for(procedure, keys)),
        free_texts=(*request.free_texts, *written),
        **changes,
    )
    return Outcome(
        updated,
        (entry,),
        (Happened("information_requested", updated, {"added_question_keys": keys}),),
    )


def accept_answer(
    actor: Actor, request: InformationRequest, rating: Rating, now: datetime
) -> Outcome:
    authorize(actor, request, Action.ACCEPT_ANSWER)
    for name, value in (("timeliness", rating.timeliness), ("effort", rating.effort)):
        if value not in RATING_RANGE:
            raise InvalidInput("a rating runs from 1 to 5", field=f"body.{name}")
    updated, entry = _transition(
        actor,
        request,
        Action.ACCEPT_ANSWER,
        now,
        {"timeliness": rating.timeliness, "effort": rating.effort},
        rating=rating,
        answer_accepted_at=now,
    )
    return Outcome(
        updated,
        (entry,),
        (
            Happened(
                "answer_accepted",
                updated,
                {
                    "timeliness": rating.timeliness,
                    "effort": rating.effort,
                    "negative": rating.negative,
                },
            ),
        ),
    )


def close(actor: Actor, request: InformationRequest, now: datetime) -> Outcome:
    """Formal closure: the retention periods of the personal data start."""
    updated, entry = _transition(actor, request, Action.CLOSE, now, formal_closure_at=now)
    return Outcome(updated, (entry,), (Happened("closed", updated, {"formal_closure_at": now}),))


def withdraw(actor: Actor, request: InformationRequest, reason: str, now: datetime) -> Outcome:
    authorize(actor, request, Action.WITHDRAW)
    reason = _require_reason(reason, "body.reason")
    updated, entry = _transition(
        actor, request, Action.WITHDRAW, now, {"reason": reason}, formal_closure_at=now
    )
    return Outcome(updated, (entry,), (Happened("withdrawn", updated, {"reason": reason}),))


# --- deadlines -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlinePolicy:
    acceptance_days: int = 7
    acceptance_reminder_days: int = 2  # before the acceptance deadline
    reply_reminder_days: int = 3  # before the agreed reply date
    escalation_grace_days: int = 0  # after the reply date has passed
    idle_months: int = 2


class DeadlineKind(StrEnum):
    ACCEPTANCE = "acceptance"
    REPLY = "reply"
    IDLE = "idle"


class StepKind(StrEnum):
    REMIND = "reminded"
    OVERDUE = "overdue"
    ESCALATE = "escalated"


@dataclass(frozen=True)
class DeadlineStep:
    kind: StepKind
    deadline: DeadlineKind
    at: datetime  # when the step is due
    due_at: datetime  # the deadline it is about


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later; the last day of the month when it has fewer."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def acceptance_due_at(request: InformationRequest, policy: DeadlinePolicy) -> datetime | None:
    if request.state is not State.SENT or request.received_at is None:
        return None
    return request.received_at + timedelta(days=policy.acceptance_days)


def reply_due_at(request: InformationRequest) -> datetime | None:
    """The reply is late from the start of the day after the reply date (UTC)."""
    if request.state not in AWAITING_ANSWER or request.reply_by is None:
        return None
    return start_of_day(request.reply_by + timedelta(days=1))


def idle_due_at(request: InformationRequest, policy: DeadlinePolicy) -> datetime | None:
    if request.state not in OPEN_STATES:
        return None
    return add_months(request.last_activity_at, policy.idle_months)


def pending_steps(request: InformationRequest, policy: DeadlinePolicy) -> list[DeadlineStep]:
    """Every deadline step not taken yet, with the moment it becomes due."""
    steps: list[DeadlineStep] = []
    acceptance = acceptance_due_at(request, policy)
    if acceptance is not None:
        if request.acceptance_reminded_at is None:
            steps.append(
                DeadlineStep(
                    StepKind.REMIND,
                    DeadlineKind.ACCEPTANCE,
                    acceptance - timedelta(days=policy.acceptance_reminder_days),
                    acceptance,
                )
            )
        if request.acceptance_overdue_at is None:
            steps.append(
                DeadlineStep(StepKind.OVERDUE, DeadlineKind.ACCEPTANCE, acceptance, acceptance)
            )
    reply = reply_due_at(request)
    if reply is not None:
        assert request.reply_by is not None
        if request.reply_reminded_at is None:
            steps.append(
                DeadlineStep(
                    StepKind.REMIND,
                    DeadlineKind.REPLY,
                    start_of_day(request.reply_by - timedelta(days=policy.reply_reminder_days)),
                    reply,
                )
            )
        if request.reply_overdue_at is None:
            steps.append(DeadlineStep(StepKind.OVERDUE, DeadlineKind.REPLY, reply, reply))
        if request.overdue_escalated_at is None:
            steps.append(
                DeadlineStep(
                    StepKind.ESCALATE,
                    DeadlineKind.REPLY,
                    reply + timedelta(days=policy.escalation_grace_days),
                    reply,
                )
            )
    idle = idle_due_at(request, policy)
    if idle is not None and request.idle_escalated_at is None:
        steps.append(DeadlineStep(StepKind.ESCALATE, DeadlineKind.IDLE, idle, idle))
    return steps


def next_deadline_at(request: InformationRequest, policy: DeadlinePolicy) -> datetime | None:
    """When the deadline job has something to do for this request next."""
    return min((s.at for s in pending_steps(request, policy)), default=None)


def is_overdue(request: InformationRequest) -> bool:
    if request.state is State.SENT and request.acceptance_overdue_at is not None:
        return True
    return request.state in AWAITING_ANSWER and request.reply_overdue_at is not None


_STEP_FLAGS: Mapping[tuple[StepKind, DeadlineKind], str] = {
    (StepKind.REMIND, DeadlineKind.ACCEPTANCE): "acceptance_reminded_at",
    (StepKind.OVERDUE, DeadlineKind.ACCEPTANCE): "acceptance_overdue_at",
    (StepKind.REMIND, DeadlineKind.REPLY): "reply_reminded_at",
    (StepKind.OVERDUE, DeadlineKind.REPLY): "reply_overdue_at",
    (StepKind.ESCALATE, DeadlineKind.REPLY): "overdue_escalated_at",
    (StepKind.ESCALATE, DeadlineKind.IDLE): "idle_escalated_at",
}


def apply_deadlines(
    request: InformationRequest,
    now: datetime,
    policy: DeadlinePolicy,
    coordinators: Sequence[UserProfile] = (),
) -> Outcome:
    """Take every due step: a reminder whose deadline has passed already is skipped silently;
    an escalation makes the responding country's national coordinators participants."""
    due = [s for s in pending_steps(request, policy) if s.at <= now]
    updated = request
    entries: list[HistoryEntry] = []
    happened: list[Happened] = []
    for step in sorted(due, key=lambda s: (s.at, list(StepKind).index(s.kind))):
        flag: dict[str, Any] = {_STEP_FLAGS[(step.kind, step.deadline)]: now}
        updated = replace(updated, **flag)
        if step.kind is StepKind.REMIND and step.due_at <= now:
            continue
        fields: dict[str, Any]
        if step.kind is StepKind.ESCALATE:
            participants = updated.participants
            for coordinator in coordinators:
                participants = _with_participant(
                    participants, coordinator.id, coordinator.authority_id, "coordinator", now
                )
            updated = replace(updated, participants=participants)
            fields = {
                "reason": "reply_overdue" if step.deadline is DeadlineKind.REPLY else "idle",
                "coordinator_user_ids": tuple(c.id for c in coordinators),
                "coordinator_country": request.responding.country,
            }
        else:
            fields = {"deadline": step.deadline.value, "due_at": step.due_at}
        record = {
            StepKind.REMIND: Record.REMINDED,
            StepKind.OVERDUE: Record.OVERDUE,
            StepKind.ESCALATE: Record.ESCALATED,
        }[step.kind]
        entries.append(
            HistoryEntry(
                version=updated.version,
                action=record.value,
                at=now,
                from_state=updated.state,
                to_state=updated.state,
                details={k: _plain(v) for k, v in fields.items()},
            )
        )
        happened.append(Happened(step.kind.value, updated, fields))
    # every event of one run describes the request as the run leaves it
    happened = [replace(h, request=updated) for h in happened]
    return Outcome(updated, tuple(entries), tuple(happened))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


# --- retention of personal data ------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPolicy:
    deletion_months: int = 36


class RetentionStep(StrEnum):
    BLOCK = "personal_data_blocked"
    DELETE = "personal_data_deleted"


def blocking_due_at(request: InformationRequest) -> datetime | None:
    if request.formal_closure_at is None:
        return None
    return add_months(request.formal_closure_at, request.retention_months)


def deletion_due_at(request: InformationRequest, policy: RetentionPolicy) -> datetime | None:
    if request.formal_closure_at is None:
        return None
    return add_months(request.formal_closure_at, policy.deletion_months)


def next_retention_at(request: InformationRequest, policy: RetentionPolicy) -> datetime | None:
    if request.personal_data_blocked_at is None:
        return blocking_due_at(request)
    if request.personal_data_deleted_at is None:
        return deletion_due_at(request, policy)
    return None


def apply_retention(
    request: InformationRequest, now: datetime, policy: RetentionPolicy
) -> tuple[InformationRequest, list[RetentionStep], list[HistoryEntry]]:
    """Block, then delete, whatever is due; the caller removes the data itself."""
    steps: list[RetentionStep] = []
    updated = request
    blocking = blocking_due_at(request)
    if request.personal_data_blocked_at is None and blocking is not None and blocking <= now:
        updated = replace(updated, personal_data_blocked_at=now)
        steps.append(RetentionStep.BLOCK)
    deletion = deletion_due_at(request, policy)
    if (
        updated.personal_data_blocked_at is not None
        and updated.personal_data_deleted_at is None
        and deletion is not None
        and deletion <= now
    ):
        updated = replace(updated, personal_data_deleted_at=now, free_texts=())
        steps.append(RetentionStep.DELETE)
    entries = [
        HistoryEntry(
            version=updated.version,
            action=step.value,
            at=now,
            from_state=updated.state,
            to_state=updated.state,
        )
        for step in steps
    ]
    return updated, steps, entries


# --- replaying the history -----------------------------------------------------------------------


@dataclass(frozen=True)
class Replayed:
    """What a request's history says its current state is."""

    state: State
    version: int
    responding_authority_id: uuid.UUID | None
    reply_by: date | None
    handler_user_id: uuid.UUID | None
    question_keys: tuple[str, ...]


_ACTIONS = frozenset(a.value for a in Action)


class HistoryMismatch(ValueError):
    """The history does not replay to a valid sequence of transitions."""


def replay(entries: Sequence[HistoryEntry]) -> Replayed:
    """Fold the history from the creation of the draft through the transition rules.

    Each transition must be allowed from the state the replay has reached and lead where the
    rules lead; entries that are no transitions must leave the state as it is.
    """
    state = State.DRAFT
    version = 0
    responding: uuid.UUID | None = None
    reply_by: date | None = None
    handler: uuid.UUID | None = None
    keys: tuple[str, ...] = ()
    for position, entry in enumerate(entries):
        if entry.from_state is not state:
            raise HistoryMismatch(
                f"entry {position} ({entry.action}) starts from {entry.from_state}, "
                f"the replay is at {state}"
            )
        details = entry.details
        if entry.action in _ACTIONS:
            action = Action(entry.action)
            if state not in RULES[action].states:
                raise HistoryMismatch(f"entry {position}: {action} is not allowed in {state}")
            expected = next_state(action, state)
            if entry.to_state is not expected:
                raise HistoryMismatch(
                    f"entry {position}: {action} leads to {expected}, not {entry.to_state}"
                )
            if action is Action.SEND:
                reply_by = _date(details.get("reply_by"))
                responding = _uuid(details.get("responding_authority_id")) or responding
            elif action is Action.FORWARD:
                responding = _uuid(details.get("to_authority_id"))
                handler = None
            elif action is Action.ALLOCATE:
                handler = _uuid(details.get("handler_user_id"))
            elif action is Action.PROPOSE_DATE and details.get("accepted"):
                reply_by = _date(details.get("agreed_date"))
            elif action is Action.REQUEST_INFO:
                keys = (*keys, *details.get("added_question_keys", ()))
                reply_by = _date(details.get("reply_by")) or reply_by
            elif action is Action.SPLIT:
                moved = set(details.get("moved_question_keys", ()))
                keys = tuple(k for k in keys if k not in moved)
            state = expected
            version = entry.version
        elif entry.action in (Record.CREATED, Record.EDITED):
            if entry.to_state is not State.DRAFT:
                raise HistoryMismatch(f"entry {position}: {entry.action} outside a draft")
            keys = tuple(details.get("question_keys", keys))
            responding = _uuid(details.get("responding_authority_id")) or responding
            version = entry.version
        elif entry.to_state is not state:
            raise HistoryMismatch(f"entry {position}: {entry.action} changed the state")
    return Replayed(state, version, responding, reply_by, handler, keys)


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None
