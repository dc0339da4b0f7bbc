"""Tables of the translation service's own database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.messaging import Inbox, Outbox, messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
outbox = Outbox(messaging.outbox, service="translation")
inbox = Inbox(messaging.inbox)


class CatalogueVersion(Base):
    """One published version of the catalogue; never changed once stored."""

    __tablename__ = "catalogue_versions"

    version: Mapped[str] = mapped_column(Text, primary_key=True)
    structure: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    published_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    # The version loaded last from the files is the current one.
    activated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class CatalogueTexts(Base):
    """Every text and keyword term of one version in one language."""

    __tablename__ = "catalogue_texts"

    version: Mapped[str] = mapped_column(
        Text, ForeignKey("catalogue_versions.version", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(Text, primary_key=True)
    texts: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    keywords: Mapped[dict[str, list[str]]] = mapped_column(JSONB, nullable=False)


class MachineTranslationRecord(Base):
    """The cache of machine translations by (text hash, source, target)."""

    __tablename__ = "machine_translations"

    text_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    source_language: Mapped[str] = mapped_column(Text, primary_key=True)
    target_language: Mapped[str] = mapped_column(Text, primary_key=True)
    translated_text: Mapped[str] = mapped_column(Text, nullable=False)
    provider: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class TranslationJob(Base):
    """One free text to translate into one language, worked on by the periodic worker."""

    __tablename__ = "translation_jobs"
    __table_args__ = (
        UniqueConstraint(
            "requester",
            "reference",
            "text_hash",
            "source_language",
            "target_language",
            name="uq_translation_jobs_request",
        ),
        Index(
            "ix_translation_jobs_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_translation_jobs_text",
            "text_hash",
            "source_language",
            "target_language",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    requester: Mapped[str] = mapped_column(Text, nullable=False)
    reference: Mapped[str] = mapped_column(Text, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    text_hash: Mapped[str] = mapped_column(Text, nullable=False)
    source_language: Mapped[str] = mapped_column(Text, nullable=False)
    target_language: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
