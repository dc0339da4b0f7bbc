"""Every SQL statement of the alerts service.

Fan-out is set-based: a broadcast or a dissemination is one ``INSERT … SELECT`` over the
directory projection inside the action's transaction, returning the new inbox entries with the
users to tell; a failure rolls the whole recipient list back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    exists,
    false,
    func,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from services.alerts.domain import COMMISSION_COUNTRY, DELETE_AFTER_MONTHS, Involvement
from services.alerts.models import (
    AccessLogRecord,
    AlertRecord,
    AuthorityRecord,
    CatalogueVersionRecord,
    CommentRecord,
    ContentVersionRecord,
    DisseminationRecord,
    HistoryRecord,
    IdempotencyRecord,
    PersonalDataRecord,
    RecipientRecord,
    TranslationRecord,
    UpdateRecord,
    UserRecord,
)
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot
from shared.db import Repository


@dataclass(frozen=True)
class NewRecipient:
    """An inbox entry a fan-out created, with the users of that authority to tell."""

    authority_id: uuid.UUID
    country: str
    user_ids: tuple[uuid.UUID, ...]
    languages: frozenset[str]  # the authority's and its told users' languages
    language: str = "en"  # the authority's own (first) language


@dataclass(frozen=True)
class CountryTracking:
    country: str
    total: int
    read: int
    acknowledged: int
    commented: int


@dataclass(frozen=True)
class VisibilityFilter:
    """The SQL shape of ``domain.can_see`` for one caller (lists)."""

    authority_id: uuid.UUID | None
    country: str | None
    # Areas in which the caller coordinates alerts; None: every area; empty: none.
    alert_coordinator_areas: frozenset[str] | None
    national_coordinator: bool
    data_protection_administrator: bool


# --- projections -----------------------------------------------------------------------------


class CatalogueRepository(Repository):
    async def add(
        self, version: str, published_at: datetime, event: dict[str, Any], now: datetime
    ) -> bool:
        """Keep a version; False when it was kept before (versions never change)."""
        result = await self.session.execute(
            pg_insert(CatalogueVersionRecord)
            .values(version=version, published_at=published_at, event=event, received_at=now)
            .on_conflict_do_nothing(index_elements=["version"])
            .returning(CatalogueVersionRecord.version)
        )
        return result.first() is not None

    async def event(self, version: str) -> dict[str, Any] | None:
        return await self.session.scalar(
            select(CatalogueVersionRecord.event).where(CatalogueVersionRecord.version == version)
        )

    async def current_version(self) -> str | None:
        return await self.session.scalar(
            select(CatalogueVersionRecord.version)
            .order_by(
                CatalogueVersionRecord.published_at.desc(),
                CatalogueVersionRecord.received_at.desc(),
            )
            .limit(1)
        )


def role_key(name: str, area: str | None) -> str:
    """How one role is flattened into ``directory_users.role_keys``."""
    return name if area is None else f"{name}@{area}"


def wanted_role_keys(names: Sequence[str], area: str | None) -> list[str]:
    """The keys of a user holding one of ``names`` for ``area`` (a role without area covers
    every area)."""
    keys = list(names)
    if area is not None:
        keys += [role_key(name, area) for name in names]
    return keys


class DirectoryRepository(Repository):
    async def upsert_authority(self, snapshot: AuthoritySnapshot, now: datetime) -> bool:
        """Hold the snapshot unless a newer version is held; True when it was applied."""
        competences = snapshot.competences
        values = {
            "id": snapshot.id,
            "country": snapshot.country.lower(),
            "region": snapshot.region.upper() if snapshot.region else None,
            "level": snapshot.level.value,
            "official_name": snapshot.official_name,
            "name_language": snapshot.name_language,
            "informal_titles": dict(snapshot.informal_titles),
            "languages": list(snapshot.languages),
            "status": snapshot.status.value,
            "coordinating": snapshot.coordinating,
            "competences": [c.model_dump(mode="json") for c in competences],
            "areas": sorted({c.area for c in competences}),
            "procedures": sorted({p for c in competences for p in c.procedures}),
            "keywords": sorted({k for c in competences for k in c.keywords}),
            "competence_regions": sorted({r.upper() for c in competences for r in c.regions}),
            "version": snapshot.version,
            "updated_at": now,
        }
        statement = pg_insert(AuthorityRecord).values(**values)
        applied = await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={k: statement.excluded[k] for k in values if k != "id"},
                where=AuthorityRecord.version < statement.excluded.version,
            ).returning(AuthorityRecord.id)
        )
        return applied.first() is not None

    async def upsert_user(self, snapshot: UserSnapshot, now: datetime) -> bool:
        values = {
            "id": snapshot.id,
            "authority_id": snapshot.authority_id,
            "country": snapshot.country.lower(),
            "username": snapshot.username,
            "display_name": snapshot.display_name,
            "language": snapshot.language,
            "active": snapshot.active,
            "roles": [r.model_dump(mode="json") for r in snapshot.roles],
            "role_keys": sorted({role_key(r.name, r.area) for r in snapshot.roles}),
            "version": snapshot.version,
            "updated_at": now,
        }
        statement = pg_insert(UserRecord).values(**values)
        applied = await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={k: statement.excluded[k] for k in values if k != "id"},
                where=UserRecord.version < statement.excluded.version,
            ).returning(UserRecord.id)
        )
        return applied.first() is not None

    async def authority(self, authority_id: uuid.UUID) -> AuthorityRecord | None:
        return await self.session.get(AuthorityRecord, authority_id)

    async def authorities(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, AuthorityRecord]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.session.scalars(
            select(AuthorityRecord).where(AuthorityRecord.id.in_(wanted))
        )
        return {row.id: row for row in rows}

    async def users_with_role(
        self, country: str, roles: Sequence[str], area: str
    ) -> list[uuid.UUID]:
        """Active users of active authorities of ``country`` holding one of ``roles`` for
        ``area``."""
        rows = await self.session.scalars(
            select(UserRecord.id)
            .join(AuthorityRecord, AuthorityRecord.id == UserRecord.authority_id)
            .where(
                UserRecord.country == country,
                UserRecord.active.is_(True),
                AuthorityRecord.status == "active",
                UserRecord.role_keys.overlap(wanted_role_keys(roles, area)),
            )
            .order_by(UserRecord.id)
        )
        return list(rows)

    async def countries_with_role(
        self, countries: Sequence[str], roles: Sequence[str], area: str
    ) -> set[str]:
        """Which of ``countries`` have an active user holding one of ``roles`` for ``area``."""
        rows = await self.session.scalars(
            select(AuthorityRecord.country)
            .distinct()
            .join(UserRecord, UserRecord.authority_id == AuthorityRecord.id)
            .where(
                AuthorityRecord.country.in_(list(countries)),
                AuthorityRecord.status == "active",
                UserRecord.active.is_(True),
                UserRecord.role_keys.overlap(wanted_role_keys(roles, area)),
            )
        )
        return set(rows)


# --- fan-out ---------------------------------------------------------------------------------

# An authority with an active user holding one of :coordinator_roles (role keys). ``a`` is the
# authority.
_HAS_COORDINATOR = (
    "EXISTS (SELECT 1 FROM directory_users cu WHERE cu.authority_id = a.id AND cu.active"
    " AND cu.role_keys && CAST(:coordinator_roles AS text[]))"
)
_COMMISSION = (
    "SELECT a.id, a.country, a.languages, 'commission' AS via, 1 AS rank"
    " FROM directory_authorities a"
    " WHERE a.status = 'active' AND a.country = :commission AND a.id <> CAST(:sender AS uuid)"
    " AND EXISTS (SELECT 1 FROM directory_users cu WHERE cu.authority_id = a.id AND cu.active"
    " AND cu.role_keys && CAST(:commission_roles AS text[]))"
)
_COORDINATORS = (
    "SELECT a.id, a.country, a.languages, 'coordinator' AS via, 1 AS rank"
    " FROM directory_authorities a"
    " WHERE a.status = 'active' AND a.country = ANY(CAST(:countries AS text[]))"
    f" AND a.id <> CAST(:sender AS uuid) AND {_HAS_COORDINATOR}"
)


class FanOutRepository(Repository):
    """Creates inbox entries set-based and tells who they are, grouped for the events."""

    async def _insert(self, candidates: str, params: dict[str, Any]) -> list[NewRecipient]:
        # One statement: choose, insert (an entry already there is left as it is), and return
        # each new entry with the users to tell and the languages they read. The users are
        # looked up per new entry through the authority index, never by scanning all users.
        statement = text(
            f"WITH {candidates},"
            " picked AS (SELECT DISTINCT ON (id) id, country, languages, via"
            "  FROM chosen ORDER BY id, rank),"
            " inserted AS ("
            "  INSERT INTO alert_recipients"
            "   (alert_id, authority_id, country, via, added_by, delivered_at)"
            "  SELECT CAST(:alert_id AS uuid), id, country, via,"
            "   CAST(:user_id AS uuid), CAST(:now AS timestamptz) FROM picked"
            "  ON CONFLICT (alert_id, authority_id) DO NOTHING"
            "  RETURNING authority_id"
            " )"
            " SELECT p.id, p.country, p.languages, t.user_ids, t.user_languages"
            " FROM inserted i JOIN picked p ON p.id = i.authority_id"
            " CROSS JOIN LATERAL ("
            "  SELECT COALESCE(array_agg(u.id ORDER BY u.id), CAST('{}' AS uuid[])) AS user_ids,"
            "   COALESCE(array_agg(DISTINCT u.language), CAST('{}' AS text[])) AS user_languages"
            "  FROM directory_users u WHERE u.authority_id = i.authority_id AND u.active"
            "  AND u.role_keys && CAST(:user_roles AS text[])) t"
            " ORDER BY p.country, p.id"
        )
        values = {"commission": COMMISSION_COUNTRY, **params}
        result = await self.session.execute(statement, values)
        return [
            NewRecipient(
                row.id,
                row.country,
                tuple(row.user_ids),
                frozenset(row.languages) | frozenset(row.user_languages),
                (list(row.languages) or ["en"])[0],
            )
            for row in result
        ]

    async def broadcast_to_coordinators(
        self,
        *,
        alert_id: uuid.UUID,
        sender_authority_id: uuid.UUID,
        area: str,
        countries: Sequence[str],
        coordinator_roles: Sequence[str],
        user_roles: Sequence[str],
        commission_roles: Sequence[str],
        user_id: uuid.UUID,
        now: datetime,
    ) -> list[NewRecipient]:
        """The authorities of the chosen countries' coordinators, and the Commission."""
        candidates = f"chosen AS ({_COORDINATORS} UNION ALL {_COMMISSION})"
        return await self._insert(
            candidates,
            {
                "alert_id": alert_id,
                "sender": sender_authority_id,
                "countries": list(countries),
                "coordinator_roles": wanted_role_keys(coordinator_roles, area),
                "commission_roles": list(commission_roles),
                "user_roles": wanted_role_keys(user_roles, area),
                "user_id": user_id,
                "now": now,
            },
        )

    async def broadcast_to_competent(
        self,
        *,
        alert_id: uuid.UUID,
        sender_authority_id: uuid.UUID,
        area: str,
        keyword: str,
        countries: Sequence[str],
        coordinator_roles: Sequence[str],
        user_roles: Sequence[str],
        commission_roles: Sequence[str],
        user_id: uuid.UUID,
        now: datetime,
    ) -> list[NewRecipient]:
        """In each country the authorities competent for the area whose competences name the
        keyword (all those competent for the area where none does), the coordinators'
        authorities, and the Commission."""
        candidates = (
            "competent AS ("
            " SELECT a.id, a.country, a.languages, :keyword = ANY(a.keywords) AS by_keyword"
            " FROM directory_authorities a"
            " WHERE a.status = 'active' AND a.country = ANY(CAST(:countries AS text[]))"
            " AND a.id <> CAST(:sender AS uuid) AND :area = ANY(a.areas)"
            "),"
            " keyword_countries AS (SELECT DISTINCT country FROM competent WHERE by_keyword),"
            " chosen AS ("
            " SELECT c.id, c.country, c.languages, 'competent' AS via, 2 AS rank"
            " FROM competent c"
            " WHERE c.by_keyword OR c.country NOT IN (SELECT country FROM keyword_countries)"
            f" UNION ALL {_COORDINATORS} UNION ALL {_COMMISSION})"
        )
        return await self._insert(
            candidates,
            {
                "alert_id": alert_id,
                "sender": sender_authority_id,
                "area": area,
                "keyword": keyword,
                "countries": list(countries),
                "coordinator_roles": wanted_role_keys(coordinator_roles, area),
                "commission_roles": list(commission_roles),
                "user_roles": wanted_role_keys(user_roles, area),
                "user_id": user_id,
                "now": now,
            },
        )

    async def disseminate(
        self,
        *,
        alert_id: uuid.UUID,
        sender_authority_id: uuid.UUID,
        area: str,
        country: str,
        procedures: Sequence[str],
        regions: Sequence[str],
        authority_ids: Sequence[uuid.UUID],
        user_roles: Sequence[str],
        user_id: uuid.UUID,
        now: datetime,
    ) -> list[NewRecipient]:
        """Active authorities of ``country`` competent for one of the procedures and in one of
        the regions (each criterion when given), plus those named."""
        candidates = (
            "chosen AS ("
            " SELECT a.id, a.country, a.languages, 'disseminated' AS via, 1 AS rank"
            " FROM directory_authorities a"
            " WHERE a.status = 'active' AND a.country = :country"
            " AND a.id <> CAST(:sender AS uuid) AND ("
            "  (CAST(:by_criteria AS boolean)"
            "   AND (cardinality(CAST(:procedures AS text[])) = 0"
            "    OR a.procedures && CAST(:procedures AS text[]))"
            "   AND (cardinality(CAST(:regions AS text[])) = 0"
            "    OR a.region = ANY(CAST(:regions AS text[]))"
            "    OR a.competence_regions && CAST(:regions AS text[])))"
            "  OR a.id = ANY(CAST(:authority_ids AS uuid[]))))"
        )
        return await self._insert(
            candidates,
            {
                "alert_id": alert_id,
                "sender": sender_authority_id,
                "country": country,
                "by_criteria": bool(procedures or regions),
                "procedures": list(procedures),
                "regions": list(regions),
                "authority_ids": list(authority_ids),
                "user_roles": wanted_role_keys(user_roles, area),
                "user_id": user_id,
                "now": now,
            },
        )


