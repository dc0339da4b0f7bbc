"""Events of the directory service: authorities and users, each carrying the full snapshot.

A consumer keeps its projection by upserting the snapshot when its ``version`` is newer than the
one it holds; it never needs to ask the directory anything.
"""

from __future__ import annotations

import uuid
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


class AuthorityRegistered(Event):
    type = "directory.authority.registered"
    authority: AuthoritySnapshot


class AuthorityUpdated(Event):
    type = "directory.authority.updated"
    authority: AuthoritySnapshot


class AuthorityValidated(Event):
    type = "directory.authority.validated"
    authority: AuthoritySnapshot


class AuthorityActivated(Event):
    type = "directory.authority.activated"
    authority: AuthoritySnapshot


class AuthorityDeactivated(Event):
    type = "directory.authority.deactivated"
    authority: AuthoritySnapshot


class UserRegistered(Event):
    type = "directory.user.registered"
    user: UserSnapshot


class UserUpdated(Event):
    type = "directory.user.updated"
    user: UserSnapshot


class UserDeactivated(Event):
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
