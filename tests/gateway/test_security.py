"""Security headers on pages and API answers; bodies over the limit never reach a service."""

from __future__ import annotations

import httpx

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.infra import Servers, migrated_settings, running
from tests.stack import Stack


class TestHeaders:
    def test_pages_and_api_answers_carry_them(self, stack: Stack) -> None:
        for response in (
            httpx.get(f"{stack.gateway}/login", timeout=30),
            httpx.get(f"{stack.gateway}/api/v1/me", timeout=30),
        ):
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert "strict-transport-security" not in response.headers  # no TLS in tests

    def test_the_login_page_has_no_inline_script(self, stack: Stack) -> None:
        page = httpx.get(f"{stack.gateway}/login", timeout=30).text
        assert "<script>" not in page
        assert '<script src="/static/live.js"' in page
        assert "style=" not in page


class TestBodyLimit:
    async def test_an_oversize_body_is_refused_with_problem_json(
        self, servers: Servers, amqp_url: str
    ) -> None:
        settings = await migrated_settings(servers, GatewaySettings, amqp_url, max_body_bytes=1000)
        app = create_app(settings)
        async with running(app) as client:
            refused = await client.post(
                "/api/v1/auth/token", content=b"u" * 5000, headers={"content-type": "text/plain"}
            )
            assert refused.status_code == 413
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["status"] == 413
            small = await client.get("/login")
            assert small.status_code == 200
