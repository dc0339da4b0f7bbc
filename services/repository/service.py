"""Use cases of the repository service: load, call the domain, store, add outbox events.

Functions here may flush but never commit: the request or handler transaction does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.repository import domain
from services.repository.domain import Definition, Member
from services.repository.models import idempotency_keys, outbox
from services.repository.repository import NewRecordRow, RepositoryStore, StoredRecord
from shared import idempotency
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot
from shared.contracts.repository import (
    DefinitionLoaded,
    RecordCreated,
    RecordRetired,
    RecordsImported,
    RecordSnapshot,
    RecordUpdated,
)
from shared.db import Database
from shared.identity import Identity
from shared.logging import get_logger
from shared.problems import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion

log = get_logger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class InvalidDefinition(Exception):
    """A definition file that does not describe a repository; names the file."""


# --- definitions ------------------------------------------------------------------------------


def read_definitions(directory: Path) -> list[Definition]:
    """Every ``*.yaml``, ``*.yml`` or ``*.json`` file of ``directory`` as a definition."""
    found: list[Definition] = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            found.append(Definition.model_validate(raw))
        except (yaml.YAMLError, ValidationError) as exc:
            raise InvalidDefinition(f"{path.name}: {exc}") from exc
    keys = [d.key for d in found]
    if len(keys) != len(set(keys)):
        raise InvalidDefinition(f"two files of {directory} define the same key")
    return found


async def store_definitions(
    session: AsyncSession, definitions: list[Definition], now: datetime
) -> list[str]:
    """Store the definitions; announce those that are new or changed. Returns their keys."""
    store = RepositoryStore(session)
    changed: list[str] = []
    for definition in definitions:
        body = definition.model_dump(mode="json")
        if await store.store_definition(definition.key, body, definition.fingerprint, now):
            changed.append(definition.key)
            await outbox.add(
                session,
                DefinitionLoaded(
                    key=definition.key,
                    fingerprint=definition.fingerprint,
                    fields=tuple(f.name for f in definition.fields),
                    occurred_at=now,
                ),
                subject=definition.key,
            )
    return changed


async def load_definitions(db: Database, directory: Path, now: datetime) -> list[str]:
    """Read the definition files and store them in one transaction (start-up or command)."""
    definitions = read_definitions(directory)
    async with db.transaction() as session:
        changed = await store_definitions(session, definitions, now)
    log.info("repository definitions loaded", count=len(definitions), changed=changed)
    return changed


_PARSED: dict[str, Definition] = {}


def parsed_definition(raw: dict[str, Any]) -> Definition:
    """A stored definition as a model; parsed once per content (the fingerprint changes with
    it), so a request does not validate the schema again."""
    canonical = json.dumps(raw, sort_keys=True)
    found = _PARSED.get(canonical)
    if found is None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        found = _PARSED[canonical] = Definition.model_validate(raw)
    return found


# --- directory projection --------------------------------------------------------------------


async def project_authority(
    session: AsyncSession, snapshot: AuthoritySnapshot, now: datetime
) -> None:
    await RepositoryStore(session).project_authority(snapshot, now)


async def project_user(session: AsyncSession, snapshot: UserSnapshot, now: datetime) -> None:
    await RepositoryStore(session).project_user(snapshot, now)


# --- access ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    definition: Definition
    member: Member | None
    store: RepositoryStore


async def _open(session: AsyncSession, identity: Identity, key: str, *, write: bool) -> Opened:
    """The repository if the caller may read it (else 404), and may write it if asked (else
    403: they see it, so its existence is no secret to them)."""
    store = RepositoryStore(session)
    raw = await store.definition(key)
    member = await store.member(identity.user_id)
    if raw is None:
        raise NotFound(f"no repository {key!r}")
    definition = parsed_definition(raw)
    if not domain.may_read(definition, member):
        raise NotFound(f"no repository {key!r}")
    if write and not domain.may_write(definition, member):
        raise Forbidden(f"you may not change the records of {key!r}")
    return Opened(definition, member, store)


def _definition_out(definition: Definition, language: str, writable: bool) -> dict[str, Any]:
    return {
        "key": definition.key,
        "title": definition.title(language),
        "description": (
            domain.pick_translation(definition.descriptions, language)[0]
            if definition.descriptions
            else None
        ),
        "access": "all_users" if definition.read.all_users else "group",
        "writable": writable,
        "validity": definition.validity.model_dump() if definition.validity else None,
        "fields": [
            {
                "name": f.name,
                "label": domain.pick_translation(f.labels, language)[0] if f.labels else f.name,
                "type": f.type.value,
                "required": f.required,
                "translatable": f.translatable,
                "searchable": f.searchable,
                "filterable": f.filterable,
                "personal": f.personal,
                **({"terms": sorted(f.vocabulary)} if f.vocabulary else {}),
            }
            for f in definition.fields
        ],
    }


async def list_repositories(
    session: AsyncSession, identity: Identity, language: str
) -> list[dict[str, Any]]:
    """The repositories the caller may read, with their schema in the reader's language."""
    store = RepositoryStore(session)
    member = await store.member(identity.user_id)
    found = []
    for raw in await store.definitions():
        definition = parsed_definition(raw)
        if domain.may_read(definition, member):
            found.append(
                _definition_out(definition, language, domain.may_write(definition, member))
            )
    return found


