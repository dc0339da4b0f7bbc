"""Tables of the repository service's own database.

The repositories' definitions (loaded from ``definitions/``), the directory projection the
access rules are resolved against, the records with their history and text-search document,
and the log of every read of personal data.
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
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.idempotency import idempotency_table
from shared.messaging import Inbox, Outbox, messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
outbox = Outbox(messaging.outbox, service="repository")
inbox = Inbox(messaging.inbox)
idempotency_keys = idempotency_table(Base.metadata)

TZ = DateTime(timezone=True)


class DefinitionRecord(Base):
    """A repository's schema as last loaded; ``fingerprint`` tells whether a file changed."""

    __tablename__ = "repository_definitions"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    loaded_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class AuthorityRecord(Base):
    """The directory's authority snapshot, as far as access rules need it."""

    __tablename__ = "directory_authorities"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    coordinating: Mapped[bool] = mapped_column(Boolean, nullable=False)
    areas: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class UserRecord(Base):
    """The directory's user snapshot: which authority, which roles, still active or not."""

    __tablename__ = "directory_users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class RecordRow(Base):
    """One record of a repository; ``document`` is its text-search vector in every language
    its texts are written in (stemmed) plus as written (unaccented)."""

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_browse", "repository", "status", "sort_key", "id"),
        Index("ix_records_document", "document", postgresql_using="gin"),
        Index(
            "ix_records_fields",
            "fields",
            postgresql_using="gin",
            postgresql_ops={"fields": "jsonb_path_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    repository: Mapped[str] = mapped_column(
        Text, ForeignKey("repository_definitions.key"), nullable=False
    )
    status: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    sort_key: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    document: Mapped[Any] = mapped_column(TSVECTOR, nullable=False)
    authority_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False)


class RecordWordRow(Base):
    """Every lexeme a record's document has held (kept by triggers on ``records``), so that
    the start of a typed word can be looked up before it is searched as a prefix."""

    __tablename__ = "record_words"

    word: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)


class RecordHistoryRow(Base):
    """What changed in a record, version by version: the fields before and after."""

    __tablename__ = "record_history"
    __table_args__ = (Index("ix_record_history_record", "record_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("records.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_username: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)


class PersonalDataReadRow(Base):
    """Every read of a record's personal data: who, when, which record, which fields, why."""

    __tablename__ = "personal_data_reads"
    __table_args__ = (Index("ix_personal_data_reads_record", "record_id", "read_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    repository: Mapped[str] = mapped_column(Text, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    authority_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    read_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
