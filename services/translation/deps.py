"""Dependency aliases of the translation service's routes.

Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
which costs more than the whole render of a request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from services.translation.service import CatalogueVersions
from services.translation.settings import TranslationSettings
from shared.identity import Identity, require_identity
from shared.languages import reader_language
from shared.web import SessionDep


async def caller_identity(request: Request) -> Identity:
    """The verified identity of the caller, or 401 (``require_identity`` on the event loop)."""
    return require_identity(request)


async def catalogue_versions(request: Request) -> CatalogueVersions:
    versions: CatalogueVersions = request.app.state.catalogue_versions
    return versions


async def translation_settings(request: Request) -> TranslationSettings:
    settings: TranslationSettings = request.app.state.runtime.settings
    return settings


IdentityDep = Annotated[Identity, Depends(caller_identity)]


async def language_of_reader(
    identity: IdentityDep, accept_language: Annotated[str | None, Header()] = None
) -> str:
    """Accept-Language first, then the identity's language, then English."""
    return reader_language(accept_language, identity.language)


CatalogueVersionsDep = Annotated[CatalogueVersions, Depends(catalogue_versions)]
SettingsDep = Annotated[TranslationSettings, Depends(translation_settings)]
ReaderLanguageDep = Annotated[str, Depends(language_of_reader)]

__all__ = [
    "CatalogueVersionsDep",
    "IdentityDep",
    "ReaderLanguageDep",
    "SessionDep",
    "SettingsDep",
]
