"""Dependency aliases of the alerts service's routes.

Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from services.alerts.service import AlertsContext
from shared.identity import Identity, require_identity
from shared.languages import reader_language
from shared.web import SessionDep


async def caller_identity(request: Request) -> Identity:
    """The verified identity of the caller, or 401."""
    return require_identity(request)


async def alerts_context(request: Request) -> AlertsContext:
    context: AlertsContext = request.app.state.alerts_context
    return context


IdentityDep = Annotated[Identity, Depends(caller_identity)]
ContextDep = Annotated[AlertsContext, Depends(alerts_context)]


async def language_of_reader(
    identity: IdentityDep, accept_language: Annotated[str | None, Header()] = None
) -> str:
    """Accept-Language first, then the identity's language, then English."""
    return reader_language(accept_language, identity.language)


ReaderLanguageDep = Annotated[str, Depends(language_of_reader)]
IfMatchDep = Annotated[str | None, Header(alias="If-Match")]
IdempotencyKeyDep = Annotated[str | None, Header(alias="Idempotency-Key")]

__all__ = [
    "ContextDep",
    "IdempotencyKeyDep",
    "IdentityDep",
    "IfMatchDep",
    "ReaderLanguageDep",
    "SessionDep",
]