async def describe_repository(
    session: AsyncSession, identity: Identity, key: str, language: str
) -> dict[str, Any]:
    opened = await _open(session, identity, key, write=False)
    return _definition_out(
        opened.definition, language, domain.may_write(opened.definition, opened.member)
    )


# --- records ---------------------------------------------------------------------------------


def _snapshot(definition: Definition, record: StoredRecord) -> RecordSnapshot:
    return RecordSnapshot(
        id=record.id,
        repository=record.repository,
        version=record.version,
        status=record.status,
        fields=domain.public_fields(definition, record.fields),
        languages=tuple(record.languages),
        authority_id=record.authority_id,
        updated_at=record.updated_at,
    )


def _row(definition: Definition, record_id: uuid.UUID, values: dict[str, Any]) -> NewRecordRow:
    texts = domain.search_texts(definition, values)
    valid_from, valid_until = domain.validity_of(definition, values)
    return NewRecordRow(
        id=record_id,
        repository=definition.key,
        fields=values,
        languages=domain.record_languages(definition, values),
        sort_key=domain.sort_key(definition, values),
        valid_from=valid_from,
        valid_until=valid_until,
        title_texts=texts.title,
        texts=texts.by_language,
    )


def record_out(
    definition: Definition,
    record: StoredRecord,
    language: str,
    *,
    with_personal: bool,
) -> dict[str, Any]:
    values = record.fields if with_personal else domain.public_fields(definition, record.fields)
    return {
        "id": str(record.id),
        "repository": record.repository,
        "version": record.version,
        "status": record.status,
        "languages": record.languages,
        "fields": values,
        "display": domain.rendered(definition, values, language),
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


def _history_entry(
    record_id: uuid.UUID,
    version: int,
    action: str,
    actor: Identity,
    now: datetime,
    changes: dict[str, Any],
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "version": version,
        "action": action,
        "actor_id": actor.user_id,
        "actor_username": actor.username,
        "occurred_at": now,
        "changes": changes,
        "reason": reason,
    }


def _stored_new(row: NewRecordRow, authority_id: uuid.UUID | None, now: datetime) -> StoredRecord:
    return StoredRecord(
        id=row.id,
        repository=row.repository,
        status="active",
        version=1,
        fields=row.fields,
        languages=list(row.languages),
        authority_id=authority_id,
        created_at=now,
        updated_at=now,
    )


def _personal_changes(
    definition: Definition, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """What a history entry records: each changed field before and after; personal data is
    named but its values stay out of the history."""
    personal = set(definition.personal_fields)
    changes: dict[str, Any] = {}
    for name in domain.changed_fields(before, after):
        if name in personal:
            changes[name] = {"changed": True}
        else:
            changes[name] = {"before": before.get(name), "after": after.get(name)}
    return changes


async def create_record(
    session: AsyncSession,
    identity: Identity,
    key: str,
    given: dict[str, Any],
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[Definition, StoredRecord, bool]:
    """A new record; with an ``Idempotency-Key`` the same caller, key and body get the record
    made the first time (False: nothing created now)."""
    opened = await _open(session, identity, key, write=True)
    values = domain.validated_fields(opened.definition, given)
    record_id = uuid.uuid4()
    if (idem_key := idempotency.checked_key(idempotency_key)) is not None:
        earlier = await idempotency.claim(
            session, idempotency_keys, identity.user_id, idem_key, [key, given], record_id
        )
        if earlier is not None:
            found = await opened.store.record(key, earlier)
            if found is None:
                raise NotFound(f"no record {earlier} in {key!r}")
            return opened.definition, found, False
    row = _row(opened.definition, record_id, values)
    authority_id = opened.member.authority_id if opened.member else identity.authority_id
    await opened.store.insert_records(
        [row], authority_id=authority_id, actor_id=identity.user_id, now=now
    )
    await opened.store.add_history(
        [
            _history_entry(
                row.id,
                1,
                "created",
                identity,
                now,
                _personal_changes(opened.definition, {}, values),
            )
        ]
    )
    record = _stored_new(row, authority_id, now)
    await outbox.add(
        session,
        RecordCreated(
            record=_snapshot(opened.definition, record),
            occurred_at=now,
            acting_user_id=identity.user_id,
        ),
        subject=str(record.id),
    )
    return opened.definition, record, True


def expected_version(if_match: str | None) -> int:
    if not if_match:
        raise InvalidInput("send If-Match with the version you read", field="header.If-Match")
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise InvalidInput("If-Match must be the record's ETag", field="header.If-Match") from exc


async def _current(opened: Opened, record_id: uuid.UUID, if_match: str | None) -> StoredRecord:
    version = expected_version(if_match)
    record = await opened.store.record(opened.definition.key, record_id, for_update=True)
    if record is None:
        raise NotFound(f"no record {record_id} in {opened.definition.key!r}")
    if record.version != version:
        raise StaleVersion(
            f"the record is at version {record.version}, not {version}",
            extra={"current_version": record.version},
        )
    if record.status == "retired":
        raise Conflict("the record is retired")
    return record


async def update_record(
    session: AsyncSession,
    identity: Identity,
    key: str,
    record_id: uuid.UUID,
    given: dict[str, Any],
    if_match: str | None,
    now: datetime,
) -> tuple[Definition, StoredRecord]:
    """Apply the given fields (null removes one); a new version, with its history entry."""
    opened = await _open(session, identity, key, write=True)
    record = await _current(opened, record_id, if_match)
    values = domain.validated_fields(opened.definition, given, current=record.fields)
    changed = domain.changed_fields(record.fields, values)
    if not changed:
        return opened.definition, record
    version = record.version + 1
    await opened.store.update_record(_row(opened.definition, record.id, values), version, now)
    await opened.store.add_history(
        [
            _history_entry(
                record.id,
                version,
                "updated",
                identity,
                now,
                _personal_changes(opened.definition, record.fields, values),
            )
        ]
    )
    updated = StoredRecord(
        **{**record.__dict__, "version": version, "fields": values, "updated_at": now,
           "languages": list(domain.record_languages(opened.definition, values))}
    )  # fmt: skip
    await outbox.add(
        session,
        RecordUpdated(
            record=_snapshot(opened.definition, updated),
            changed_fields=tuple(c for c in changed if c not in opened.definition.personal_fields),
            occurred_at=now,
            acting_user_id=identity.user_id,
        ),
        subject=str(record.id),
    )
    return opened.definition, updated


async def retire_record(
    session: AsyncSession,
    identity: Identity,
    key: str,
    record_id: uuid.UUID,
    reason: str | None,
    if_match: str | None,
    now: datetime,
) -> tuple[Definition, StoredRecord]:
    """The record leaves searches and exports; it stays readable with its history."""
    opened = await _open(session, identity, key, write=True)
    record = await _current(opened, record_id, if_match)
    version = record.version + 1
    await opened.store.retire_record(record.id, version, now)
    await opened.store.add_history(
        [
            _history_entry(
                record.id, version, "retired", identity, now,
                {"status": {"before": "active", "after": "retired"}}, reason,
            )
        ]
    )  # fmt: skip
    retired = StoredRecord(
        **{**record.__dict__, "version": version, "status": "retired", "updated_at": now}
    )
    await outbox.add(
        session,
        RecordRetired(
            record=_snapshot(opened.definition, retired),
            reason=reason,
            occurred_at=now,
            acting_user_id=identity.user_id,
        ),
        subject=str(record.id),
    )
    return opened.definition, retired


async def read_record(
    session: AsyncSession,
    identity: Identity,
    key: str,
    record_id: uuid.UUID,
    language: str,
    purpose: str | None,
    now: datetime,
) -> tuple[dict[str, Any], int]:
    """One record with every field; a read of its personal data is recorded."""
    opened = await _open(session, identity, key, write=False)
    record = await opened.store.record(key, record_id)
    if record is None:
        raise NotFound(f"no record {record_id} in {key!r}")
    personal = domain.holds_personal_data(opened.definition, record.fields)
    purpose = (purpose or "").strip() or None
    if personal and purpose is None:
        # Personal data is shown only to a reader who says why; the rest of the record is not.
        body = record_out(opened.definition, record, language, with_personal=False)
        body["personal_withheld"] = list(personal)
        return body, record.version
    if personal and purpose is not None:
        await opened.store.log_personal_reads(
            [_read_entry(identity, record, personal, purpose, now)]
        )
    body = record_out(opened.definition, record, language, with_personal=True)
    body["personal_withheld"] = []
    return body, record.version


def _read_entry(
    identity: Identity,
    record: StoredRecord,
    fields: tuple[str, ...],
    purpose: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "record_id": record.id,
        "repository": record.repository,
        "user_id": identity.user_id,
        "username": identity.username,
        "authority_id": identity.authority_id,
        "fields": list(fields),
        "purpose": purpose[:500],
        "read_at": now,
    }


async def record_history(
    session: AsyncSession, identity: Identity, key: str, record_id: uuid.UUID
) -> list[dict[str, Any]]:
    opened = await _open(session, identity, key, write=False)
    if await opened.store.record(key, record_id) is None:
        raise NotFound(f"no record {record_id} in {key!r}")
    return [
        {**entry, "actor_id": str(entry["actor_id"]) if entry["actor_id"] else None,
         "occurred_at": entry["occurred_at"].isoformat()}
        for entry in await opened.store.history(record_id)
    ]  # fmt: skip


@dataclass(frozen=True)
class SearchRequest:
    q: str | None
    language: str
    across_languages: bool
    filters: dict[str, str]
    valid_on: date | None
    cursor: str | None
    limit: int
    include_retired: bool = False
    rank_window: int = 500


async def search_records(
    session: AsyncSession, identity: Identity, key: str, request: SearchRequest
) -> dict[str, Any]:
    """Ranked full-text search (or title order without words), one page and the next cursor.

    Results carry no personal data, so a search is not a read of it.
    """
    opened = await _open(session, identity, key, write=False)
    query = domain.search_query(
        opened.definition,
        request.q,
        request.language,
        across_languages=request.across_languages,
        filters=request.filters,
        valid_on=request.valid_on,
        include_retired=request.include_retired,
    )
    items: list[dict[str, Any]] = []
    next_cursor: str | None = None
    ranked_only: int | None = None
    if query.words:
        position = domain.decode_cursor(request.cursor, "rank")
        after = (float(position[0]), position[1]) if position else None
        found = await opened.store.search(
            key, query, after=after, limit=request.limit + 1, window=request.rank_window
        )
        for record, rank in found[: request.limit]:
            out = record_out(opened.definition, record, request.language, with_personal=False)
            items.append({**out, "rank": rank})
        if len(found) > request.limit:
            last, rank = found[request.limit - 1]
            next_cursor = domain.encode_cursor(["rank", rank, str(last.id)])
        if opened.store.window_full:
            ranked_only = request.rank_window
        else:
            ranked_only = None
    else:
        position = domain.decode_cursor(request.cursor, "title")
        after_key = (str(position[0]), position[1]) if position else None
        browsed = await opened.store.browse(key, query, after=after_key, limit=request.limit + 1)
        for record, _ in browsed[: request.limit]:
            items.append(
                record_out(opened.definition, record, request.language, with_personal=False)
            )
        if len(browsed) > request.limit:
            last, sort = browsed[request.limit - 1]
            next_cursor = domain.encode_cursor(["title", sort, str(last.id)])
    answer: dict[str, Any] = {"items": items, "next_cursor": next_cursor}
    if ranked_only is not None:
        # More records matched than were ranked: a narrower query ranks them all.
        answer["ranked_first_matches"] = ranked_only
    return answer


# --- import and export -----------------------------------------------------------------------


async def import_records(
    session: AsyncSession,
    identity: Identity,
    key: str,
    csv_text: str,
    now: datetime,
    *,
    max_rows: int,
) -> dict[str, Any]:
    """Create a record per CSV row, all or none: any bad row refuses the whole file with a
    report naming each bad row and column."""
    opened = await _open(session, identity, key, write=True)
    rows = domain.read_csv(opened.definition, csv_text, max_rows=max_rows)
    errors = [e for row in rows for e in row.errors]
    if errors:
        bad = sorted({e["row"] for e in errors})
        raise InvalidInput(
            f"{len(bad)} of {len(rows)} rows are not valid; nothing was imported",
            errors=errors,
            extra={"rows": len(rows), "rejected_rows": bad},
        )
    if not rows:
        raise InvalidInput("the file has no data rows", field="body")
    authority_id = opened.member.authority_id if opened.member else identity.authority_id
    new_rows = [
        _row(opened.definition, uuid.uuid4(), row.fields) for row in rows if row.fields is not None
    ]
    await opened.store.insert_records(
        new_rows, authority_id=authority_id, actor_id=identity.user_id, now=now
    )
    await opened.store.add_history(
        [
            _history_entry(
                r.id,
                1,
                "imported",
                identity,
                now,
                _personal_changes(opened.definition, {}, r.fields),
            )
            for r in new_rows
        ]
    )
    envelopes = [
        (
            outbox.envelope(
                RecordCreated(
                    record=_snapshot(opened.definition, _stored_new(r, authority_id, now)),
                    occurred_at=now,
                    acting_user_id=identity.user_id,
                ),
                subject=str(r.id),
            ),
            "imi.events",
            RecordCreated.type,
            None,
        )
        for r in new_rows
    ]
    summary = RecordsImported(
        repository=key,
        count=len(new_rows),
        record_ids=tuple(r.id for r in new_rows),
        occurred_at=now,
        acting_user_id=identity.user_id,
    )
    envelopes.append((outbox.envelope(summary, subject=key), "imi.events", summary.type, None))
    await outbox.add_envelopes(session, envelopes)
    return {"imported": len(new_rows), "ids": [str(r.id) for r in new_rows]}


async def export_records(
    session: AsyncSession,
    identity: Identity,
    key: str,
    export_format: str,
    purpose: str | None,
    now: datetime,
) -> str:
    """Every active record the caller may read, as CSV (the import's columns) or JSON; the
    personal data exported is recorded as read, record by record."""
    opened = await _open(session, identity, key, write=False)
    records = await opened.store.active_records(key)
    purpose = (purpose or "").strip() or None
    if purpose is None:
        # Without a stated purpose the export leaves personal data out and records no read.
        rows = [(r, domain.public_fields(opened.definition, r.fields)) for r in records]
    else:
        rows = [(r, r.fields) for r in records]
        await opened.store.log_personal_reads(
            [
                _read_entry(identity, r, fields, purpose, now)
                for r in records
                if (fields := domain.holds_personal_data(opened.definition, r.fields))
            ]
        )
    if export_format == "csv":
        return domain.write_csv(opened.definition, [(r.id, values) for r, values in rows])
    return json.dumps(
        {
            "repository": key,
            "exported_at": now.isoformat(),
            "personal_data": purpose is not None,
            "records": [
                {"id": str(r.id), "version": r.version, "fields": values} for r, values in rows
            ],
        },
        ensure_ascii=False,
    )
