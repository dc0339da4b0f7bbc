"""The gateway's calls to the services' internal HTTP APIs, each carrying a signed identity."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import yarl
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from services.gateway.settings import GatewaySettings
from shared.identity import Identity, IdentitySigner, Role, RoleName
from shared.logging import CORRELATION_HEADER, current_correlation_id
from shared.problems import DomainError

# The gateway itself, for calls made before a user is known (verifying credentials).
GATEWAY_IDENTITY = Identity(
    user_id=uuid.UUID(int=0), username="imi-gateway", roles=(Role(name=RoleName.GATEWAY),)
)
# Connections kept open: under load, closing and reopening connections to the services costs
# more than the calls themselves.
CONNECTIONS = 100
FORWARDING_CONNECTIONS = 256
FORWARDING_CONNECTIONS_PER_SERVICE = 64
FORWARDED_REQUEST_HEADERS = (
    "accept",
    "accept-language",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
)
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "content-disposition",
    "etag",
    "location",
    "retry-after",
    "cache-control",
    "content-language",
)


class ServiceUnavailable(DomainError):
    status = 503
    slug = "service-unavailable"
    title = "A service of the network does not answer"


class Upstreams:
    """One pooled HTTP client for every service the gateway forwards to."""

    def __init__(self, settings: GatewaySettings, signer: IdentitySigner) -> None:
        self.settings = settings
        self.signer = signer
        # The pages' and sign-in's calls; the API's forwarding goes through ``_forwarding``.
        self.client = httpx.AsyncClient(
            timeout=settings.upstream_timeout_seconds,
            limits=httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS),
        )
        self._forwarding: aiohttp.ClientSession | None = None

    def headers(self, identity: Identity, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {
            "authorization": f"Bearer {self.signer.token(identity)}",
            CORRELATION_HEADER: current_correlation_id(),
            "accept-language": identity.language,
        }
        headers.update(extra or {})
        return headers

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        identity: Identity,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        url = f"{self.settings.upstream(service)}/v1/{path.lstrip('/')}"
        try:
            return await self.client.request(
                method, url, json=json, params=params, headers=self.headers(identity, headers)
            )
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the {service} service does not answer") from exc

    def _forwarding_session(self) -> aiohttp.ClientSession:
        # aiohttp for the hot path: its pool costs the same whatever its size, where httpcore's
        # checks every pooled connection (a syscall each) on every call. Made in the running loop.
        if self._forwarding is None or self._forwarding.closed:
            self._forwarding = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=FORWARDING_CONNECTIONS, limit_per_host=FORWARDING_CONNECTIONS_PER_SERVICE
                ),
                timeout=aiohttp.ClientTimeout(total=self.settings.upstream_timeout_seconds),
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
            )
        return self._forwarding

    async def forward(
        self, service: str, path: str, request: Request, identity: Identity
    ) -> StreamingResponse:
        """Stream ``request`` to the service and its answer back, never holding a whole body."""
        extra = {
            name: value
            for name in FORWARDED_REQUEST_HEADERS
            if (value := request.headers.get(name)) is not None
        }
        url = f"{self.settings.upstream(service)}/v1/{path.lstrip('/')}"
        if request.url.query:
            url = f"{url}?{request.url.query}"
        body = _body(request) if request.method in {"POST", "PUT", "PATCH"} else None
        try:
            response = await self._forwarding_session().request(
                request.method,
                yarl.URL(url, encoded=True),
                headers=self.headers(identity, extra),
                data=body,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(f"the {service} service does not answer") from exc
        headers = {
            name: _public_location(value) if name == "location" else value
            for name in FORWARDED_RESPONSE_HEADERS
            if (value := response.headers.get(name)) is not None
        }
        return StreamingResponse(
            response.content.iter_any(),
            status_code=response.status,
            headers=headers,
            background=BackgroundTask(response.release),
        )

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._forwarding is not None:
            await self._forwarding.close()


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        yield chunk


def _public_location(value: str) -> str:
    return "/api" + value if value.startswith("/v1/") else value
