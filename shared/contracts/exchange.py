"""Events of the exchange service: the life of one-to-one information requests.

Every event carries what the gateway needs to notify people and what a national system needs to
follow a request without asking: the request id and version, its state, procedure and area, the
requesting and responding authorities with their countries, every authority that may see the
request, the users taking part, the reply date, who acted and when. No event carries personal
data of the data subject: that stays in the exchange service's database.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from shared.contracts import Event

Side = Literal["requester", "responder"]
Deadline = Literal["acceptance", "reply"]
EscalationReason = Literal["reply_overdue", "idle"]


class RequestEvent(Event):
    """What every ``exchange.request.*`` event carries."""

    request_id: uuid.UUID
    version: int
    state: str
    procedure: str
    area: str
    catalogue_version: str
    requesting_authority_id: uuid.UUID
    requesting_country: str
    responding_authority_id: uuid.UUID
    responding_country: str
    # Every authority whose users may see the request (requesting, responding, earlier
    # responders after a forward, the splitting authority of a split request).
    visible_authority_ids: tuple[uuid.UUID, ...]
    visible_countries: tuple[str, ...] = ()
    participant_user_ids: tuple[uuid.UUID, ...] = ()
    reply_by: date | None = None
    acting_user_id: uuid.UUID | None = None  # None when a periodic job acted
    occurred_at: datetime


class RequestSent(RequestEvent):
    """A request reached its responding authority (also the new request of a split)."""

    type = "exchange.request.sent"

    question_keys: tuple[str, ...]
    free_text_languages: tuple[str, ...] = ()
    acceptance_due_at: datetime
    split_from: uuid.UUID | None = None


class RequestAccepted(RequestEvent):
    type = "exchange.request.accepted"


class RequestRejected(RequestEvent):
    type = "exchange.request.rejected"

    reason: str


class RequestForwarded(RequestEvent):
    """The responding authority passed the request to another authority of its country."""

    type = "exchange.request.forwarded"

    from_authority_id: uuid.UUID
    to_authority_id: uuid.UUID
    reason: str | None = None
    acceptance_due_at: datetime


class RequestSplit(RequestEvent):
    """Part of the questions moved into a new request to another authority."""

    type = "exchange.request.split"

    new_request_id: uuid.UUID
    to_authority_id: uuid.UUID
    to_country: str
    moved_question_keys: tuple[str, ...]


class RequestAllocated(RequestEvent):
    type = "exchange.request.allocated"

    handler_user_id: uuid.UUID


class RequestDateProposed(RequestEvent):
    type = "exchange.request.date_proposed"

    proposed_date: date
    proposed_by: Side


class RequestDateAgreed(RequestEvent):
    type = "exchange.request.date_agreed"

    agreed_date: date
    proposed_by: Side


class RequestAnswered(RequestEvent):
    type = "exchange.request.answered"

    answered_question_keys: tuple[str, ...]
    on_time: bool


class RequestInformationRequested(RequestEvent):
    """The requester asked for more information after an answer."""

    type = "exchange.request.information_requested"

    added_question_keys: tuple[str, ...] = ()


class RequestAnswerAccepted(RequestEvent):
    type = "exchange.request.answer_accepted"

    timeliness: int  # 1 (very poor) to 5 (very good)
    effort: int
    negative: bool


class RequestClosed(RequestEvent):
    """Formal closure: the retention periods of the personal data run from here."""

    type = "exchange.request.closed"

    formal_closure_at: datetime


class RequestWithdrawn(RequestEvent):
    type = "exchange.request.withdrawn"

    reason: str


class RequestReminded(RequestEvent):
    """A deadline comes close: acceptance (7 days after receipt) or the agreed reply date."""

    type = "exchange.request.reminded"

    deadline: Deadline
    due_at: datetime


class RequestOverdue(RequestEvent):
    type = "exchange.request.overdue"

    deadline: Deadline
    due_at: datetime


class RequestEscalated(RequestEvent):
    """The responding country's national coordinators were made participants and told."""

    type = "exchange.request.escalated"

    reason: EscalationReason
    coordinator_user_ids: tuple[uuid.UUID, ...]
    coordinator_country: str


class PersonalDataBlocked(RequestEvent):
    """The data subject's personal data is now visible only to data protection administrators."""

    type = "exchange.request.personal_data_blocked"

    formal_closure_at: datetime


class PersonalDataDeleted(RequestEvent):
    """The personal data is gone; the request keeps its non-personal shell."""

    type = "exchange.request.personal_data_deleted"

    formal_closure_at: datetime


REQUEST_EVENTS: tuple[type[RequestEvent], ...] = (
    RequestSent,
    RequestAccepted,
    RequestRejected,
    RequestForwarded,
    RequestSplit,
    RequestAllocated,
    RequestDateProposed,
    RequestDateAgreed,
    RequestAnswered,
    RequestInformationRequested,
    RequestAnswerAccepted,
    RequestClosed,
    RequestWithdrawn,
    RequestReminded,
    RequestOverdue,
    RequestEscalated,
    PersonalDataBlocked,
    PersonalDataDeleted,
)
