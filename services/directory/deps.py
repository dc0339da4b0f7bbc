"""Dependency aliases of the directory service's routes.

Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from services.directory.credentials import Passwords
from services.directory.service import CatalogueCache
from services.directory.settings import DirectorySettings
from shared.identity import Identity, require_identity
from shared.languages import reader_language
from shared.web import SessionDep


async def caller_identity(request: Request) -> Identity:
    """The verified identity of the caller, or 401."""
    return require_identity(request)


IdentityDep = Annotated[Identity, Depends(caller_identity)]


async def language_of_reader(
    identity: IdentityDep, accept_language: Annotated[str | None, Header()] = None
) -> str:
    """Accept-Language first, then the identity's language, then English."""
    return reader_language(accept_language, identity.language)


async def catalogue_cache(request: Request) -> CatalogueCache:
    cache: CatalogueCache = request.app.state.catalogue
    return cache


async def passwords(request: Request) -> Passwords:
    found: Passwords = request.app.state.passwords
    return found


async def directory_settings(request: Request) -> DirectorySettings:
    settings: DirectorySettings = request.app.state.runtime.settings
    return settings


async def clock(request: Request) -> Callable[[], datetime]:
    found: Callable[[], datetime] = request.app.state.clock
    return found


ReaderLanguageDep = Annotated[str, Depends(language_of_reader)]
CatalogueDep = Annotated[CatalogueCache, Depends(catalogue_cache)]
PasswordsDep = Annotated[Passwords, Depends(passwords)]
SettingsDep = Annotated[DirectorySettings, Depends(directory_settings)]
ClockDep = Annotated[Callable[[], datetime], Depends(clock)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]

__all__ = [
    "CatalogueDep",
    "ClockDep",
    "IdempotencyKey",
    "IdentityDep",
    "IfMatch",
    "PasswordsDep",
    "ReaderLanguageDep",
    "SessionDep",
    "SettingsDep",
]
