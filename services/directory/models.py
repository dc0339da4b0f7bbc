"""Tables of the directory service's own database.

``authorities`` and ``users`` hold the truth. Each authority also has two denormalised search rows,
rewritten in the transaction of each change: ``authority_search`` (filters, competence keys as
arrays, rank order; narrow) and ``authority_text`` (the same plus the words of its names, titles
and descriptions, each text in its own language's text-search configuration).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.messaging import Inbox, Outbox, messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
outbox = Outbox(messaging.outbox, service="directory")
inbox = Inbox(messaging.inbox)

NOT_DEACTIVATED = text("status <> 'deactivated'")


class Authority(Base):
    __tablename__ = "authorities"
    __table_args__ = (
        CheckConstraint(
            "status IN ('registered', 'validated', 'active', 'deactivated')", name="status"
        ),
        CheckConstraint("level IN ('national', 'regional', 'local')", name="level"),
        # Two live authorities of one country never share a (folded) official name.
        Index(
            "uq_authorities_country_name",
            "country",
            "name_key",
            unique=True,
            postgresql_where=NOT_DEACTIVATED,
        ),
        # One national IMI coordinating authority per country.
        Index(
            "uq_authorities_coordinating",
            "country",
            unique=True,
            postgresql_where=text("coordinating AND status <> 'deactivated'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    country: Mapped[str] = mapped_column(Text, nullable=False)
    region: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text, nullable=False)
    official_name: Mapped[str] = mapped_column(Text, nullable=False)
    name_language: Mapped[str] = mapped_column(Text, nullable=False)
    name_key: Mapped[str] = mapped_column(Text, nullable=False)
    informal_titles: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    descriptions: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    languages: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    competences: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    coordinating: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    status: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    registered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class _SearchRow:
    """Filters, competence keys and rank order of one authority (both search tables)."""

    authority_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("authorities.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(Text, nullable=False)
    region: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    coordinating: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # Regions it is competent for; empty means the whole country.
    covered_regions: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    areas: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    procedures: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    # How many procedures and keywords it covers: specialised bodies rank first.
    breadth: Mapped[int] = mapped_column(Integer, nullable=False)
    sort_name: Mapped[str] = mapped_column(Text, nullable=False)


class AuthoritySearch(_SearchRow, Base):
    """The narrow search row, walked in rank order by the competence classes of a search."""

    __tablename__ = "authority_search"
    __table_args__ = (
        Index("ix_authority_search_keywords", "keywords", postgresql_using="gin"),
        Index("ix_authority_search_procedures", "procedures", postgresql_using="gin"),
        Index("ix_authority_search_areas", "areas", postgresql_using="gin"),
        Index("ix_authority_search_browse", "status", "country", "sort_name", "authority_id"),
        Index("ix_authority_search_browse_all", "status", "sort_name", "authority_id"),
        Index(
            "ix_authority_search_rank", "status", "country", "breadth", "sort_name", "authority_id"
        ),
        Index("ix_authority_search_rank_all", "status", "breadth", "sort_name", "authority_id"),
    )


class AuthorityKeywordRank(Base):
    """Each keyword of each search row, in rank order within the keyword: the first page of a
    keyword across every country is the first entries of its range. Kept by statement
    triggers on ``authority_search`` (migration directory_0004)."""

    __tablename__ = "authority_keyword_rank"
    __table_args__ = (Index("ix_authority_keyword_rank_authority", "authority_id"),)

    keyword: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    breadth: Mapped[int] = mapped_column(Integer, primary_key=True)
    sort_name: Mapped[str] = mapped_column(Text, primary_key=True)
    authority_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


class AuthorityText(_SearchRow, Base):
    """The same row with the words of its names, titles and descriptions (GIN only)."""

    __tablename__ = "authority_text"
    __table_args__ = (
        Index("ix_authority_text_names", "names", postgresql_using="gin"),
        Index("ix_authority_text_descriptions", "descriptions", postgresql_using="gin"),
        Index("ix_authority_text_keywords", "keywords", postgresql_using="gin"),
        # Bitmap partners of the GIN matches for a search within a country or at a level.
        Index("ix_authority_text_country", "country"),
        Index("ix_authority_text_level", "level"),
    )

    names: Mapped[Any] = mapped_column(TSVECTOR, nullable=False)
    descriptions: Mapped[Any] = mapped_column(TSVECTOR, nullable=False)


class AuthorityHistory(Base):
    __tablename__ = "authority_history"
    __table_args__ = (Index("ix_authority_history_authority", "authority_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    authority_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("authorities.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_username: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_authority", "authority_id", "username"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    username: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    email: Mapped[str | None] = mapped_column(Text)
    authority_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("authorities.id"), nullable=False
    )
    country: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(Text, nullable=False)
    roles: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    registered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class UserHistory(Base):
    __tablename__ = "user_history"
    __table_args__ = (Index("ix_user_history_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_username: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)


class CatalogueVersion(Base):
    """What the directory keeps of each catalogue version it received (the newest is current)."""

    __tablename__ = "catalogue_versions"

    version: Mapped[str] = mapped_column(Text, primary_key=True)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    area_names: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    procedure_names: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    procedure_areas: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    keywords: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    keyword_areas: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)


class IdempotentRequest(Base):
    """The answer given to a creating POST, replayed for the same caller and key."""

    __tablename__ = "idempotent_requests"

    caller_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    operation: Mapped[str] = mapped_column(Text, nullable=False)
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[Any] = mapped_column(JSONB, nullable=False)
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
