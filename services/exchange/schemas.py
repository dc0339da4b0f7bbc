"""Request and response models of the exchange service's internal HTTP API.

Fields holding personal data of the data subject carry ``x-personal-data: true`` in the OpenAPI
document; they are written with the draft and read only through ``GET .../personal-data``,
which records every read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

PERSONAL: JsonDict = {"x-personal-data": True}
MAX_TEXT = 20_000


class IdentificationNumber(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64, description="e.g. passport, national_id")
    value: str = Field(min_length=1, max_length=128)
    issuing_country: str | None = Field(default=None, max_length=2)


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=2)


class DataSubjectIn(BaseModel):
    """The person the request is about; every field is personal data."""

    model_config = ConfigDict(extra="forbid")

    given_names: str | None = Field(default=None, max_length=300, json_schema_extra=PERSONAL)
    family_name: str | None = Field(default=None, max_length=300, json_schema_extra=PERSONAL)
    date_of_birth: date | None = Field(default=None, json_schema_extra=PERSONAL)
    place_of_birth: str | None = Field(default=None, max_length=300, json_schema_extra=PERSONAL)
    nationality: list[str] = Field(default_factory=list, max_length=5, json_schema_extra=PERSONAL)
    identification_numbers: list[IdentificationNumber] = Field(
        default_factory=list, max_length=10, json_schema_extra=PERSONAL
    )
    address: Address | None = Field(default=None, json_schema_extra=PERSONAL)
    free_fields: dict[str, str] = Field(
        default_factory=dict,
        max_length=30,
        json_schema_extra=PERSONAL,
        description="further identifying facts, label -> value",
    )


class QuestionIn(BaseModel):
    """A chosen question; the requester writes no answer (the responder does)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=200)
    answer: None = None


class FreeTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: str | None = Field(
        default=None, description="the writer's language; default the identity's language"
    )


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure: str = Field(min_length=1, max_length=200)
    catalogue_version: str | None = Field(
        default=None, description="default: the newest version the service has seen"
    )
    responding_authority_id: uuid.UUID
    items: list[QuestionIn] = Field(min_length=1, max_length=500)
    free_texts: list[FreeTextIn] = Field(default_factory=list, max_length=50)
    requested_reply_date: date
    data_subject: DataSubjectIn | None = None


class DraftPatch(BaseModel):
    """Fields left out stay as they are; ``data_subject: null`` removes the data subject part."""

    model_config = ConfigDict(extra="forbid")

    procedure: str | None = Field(default=None, min_length=1, max_length=200)
    catalogue_version: str | None = None
    responding_authority_id: uuid.UUID | None = None
    items: list[QuestionIn] | None = Field(default=None, min_length=1, max_length=500)
    free_texts: list[FreeTextIn] | None = Field(default=None, max_length=50)
    requested_reply_date: date | None = None
    data_subject: DataSubjectIn | None = None


class NoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000)


class ForwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    authority_id: uuid.UUID
    reason: str | None = Field(default=None, max_length=4000)


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    authority_id: uuid.UUID
    questions: list[str] = Field(min_length=1, max_length=500)


class AllocateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handler_user_id: uuid.UUID


class ProposeDateIn(BaseModel):
    """``{"date": ...}`` proposes a reply date; ``{"accept": true}`` accepts the date the other
    side proposed (the requester's date of the request, or a counter-proposal)."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    accept: bool = False


class AnswerItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=200)
    answer: dict[str, Any] = Field(
        description='{"option": key}, {"date": "YYYY-MM-DD"}, {"document": attachment id} or '
        '{"text": ..., "language": tag}'
    )


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[AnswerItemIn] = Field(default_factory=list, max_length=500)
    free_texts: list[FreeTextIn] = Field(default_factory=list, max_length=50)


class RequestInfoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: str | None = None
    questions: list[str] = Field(default_factory=list, max_length=500)
    reply_by: date | None = None


class AcceptAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeliness: int = Field(ge=1, le=5, description="1 very poor .. 5 very good")
    effort: int = Field(ge=1, le=5)


# --- responses (documented; the routes return the same shape without re-validating it) ----------


class AuthorityOut(BaseModel):
    id: uuid.UUID
    country: str
    region: str | None = None
    official_name: str | None = None
    name_language: str | None = None
    title: str | None = None  # the informal title in the reader's language


class QuestionStateOut(BaseModel):
    question: str
    personal_data: bool
    answered: bool
    answered_at: datetime | None = None


class ContentOut(BaseModel):
    """In the shape of the translation service's ``POST /v1/render``."""

    procedure: str
    catalogue_version: str
    items: list[dict[str, Any]]
    free_texts: list[dict[str, Any]]


