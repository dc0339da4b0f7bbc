"""Sign-in and sign-out of the web client, and the language picker."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.deps import SESSION_COOKIE
from services.gateway.repository import SignInRepository
from services.gateway.service import InvalidCredentials, SignInLocked, sign_in, sign_out
from services.gateway.web.core import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    LOGIN_CSRF_COOKIE,
    CsrfFormDep,
    WebCallerDep,
    _gettext,
    render,
)
from shared.web import SessionDep

router = APIRouter(include_in_schema=False)


def safe_next(value: Any) -> str:
    """Only a path of this site: never an open redirect."""
    text = str(value or "/")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return "/"
    return text


def _login_page(
    request: Request,
    *,
    next_path: str,
    error: str | None = None,
    username: str = "",
    expired: bool = False,
    status_code: int = 200,
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    settings = request.app.state.settings
    response = render(
        request,
        "login.html",
        {
            "csrf_token": token,
            "next": next_path,
            "error": error,
            "username": username,
            "expired": expired,
            "oidc_name": getattr(settings, "oidc_provider_name", None)
            if getattr(settings, "oidc_issuer", None)
            else None,
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/", expired: str = "") -> Response:
    return _login_page(request, next_path=safe_next(next), expired=bool(expired))


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    next_path = safe_next(form.get("next"))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    given = form.get("csrf_token")
    if not expected or not isinstance(given, str) or not secrets.compare_digest(given, expected):
        return _login_page(
            request,
            next_path=next_path,
            error=_gettext("The form was not accepted. Please try again."),
            status_code=403,
        )
    username = str(form.get("username") or "")
    settings = request.app.state.settings
    try:
        token, record = await sign_in(
            SignInRepository(session),
            request.app.state.upstreams,
            settings,
            username=username,
            password=str(form.get("password") or ""),
            client=request.client.host if request.client else "unknown",
            kind="web",
        )
    except InvalidCredentials:
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error=_gettext("Wrong user name or password."),
            status_code=401,
        )
    except SignInLocked:
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error=_gettext("Too many failed attempts: sign-in is locked for a while."),
            status_code=429,
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.web_session_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, session: SessionDep, caller: WebCallerDep, form: CsrfFormDep
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sign_out(SignInRepository(session), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language")
async def pick_language(request: Request) -> Response:
    """The reader's choice of language, kept in a cookie (works signed in or not)."""
    form = await request.form()
    language = str(form.get("language") or "")
    response = RedirectResponse(safe_next(form.get("back")), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
        )
    return response
