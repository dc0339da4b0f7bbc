"""Contracts of national IT systems on the broker: commands in, replies and events out.

A national system publishes a command on ``imi.inbound`` with routing key
``<country>.<command>`` (``de.request.accept``), the JSON body one of the models below, a
``message_id`` (a duplicate gets the same reply and has no second effect), a ``reply_to`` queue
and a ``correlation_id``; the broker stamps and checks ``user_id`` (``imi-national-<country>``).
Exactly one ``Reply`` comes back on ``reply_to`` with the same ``correlation_id``. Events for an
authority go out on ``imi.outbound`` with routing key ``<country>.<authority id>.<event type>``.

Versions: ``contract`` is ``major.minor``. Within a major version changes are additive only (new
optional fields, new commands, new events); a receiver accepts any minor version of its major
and ignores fields it does not know in replies and events. A command of another major version is
rejected with ``unsupported-contract``. ``tests/national/test_contracts.py`` holds the rule.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTRACT_VERSION = "1.0"
INBOUND = "imi.inbound"
OUTBOUND = "imi.outbound"
NATIONAL_USER_PREFIX = "imi-national-"
REPLY_TYPE = "imi.national.reply"
OUTBOUND_TYPE = "imi.national.event"


def major(version: str) -> str:
    return version.split(".", 1)[0]


class Command(BaseModel):
    """What every command carries: who acts (a user of an authority of the publishing country)."""

    model_config = ConfigDict(extra="forbid")
    name: ClassVar[str]
    service: ClassVar[str]

    contract: str = Field(default=CONTRACT_VERSION, pattern=r"^\d+\.\d+$")
    authority_id: uuid.UUID = Field(description="the acting authority, of the publishing country")
    username: str = Field(min_length=1, max_length=200, description="the acting user")


class RequestCommand(Command):
    service = "exchange"
    request_id: uuid.UUID
    version: int = Field(ge=1, description="the request's version the system acts on (If-Match)")


class SendRequest(Command):
    """Draft and send a request in one step; ``draft`` is the body of POST /api/v1/requests."""

    name = "request.send"
    service = "exchange"
    draft: dict[str, Any]


class AcceptRequest(RequestCommand):
    name = "request.accept"


class AnswerRequest(RequestCommand):
    """``answer`` is the body of POST /api/v1/requests/{id}/answer."""

    name = "request.answer"
    answer: dict[str, Any]


class RequestInformation(RequestCommand):
    """``info`` is the body of POST /api/v1/requests/{id}/request-info."""

    name = "request.request-info"
    info: dict[str, Any]


class AcceptAnswer(RequestCommand):
    """``rating`` is the body of POST /api/v1/requests/{id}/accept-answer."""

    name = "request.accept-answer"
    rating: dict[str, Any]


class AlertCommand(Command):
    service = "alerts"
    alert_id: uuid.UUID
    version: int | None = Field(
        default=None, ge=1, description="the alert's version (If-Match) where the action needs it"
    )


class DraftAlert(Command):
    """``draft`` is the body of POST /api/v1/alerts."""

    name = "alert.draft"
    service = "alerts"
    draft: dict[str, Any]


class SubmitAlert(AlertCommand):
    name = "alert.submit"


class AcknowledgeAlert(AlertCommand):
    name = "alert.acknowledge"


COMMANDS: dict[str, type[Command]] = {
    model.name: model
    for model in (
        SendRequest,
        AcceptRequest,
        AnswerRequest,
        RequestInformation,
        AcceptAnswer,
        DraftAlert,
        SubmitAlert,
        AcknowledgeAlert,
    )
}

# Machine-readable reasons of a rejection (besides the problem slugs of the web API:
# not-found, invalid-input, conflict, stale-version, forbidden ...).
REJECTION_REASONS = (
    "malformed",
    "unknown-command",
    "unsupported-contract",
    "foreign-authority",
    "unknown-user",
    "sender-not-national-system",
)


class Reply(BaseModel):
    """The one answer to a command."""

    model_config = ConfigDict(extra="ignore")

    contract: str = CONTRACT_VERSION
    command: str
    outcome: Literal["accepted", "rejected"]
    resource_id: uuid.UUID | None = None
    version: int | None = None
    state: str | None = None
    reason: str | None = None
    field: str | None = None
    detail: str | None = None


class OutboundEvent(BaseModel):
    """What an officer of ``authority_id`` would see appear, structured and in its language."""

    model_config = ConfigDict(extra="ignore")

    contract: str = CONTRACT_VERSION
    event: str = Field(description="the IMI event type, e.g. exchange.request.sent")
    country: str
    authority_id: uuid.UUID
    language: str = Field(description="the authority's language, of the rendered texts")
    resource: Literal["request", "alert"]
    resource_id: uuid.UUID
    version: int | None = None
    state: str | None = None
    title: str | None = Field(default=None, description="the procedure, in ``language``")
    area: str | None = Field(default=None, description="the legislative area, in ``language``")
    occurred_at: datetime
    data: dict[str, Any] = Field(default_factory=dict, description="the event's own fields")