class FreeTextDetailOut(BaseModel):
    id: str
    side: str
    language: str
    written_at: datetime
    written_by: uuid.UUID


class ReplyDateOut(BaseModel):
    requested: date | None
    reply_by: date | None
    agreed: bool
    pending_proposal: dict[str, Any] | None


class DeadlinesOut(BaseModel):
    acceptance_due_at: datetime | None
    reply_due_at: datetime | None
    overdue: bool
    acceptance_reminded_at: datetime | None
    acceptance_overdue_at: datetime | None
    reply_reminded_at: datetime | None
    reply_overdue_at: datetime | None
    escalated_at: datetime | None
    idle_escalated_at: datetime | None


class HistoryEntryOut(BaseModel):
    version: int
    action: str
    at: datetime
    from_state: str
    to_state: str
    user_id: uuid.UUID | None
    authority_id: uuid.UUID | None
    details: dict[str, Any]


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    personal_data: bool
    side: str
    uploaded_by: uuid.UUID
    uploaded_at: datetime


class PersonalDataStateOut(BaseModel):
    present: bool
    fields: list[str]
    personal_questions: list[str]
    blocked: bool
    blocked_at: datetime | None
    deleted: bool
    deleted_at: datetime | None


class ParticipantOut(BaseModel):
    user_id: uuid.UUID
    authority_id: uuid.UUID | None
    role: str
    since: datetime


class RequestOut(BaseModel):
    id: uuid.UUID
    state: str
    version: int
    language: str
    procedure: str
    procedure_name: str | None
    area: str
    area_name: str | None
    catalogue_version: str
    requesting_authority: AuthorityOut
    responding_authority: AuthorityOut
    involved_authorities: list[AuthorityOut]
    content: ContentOut
    questions: list[QuestionStateOut]
    free_text_details: list[FreeTextDetailOut]
    reply_date: ReplyDateOut
    deadlines: DeadlinesOut
    handler_user_id: uuid.UUID | None
    participants: list[ParticipantOut]
    history: list[HistoryEntryOut]
    attachments: list[AttachmentOut]
    rating: dict[str, Any] | None
    personal_data: PersonalDataStateOut
    split_from: uuid.UUID | None
    splits: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    received_at: datetime | None
    accepted_at: datetime | None
    first_answered_at: datetime | None
    answered_at: datetime | None
    answer_accepted_at: datetime | None
    formal_closure_at: datetime | None
    allowed_actions: list[str]
    can_edit: bool
    can_upload_attachments: bool
    can_read_personal_data: bool
    can_read_access_log: bool


class RequestSummaryOut(BaseModel):
    id: uuid.UUID
    state: str
    version: int
    procedure: str
    area: str
    catalogue_version: str
    requesting_authority_id: uuid.UUID
    requesting_country: str
    responding_authority_id: uuid.UUID
    responding_country: str
    reply_by: date | None
    overdue: bool
    handler_user_id: uuid.UUID | None
    question_count: int
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime
    formal_closure_at: datetime | None
    split_from: uuid.UUID | None


class RequestListOut(BaseModel):
    items: list[RequestSummaryOut]
    next_cursor: str | None


class PersonalDataOut(BaseModel):
    request_id: uuid.UUID
    data_subject: dict[str, Any] | None = Field(json_schema_extra=PERSONAL)
    answers: list[dict[str, Any]] = Field(json_schema_extra=PERSONAL)
    personal_data_fields: list[str]
    blocked: bool
    read_at: datetime
    purpose: str


class AccessLogEntryOut(BaseModel):
    id: int
    at: datetime
    user_id: uuid.UUID
    username: str
    authority_id: uuid.UUID | None
    roles: list[str]
    record: str
    purpose: str
    justification: str | None
    blocked: bool


class AccessLogOut(BaseModel):
    items: list[AccessLogEntryOut]
    next_cursor: str | None


class AttachmentListOut(BaseModel):
    items: list[AttachmentOut]


class StatisticsGroupOut(BaseModel):
    country: str | None
    area: str | None
    requests_sent: int
    accepted_within_deadline_share: float | None
    average_reply_days: float | None
    answered_by_agreed_date_share: float | None
    negative_rating_share: float | None
    counts_by_state: dict[str, int]


class StatisticsOut(BaseModel):
    side: str
    country: str | None
    area: str | None
    period_from: date | None
    period_to: date | None
    acceptance_days: int
    total: StatisticsGroupOut
    groups: list[StatisticsGroupOut]
