"""Events of the repository service: definitions loaded, records created, updated, retired.

A record snapshot never carries the fields its definition marks as personal data: those are
read only through the service's API, where every read is recorded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.contracts import Event


class RecordSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    repository: str
    version: int
    status: str  # "active" or "retired"
    fields: dict[str, Any] = {}  # translatable fields as {language: text}; no personal data
    languages: tuple[str, ...] = ()
    authority_id: uuid.UUID | None = None  # the authority that created the record
    updated_at: datetime | None = None


class RepositoryEvent(Event):
    occurred_at: datetime | None = None
    acting_user_id: uuid.UUID | None = None


class DefinitionLoaded(RepositoryEvent):
    type = "repository.definition.loaded"
    key: str
    fingerprint: str
    fields: tuple[str, ...] = ()


class RecordCreated(RepositoryEvent):
    type = "repository.record.created"
    record: RecordSnapshot


class RecordUpdated(RepositoryEvent):
    type = "repository.record.updated"
    record: RecordSnapshot
    changed_fields: tuple[str, ...] = ()


class RecordRetired(RepositoryEvent):
    type = "repository.record.retired"
    record: RecordSnapshot
    reason: str | None = None


class RecordsImported(RepositoryEvent):
    type = "repository.records.imported"
    repository: str
    count: int
    record_ids: tuple[uuid.UUID, ...] = ()
