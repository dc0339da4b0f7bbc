"""A small OpenID Connect provider for the tests, on loopback: discovery, authorize, token, JWKS.

``user`` is who the provider signs in (its login screen is skipped); ``mode`` makes it misbehave:
``"refuse"`` (the user declines), ``"foreign-key"`` (the ID token is signed by a key not in its
JWKS), ``"wrong-nonce"``, ``"wrong-audience"``, ``"expired"``. The token endpoint checks the client
secret, the redirect URI and the PKCE verifier as a real provider does, and a code works once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.loopback import LoopbackServer

CLIENT_ID = "imi-test"
CLIENT_SECRET = "imi-test-secret"


class OidcProvider(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.user = "pt-officer"
        self.mode: str | None = None
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}, private=True)
        self.other_key = RSAKey.generate_key(
            2048, parameters={"kid": "k1", "alg": "RS256"}, private=True
        )
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_calls = 0
        self.app.get("/.well-known/openid-configuration")(self._discovery)
        self.app.get("/authorize")(self._authorize)
        self.app.post("/token")(self._token)
        self.app.get("/jwks")(self._jwks)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    async def _jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        redirect_uri = str(query["redirect_uri"])
        if self.mode == "refuse":
            answer = {"error": "access_denied", "state": query.get("state", "")}
            return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "user": self.user,
            "nonce": query.get("nonce"),
            "challenge": query.get("code_challenge"),
            "redirect_uri": redirect_uri,
        }
        answer = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

    async def _token(
        self,
        request: Request,
        grant_type: str = Form(),
        code: str = Form(),
        redirect_uri: str = Form(),
        code_verifier: str = Form(),
    ) -> Response:
        self.token_calls += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(code, None)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            grant_type != "authorization_code"
            or grant is None
            or grant["redirect_uri"] != redirect_uri
            or grant["challenge"] != challenge
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": f"sub-{grant['user']}",
            "aud": "someone-else" if self.mode == "wrong-audience" else CLIENT_ID,
            "iat": now,
            "exp": now - 600 if self.mode == "expired" else now + 300,
            "nonce": "another-nonce" if self.mode == "wrong-nonce" else grant["nonce"],
            "preferred_username": grant["user"],
        }
        key = self.other_key if self.mode == "foreign-key" else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return JSONResponse(
            {"access_token": "opaque", "token_type": "Bearer", "id_token": id_token}
        )


@contextlib.asynccontextmanager
async def oidc_provider() -> AsyncIterator[OidcProvider]:
    provider = OidcProvider()
    await provider.start()
    try:
        yield provider
    finally:
        await provider.stop()
