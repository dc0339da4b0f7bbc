"""Rate limits: sign-in attempts per client address, API calls per caller; 429 with Retry-After."""

from __future__ import annotations

import pytest

from services.gateway.app import create_app
from services.gateway.ratelimit import TokenBuckets
from services.gateway.settings import GatewaySettings
from tests.gateway.web.browser_less import csrf_of
from tests.infra import Servers, migrated_settings, running


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestTokenBuckets:
    def test_a_burst_passes_then_the_rate_holds(self) -> None:
        clock = Clock()
        buckets = TokenBuckets(2.0, 3, clock=clock)
        assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
        assert buckets.take("a") == pytest.approx(0.5)
        assert buckets.take("b") == 0  # another caller has its own bucket
        clock.now += 0.5
        assert buckets.take("a") == 0
        assert buckets.take("a") > 0

    def test_a_bucket_refills_up_to_its_burst_only(self) -> None:
        clock = Clock()
        buckets = TokenBuckets(1.0, 2, clock=clock)
        buckets.take("a")
        clock.now += 3600
        assert [buckets.take("a") for _ in range(2)] == [0, 0]
        assert buckets.take("a") > 0

    def test_memory_is_bounded(self) -> None:
        buckets = TokenBuckets(1.0, 1, clock=Clock(), max_keys=10)
        for n in range(100):
            buckets.take(f"caller-{n}")
        assert len(buckets._buckets) == 10
        assert buckets.take("caller-0") == 0  # forgotten, so full again

    def test_a_limit_without_rate_is_refused(self) -> None:
        with pytest.raises(ValueError, match="positive rate"):
            TokenBuckets(0, 1)


class TestGateway:
    async def test_an_api_caller_over_its_rate_gets_429_problem_json(
        self, servers: Servers, amqp_url: str
    ) -> None:
        settings = await migrated_settings(
            servers, GatewaySettings, amqp_url, api_rate_per_second=0.01, api_burst=3
        )
        async with running(create_app(settings)) as client:
            first = [
                (
                    await client.get("/api/v1/me", headers={"authorization": "Bearer one"})
                ).status_code
                for _ in range(3)
            ]
            assert first == [401, 401, 401]
            refused = await client.get("/api/v1/me", headers={"authorization": "Bearer one"})
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["status"] == 429
            # Another caller, and the pages, are not held back by this one.
            other = await client.get("/api/v1/me", headers={"authorization": "Bearer two"})
            assert other.status_code == 401
            assert (await client.get("/login")).status_code == 200

    async def test_sign_in_attempts_per_address_are_limited(
        self, servers: Servers, amqp_url: str
    ) -> None:
        settings = await migrated_settings(
            servers,
            GatewaySettings,
            amqp_url,
            signin_rate_per_minute=0.5,
            signin_burst=2,
            directory_url="http://127.0.0.1:9",  # no directory: the limit comes before it
        )
        async with running(create_app(settings)) as client:
            form = {"username": "pt-officer", "password": "guess"}
            tries = [
                (await client.post("/api/v1/auth/token", data=form)).status_code for _ in range(2)
            ]
            assert tries == [503, 503]
            limited = await client.post("/api/v1/auth/token", data=form)
            assert limited.status_code == 429
            assert limited.json()["type"] == "urn:imi:problem:sign-in-rate-limited"
            assert int(limited.headers["retry-after"]) >= 1
            # The web form from the same address is held back too, with its own page.
            page = await client.get("/login")
            web = await client.post("/login", data={"csrf_token": csrf_of(page.text), **form})
            assert web.status_code == 429
            assert 'data-testid="error"' in web.text
