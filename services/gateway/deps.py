"""Dependency aliases of the gateway's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from services.gateway.models import SignInSession
from services.gateway.repository import SignInRepository
from services.gateway.service import authenticate, identity_of
from services.gateway.settings import GatewaySettings
from services.gateway.upstream import Upstreams
from shared.identity import Identity
from shared.web import SessionDep

SESSION_COOKIE = "imi_session"

__all__ = ["CallerDep", "SessionDep", "SettingsDep", "UpstreamsDep"]


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _upstreams(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.upstreams
    return upstreams


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signed_in_redirect(target: str, token: str, settings: GatewaySettings) -> RedirectResponse:
    """The browser sent on to ``target`` with its new web session cookie."""
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.web_session_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


def presented_token(request: Request) -> str | None:
    """The caller's token: a bearer token (API clients) or the session cookie (web client)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.cookies.get(SESSION_COOKIE)


async def _caller(request: Request, session: SessionDep) -> tuple[SignInSession, Identity]:
    token = presented_token(request)
    record = await authenticate(SignInRepository(session), token) if token else None
    if record is None:
        raise HTTPException(
            status_code=401,
            detail="sign in first: POST /api/v1/auth/token",
            headers={"WWW-Authenticate": 'Bearer realm="imi"'},
        )
    return record, identity_of(record)


SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
UpstreamsDep = Annotated[Upstreams, Depends(_upstreams)]
CallerDep = Annotated[tuple[SignInSession, Identity], Depends(_caller)]
