"""Tables of the alerts service's own database.

Projections kept from other services' events (catalogue versions, authorities with their
competences, users with their roles), the alerts with everything that happened to them, and the
recipients' inbox entries (one row per alert and recipient authority, written set-based).
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
outbox = Outbox(messaging.outbox, service="alerts")
inbox = Inbox(messaging.inbox)
national_commands = national_commands_table(Base.metadata)

TZ = DateTime(timezone=True)


# --- projections -----------------------------------------------------------------------------


class CatalogueVersionRecord(Base):
    """A catalogue version as ``translation.catalogue.published`` announced it; never changed."""

    __tablename__ = "catalogue_versions"

    version: Mapped[str] = mapped_column(Text, primary_key=True)
    published_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    event: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class AuthorityRecord(Base):
    """The directory's authority snapshot, as far as alerts need it.

    The competences are kept as the snapshot has them and, flattened, as arrays the fan-out
    filters on (areas, procedures, keywords, regions), so that resolving one country's
    recipients reads that country's rows only.
    """

    __tablename__ = "directory_authorities"
    __table_args__ = (Index("ix_directory_authorities_country_status", "country", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    region: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text, nullable=False)
    official_name: Mapped[str] = mapped_column(Text, nullable=False)
    name_language: Mapped[str] = mapped_column(Text, nullable=False)
    informal_titles: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    coordinating: Mapped[bool] = mapped_column(Boolean, nullable=False)
    competences: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    areas: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    procedures: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    competence_regions: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class UserRecord(Base):
    """The directory's user snapshot: who works for which authority, in which language.

    ``role_keys`` flattens the roles for queries: ``name`` for a role without area,
    ``name@area`` for one limited to an area.
    """

    __tablename__ = "directory_users"
    __table_args__ = (Index("ix_directory_users_authority_id", "authority_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    roles: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    role_keys: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


# --- alerts ----------------------------------------------------------------------------------


class AlertRecord(Base):
    """An alert or notification: its non-personal shell, content and state.

    ``content`` holds the items and free texts in the render shape of the translation service,
    answers to personal-data questions included until their deletion; the professional's
    identity lives apart in ``alert_personal_data``.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_sender_authority_id", "sender_authority_id", "created_at"),
        Index("ix_alerts_sender_country_state", "sender_country", "state"),
        Index(
            "ix_alerts_pq_unsent",
            "send_by",
            postgresql_where=text("state = 'draft' AND send_by IS NOT NULL AND overdue_at IS NULL"),
        ),
        Index(
            "ix_alerts_ended_personal",
            "ended_at",
            postgresql_where=text("ended_at IS NOT NULL AND personal_data_deleted_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    procedure: Mapped[str] = mapped_column(Text, nullable=False)
    area: Mapped[str] = mapped_column(Text, nullable=False)
    catalogue_version: Mapped[str] = mapped_column(Text, nullable=False)
    retention_months: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    sender_authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    sender_country: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    language: Mapped[str] = mapped_column(Text, nullable=False)  # the writer's language
    content: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    content_version: Mapped[int] = mapped_column(Integer, nullable=False)
    profession: Mapped[str | None] = mapped_column(Text)
    deciding_authority: Mapped[str | None] = mapped_column(Text)
    decision_date: Mapped[date | None] = mapped_column(Date)
    send_by: Mapped[date | None] = mapped_column(Date)
    overdue_at: Mapped[datetime | None] = mapped_column(TZ)
    countries: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # chosen by the sender side
    # Countries holding at least one inbox entry (fixed by the broadcast: a dissemination stays
    # within a country that received).
    recipient_countries: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    all_countries: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    state_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(TZ)
    approved_at: Mapped[datetime | None] = mapped_column(TZ)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    personal_data_blocked_at: Mapped[datetime | None] = mapped_column(TZ)
    personal_data_deleted_at: Mapped[datetime | None] = mapped_column(TZ)


class PersonalDataRecord(Base):
    """The professional's identity in a professional-qualifications alert."""

    __tablename__ = "alert_personal_data"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    professional: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class ContentVersionRecord(Base):
    """A content replaced by a rectification, kept as it was."""

    __tablename__ = "alert_content_versions"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    content_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    profession: Mapped[str | None] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    replaced_by: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)


class UpdateRecord(Base):
    """Information the sender added after sending (items and free texts)."""

    __tablename__ = "alert_updates"
    __table_args__ = (Index("ix_alert_updates_alert_id", "alert_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    free_texts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)


class CommentRecord(Base):
    """A recipient's comment: a free text with its language."""

    __tablename__ = "alert_comments"
    __table_args__ = (Index("ix_alert_comments_alert_id", "alert_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class RecipientRecord(Base):
    """A recipient authority's inbox entry for one alert, with its tracking.

    No foreign key to ``alerts``: a fan-out writes thousands of entries at once while every
    entry's key check would take a lock on the same alert row; the fan-out holds that alert row
    locked for its whole transaction instead, and alerts are never deleted.
    """

    __tablename__ = "alert_recipients"
    __table_args__ = (
        Index("ix_alert_recipients_authority_id", "authority_id", "delivered_at"),
        Index("ix_alert_recipients_alert_id_country", "alert_id", "country"),
    )

    alert_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    # coordinator | competent | disseminated | commission: how the entry came to be
    via: Mapped[str] = mapped_column(Text, nullable=False)
    added_by: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    delivered_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(TZ)
    read_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    acknowledged_at: Mapped[datetime | None] = mapped_column(TZ)
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    comment_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_commented_at: Mapped[datetime | None] = mapped_column(TZ)


class DisseminationRecord(Base):
    """One dissemination by a receiving coordinator: its criteria and how many it reached."""

    __tablename__ = "alert_disseminations"
    __table_args__ = (Index("ix_alert_disseminations_alert_id", "alert_id", "country"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    country: Mapped[str] = mapped_column(Text, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False)


class HistoryRecord(Base):
    """What happened to an alert, by whom, in order."""

    __tablename__ = "alert_history"
    __table_args__ = (Index("ix_alert_history_alert_id", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    authority_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    country: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)


class AccessLogRecord(Base):
    """One read of an alert's personal data: who, when, which record, why."""

    __tablename__ = "personal_data_access_log"
    __table_args__ = (Index("ix_personal_data_access_log_alert_id", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    authority_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    country: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    record: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    while_blocked: Mapped[bool] = mapped_column(Boolean, nullable=False)


class TranslationRecord(Base):
    """A machine translation of one of the alert's free texts, as the translation service
    sent it back (always shown labelled, beside the kept original)."""

    __tablename__ = "alert_translations"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    text_key: Mapped[str] = mapped_column(Text, primary_key=True)
    target_language: Mapped[str] = mapped_column(Text, primary_key=True)
    source_language: Mapped[str] = mapped_column(Text, nullable=False)
    translated_text: Mapped[str] = mapped_column(Text, nullable=False)
    provider: Mapped[str] = mapped_column(Text, nullable=False)
    machine_translated: Mapped[bool] = mapped_column(Boolean, nullable=False)
    received_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class IdempotencyRecord(Base):
    """A creation's Idempotency-Key: the same key from the same caller gets the same alert."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(Text, nullable=False)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
