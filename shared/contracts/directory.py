"""Events of the directory service: authorities and users, each carrying the full snapshot.

A consumer keeps its projection by upserting the snapshot when its ``version`` is newer than the
one it holds; it never needs to ask the directory anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.contracts import Event
from shared.identity import Role


class AuthorityLevel(StrEnum):
    NATIONAL = "national"
    REGIONAL = "regional"
    LOCAL = "local"


class AuthorityStatus(StrEnum):
    REGISTERED = "registered"
    VALIDATED = "validated"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class Competence(BaseModel):
    """What an authority is competent for in one legislative area."""

    model_config = ConfigDict(frozen=True)

    area: str
    procedures: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # empty: the authority's whole territory


class PostalAddress(BaseModel):
    """Where an authority receives post; the country is the authority's own."""

    model_config = ConfigDict(frozen=True)

    street: str | None = None
    postal_code: str | None = None
    city: str | None = None


class AuthoritySnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    country: str  # ISO 3166-1 alpha-2, lower case
    region: str | None = None  # ISO 3166-2 code, e.g. "ES-CT"
    level: AuthorityLevel
    official_name: str  # in its own language, never translated
    name_language: str
    informal_titles: dict[str, str] = {}  # language -> title
    languages: tuple[str, ...] = ()  # languages it accepts requests in
    email: str | None = None
    competences: tuple[Competence, ...] = ()
    status: AuthorityStatus
    version: int
    descriptions: dict[str, str] = {}  # language -> what the authority does
    address: PostalAddress | None = None
    phone: str | None = None
    website: str | None = None
    # The country's national IMI coordinating authority (one per country); its users hold the
    # national_coordinator role.
    coordinating: bool = False
    registered_at: datetime | None = None
    updated_at: datetime | None = None


class UserSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    username: str
    display_name: str
    email: str | None = None
    authority_id: uuid.UUID
    country: str
    language: str
    roles: tuple[Role, ...] = ()
    active: bool = True
    version: int
    registered_at: datetime | None = None
    updated_at: datetime | None = None


class DirectoryEvent(Event):
    """What every directory event carries besides its snapshot (optional, additive)."""

    occurred_at: datetime | None = None
    acting_user_id: uuid.UUID | None = None  # None when the system itself acted (seed, import)


class AuthorityRegistered(DirectoryEvent):
    type = "directory.authority.registered"
    authority: AuthoritySnapshot


class AuthorityUpdated(DirectoryEvent):
    type = "directory.authority.updated"
    authority: AuthoritySnapshot
    changed_fields: tuple[str, ...] = ()


class AuthorityValidated(DirectoryEvent):
    type = "directory.authority.validated"
    authority: AuthoritySnapshot


class AuthorityActivated(DirectoryEvent):
    type = "directory.authority.activated"
    authority: AuthoritySnapshot


class AuthorityDeactivated(DirectoryEvent):
    type = "directory.authority.deactivated"
    authority: AuthoritySnapshot
    reason: str | None = None


class UserRegistered(DirectoryEvent):
    type = "directory.user.registered"
    user: UserSnapshot


class UserUpdated(DirectoryEvent):
    type = "directory.user.updated"
    user: UserSnapshot
    changed_fields: tuple[str, ...] = ()


class UserDeactivated(DirectoryEvent):
    type = "directory.user.deactivated"
    user: UserSnapshot


AUTHORITY_EVENTS: tuple[type[Event], ...] = (
    AuthorityRegistered,
    AuthorityUpdated,
    AuthorityValidated,
    AuthorityActivated,
    AuthorityDeactivated,
)
USER_EVENTS: tuple[type[Event], ...] = (UserRegistered, UserUpdated, UserDeactivated)
