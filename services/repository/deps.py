"""Dependency aliases of the repository service's routes.

Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from services.repository.settings import RepositorySettings
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


async def repository_settings(request: Request) -> RepositorySettings:
    settings: RepositorySettings = request.app.state.runtime.settings
    return settings


async def clock(request: Request) -> Callable[[], datetime]:
    found: Callable[[], datetime] = request.app.state.clock
    return found


ReaderLanguageDep = Annotated[str, Depends(language_of_reader)]
SettingsDep = Annotated[RepositorySettings, Depends(repository_settings)]
ClockDep = Annotated[Callable[[], datetime], Depends(clock)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]

__all__ = [
    "ClockDep",
    "IdentityDep",
    "IfMatch",
    "ReaderLanguageDep",
    "SessionDep",
    "SettingsDep",
]
