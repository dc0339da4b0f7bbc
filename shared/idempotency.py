"""Idempotent creation: a POST with an ``Idempotency-Key`` creates at most once per caller.

A service that creates resources keeps an ``idempotency_keys`` table (``idempotency_table`` in its
metadata, ``create_idempotency_keys`` in a migration). ``claim`` runs in the creating transaction:
the first claim of (user, key) wins and the resource is created; a later claim with the same body
gets the first resource's id back (the caller answers with it, creating nothing), with another
body a clear error naming the header. A concurrent second claim waits for the first to commit.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.problems import InvalidInput

HEADER_FIELD = "headers.idempotency-key"
MAX_KEY_LENGTH = 200


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("user_id", Uuid, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("fingerprint", Text, nullable=False),
        Column("resource_id", Uuid, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        sa.Index("ix_idempotency_keys_created", "created_at"),
    )


def create_idempotency_keys() -> None:
    """The migration step that creates the table (call inside an Alembic revision)."""
    from alembic import op

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])


def fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"an Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters", field=HEADER_FIELD
        )
    return key


async def claim(
    session: AsyncSession,
    table: Table,
    user_id: uuid.UUID,
    key: str,
    body: Any,
    resource_id: uuid.UUID,
) -> uuid.UUID | None:
    """Claim ``key`` for ``resource_id``; None when this call creates, else the id created by the
    earlier call with the same key and body."""
    digest = fingerprint(body)
    inserted = await session.execute(
        pg_insert(table)
        .values(user_id=user_id, key=key, fingerprint=digest, resource_id=resource_id)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(table.c.resource_id)
    )
    if inserted.first() is not None:
        return None
    row = (
        await session.execute(
            select(table.c.resource_id, table.c.fingerprint).where(
                table.c.user_id == user_id, table.c.key == key
            )
        )
    ).one()
    if row.fingerprint != digest:
        raise InvalidInput(
            "this Idempotency-Key was used for a different request body", field=HEADER_FIELD
        )
    found: uuid.UUID = row.resource_id
    return found


async def purge(session: AsyncSession, table: Table, before: datetime) -> int:
    result = await session.execute(delete(table).where(table.c.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
