"""Every SQL statement of the directory service."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from services.directory.domain import MatchClass, Visibility
from services.directory.models import (
    Authority,
    AuthorityHistory,
    CatalogueVersion,
    IdempotentRequest,
    User,
    UserHistory,
)
from shared.db import Repository


def violated_constraint(error: IntegrityError) -> str:
    """The name of the index or constraint an insert or update ran into ('' if unknown)."""
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return str(name) if name else str(error.orig)


# The search rows of each authority, computed from its stored data in one statement; the same
# statement serves one authority after a change and a whole network after a bulk load.
_SEARCH_COLUMNS = (
    "authority_id, country, region, level, status, coordinating, covered_regions, areas, "
    "procedures, keywords, breadth, sort_name"
)
_SEARCH_UPDATE = ", ".join(
    f"{c} = EXCLUDED.{c}" for c in _SEARCH_COLUMNS.split(", ") if c != "authority_id"
)
_REFRESH_SEARCH = f"""
WITH source AS MATERIALIZED (
    SELECT
        a.id AS authority_id, a.country, a.region, a.level, a.status, a.coordinating,
        ARRAY(
            SELECT DISTINCT r FROM (
                SELECT a.region AS r
                UNION ALL
                SELECT jsonb_array_elements_text(c -> 'regions')
                FROM jsonb_array_elements(a.competences) AS c
            ) AS covered WHERE r IS NOT NULL
        ) AS covered_regions,
        ARRAY(SELECT DISTINCT c ->> 'area' FROM jsonb_array_elements(a.competences) AS c)
            AS areas,
        ARRAY(
            SELECT DISTINCT p FROM jsonb_array_elements(a.competences) AS c,
            jsonb_array_elements_text(c -> 'procedures') AS p
        ) AS procedures,
        ARRAY(
            SELECT DISTINCT k FROM jsonb_array_elements(a.competences) AS c,
            jsonb_array_elements_text(c -> 'keywords') AS k
        ) AS keywords,
        lower(unaccent(a.official_name)) AS sort_name,
        a.official_name, a.name_language, a.informal_titles, a.descriptions
    FROM authorities AS a
    {{where}}
),
ranked AS (
    SELECT *, cardinality(procedures) + cardinality(keywords) AS breadth FROM source
),
narrow AS (
    INSERT INTO authority_search ({_SEARCH_COLUMNS})
    SELECT {_SEARCH_COLUMNS} FROM ranked
    ON CONFLICT (authority_id) DO UPDATE SET {_SEARCH_UPDATE}
)
INSERT INTO authority_text ({_SEARCH_COLUMNS}, names, descriptions)
SELECT
    {_SEARCH_COLUMNS},
    directory_tsvector(informal_titles, official_name, name_language),
    directory_tsvector(descriptions, NULL, NULL)
FROM ranked
ON CONFLICT (authority_id) DO UPDATE SET {_SEARCH_UPDATE},
    names = EXCLUDED.names, descriptions = EXCLUDED.descriptions
