"""Builds the gateway: the public API, sign-in and forwarding to the services."""

from fastapi import FastAPI

from services.gateway import api, asyncapi, live, oidc, openapi, web
from services.gateway.handlers import consumer
from services.gateway.models import outbox
from services.gateway.ratelimit import RateLimitMiddleware, TokenBuckets
from services.gateway.security import SecurityMiddleware
from services.gateway.settings import GatewaySettings
from services.gateway.upstream import Upstreams
from shared.identity import IdentitySigner, ensure_dev_keypair
from shared.runtime import ServiceRuntime


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    if settings.common.env != "prod" and settings.private_key_file is None:
        ensure_dev_keypair(settings.common)
    signer = IdentitySigner(
        settings.private_key_path.read_bytes(),
        issuer=settings.common.identity_issuer,
        ttl=settings.identity_ttl_seconds,
    )
    upstreams = Upstreams(settings, signer)
    oidc_client = oidc.OidcClient(settings) if settings.oidc_issuer else None

    async def close_upstreams(_: ServiceRuntime) -> None:
        await upstreams.aclose()
        if oidc_client is not None:
            await oidc_client.aclose()

    runtime = ServiceRuntime(
        settings,
        title="IMI gateway",
        outbox=outbox,
        consumer=consumer,
        extra_shutdown=(close_upstreams,),
    )
    app = runtime.fastapi(
        # The public OpenAPI document and its docs page merge the services' documents
        # (services/gateway/openapi.py); they come before the forwarding catch-all.
        routers=[openapi.router, asyncapi.router, live.router, oidc.router, api.router],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.upstreams = upstreams
    app.state.oidc = oidc_client
    app.state.signin_buckets = TokenBuckets(
        settings.signin_rate_per_minute / 60, settings.signin_burst
    )
    web.install(app)
    app.add_middleware(
        RateLimitMiddleware,
        buckets=TokenBuckets(settings.api_rate_per_second, settings.api_burst),
    )
    app.add_middleware(
        SecurityMiddleware, max_body_bytes=settings.max_body_bytes, tls=settings.secure_cookies
    )
    return app
