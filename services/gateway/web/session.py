"""Sign-in and sign-out of the web client, and the language picker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.deps import SESSION_COOKIE, client_address, signed_in_redirect
from services.gateway.ratelimit import SignInLimited, check_sign_in
from services.gateway.repository import SignInRepository
from services.gateway.service import (
    InvalidCredentials,
    SignInLocked,
    authenticate,
    sign_in,
    sign_out,
)
from services.gateway.web.core import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    LOGIN_CSRF_COOKIE,
    N_,
    CsrfFailed,
    CsrfFormDep,
    WebCallerDep,
    _gettext,
    csrf_matches,
    reader_language,
    render,
    use_language,
)
from shared.web import SessionDep

router = APIRouter(include_in_schema=False)
# Why a sign-in through the identity provider ended back on the login page.
OIDC_ERRORS = {
    "unavailable": N_("The identity provider does not answer. Please try again later."),
    "refused": N_("The identity provider did not sign you in."),
    "state": N_("The sign-in took too long or was started elsewhere. Please try again."),
    "invalid": N_("The identity provider's answer could not be verified."),
    "unknown": N_("You are not a user of IMI, or your account is not active."),
}


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
    settings = request.app.state.settings
    return render(
        request,
        "login.html",
        {
            "next": next_path,
            "error": error,
            "username": username,
            "expired": expired,
            "oidc_name": settings.oidc_provider_name if settings.oidc_issuer else None,
            "oidc_error": OIDC_ERRORS.get(str(request.query_params.get("oidc_error"))),
        },
        status_code=status_code,
    )


@router.get("/login")
async def login_form(request: Request, next: str = "/", expired: str = "") -> Response:
    return _login_page(request, next_path=safe_next(next), expired=bool(expired))


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    use_language(reader_language(request))
    form = await request.form()
    next_path = safe_next(form.get("next"))
    if not csrf_matches(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(
            request,
            next_path=next_path,
            error=_gettext("The form was not accepted. Please try again."),
            status_code=403,
        )
    username = str(form.get("username") or "")
    settings = request.app.state.settings
    try:
        check_sign_in(request.app.state.signin_buckets, client_address(request))
        token, record = await sign_in(
            SignInRepository(session),
            request.app.state.upstreams,
            settings,
            username=username,
            password=str(form.get("password") or ""),
            client=client_address(request),
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
    except (SignInLocked, SignInLimited):
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error=_gettext("Too many failed attempts: sign-in is locked for a while."),
            status_code=429,
        )
    response = signed_in_redirect(next_path, token, settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
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
async def pick_language(request: Request, session: SessionDep) -> Response:
    """The reader's choice of language, kept in a cookie (works signed in or not).

    The form carries the session's CSRF token when signed in, the pre-session one otherwise.
    """
    form = await request.form()
    token = request.cookies.get(SESSION_COOKIE)
    record = await authenticate(SignInRepository(session), token) if token else None
    expected = record.csrf_token if record is not None else request.cookies.get(LOGIN_CSRF_COOKIE)
    if not csrf_matches(form.get("csrf_token"), expected):
        raise CsrfFailed()
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
