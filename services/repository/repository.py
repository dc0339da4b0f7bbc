"""Every SQL statement of the repository service."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text

from services.repository.domain import Member, SearchQuery
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot
from shared.db import Repository


@dataclass(frozen=True)
class StoredRecord:
    id: uuid.UUID
    repository: str
    status: str
    version: int
    fields: dict[str, Any]
    languages: list[str]
    authority_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewRecordRow:
    """What one insert or update writes; the document is computed by the database."""

    id: uuid.UUID
    repository: str
    fields: dict[str, Any]
    languages: Sequence[str]
    sort_key: str
    valid_from: date | None
    valid_until: date | None
    title_texts: dict[str, str]
    texts: dict[str, str]

    def params(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "repository": self.repository,
            "fields": json.dumps(self.fields),
            "languages": list(self.languages),
            "sort_key": self.sort_key,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "title": json.dumps(self.title_texts),
            "texts": json.dumps(self.texts),
        }


_RECORD_COLUMNS = (
    "id, repository, status, version, fields, languages, authority_id, created_at, updated_at"
)


def _stored(row: Any) -> StoredRecord:
    return StoredRecord(
        id=row.id,
        repository=row.repository,
        status=row.status,
        version=row.version,
        fields=dict(row.fields),
        languages=list(row.languages),
        authority_id=row.authority_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class RepositoryStore(Repository):
    window_full: bool = False

    # --- definitions --------------------------------------------------------------------

    async def store_definition(
        self, key: str, definition: dict[str, Any], fingerprint: str, now: datetime
    ) -> bool:
        """Insert or replace a definition; True when it is new or its content changed."""
        result = await self.session.execute(
            text(
                "INSERT INTO repository_definitions (key, definition, fingerprint, loaded_at) "
                "VALUES (:key, CAST(:definition AS jsonb), :fingerprint, :now) "
                "ON CONFLICT (key) DO UPDATE SET definition = excluded.definition, "
                "fingerprint = excluded.fingerprint, loaded_at = excluded.loaded_at "
                "WHERE repository_definitions.fingerprint <> excluded.fingerprint "
                "RETURNING key"
            ),
            {
                "key": key,
                "definition": json.dumps(definition),
                "fingerprint": fingerprint,
                "now": now,
            },
        )
        return result.first() is not None

    async def definitions(self) -> list[dict[str, Any]]:
        result = await self.session.execute(
            text("SELECT definition FROM repository_definitions ORDER BY key")
        )
        return [dict(r.definition) for r in result]

    async def definition(self, key: str) -> dict[str, Any] | None:
        result = await self.session.execute(
            text("SELECT definition FROM repository_definitions WHERE key = :key"), {"key": key}
        )
        row = result.first()
        return dict(row.definition) if row else None

    # --- directory projection -----------------------------------------------------------

    async def project_authority(self, snapshot: AuthoritySnapshot, now: datetime) -> None:
        """Keep the snapshot unless a newer version is already held."""
        await self.session.execute(
            text(
                "INSERT INTO directory_authorities "
                "(id, country, status, coordinating, areas, version, updated_at) "
                "VALUES (:id, :country, :status, :coordinating, :areas, :version, :now) "
                "ON CONFLICT (id) DO UPDATE SET country = excluded.country, "
                "status = excluded.status, coordinating = excluded.coordinating, "
                "areas = excluded.areas, version = excluded.version, "
                "updated_at = excluded.updated_at "
                "WHERE directory_authorities.version < excluded.version"
            ),
            {
                "id": snapshot.id,
                "country": snapshot.country,
                "status": snapshot.status.value,
                "coordinating": snapshot.coordinating,
                "areas": sorted({c.area for c in snapshot.competences}),
                "version": snapshot.version,
                "now": now,
            },
        )

    async def project_user(self, snapshot: UserSnapshot, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO directory_users "
                "(id, authority_id, username, roles, active, version, updated_at) "
                "VALUES (:id, :authority_id, :username, :roles, :active, :version, :now) "
                "ON CONFLICT (id) DO UPDATE SET authority_id = excluded.authority_id, "
                "username = excluded.username, roles = excluded.roles, "
                "active = excluded.active, version = excluded.version, "
                "updated_at = excluded.updated_at "
                "WHERE directory_users.version < excluded.version"
            ),
            {
                "id": snapshot.id,
                "authority_id": snapshot.authority_id,
                "username": snapshot.username,
                "roles": sorted({r.name for r in snapshot.roles}),
                "active": snapshot.active,
                "version": snapshot.version,
                "now": now,
            },
        )

    async def member(self, user_id: uuid.UUID) -> Member | None:
        result = await self.session.execute(
            text(
                "SELECT u.id, u.authority_id, u.roles, u.active, a.country, a.areas, "
                "a.coordinating, a.status FROM directory_users u "
                "JOIN directory_authorities a ON a.id = u.authority_id WHERE u.id = :id"
            ),
            {"id": user_id},
        )
        row = result.first()
        if row is None:
            return None
        return Member(
            user_id=row.id,
            authority_id=row.authority_id,
            country=row.country,
            roles=frozenset(row.roles),
            areas=frozenset(row.areas),
            coordinating=row.coordinating,
            active=row.active and row.status != "deactivated",
        )

    # --- records ------------------------------------------------------------------------

    async def insert_records(
        self,
        rows: Sequence[NewRecordRow],
        *,
        authority_id: uuid.UUID | None,
        actor_id: uuid.UUID,
        now: datetime,
    ) -> None:
        if not rows:
            return
        await self.session.execute(
            text(
                "INSERT INTO records (id, repository, status, version, fields, languages, "
                "sort_key, valid_from, valid_until, document, authority_id, created_by, "
                "created_at, updated_at) VALUES (:id, :repository, 'active', 1, "
                "CAST(:fields AS jsonb), CAST(:languages AS text[]), :sort_key, :valid_from, "
                ":valid_until, repository_tsvector(CAST(:title AS jsonb), CAST(:texts AS jsonb)), "
                ":authority_id, :actor_id, :now, :now)"
            ),
            [
                {**row.params(), "authority_id": authority_id, "actor_id": actor_id, "now": now}
                for row in rows
            ],
        )

    async def record(
        self, repository: str, record_id: uuid.UUID, *, for_update: bool = False
    ) -> StoredRecord | None:
        lock = " FOR UPDATE" if for_update else ""
        result = await self.session.execute(
            text(
                f"SELECT {_RECORD_COLUMNS} FROM records "
                f"WHERE id = :id AND repository = :repository{lock}"
            ),
            {"id": record_id, "repository": repository},
        )
        row = result.first()
        return _stored(row) if row else None

    async def update_record(self, row: NewRecordRow, version: int, now: datetime) -> None:
        await self.session.execute(
            text(
                "UPDATE records SET fields = CAST(:fields AS jsonb), "
                "languages = CAST(:languages AS text[]), sort_key = :sort_key, "
                "valid_from = :valid_from, valid_until = :valid_until, "
                "document = repository_tsvector(CAST(:title AS jsonb), CAST(:texts AS jsonb)), "
                "version = :version, updated_at = :now WHERE id = :id"
            ),
            {**row.params(), "version": version, "now": now},
        )

    async def retire_record(self, record_id: uuid.UUID, version: int, now: datetime) -> None:
        await self.session.execute(
            text(
                "UPDATE records SET status = 'retired', version = :version, updated_at = :now "
                "WHERE id = :id"
            ),
            {"id": record_id, "version": version, "now": now},
        )

    async def add_history(self, entries: Sequence[dict[str, Any]]) -> None:
        if not entries:
            return
        await self.session.execute(
            text(
                "INSERT INTO record_history (record_id, version, action, actor_id, "
                "actor_username, occurred_at, changes, reason) VALUES (:record_id, :version, "
                ":action, :actor_id, :actor_username, :occurred_at, CAST(:changes AS jsonb), "
                ":reason)"
            ),
            [{**e, "changes": json.dumps(e["changes"])} for e in entries],
        )

    async def history(self, record_id: uuid.UUID) -> list[dict[str, Any]]:
        result = await self.session.execute(
            text(
                "SELECT version, action, actor_id, actor_username, occurred_at, changes, reason "
                "FROM record_history WHERE record_id = :id ORDER BY id"
            ),
            {"id": record_id},
        )
        return [dict(r._mapping) for r in result]

    async def log_personal_reads(self, entries: Sequence[dict[str, Any]]) -> None:
        if not entries:
            return
        await self.session.execute(
            text(
                "INSERT INTO personal_data_reads (record_id, repository, user_id, username, "
                "authority_id, fields, purpose, read_at) VALUES (:record_id, :repository, "
                ":user_id, :username, :authority_id, CAST(:fields AS text[]), :purpose, :read_at)"
            ),
            list(entries),
        )

    # --- search -------------------------------------------------------------------------

    def _filters(self, repository: str, query: SearchQuery) -> tuple[list[str], dict[str, Any]]:
        where = ["repository = :repository"]
        params: dict[str, Any] = {"repository": repository}
        if not query.include_retired:
            where.append("status = 'active'")
        if query.filters:
            where.append("fields @> CAST(:filters AS jsonb)")
            params["filters"] = json.dumps(query.filters)
        if query.valid_on is not None:
            where.append("valid_from <= :valid_on AND valid_until >= :valid_on")
            params["valid_on"] = query.valid_on
        return where, params

    async def search(
        self,
        repository: str,
        query: SearchQuery,
        *,
        after: tuple[float, str] | None,
        limit: int,
        window: int,
    ) -> list[tuple[StoredRecord, float]]:
        """Records matching every word, best rank first (then by id); ``window_full`` tells
        afterwards whether more records matched than were ranked."""
        compiled = await self.session.execute(
            text(
                "SELECT CAST(repository_query(CAST(:words AS text[]), "
                "CAST(:languages AS text[])) AS text)"
            ),
            {"words": list(query.words), "languages": list(query.languages)},
        )
        tsquery = compiled.scalar()
        if tsquery is None:  # only stop words
            return []
        where, params = self._filters(repository, query)
        where.append("document @@ CAST(:query AS tsquery)")
        params.update(query=tsquery, limit=limit, window=window)
        rank = "ts_rank(document, CAST(:query AS tsquery))"
        page = ["true"]
        if after is not None:
            page.append(
                "(rank < CAST(:rank AS real) OR (rank = CAST(:rank AS real) AND id > :after_id))"
            )
            params.update(rank=after[0], after_id=uuid.UUID(after[1]))
        # Ranking reads every candidate's document: a word found in a large part of the
        # repository ranks its first ``window`` matches, not all of them.
        columns = ", ".join(f"r.{c.strip()}" for c in _RECORD_COLUMNS.split(","))
        result = await self.session.execute(
            text(
                f"SELECT {columns}, p.rank, p.candidates FROM ("
                "SELECT id, rank, candidates FROM ("
                f"SELECT id, {rank} AS rank, count(*) OVER () AS candidates FROM ("
                f"SELECT id, document FROM records WHERE {' AND '.join(where)} LIMIT :window"
                f") w) x WHERE {' AND '.join(page)} ORDER BY rank DESC, id LIMIT :limit"
                ") p JOIN records r ON r.id = p.id ORDER BY p.rank DESC, p.id"
            ),
            params,
        )
        rows = list(result)
        self.window_full = bool(rows) and rows[0].candidates >= window
        return [(_stored(r), float(r.rank)) for r in rows]

    async def browse(
        self,
        repository: str,
        query: SearchQuery,
        *,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[tuple[StoredRecord, str]]:
        """Records in the order of their titles."""
        where, params = self._filters(repository, query)
        params["limit"] = limit
        if after is not None:
            where.append("(sort_key, id) > (:sort_key, :after_id)")
            params.update(sort_key=after[0], after_id=uuid.UUID(after[1]))
        result = await self.session.execute(
            text(
                f"SELECT {_RECORD_COLUMNS}, sort_key FROM records WHERE {' AND '.join(where)} "
                "ORDER BY sort_key, id LIMIT :limit"
            ),
            params,
        )
        return [(_stored(r), str(r.sort_key)) for r in result]

    async def active_records(self, repository: str) -> list[StoredRecord]:
        result = await self.session.execute(
            text(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE repository = :repository "
                "AND status = 'active' ORDER BY sort_key, id"
            ),
            {"repository": repository},
        )
        return [_stored(r) for r in result]
