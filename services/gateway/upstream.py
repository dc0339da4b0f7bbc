"""The gateway's calls to the services' internal HTTP APIs, each carrying a signed identity."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
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
        self.client = httpx.AsyncClient(
            timeout=settings.upstream_timeout_seconds,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    def headers(self, identity: Identity, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {
            "authorization": f"Bearer {self.signer.sign(identity)}",
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
        upstream_request = self.client.build_request(
            request.method,
            url,
            params=str(request.query_params),
            headers=self.headers(identity, extra),
            content=_body(request) if request.method in {"POST", "PUT", "PATCH"} else None,
        )
        try:
            response = await self.client.send(upstream_request, stream=True)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the {service} service does not answer") from exc
        headers = {
            name: _public_location(value) if name == "location" else value
            for name in FORWARDED_RESPONSE_HEADERS
            if (value := response.headers.get(name)) is not None
        }
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=headers,
            background=BackgroundTask(response.aclose),
        )

    async def aclose(self) -> None:
        await self.client.aclose()


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        yield chunk


def _public_location(value: str) -> str:
    return "/api" + value if value.startswith("/v1/") else value