# --- alerts ----------------------------------------------------------------------------------


class AlertRepository(Repository):
    async def lock_idempotency_key(self, user_id: uuid.UUID, key: str) -> None:
        """Serialise creations with one key: the second waits, then finds the first's alert."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"alerts:idempotency:{user_id}:{key}"},
        )

    async def idempotency(self, user_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        return await self.session.get(IdempotencyRecord, (user_id, key))

    async def remember_idempotency(
        self, user_id: uuid.UUID, key: str, request_hash: str, alert_id: uuid.UUID, now: datetime
    ) -> None:
        self.session.add(
            IdempotencyRecord(
                user_id=user_id,
                key=key,
                request_hash=request_hash,
                alert_id=alert_id,
                created_at=now,
            )
        )
        await self.session.flush()

    async def add(self, alert: AlertRecord) -> None:
        self.session.add(alert)
        await self.session.flush()

    async def get(self, alert_id: uuid.UUID, *, lock: str | None = None) -> AlertRecord | None:
        """The alert; ``lock`` "update" for a transition, "share" for an action that leaves the
        alert as it is (disseminations of several countries run side by side)."""
        statement = select(AlertRecord).where(AlertRecord.id == alert_id)
        if lock == "update":
            statement = statement.with_for_update()
        elif lock == "share":
            statement = statement.with_for_update(read=True)
        if lock is not None:
            statement = statement.execution_options(populate_existing=True)
        return await self.session.scalar(statement)

    async def involvement(
        self, alert_id: uuid.UUID, authority_id: uuid.UUID | None, country: str | None
    ) -> Involvement:
        """The caller's inbox entry and whether its country received the alert, in one query."""
        own = (
            select(RecipientRecord.acknowledged_at)
            .where(
                RecipientRecord.alert_id == alert_id,
                RecipientRecord.authority_id == authority_id,
            )
            .scalar_subquery()
        )
        has_entry = exists().where(
            RecipientRecord.alert_id == alert_id, RecipientRecord.authority_id == authority_id
        )
        received = exists().where(
            RecipientRecord.alert_id == alert_id, RecipientRecord.country == country
        )
        row = (
            await self.session.execute(
                select(
                    has_entry if authority_id is not None else false(),
                    own.is_not(None) if authority_id is not None else false(),
                    received if country is not None else false(),
                )
            )
        ).one()
        return Involvement(
            recipient=bool(row[0]), acknowledged=bool(row[1]), country_received=bool(row[2])
        )

    async def recipient_languages(self, alert_id: uuid.UUID) -> set[str]:
        """The languages of every recipient authority and of the sender authority."""
        result = await self.session.execute(
            text(
                "WITH involved AS (SELECT authority_id FROM alert_recipients"
                "  WHERE alert_id = CAST(:id AS uuid)"
                "  UNION SELECT sender_authority_id FROM alerts WHERE id = CAST(:id AS uuid))"
                " SELECT DISTINCT unnest(a.languages) FROM directory_authorities a"
                " WHERE a.id IN (SELECT authority_id FROM involved)"
                " UNION SELECT DISTINCT u.language FROM directory_users u"
                " WHERE u.authority_id IN (SELECT authority_id FROM involved)"
            ),
            {"id": alert_id},
        )
        return {row[0] for row in result if row[0]}

    # personal data

    async def personal_data(self, alert_id: uuid.UUID) -> PersonalDataRecord | None:
        return await self.session.get(PersonalDataRecord, alert_id)

    async def has_personal_data(self, alert_id: uuid.UUID) -> bool:
        return bool(
            await self.session.scalar(
                select(exists().where(PersonalDataRecord.alert_id == alert_id))
            )
        )

    async def put_personal_data(
        self, alert_id: uuid.UUID, professional: dict[str, Any], now: datetime
    ) -> None:
        statement = pg_insert(PersonalDataRecord).values(
            alert_id=alert_id, professional=professional, updated_at=now
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["alert_id"],
                set_={"professional": statement.excluded.professional, "updated_at": now},
            )
        )

    async def delete_personal_data(self, alert_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(PersonalDataRecord).where(PersonalDataRecord.alert_id == alert_id)
        )

    async def log_access(self, entry: AccessLogRecord) -> None:
        self.session.add(entry)
        await self.session.flush()

    async def access_log(
        self, alert_id: uuid.UUID, after_id: int | None, limit: int
    ) -> list[AccessLogRecord]:
        statement = select(AccessLogRecord).where(AccessLogRecord.alert_id == alert_id)
        if after_id is not None:
            statement = statement.where(AccessLogRecord.id > after_id)
        rows = await self.session.scalars(statement.order_by(AccessLogRecord.id).limit(limit))
        return list(rows)

    # content, updates, comments, history

    async def keep_content_version(self, record: ContentVersionRecord) -> None:
        self.session.add(record)
        await self.session.flush()

    async def content_versions(self, alert_id: uuid.UUID) -> list[ContentVersionRecord]:
        rows = await self.session.scalars(
            select(ContentVersionRecord)
            .where(ContentVersionRecord.alert_id == alert_id)
            .order_by(ContentVersionRecord.content_version)
        )
        return list(rows)

    async def add_update(self, record: UpdateRecord) -> None:
        self.session.add(record)
        await self.session.flush()

    async def updates(self, alert_id: uuid.UUID) -> list[UpdateRecord]:
        rows = await self.session.scalars(
            select(UpdateRecord)
            .where(UpdateRecord.alert_id == alert_id)
            .order_by(UpdateRecord.at, UpdateRecord.id)
        )
        return list(rows)

    async def add_comment(self, record: CommentRecord) -> None:
        self.session.add(record)
        await self.session.execute(
            update(RecipientRecord)
            .where(
                RecipientRecord.alert_id == record.alert_id,
                RecipientRecord.authority_id == record.authority_id,
            )
            .values(comment_count=RecipientRecord.comment_count + 1, last_commented_at=record.at)
        )
        await self.session.flush()

    async def comments(self, alert_id: uuid.UUID) -> list[tuple[CommentRecord, str | None]]:
        rows = await self.session.execute(
            select(CommentRecord, AuthorityRecord.official_name)
            .outerjoin(AuthorityRecord, AuthorityRecord.id == CommentRecord.authority_id)
            .where(CommentRecord.alert_id == alert_id)
            .order_by(CommentRecord.at, CommentRecord.id)
        )
        return [(row[0], row[1]) for row in rows]

    async def add_history(self, record: HistoryRecord) -> None:
        self.session.add(record)
        await self.session.flush()

    async def history(self, alert_id: uuid.UUID) -> list[HistoryRecord]:
        rows = await self.session.scalars(
            select(HistoryRecord)
            .where(HistoryRecord.alert_id == alert_id)
            .order_by(HistoryRecord.id)
        )
        return list(rows)

    async def add_dissemination(self, record: DisseminationRecord) -> None:
        self.session.add(record)
        await self.session.flush()

    # translations of free texts

    async def keep_translation(self, record: dict[str, Any]) -> bool:
        """Keep a translation unless the alert is unknown; a newer one replaces the held one."""
        if not await self.session.scalar(
            select(exists().where(AlertRecord.id == record["alert_id"]))
        ):
            return False
        statement = pg_insert(TranslationRecord).values(**record)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["alert_id", "text_key", "target_language"],
                set_={
                    k: statement.excluded[k]
                    for k in (
                        "source_language",
                        "translated_text",
                        "provider",
                        "machine_translated",
                        "received_at",
                    )
                },
            )
        )
        return True

    async def translations(
        self, alert_id: uuid.UUID, language: str
    ) -> dict[str, TranslationRecord]:
        rows = await self.session.scalars(
            select(TranslationRecord).where(
                TranslationRecord.alert_id == alert_id,
                TranslationRecord.target_language == language,
            )
        )
        return {row.text_key: row for row in rows}

    # recipients and tracking

    async def mark_read(
        self, alert_id: uuid.UUID, authority_id: uuid.UUID, user_id: uuid.UUID, now: datetime
    ) -> None:
        """The first read of the authority's entry is kept."""
        await self.session.execute(
            update(RecipientRecord)
            .where(
                RecipientRecord.alert_id == alert_id,
                RecipientRecord.authority_id == authority_id,
                RecipientRecord.read_at.is_(None),
            )
            .values(read_at=now, read_by=user_id)
        )

    async def acknowledge(
        self, alert_id: uuid.UUID, authority_id: uuid.UUID, user_id: uuid.UUID, now: datetime
    ) -> bool:
        """Acknowledge the entry (a read too, if it had not been read); False if acknowledged."""
        result = await self.session.execute(
            update(RecipientRecord)
            .where(
                RecipientRecord.alert_id == alert_id,
                RecipientRecord.authority_id == authority_id,
                RecipientRecord.acknowledged_at.is_(None),
            )
            .values(
                acknowledged_at=now,
                acknowledged_by=user_id,
                read_at=func.coalesce(RecipientRecord.read_at, now),
                read_by=func.coalesce(RecipientRecord.read_by, user_id),
            )
            .returning(RecipientRecord.authority_id)
        )
        return result.first() is not None

    async def recipient(
        self, alert_id: uuid.UUID, authority_id: uuid.UUID
    ) -> RecipientRecord | None:
        return await self.session.get(RecipientRecord, (alert_id, authority_id))

    async def tracking(self, alert_id: uuid.UUID, country: str | None) -> list[CountryTracking]:
        statement = (
            select(
                RecipientRecord.country,
                func.count(),
                func.count(RecipientRecord.read_at),
                func.count(RecipientRecord.acknowledged_at),
                func.count(RecipientRecord.last_commented_at),
            )
            .where(RecipientRecord.alert_id == alert_id)
            .group_by(RecipientRecord.country)
            .order_by(RecipientRecord.country)
        )
        if country is not None:
            statement = statement.where(RecipientRecord.country == country)
        rows = await self.session.execute(statement)
        return [CountryTracking(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def disseminated_countries(self, alert_id: uuid.UUID) -> list[tuple[str, int, datetime]]:
        rows = await self.session.execute(
            select(
                DisseminationRecord.country,
                func.sum(DisseminationRecord.recipients),
                func.max(DisseminationRecord.at),
            )
            .where(DisseminationRecord.alert_id == alert_id)
            .group_by(DisseminationRecord.country)
            .order_by(DisseminationRecord.country)
        )
        return [(r[0], int(r[1]), r[2]) for r in rows]

    async def recipients_page(
        self,
        alert_id: uuid.UUID,
        *,
        status: str | None,
        country: str | None,
        after: tuple[str, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[RecipientRecord, AuthorityRecord | None]]:
        statement = (
            select(RecipientRecord, AuthorityRecord)
            .outerjoin(AuthorityRecord, AuthorityRecord.id == RecipientRecord.authority_id)
            .where(RecipientRecord.alert_id == alert_id)
        )
        conditions: dict[str, ColumnElement[bool]] = {
            "read": RecipientRecord.read_at.is_not(None),
            "not_read": RecipientRecord.read_at.is_(None),
            "acknowledged": RecipientRecord.acknowledged_at.is_not(None),
            "not_acknowledged": RecipientRecord.acknowledged_at.is_(None),
            "commented": RecipientRecord.last_commented_at.is_not(None),
            "not_commented": RecipientRecord.last_commented_at.is_(None),
        }
        if status is not None:
            statement = statement.where(conditions[status])
        if country is not None:
            statement = statement.where(RecipientRecord.country == country)
        if after is not None:
            statement = statement.where(
                tuple_(RecipientRecord.country, RecipientRecord.authority_id) > tuple_(*after)
            )
        rows = await self.session.execute(
            statement.order_by(RecipientRecord.country, RecipientRecord.authority_id).limit(limit)
        )
        return [(row[0], row[1]) for row in rows]

    # lists

    async def list_alerts(
        self,
        *,
        box: str,
        visibility: VisibilityFilter,
        kind: str | None,
        state: str | None,
        overdue_before: date | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[AlertRecord, RecipientRecord | None, str | None]]:
        """One page of a box, newest first: (alert, the caller's inbox entry, sender name)."""
        entry = aliased(RecipientRecord, name="own_entry")
        sort_key: Any = AlertRecord.created_at
        if visibility.authority_id is None:
            if box in ("incoming", "outgoing"):
                return []
            statement = select(AlertRecord, null().label("entry"), AuthorityRecord.official_name)
        else:
            on = and_(
                entry.alert_id == AlertRecord.id, entry.authority_id == visibility.authority_id
            )
            statement = select(AlertRecord, entry, AuthorityRecord.official_name)
            if box == "incoming":
                statement = statement.join(entry, on)
                sort_key = entry.delivered_at
            else:
                statement = statement.outerjoin(entry, on)
        statement = statement.outerjoin(
            AuthorityRecord, AuthorityRecord.id == AlertRecord.sender_authority_id
        )
        if box == "outgoing":
            statement = statement.where(AlertRecord.sender_authority_id == visibility.authority_id)
        elif box == "coordination":
            statement = statement.where(_coordination(visibility))
        elif box == "all":
            statement = statement.where(_visible(visibility))
        if kind is not None:
            statement = statement.where(AlertRecord.kind == kind)
        if state is not None:
            statement = statement.where(AlertRecord.state == state)
        if overdue_before is not None:
            statement = statement.where(
                AlertRecord.state == "draft",
                AlertRecord.sent_at.is_(None),
                AlertRecord.send_by < overdue_before,
            )
        if after is not None:
            statement = statement.where(tuple_(sort_key, AlertRecord.id) < tuple_(*after))
        rows = await self.session.execute(
            statement.order_by(sort_key.desc(), AlertRecord.id.desc()).limit(limit)
        )
        return [(row[0], row[1], row[2]) for row in rows]

    # jobs

    async def claim_overdue(self, today: date, limit: int) -> list[AlertRecord]:
        rows = await self.session.scalars(
            select(AlertRecord)
            .where(
                AlertRecord.state == "draft",
                AlertRecord.send_by.is_not(None),
                AlertRecord.overdue_at.is_(None),
                AlertRecord.send_by < today,
            )
            .order_by(AlertRecord.send_by, AlertRecord.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows)

    async def claim_for_blocking(self, now: datetime, limit: int) -> list[AlertRecord]:
        rows = await self.session.scalars(
            select(AlertRecord)
            .where(
                AlertRecord.ended_at.is_not(None),
                AlertRecord.personal_data_deleted_at.is_(None),
                AlertRecord.personal_data_blocked_at.is_(None),
                AlertRecord.ended_at + func.make_interval(0, AlertRecord.retention_months) <= now,
            )
            .order_by(AlertRecord.ended_at, AlertRecord.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows)

    async def claim_for_deletion(self, now: datetime, limit: int) -> list[AlertRecord]:
        rows = await self.session.scalars(
            select(AlertRecord)
            .where(
                AlertRecord.ended_at.is_not(None),
                AlertRecord.personal_data_deleted_at.is_(None),
                AlertRecord.ended_at + func.make_interval(0, DELETE_AFTER_MONTHS) <= now,
            )
            .order_by(AlertRecord.ended_at, AlertRecord.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows)

    async def replace_update_items(self, update_id: uuid.UUID, items: list[dict[str, Any]]) -> None:
        await self.session.execute(
            update(UpdateRecord).where(UpdateRecord.id == update_id).values(items=items)
        )

    async def replace_version_content(
        self, alert_id: uuid.UUID, content_version: int, content: dict[str, Any]
    ) -> None:
        await self.session.execute(
            update(ContentVersionRecord)
            .where(
                ContentVersionRecord.alert_id == alert_id,
                ContentVersionRecord.content_version == content_version,
            )
            .values(content=content)
        )


def _area_condition(areas: frozenset[str] | None) -> ColumnElement[bool]:
    if areas is None:
        return true()
    if not areas:
        return false()
    return AlertRecord.area.in_(sorted(areas))


def _coordinates(visibility: VisibilityFilter) -> ColumnElement[bool]:
    """The caller coordinates alerts of this kind and area (SQL twin of domain rules)."""
    areas = _area_condition(visibility.alert_coordinator_areas)
    national = true() if visibility.national_coordinator else false()
    return or_(
        and_(AlertRecord.kind == "notification", or_(national, areas)),
        and_(AlertRecord.kind != "notification", areas),
    )


def _received_by_country(country: str | None, via: str | None = None) -> ColumnElement[bool]:
    if country is None:
        return false()
    condition = exists().where(
        RecipientRecord.alert_id == AlertRecord.id, RecipientRecord.country == country
    )
    if via is not None:
        condition = exists().where(
            RecipientRecord.alert_id == AlertRecord.id,
            RecipientRecord.country == country,
            RecipientRecord.via == via,
        )
    return condition


def _visible(visibility: VisibilityFilter) -> ColumnElement[bool]:
    """SQL twin of ``domain.can_see``."""
    conditions: list[ColumnElement[bool]] = []
    if visibility.authority_id is not None:
        conditions += [
            AlertRecord.sender_authority_id == visibility.authority_id,
            exists().where(
                RecipientRecord.alert_id == AlertRecord.id,
                RecipientRecord.authority_id == visibility.authority_id,
            ),
        ]
    if visibility.country is not None:
        sent = AlertRecord.state != "draft"
        coordinator = _coordinates(visibility)
        conditions += [
            and_(sent, AlertRecord.sender_country == visibility.country, coordinator),
            and_(sent, _received_by_country(visibility.country), coordinator),
        ]
        if visibility.data_protection_administrator:
            conditions.append(
                and_(
                    sent,
                    or_(
                        AlertRecord.sender_country == visibility.country,
                        _received_by_country(visibility.country),
                    ),
                )
            )
    return or_(*conditions) if conditions else false()


def _coordination(visibility: VisibilityFilter) -> ColumnElement[bool]:
    """What waits for the caller as alert coordinator: Services Directive alerts of its
    country to approve or broadcast, alerts its country received and has not disseminated."""
    if visibility.country is None:
        return false()
    areas = _area_condition(visibility.alert_coordinator_areas)
    to_approve = and_(
        AlertRecord.kind == "services_alert",
        AlertRecord.state.in_(("submitted", "approved")),
        AlertRecord.sender_country == visibility.country,
    )
    to_disseminate = and_(
        AlertRecord.kind.in_(("services_alert", "pq_alert")),
        AlertRecord.state == "broadcast",
        _received_by_country(visibility.country, "coordinator"),
        ~exists().where(
            DisseminationRecord.alert_id == AlertRecord.id,
            DisseminationRecord.country == visibility.country,
        ),
    )
    return and_(areas, or_(to_approve, to_disseminate))
