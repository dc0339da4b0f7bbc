"""Dependency aliases of the exchange service's routes.

Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from services.exchange.service import ExchangeDesk, parse_if_match
from shared.db import Database
from shared.identity import Identity, require_identity
from shared.languages import reader_language
from shared.web import SessionDep


async def caller_identity(request: Request) -> Identity:
    """The verified identity of the caller, or 401."""
    return require_identity(request)


async def exchange_desk(request: Request) -> ExchangeDesk:
    desk: ExchangeDesk = request.app.state.desk
    return desk


async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


IdentityDep = Annotated[Identity, Depends(caller_identity)]


async def language_of_reader(
    identity: IdentityDep, accept_language: Annotated[str | None, Header()] = None
) -> str:
    """Accept-Language first, then the identity's language, then English."""
    return reader_language(accept_language, identity.language)


async def expected_version(if_match: Annotated[str | None, Header()] = None) -> int:
    """The version named by If-Match: 428 when it is missing."""
    return parse_if_match(if_match)


DeskDep = Annotated[ExchangeDesk, Depends(exchange_desk)]
DatabaseDep = Annotated[Database, Depends(database)]
ReaderLanguageDep = Annotated[str, Depends(language_of_reader)]
IfMatchDep = Annotated[int, Depends(expected_version)]

__all__ = [
    "DatabaseDep",
    "DeskDep",
    "IdentityDep",
    "IfMatchDep",
    "ReaderLanguageDep",
    "SessionDep",
]