"""


@dataclass(frozen=True)
class SearchCriteria:
    """A search as the repository runs it; every list is of catalogue keys or region codes."""

    country: str | None = None
    regions: Sequence[str] = ()  # the region asked for with its enclosing and inner regions
    region_exact: str | None = None
    area: str | None = None
    procedure: str | None = None
    keyword: str | None = None
    level: str | None = None
    status: str = "active"
    visibility: Visibility | None = None  # None: only active authorities are asked for
    # The query: keys the whole query names, its words, the keywords each word names.
    has_query: bool = False
    keywords_exact: Sequence[str] = ()
    keywords_prefix: Sequence[str] = ()
    procedures: Sequence[str] = ()
    areas: Sequence[str] = ()
    words: Sequence[str] = ()
    word_keywords: Sequence[Sequence[str]] = ()  # per word, when the query has several
    languages: Sequence[str] = ()  # of the query text; empty: every language is tried


@dataclass(frozen=True)
class SearchHit:
    authority_id: uuid.UUID
    match: MatchClass
    outside_region: int  # 0 when the authority sits in the region asked for (or none was)
    breadth: int
    sort_name: str

    @property
    def position(self) -> list[Any]:
        return [
            int(self.match),
            self.outside_region,
            self.breadth,
            self.sort_name,
            str(self.authority_id),
        ]


class AuthorityRepository(Repository):
    async def get(self, authority_id: uuid.UUID, *, for_update: bool = False) -> Authority | None:
        statement = select(Authority).where(Authority.id == authority_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Authority]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Authority).where(Authority.id.in_(list(ids))))
        return {row.id: row for row in rows}

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Authority)) or 0)

    async def name_taken(
        self, country: str, name_key: str, except_id: uuid.UUID | None = None
    ) -> bool:
        statement = select(Authority.id).where(
            Authority.country == country,
            Authority.name_key == name_key,
            Authority.status != "deactivated",
        )
        if except_id is not None:
            statement = statement.where(Authority.id != except_id)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def names_taken(self, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (country, name key) pairs a live authority holds already."""
        if not pairs:
            return set()
        countries = sorted({c for c, _ in pairs})
        keys = sorted({k for _, k in pairs})
        rows = await self.session.execute(
            select(Authority.country, Authority.name_key).where(
                Authority.country.in_(countries),
                Authority.name_key.in_(keys),
                Authority.status != "deactivated",
            )
        )
        return {(c, k) for c, k in rows}

    async def coordinating_authority(self, country: str) -> uuid.UUID | None:
        return await self.session.scalar(
            select(Authority.id).where(
                Authority.country == country,
                Authority.coordinating.is_(True),
                Authority.status != "deactivated",
            )
        )

    async def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert authorities and their search rows (IntegrityError on a taken name)."""
        if not rows:
            return
        await self.session.execute(insert(Authority), list(rows))
        await self.refresh_search([row["id"] for row in rows])

    async def add_missing(self, rows: Sequence[Mapping[str, Any]]) -> list[uuid.UUID]:
        """Insert the authorities whose id is not stored yet; returns the ids inserted."""
        if not rows:
            return []
        result = await self.session.execute(
            pg_insert(Authority)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Authority.id),
            list(rows),
        )
        inserted = list(result.scalars())
        await self.refresh_search(inserted)
        return inserted

    async def change(self, authority_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(Authority).where(Authority.id == authority_id).values(**values)
        )
        await self.refresh_search([authority_id])

    async def refresh_search(self, ids: Sequence[uuid.UUID]) -> None:
        if ids:
            await self.session.execute(
                text(_REFRESH_SEARCH.format(where="WHERE a.id = ANY(CAST(:ids AS uuid[]))")),
                {"ids": list(ids)},
            )

    async def rebuild_search(self) -> None:
        """Every authority's search row (after a bulk load)."""
        await self.session.execute(text(_REFRESH_SEARCH.format(where="")))

    async def copy(
        self, table: str, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
    ) -> None:
        """Bulk load with COPY (generated networks); JSONB values are passed as JSON text."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table, records=records, columns=list(columns)
        )

    async def add_bulk_history(self, created_at: datetime, action: str) -> None:
        """One history row for each authority created at ``created_at`` (a bulk load)."""
        await self.session.execute(
            text(
                "INSERT INTO authority_history"
                " (authority_id, version, action, occurred_at, changes)"
                " SELECT id, version, :action, created_at, '{}'::jsonb FROM authorities"
                " WHERE created_at = :created_at"
            ),
            {"action": action, "created_at": created_at},
        )

    async def analyze(self) -> None:
        await self.session.execute(text("ANALYZE authorities"))
        await self.session.execute(text("ANALYZE authority_search"))
        await self.session.execute(text("ANALYZE authority_text"))
        await self.session.execute(text("ANALYZE users"))

    async def add_history(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(AuthorityHistory), list(rows))

    async def history(
        self, authority_id: uuid.UUID, after: int | None, limit: int
    ) -> list[AuthorityHistory]:
        statement = select(AuthorityHistory).where(AuthorityHistory.authority_id == authority_id)
        if after is not None:
            statement = statement.where(AuthorityHistory.id > after)
        return list(
            await self.session.scalars(statement.order_by(AuthorityHistory.id).limit(limit))
        )

    async def search(
        self, criteria: SearchCriteria, position: Sequence[Any] | None, limit: int
    ) -> list[SearchHit]:
        """One page of authorities, best first.

        Without a query: by name. With one: class by class (see ``MatchClass``), each class in
        rank order (the region asked for first, then specialised bodies, then by name), one
        statement per class until the page is full, so a common term costs one short walk of
        the rank index and descriptions are searched only when names and competences did not
        fill the page.
        """
        params: dict[str, Any] = {"status": criteria.status, "limit": limit}
        filters = _filters(criteria, params)
        if not criteria.has_query:
            conditions = list(filters)
            if position is not None:
                conditions.append("(s.sort_name, s.authority_id) > (:after_name, :after_id)")
                params["after_name"], params["after_id"] = position[3], uuid.UUID(position[4])
            rows = await self.session.execute(
                text(
                    "SELECT s.authority_id, 0, 0, 0, s.sort_name FROM authority_search AS s"
                    f" WHERE {' AND '.join(conditions)}"
                    " ORDER BY s.sort_name, s.authority_id LIMIT :limit"
                ),
                params,
            )
            return [SearchHit(r[0], MatchClass.NONE, 0, 0, r[4]) for r in rows]
        classes = _MatchConditions(criteria, params)
        hits: list[SearchHit] = []
        first = MatchClass(int(position[0])) if position is not None else MatchClass.COMPETENCE
        for match in (MatchClass.COMPETENCE, MatchClass.PARTIAL, MatchClass.NAME, MatchClass.TEXT):
            if match < first:
                continue
            if match >= MatchClass.NAME and not classes.text_ready:
                queries = await self.text_queries(criteria.words, criteria.languages)
                classes.set_text_queries(queries)
            condition = classes.condition(match)
            if condition is None:
                continue
            page_position = position if match == first else None
            page_params = {**params, "limit": limit - len(hits)}
            keywords = (
                _keywords_only(criteria, match) if filters == ["s.status = :status"] else None
            )
            if keywords is not None:
                hits += await self._by_keyword(
                    match, keywords, page_position, page_params, excluded=criteria.keywords_exact
                )
            else:
                hits += await self._search_class(
                    match, condition, filters, criteria.region_exact, page_position, page_params
                )
            if len(hits) >= limit:
                break
        return hits[:limit]

    async def _by_keyword(
        self,
        match: MatchClass,
        keywords: Sequence[str],
        position: Sequence[Any] | None,
        params: dict[str, Any],
        *,
        excluded: Sequence[str],
    ) -> list[SearchHit]:
        """A class of keywords only, with no filter but the status: each keyword's first
        entries in rank order (``authority_keyword_rank``), merged; an authority holding
        several of the keywords counts once. Each keyword's own first ``limit`` are enough: the
        page's authorities are each among the first of a keyword they hold. The partial class
        leaves out the holders of an exact keyword (the class before it)."""
        after = ""
        if match is MatchClass.PARTIAL and excluded:
            after = (
                " AND NOT EXISTS (SELECT 1 FROM authority_keyword_rank AS x"
                " WHERE x.authority_id = r.authority_id"
                " AND x.keyword = ANY(CAST(:kw_excluded AS text[])))"
            )
            params["kw_excluded"] = list(excluded)
        if position is not None:
            after += (
                " AND (r.breadth, r.sort_name, r.authority_id)"
                " > (:after_breadth, :after_name, :after_id)"
            )
            params.update(
                after_breadth=int(position[2]),
                after_name=position[3],
                after_id=uuid.UUID(position[4]),
            )
        rows = await self.session.execute(
            text(
                "SELECT p.authority_id, p.breadth, p.sort_name"
                " FROM unnest(CAST(:keywords AS text[])) AS k(keyword)"
                " CROSS JOIN LATERAL (SELECT r.authority_id, r.breadth, r.sort_name"
                " FROM authority_keyword_rank AS r"
                f" WHERE r.keyword = k.keyword AND r.status = :status{after}"
                " ORDER BY r.breadth, r.sort_name, r.authority_id LIMIT :limit) AS p"
                " GROUP BY p.authority_id, p.breadth, p.sort_name"
                " ORDER BY p.breadth, p.sort_name, p.authority_id LIMIT :limit"
            ),
            {**params, "keywords": list(keywords)},
        )
        return [SearchHit(r[0], match, 0, int(r[1]), r[2]) for r in rows]

    async def _search_class(
        self,
        match: MatchClass,
        condition: str,
        filters: list[str],
        region: str | None,
        position: Sequence[Any] | None,
        params: dict[str, Any],
    ) -> list[SearchHit]:
        table = "authority_search" if match <= MatchClass.PARTIAL else "authority_text"
        conditions = [*filters, condition]
        order = "s.breadth, s.sort_name, s.authority_id"
        outside = "0"
        if region is not None:
            outside = "CASE WHEN s.region = :region_exact THEN 0 ELSE 1 END"
            params["region_exact"] = region
            order = f"{outside}, {order}"
        if position is not None:
            params.update(
                after_outside=int(position[1]),
                after_breadth=int(position[2]),
                after_name=position[3],
                after_id=uuid.UUID(position[4]),
            )
            if region is not None:
                conditions.append(
                    f"({outside}, s.breadth, s.sort_name, s.authority_id)"
                    " > (:after_outside, :after_breadth, :after_name, :after_id)"
                )
            else:
                conditions.append(
                    "(s.breadth, s.sort_name, s.authority_id)"
                    " > (:after_breadth, :after_name, :after_id)"
                )
        if "s.country = :country" not in filters:
            # Across countries the planner walks the rank index in order and rechecks row
            # after row (all of them when the filters together are rare); ordering by an
            # expression leaves it the bitmap scans and a top-N sort, faster in each case
            # measured over 100,000 authorities. Within a country the index walk is short.
            order = order.replace("s.breadth", "s.breadth + 0", 1)
        rows = await self.session.execute(
            text(
                f"SELECT s.authority_id, {outside}, s.breadth, s.sort_name FROM {table} AS s"
                f" WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT :limit"
            ),
            params,
        )
        return [SearchHit(r[0], match, int(r[1]), int(r[2]), r[3]) for r in rows]

    async def text_queries(
        self, words: Sequence[str], languages: Sequence[str]
    ) -> list[str | None]:
        """Each word's text-search query over the languages tried (all when none is given):
        its stems, and the start of a whole word; None for a stop word of those languages."""
        if not words:
            return []
        rows = await self.session.execute(
            text(
                "SELECT directory_query(ARRAY[w], CAST(:languages AS text[]))::text"
                " FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(w, n) ORDER BY n"
            ),
            {"words": list(words), "languages": list(languages)},
        )
        return [row[0] for row in rows]


def _keywords_only(criteria: SearchCriteria, match: MatchClass) -> Sequence[str] | None:
    """The keywords of a class that asks for keywords and nothing else (no procedure, no
    area), so it can be answered from ``authority_keyword_rank``; None otherwise."""
    if match is MatchClass.COMPETENCE:
        return criteria.keywords_exact or None
    if match is MatchClass.PARTIAL and not criteria.procedures and not criteria.areas:
        return criteria.keywords_prefix or None
    return None


def _filters(criteria: SearchCriteria, params: dict[str, Any]) -> list[str]:
    """The filters of a search as SQL over a search row ``s`` (either search table)."""
    conditions = ["s.status = :status"]
    if criteria.visibility is not None:
        conditions.append(_visible(criteria.visibility, params))
    if criteria.country is not None:
        conditions.append("s.country = :country")
        params["country"] = criteria.country
    if criteria.regions:
        conditions.append(
            "(s.covered_regions && CAST(:regions AS text[]) OR cardinality(s.covered_regions) = 0)"
        )
        params["regions"] = list(criteria.regions)
    for name in ("area", "procedure", "keyword"):
        value = getattr(criteria, name)
        if value is not None:
            conditions.append(f"s.{name}s @> ARRAY[CAST(:{name} AS text)]")
            params[name] = value
    if criteria.level is not None:
        conditions.append("s.level = :level")
        params["level"] = criteria.level
    return conditions


class _MatchConditions:
    """The SQL condition of each match class, each excluding the classes before it."""

    def __init__(self, criteria: SearchCriteria, params: dict[str, Any]) -> None:
        self.criteria = criteria
        self.params = params
        self.text_ready = False
        self._text_queries: list[str | None] = []
        own: dict[MatchClass, str | None] = {}
        if criteria.keywords_exact:
            params["kw_exact"] = list(criteria.keywords_exact)
            own[MatchClass.COMPETENCE] = "s.keywords && CAST(:kw_exact AS text[])"
        partial = []
        for name, keys, column in (
            ("kw_prefix", criteria.keywords_prefix, "keywords"),
            ("procs", criteria.procedures, "procedures"),
            ("areas", criteria.areas, "areas"),
        ):
            if keys:
                params[name] = list(keys)
                partial.append(f"s.{column} && CAST(:{name} AS text[])")
        own[MatchClass.PARTIAL] = f"({' OR '.join(partial)})" if partial else None
        self.own = own

    def set_text_queries(self, queries: list[str | None]) -> None:
        self._text_queries = queries
        self.text_ready = True
        several = len(self.criteria.words) > 1
        names, anywhere = [], []
        for i, query in enumerate(queries):
            keywords = self.criteria.word_keywords[i] if several else ()
            arms = []
            if keywords:
                self.params[f"kw_{i}"] = list(keywords)
                arms.append(f"s.keywords && CAST(:kw_{i} AS text[])")
            if query is not None:
                self.params[f"tsq_{i}"] = query
                arms.append(f"s.names @@ CAST(:tsq_{i} AS tsquery)")
                anywhere.append(
                    f"(s.names @@ CAST(:tsq_{i} AS tsquery)"
                    f" OR s.descriptions @@ CAST(:tsq_{i} AS tsquery))"
                )
            if arms:
                names.append(f"({' OR '.join(arms)})")
        self.own[MatchClass.NAME] = f"({' AND '.join(names)})" if names else None
        self.own[MatchClass.TEXT] = f"({' AND '.join(anywhere)})" if anywhere else None

    def condition(self, match: MatchClass) -> str | None:
        found = self.own.get(match)
        if found is None:
            return None
        before = [c for m, c in self.own.items() if m < match and c is not None]
        return " AND ".join([found, *(f"NOT {c}" for c in before)])


def _visible(visibility: Visibility, params: dict[str, Any]) -> str:
    """The SQL predicate of ``visibility`` (for statuses other than active)."""
    if visibility.everything:
        return "TRUE"
    parts: list[str] = []
    if visibility.countries:
        parts.append("s.country = ANY(CAST(:vis_countries AS text[]))")
        params["vis_countries"] = sorted(visibility.countries)
    for i, (country, areas) in enumerate(visibility.country_areas):
        parts.append(
            f"(s.country = :vis_ac_{i} AND NOT s.coordinating"
            f" AND s.areas && CAST(:vis_a_{i} AS text[]))"
        )
        params[f"vis_ac_{i}"], params[f"vis_a_{i}"] = country, sorted(areas)
    for i, (country, regions) in enumerate(visibility.country_regions):
        parts.append(
            f"(s.country = :vis_rc_{i} AND NOT s.coordinating"
            f" AND s.region = ANY(CAST(:vis_r_{i} AS text[])))"
        )
        params[f"vis_rc_{i}"], params[f"vis_r_{i}"] = country, sorted(regions)
    if visibility.authority_ids:
        parts.append("s.authority_id = ANY(CAST(:vis_ids AS uuid[]))")
        params["vis_ids"] = sorted(visibility.authority_ids)
    return f"({' OR '.join(parts)})" if parts else "FALSE"


class UserRepository(Repository):
    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        statement = select(User).where(User.id == user_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def by_username(self, username: str) -> User | None:
        return (await self.session.scalars(select(User).where(User.username == username))).first()

    async def many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(User).where(User.id.in_(list(ids))))
        return {row.id: row for row in rows}

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(User)) or 0)

    async def username_taken(self, username: str) -> bool:
        found = await self.session.scalar(select(User.id).where(User.username == username))
        return found is not None

    async def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(User), list(rows))

    async def add_missing(self, rows: Sequence[Mapping[str, Any]]) -> list[uuid.UUID]:
        if not rows:
            return []
        result = await self.session.execute(
            pg_insert(User).on_conflict_do_nothing().returning(User.id), list(rows)
        )
        return list(result.scalars())

    async def change(self, user_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(**values))

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(password_hash=password_hash)
        )

    async def of_authority(
        self, authority_id: uuid.UUID, after: str | None, limit: int
    ) -> list[User]:
        statement = select(User).where(User.authority_id == authority_id)
        if after is not None:
            statement = statement.where(User.username > after)
        return list(await self.session.scalars(statement.order_by(User.username).limit(limit)))

    async def add_history(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(UserHistory), list(rows))

    async def history(self, user_id: uuid.UUID, after: int | None, limit: int) -> list[UserHistory]:
        statement = select(UserHistory).where(UserHistory.user_id == user_id)
        if after is not None:
            statement = statement.where(UserHistory.id > after)
        return list(await self.session.scalars(statement.order_by(UserHistory.id).limit(limit)))


class CatalogueRepository(Repository):
    async def add_version(self, values: Mapping[str, Any]) -> bool:
        """Keep a catalogue version; False when it was kept before."""
        result = await self.session.execute(
            pg_insert(CatalogueVersion)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["version"])
            .returning(CatalogueVersion.version)
        )
        return result.first() is not None

    async def current_version(self) -> str | None:
        return await self.session.scalar(
            select(CatalogueVersion.version)
            .order_by(CatalogueVersion.published_at.desc(), CatalogueVersion.received_at.desc())
            .limit(1)
        )

    async def version(self, version: str) -> CatalogueVersion | None:
        return await self.session.get(CatalogueVersion, version)


class IdempotencyRepository(Repository):
    async def claim(self, caller_id: uuid.UUID, key: str, operation: str, fingerprint: str) -> bool:
        """Hold the key for this request; False when an earlier request holds it. A concurrent
        request with the same key waits here until the first one commits or rolls back."""
        result = await self.session.execute(
            pg_insert(IdempotentRequest)
            .values(
                caller_id=caller_id,
                key=key,
                operation=operation,
                fingerprint=fingerprint,
                status_code=0,
                body={},
                headers={},
            )
            .on_conflict_do_nothing(index_elements=["caller_id", "key"])
            .returning(IdempotentRequest.key)
        )
        return result.first() is not None

    async def stored(self, caller_id: uuid.UUID, key: str) -> IdempotentRequest | None:
        return await self.session.get(IdempotentRequest, (caller_id, key))

    async def complete(
        self,
        caller_id: uuid.UUID,
        key: str,
        status_code: int,
        body: Any,
        headers: Mapping[str, str],
    ) -> None:
        await self.session.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.caller_id == caller_id, IdempotentRequest.key == key)
            .values(status_code=status_code, body=body, headers=dict(headers))
        )

    async def purge(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotentRequest).where(IdempotentRequest.created_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
