"""Sign-in through an OpenID Connect provider the test runs itself, against the real directory.

The gateway runs in the test (its own database, the stack's identity key) with the provider
configured; the directory of the stack decides who the provider's user is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.gateway.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, oidc_provider
from tests.infra import Servers, free_port, migrated_settings, running
from tests.stack import SERVICES, Stack


@pytest.fixture
async def provider() -> AsyncIterator[OidcProvider]:
    async with oidc_provider() as found:
        yield found


async def gateway_settings(
    servers: Servers, amqp_url: str, stack: Stack, issuer: str, **overrides: str
) -> GatewaySettings:
    urls = {f"{name}_url": stack.url(name) for name in SERVICES if name != "gateway"}
    return await migrated_settings(
        servers,
        GatewaySettings,
        amqp_url,
        **{**urls, **overrides},
        private_key_file=Path(stack.env["IMI_STATE_DIR"]) / "identity" / "private.pem",
        oidc_issuer=issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_provider_name="Test IdP",
    )


@pytest.fixture
async def gateway(
    servers: Servers, amqp_url: str, stack: Stack, provider: OidcProvider
) -> AsyncIterator[httpx.AsyncClient]:
    settings = await gateway_settings(servers, amqp_url, stack, provider.issuer)
    async with running(create_app(settings)) as client:
        yield client


async def through_provider(gateway: httpx.AsyncClient, next_path: str = "/") -> httpx.Response:
    """The browser's trip: the gateway, the provider's authorize page, back to the callback."""
    start = await gateway.get("/login/oidc", params={"next": next_path})
    assert start.status_code == 303
    authorize = start.headers["location"]
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(authorize)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/login/oidc/callback"
    return await gateway.get(f"{back.path}?{back.query}")


def oidc_error(response: httpx.Response) -> str | None:
    location = urlsplit(response.headers.get("location", ""))
    return (parse_qs(location.query).get("oidc_error") or [None])[0]


class TestSignIn:
    async def test_the_login_page_offers_the_provider(self, gateway: httpx.AsyncClient) -> None:
        page = await gateway.get("/login")
        assert 'data-testid="sign-in-oidc"' in page.text
        assert "Test IdP" in page.text

    async def test_the_provider_s_user_gets_a_session_with_the_directory_s_roles(
        self, gateway: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        start = await gateway.get("/login/oidc", params={"next": "/requests"})
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["client_id"] == [CLIENT_ID]
        assert query["nonce"]
        assert query["state"]
        done = await through_provider(gateway, "/requests")
        assert done.status_code == 303
        assert done.headers["location"] == "/requests"
        assert "imi_session" in gateway.cookies
        me = await gateway.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["username"] == "pt-officer"
        assert me.json()["country"] == "pt"
        assert any(role["name"] == "request_handler" for role in me.json()["roles"])
        home = await gateway.get("/")
        assert home.status_code == 200

    async def test_an_unknown_user_is_not_signed_in(
        self, gateway: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        provider.user = "nobody-at-all"
        done = await through_provider(gateway)
        assert oidc_error(done) == "unknown"
        assert "imi_session" not in gateway.cookies
        page = await gateway.get(done.headers["location"])
        assert 'data-testid="oidc-error"' in page.text


class TestUntrustedAnswers:
    @pytest.mark.parametrize("mode", ["foreign-key", "wrong-nonce", "wrong-audience", "expired"])
    async def test_an_id_token_that_does_not_verify_signs_nobody_in(
        self, gateway: httpx.AsyncClient, provider: OidcProvider, mode: str
    ) -> None:
        provider.mode = mode
        done = await through_provider(gateway)
        assert oidc_error(done) == "invalid"
        assert "imi_session" not in gateway.cookies
        assert (await gateway.get("/api/v1/me")).status_code == 401

    async def test_a_callback_with_another_state_is_refused(
        self, gateway: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        await gateway.get("/login/oidc")
        calls = provider.token_calls
        done = await gateway.get(
            "/login/oidc/callback", params={"code": "stolen", "state": "forged"}
        )
        assert oidc_error(done) == "state"
        assert provider.token_calls == calls  # the code was never even tried
        assert "imi_session" not in gateway.cookies

    async def test_a_refusal_by_the_provider_ends_on_the_login_page(
        self, gateway: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        provider.mode = "refuse"
        done = await through_provider(gateway)
        assert oidc_error(done) == "refused"

    async def test_a_provider_that_does_not_answer_is_reported(
        self, servers: Servers, amqp_url: str, stack: Stack
    ) -> None:
        settings = await gateway_settings(
            servers, amqp_url, stack, f"http://127.0.0.1:{free_port()}"
        )
        async with running(create_app(settings)) as client:
            done = await client.get("/login/oidc")
            assert done.status_code == 303
            assert oidc_error(done) == "unavailable"
            assert (await client.get("/login")).status_code == 200


class TestServiceDown:
    async def test_a_page_needing_a_service_that_does_not_answer_says_so(
        self, servers: Servers, amqp_url: str, stack: Stack, provider: OidcProvider
    ) -> None:
        settings = await gateway_settings(
            servers,
            amqp_url,
            stack,
            provider.issuer,
            exchange_url=f"http://127.0.0.1:{free_port()}",
        )
        async with running(create_app(settings)) as client:
            await through_provider(client)
            page = await client.get("/")
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert "does not answer" in page.text
            api = await client.get("/api/v1/requests")
            assert api.status_code == 503
            assert api.headers["content-type"] == "application/problem+json"
