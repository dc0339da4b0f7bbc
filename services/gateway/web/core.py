"""What every page of the web client builds on.

- ``render(request, template, context, *, caller, status_code)``: a page from ``templates/``
  (autoescaped, ``{{ _("text") }}`` translated into the reader's language) with ``caller``,
  ``csrf_token``, ``language`` and ``languages`` (the 26) in its context.
- ``WebCaller`` and ``WebCallerDep``: the signed-in user of the session cookie; without a live
  session the browser is sent to ``/login?next=<path>``.
- ``CsrfFormDep``: the posted form, once its ``csrf_token`` field matched the session's; else a
  403 page and nothing done.
- ``call(request, caller, service, method, path, ...)``: a service's internal API with the
  caller's signed identity, in the reader's language.
- ``problem_message(response)``: a sentence for the page from a problem+json answer.

The reader's language: the ``imi_lang`` cookie (the picker), else the browser's
Accept-Language, else the user's directory language; texts come from the gettext catalogues of
``locale/<lang>/LC_MESSAGES/messages.po`` (English where a text has no translation yet).
"""

from __future__ import annotations

import contextvars
import gettext
import io
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from services.gateway.deps import SESSION_COOKIE
from services.gateway.models import SignInSession
from services.gateway.repository import SignInRepository
from services.gateway.service import authenticate, identity_of
from services.gateway.upstream import ServiceUnavailable
from shared.identity import Identity
from shared.web import SessionDep, problem

HERE = Path(__file__).resolve().parent
LOCALE_DIR = HERE / "locale"
LANGUAGE_COOKIE = "imi_lang"
LOGIN_CSRF_COOKIE = "imi_login_csrf"
LANGUAGES = "bg cs da de el en es et fi fr ga hr hu is it lt lv mt nl no pl pt ro sk sl sv".split()

_translations: contextvars.ContextVar[gettext.NullTranslations | None] = contextvars.ContextVar(
    "imi_web_translations", default=None
)
_ENGLISH = gettext.NullTranslations()


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalogue, read from its .po file once (English: none)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _gettext(message: str, **variables: Any) -> str:
    text = (_translations.get() or _ENGLISH).gettext(message)
    return text % variables if variables else text


def N_(message: str) -> str:
    """Marks a text for the catalogues where it is defined; translated where it is shown."""
    return message


def use_language(language: str) -> None:
    """Texts translated in this request's context from now on are in ``language``."""
    _translations.set(translations(language))


def _ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = (_translations.get() or _ENGLISH).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def language_name(code: str) -> str:
    tag = "nb" if code == "no" else code
    try:
        return Locale.parse(tag).get_display_name(tag) or code
    except (ValueError, LookupError):
        return code


environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
environment.globals["language_name"] = language_name


@dataclass(frozen=True)
class WebCaller:
    identity: Identity
    record: SignInSession
    csrf_token: str
    language: str


class LoginRequired(Exception):
    def __init__(self, next_path: str, expired: bool) -> None:
        self.next_path = next_path
        self.expired = expired


class CsrfFailed(Exception):
    pass


def reader_language(request: Request, fallback: str | None = None) -> str:
    """The picked language, else the browser's, else ``fallback``, else English."""
    picked = request.cookies.get(LANGUAGE_COOKIE)
    if picked in LANGUAGES:
        return str(picked)
    header = request.headers.get("accept-language", "")
    preferred = [
        part.split(";", 1)[0].strip().replace("-", "_") for part in header.split(",") if part
    ]
    aliases = {"nb": "no", "nn": "no"}
    preferred = [aliases.get(p.split("_", 1)[0].lower(), p) for p in preferred]
    found = negotiate_locale(preferred, list(LANGUAGES), sep="_")
    if found in LANGUAGES:
        return str(found)
    return fallback if fallback in LANGUAGES else "en"


async def _web_caller(request: Request, session: SessionDep) -> WebCaller:
    token = request.cookies.get(SESSION_COOKIE)
    record = await authenticate(SignInRepository(session), token) if token else None
    if record is None or record.kind != "web":
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path, expired=token is not None)
    language = reader_language(request, record.language)
    use_language(language)
    return WebCaller(
        identity=identity_of(record, language),
        record=record,
        csrf_token=record.csrf_token,
        language=language,
    )


WebCallerDep = Annotated[WebCaller, Depends(_web_caller)]


def csrf_matches(given: object, expected: str | None) -> bool:
    """The posted token is the one expected (compared in constant time)."""
    if not expected or not isinstance(given, str):
        return False
    return secrets.compare_digest(given, expected)


async def _csrf_form(request: Request, caller: WebCallerDep) -> FormData:
    form = await request.form()
    if not csrf_matches(form.get("csrf_token"), caller.csrf_token):
        raise CsrfFailed()
    return form


CsrfFormDep = Annotated[FormData, Depends(_csrf_form)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    caller: WebCaller | None = None,
    status_code: int = 200,
    language: str | None = None,
) -> HTMLResponse:
    language = language or (caller.language if caller else reader_language(request))
    values = dict(context or {})
    # Signed out, the forms (sign-in, language) carry a pre-session token kept in a cookie.
    presession = None
    if caller is None:
        presession = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    csrf_token = caller.csrf_token if caller else presession
    token = _translations.set(translations(language))
    try:
        html = environment.get_template(template).render(
            request=request,
            caller=caller,
            csrf_token=csrf_token,
            language=language,
            languages=LANGUAGES,
            **values,
        )
    finally:
        _translations.reset(token)
    response = HTMLResponse(html, status_code=status_code, headers={"Content-Language": language})
    if presession is not None and request.cookies.get(LOGIN_CSRF_COOKIE) != presession:
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            presession,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.secure_cookies,
        )
    return response


async def call(
    request: Request,
    caller: WebCaller,
    service: str,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    upstreams = request.app.state.upstreams
    response: httpx.Response = await upstreams.call(
        service, method, path, caller.identity, json=json, params=params, headers=headers
    )
    return response


def problem_message(response: httpx.Response) -> str:
    """What went wrong, for a page: the problem's detail and the field it names."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code}: {response.text[:200]}"
    if not isinstance(body, dict):
        return str(body)[:300]
    detail = str(body.get("detail") or body.get("title") or response.status_code)
    errors = body.get("errors") or []
    if errors and isinstance(errors[0], dict) and errors[0].get("field"):
        return f"{detail} ({errors[0]['field']})"
    return detail


def error_page(
    request: Request, caller: WebCaller | None, status: int, message: str
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        caller=caller,
        status_code=status,
    )


def install_handlers(app: FastAPI) -> None:
    """Sign-in redirects and the CSRF page."""

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = f"/login?next={quote(exc.next_path, safe='/')}"
        if exc.expired:
            target += "&expired=1"
        return RedirectResponse(target, status_code=303)

    async def csrf_failed(request: Request, exc: Exception) -> Response:
        return error_page(
            request,
            None,
            403,
            _gettext(
                "The form was not accepted (its security token is missing or old). "
                "Go back, reload the page and send it again."
            ),
        )

    async def service_unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceUnavailable)
        if request.url.path.startswith("/api/"):
            return problem(
                exc.status, exc.title, slug=exc.slug, detail=exc.detail, instance=request.url.path
            )
        use_language(reader_language(request))
        return error_page(
            request,
            None,
            503,
            _gettext("A service of the network does not answer. Please try again in a moment."),
        )

    app.add_exception_handler(ServiceUnavailable, service_unavailable)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfFailed, csrf_failed)
