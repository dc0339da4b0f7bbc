"""Sign-in through an OpenID Connect provider (EU Login, Keycloak) instead of an IMI password.

Configured by ``IMI_GATEWAY_OIDC_ISSUER``, ``..._CLIENT_ID`` and ``..._CLIENT_SECRET``; the
login page then offers "Sign in with <provider>". The authorization code flow with PKCE:

1. ``GET /login/oidc`` sends the browser to the provider's authorization endpoint (from its
   discovery document) with a fresh ``state``, ``nonce`` and code challenge, kept in a short-lived
   HttpOnly cookie;
2. ``GET /login/oidc/callback`` checks ``state``, trades the code for tokens at the token
   endpoint, verifies the ID token (signature by the provider's JWKS, ``iss``, ``aud``, ``exp``,
   ``nonce``), takes the user name from ``IMI_GATEWAY_OIDC_USERNAME_CLAIM`` and asks the directory
   for that active user (``credentials/federated``): the directory still decides who may sign in
   and with which roles. Then the same web session as a password sign-in.

Every failure ends on the login page with a message, never a trace.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from services.gateway.deps import client_address, signed_in_redirect
from services.gateway.repository import SignInRepository
from services.gateway.service import InvalidCredentials, sign_in_federated
from services.gateway.settings import GatewaySettings
from services.gateway.web.session import safe_next
from shared.web import SessionDep

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
FLOW_COOKIE = "imi_oidc"
FLOW_SECONDS = 600
DISCOVERY_SECONDS = 3600
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]


class OidcFailed(Exception):
    """The provider's answer cannot be trusted or used; the reason is for the log."""


@dataclass
class _Cached:
    value: dict[str, Any]
    until: float


class OidcClient:
    """The provider's discovery document and keys (cached), the code exchange, the token check."""

    def __init__(self, settings: GatewaySettings) -> None:
        assert settings.oidc_issuer is not None
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.http = httpx.AsyncClient(timeout=settings.upstream_timeout_seconds)
        self._discovery: _Cached | None = None
        self._keys: _Cached | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url)
        except httpx.HTTPError as exc:
            raise OidcFailed(f"the provider does not answer at {url}: {exc}") from exc
        if response.status_code != 200:
            raise OidcFailed(f"the provider answered {response.status_code} at {url}")
        body = response.json()
        if not isinstance(body, dict):
            raise OidcFailed(f"the provider's answer at {url} is not an object")
        return body

    async def discovery(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._discovery is None or self._discovery.until < now:
            found = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise OidcFailed("the discovery document names another issuer")
            self._discovery = _Cached(found, now + DISCOVERY_SECONDS)
        return self._discovery.value

    async def keys(self, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        if refresh or self._keys is None or self._keys.until < now:
            found = await self._get_json(str((await self.discovery())["jwks_uri"]))
            self._keys = _Cached(found, now + DISCOVERY_SECONDS)
        return KeySet.import_key_set(self._keys.value)  # type: ignore[arg-type]

    async def authorization_url(self, redirect_uri: str, flow: dict[str, str]) -> str:
        found = await self.discovery()
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(flow["verifier"].encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.oidc_scopes,
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{found['authorization_endpoint']}?{urlencode(query)}"

    async def username(self, code: str, redirect_uri: str, flow: dict[str, str]) -> str:
        """The verified ID token's user name for this authorization code."""
        found = await self.discovery()
        try:
            response = await self.http.post(
                str(found["token_endpoint"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": flow["verifier"],
                },
                auth=(self.settings.oidc_client_id or "", self.settings.oidc_client_secret or ""),
            )
        except httpx.HTTPError as exc:
            raise OidcFailed(f"the token endpoint does not answer: {exc}") from exc
        if response.status_code != 200:
            raise OidcFailed(f"the token endpoint answered {response.status_code}")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailed("the token endpoint gave no ID token")
        claims = await self._verified_claims(id_token, flow["nonce"])
        name = claims.get(self.settings.oidc_username_claim)
        if not isinstance(name, str) or not name:
            raise OidcFailed(f"the ID token has no {self.settings.oidc_username_claim} claim")
        return name

    async def _verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        issuer, client_id = self.settings.oidc_issuer, self.settings.oidc_client_id
        assert issuer is not None
        assert client_id is not None
        try:
            try:
                token = jwt.decode(id_token, await self.keys(), algorithms=ALGORITHMS)
            except (JoseError, ValueError):
                # The provider may have rotated its keys since we fetched them.
                token = jwt.decode(id_token, await self.keys(refresh=True), algorithms=ALGORITHMS)
            JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcFailed(f"the ID token is not valid: {exc}") from exc
        return dict(token.claims)


def _redirect_uri(request: Request, settings: GatewaySettings) -> str:
    if settings.oidc_redirect_uri:
        return settings.oidc_redirect_uri
    return str(request.url_for("oidc_callback"))


def _client(request: Request) -> OidcClient | None:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    return client


def _back_to_login(message: str) -> Response:
    response = RedirectResponse(f"/login?{urlencode({'oidc_error': message})}", status_code=303)
    response.delete_cookie(FLOW_COOKIE)
    return response


@router.get("/login/oidc")
async def oidc_start(request: Request, next: str = "/") -> Response:
    client = _client(request)
    if client is None:
        return RedirectResponse("/login", status_code=303)
    settings: GatewaySettings = request.app.state.settings
    flow = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "next": safe_next(next),
    }
    try:
        target = await client.authorization_url(_redirect_uri(request, settings), flow)
    except OidcFailed as exc:
        log.warning("oidc.unavailable", reason=str(exc))
        return _back_to_login("unavailable")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        json.dumps(flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level navigation
        secure=settings.secure_cookies,
        path="/login/oidc",
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
async def oidc_callback(
    request: Request,
    session: SessionDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    client = _client(request)
    if client is None:
        return RedirectResponse("/login", status_code=303)
    settings: GatewaySettings = request.app.state.settings
    try:
        flow = json.loads(request.cookies.get(FLOW_COOKIE) or "{}")
    except ValueError:
        flow = {}
    if error:
        log.info("oidc.refused_by_provider", error=error[:100])
        return _back_to_login("refused")
    if (
        not isinstance(flow, dict)
        or not code
        or not isinstance(flow.get("state"), str)
        or not secrets.compare_digest(state, flow["state"])
    ):
        return _back_to_login("state")
    try:
        username = await client.username(code, _redirect_uri(request, settings), flow)
    except OidcFailed as exc:
        log.warning("oidc.failed", reason=str(exc))
        return _back_to_login("invalid")
    try:
        token, _ = await sign_in_federated(
            SignInRepository(session),
            request.app.state.upstreams,
            settings,
            username=username,
            client=client_address(request),
            kind="web",
        )
    except InvalidCredentials:
        log.info("oidc.unknown_user", username=username[:64])
        return _back_to_login("unknown")
    response = signed_in_redirect(str(flow.get("next") or "/"), token, settings)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response
