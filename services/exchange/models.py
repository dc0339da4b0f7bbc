"""Tables of the exchange service's own database.

``requests`` is the non-personal shell of a request (what statistics read and what stays after
deletion); the data subject's part and the answers to personal-data questions live apart in
``request_personal_data``, so that blocking and deletion touch one row and every read of it goes
through one place that records it in ``personal_data_access``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.messaging import Inbox, Outbox, messaging_tables
from shared.national import national_commands_table


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
outbox = Outbox(messaging.outbox, service="exchange")
inbox = Inbox(messaging.inbox)
national_commands = national_commands_table(Base.metadata)

TZ = DateTime(timezone=True)


class RequestRecord(Base):
    """One information request, without the data subject's personal data."""

    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_created", "created_at", "id"),
        Index("ix_requests_requesting", "requesting_authority_id", "created_at"),
        Index("ix_requests_responding", "responding_authority_id", "created_at"),
        Index("ix_requests_involved_authorities", "involved_authority_ids", postgresql_using="gin"),
        Index("ix_requests_involved_countries", "involved_countries", postgresql_using="gin"),
        Index("ix_requests_participants", "participant_user_ids", postgresql_using="gin"),
        Index(
            "ix_requests_next_deadline",
            "next_deadline_at",
            postgresql_where=text("next_deadline_at IS NOT NULL"),
        ),
        Index(
            "ix_requests_next_retention",
            "next_retention_at",
            postgresql_where=text("next_retention_at IS NOT NULL"),
        ),
        Index("ix_requests_statistics", "responding_country", "area", "sent_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    state: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    procedure: Mapped[str] = mapped_column(Text, nullable=False)
    area: Mapped[str] = mapped_column(Text, nullable=False)
    catalogue_version: Mapped[str] = mapped_column(Text, nullable=False)
    retention_months: Mapped[int] = mapped_column(Integer, nullable=False)
    requesting_authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    requesting_country: Mapped[str] = mapped_column(Text, nullable=False)
    requesting_region: Mapped[str | None] = mapped_column(Text)
    responding_authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    responding_country: Mapped[str] = mapped_column(Text, nullable=False)
    responding_region: Mapped[str | None] = mapped_column(Text)
    # Who may see it: [{id, country, region}] and the same as arrays for indexed filtering.
    involved: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    involved_authority_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), nullable=False)
    involved_countries: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    involved_regions: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    participant_user_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), nullable=False)
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    # [{question, personal_data, answer (null for personal-data questions), answered_at}]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    # [{id, text, language, side, written_at, written_by}]
    free_texts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    requested_reply_date: Mapped[date | None] = mapped_column(Date)
    reply_by: Mapped[date | None] = mapped_column(Date)
    reply_date_agreed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    date_proposal: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    handler_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    last_activity_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    received_at: Mapped[datetime | None] = mapped_column(TZ)
    accepted_at: Mapped[datetime | None] = mapped_column(TZ)
    first_answered_at: Mapped[datetime | None] = mapped_column(TZ)
    answered_at: Mapped[datetime | None] = mapped_column(TZ)
    answer_accepted_at: Mapped[datetime | None] = mapped_column(TZ)
    formal_closure_at: Mapped[datetime | None] = mapped_column(TZ)
    rating_timeliness: Mapped[int | None] = mapped_column(Integer)
    rating_effort: Mapped[int | None] = mapped_column(Integer)
    split_from: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    acceptance_reminded_at: Mapped[datetime | None] = mapped_column(TZ)
    acceptance_overdue_at: Mapped[datetime | None] = mapped_column(TZ)
    reply_reminded_at: Mapped[datetime | None] = mapped_column(TZ)
    reply_overdue_at: Mapped[datetime | None] = mapped_column(TZ)
    overdue_escalated_at: Mapped[datetime | None] = mapped_column(TZ)
    idle_escalated_at: Mapped[datetime | None] = mapped_column(TZ)
    overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    next_deadline_at: Mapped[datetime | None] = mapped_column(TZ)
    personal_data_blocked_at: Mapped[datetime | None] = mapped_column(TZ)
    personal_data_deleted_at: Mapped[datetime | None] = mapped_column(TZ)
    next_retention_at: Mapped[datetime | None] = mapped_column(TZ)


class PersonalDataRecord(Base):
    """The data subject's part and the answers to personal-data questions of one request."""

    __tablename__ = "request_personal_data"

    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True
    )
    data_subject: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class HistoryRecord(Base):
    __tablename__ = "request_history"
    __table_args__ = (Index("ix_request_history_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("requests.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    from_state: Mapped[str] = mapped_column(Text, nullable=False)
    to_state: Mapped[str] = mapped_column(Text, nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    authority_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)


class AttachmentRecord(Base):
    """A stored file; ``removal_pending`` marks a file whose deletion was decided but whose
    bytes are not gone from the storage yet."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_request", "request_id", "uploaded_at"),
        Index(
            "ix_attachments_removal",
            "id",
            postgresql_where=text("removal_pending"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("requests.id", ondelete="CASCADE"), nullable=False
    )
    filename: Mapped[str] = mapped_column(Text, nullable=False)
    declared_type: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)
    storage_key: Mapped[str] = mapped_column(Text, nullable=False)
    personal_data: Mapped[bool] = mapped_column(Boolean, nullable=False)
    side: Mapped[str] = mapped_column(Text, nullable=False)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    removal_pending: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")


class PersonalDataAccess(Base):
    """One read of personal data: who, when, which record, why."""

    __tablename__ = "personal_data_access"
    __table_args__ = (Index("ix_personal_data_access_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("requests.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    authority_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    record: Mapped[str] = mapped_column(Text, nullable=False)  # data_subject, attachment:<id>
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    blocked: Mapped[bool] = mapped_column(Boolean, nullable=False)


class IdempotencyKey(Base):
    """A creation already done for (caller, key): the same key gets the same answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())


# --- projections of other services' events --------------------------------------------------------


class AuthorityProjection(Base):
    """An authority as the directory last told it."""

    __tablename__ = "authorities"
    __table_args__ = (Index("ix_authorities_country", "country"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    region: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    official_name: Mapped[str] = mapped_column(Text, nullable=False)
    name_language: Mapped[str] = mapped_column(Text, nullable=False)
    informal_titles: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    competences: Mapped[dict[str, list[str]]] = mapped_column(JSONB, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class UserProjection(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_authority", "authority_id"),
        Index("ix_users_country", "country"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(Text, nullable=False)
    roles: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class CatalogueVersionProjection(Base):
    """Every catalogue version seen: a request keeps the version it was written with."""

    __tablename__ = "catalogue_versions"

    version: Mapped[str] = mapped_column(Text, primary_key=True)
    published_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    procedures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    area_names: Mapped[dict[str, dict[str, str]]] = mapped_column(JSONB, nullable=False)
    procedure_names: Mapped[dict[str, dict[str, str]]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
