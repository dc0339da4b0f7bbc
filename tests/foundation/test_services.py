"""Every service: its database migrated, health, readiness, metrics, and the identity rule."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from importlib import import_module

import httpx
import pytest

from shared.identity import Identity, IdentitySigner, Role, generate_private_key_pem
from shared.settings import ServiceSettings
from tests.infra import Servers, migrated_settings, running

SERVICES = ["gateway", "directory", "exchange", "alerts", "translation", "repository"]


def settings_class(service: str) -> type[ServiceSettings]:
    module = import_module(f"services.{service}.settings")
    return next(
        value
        for name, value in vars(module).items()
        if name.endswith("Settings") and value is not ServiceSettings
    )


@pytest.fixture(scope="module", params=SERVICES)
async def service_client(
    request: pytest.FixtureRequest, servers: Servers, amqp_url: str
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    service: str = request.param
    settings = await migrated_settings(servers, settings_class(service), amqp_url)
    app = import_module(f"services.{service}.app").create_app(settings)
    async with running(app) as client:
        yield service, client


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def identity() -> Identity:
    return Identity(
        user_id=uuid.uuid4(),
        username="pt-officer",
        country="pt",
        roles=(Role(name="request_handler", area="professional_qualifications"),),
        language="pt",
    )


class TestHealth:
    async def test_alive_ready_and_metrics(
        self, service_client: tuple[str, httpx.AsyncClient]
    ) -> None:
        service, client = service_client
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        metrics = await client.get("/metrics")
        assert "imi_http_requests_total" in metrics.text
        assert f'service="{service}"' in metrics.text

    async def test_correlation_id_is_echoed(
        self, service_client: tuple[str, httpx.AsyncClient]
    ) -> None:
        _, client = service_client
        response = await client.get("/healthz", headers={"X-Correlation-ID": "case-4711"})
        assert response.headers["x-correlation-id"] == "case-4711"


class TestAsyncAPI:
    async def test_each_service_documents_its_events_as_asyncapi_3(
        self, service_client: tuple[str, httpx.AsyncClient]
    ) -> None:
        _, client = service_client
        document = (await client.get("/v1/asyncapi.json")).json()
        assert document["asyncapi"] == "3.0.0"
        assert document["info"]["title"].endswith(": events")
        assert document["servers"]["development"]["protocol"] == "amqp"


class TestIdentityToken:
    async def test_valid_token_is_accepted(
        self, servers: Servers, service_client: tuple[str, httpx.AsyncClient]
    ) -> None:
        _, client = service_client
        who = identity()
        token = servers.signer().sign(who)
        response = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json()["username"] == "pt-officer"
        assert response.json()["country"] == "pt"

    @pytest.mark.parametrize("case", ["missing", "forged", "expired", "unsigned", "tampered"])
    async def test_bad_token_gets_401(
        self, case: str, servers: Servers, service_client: tuple[str, httpx.AsyncClient]
    ) -> None:
        _, client = service_client
        genuine = servers.signer().sign(identity())
        header, payload, signature = genuine.split(".")
        tokens = {
            "missing": None,
            "forged": IdentitySigner(generate_private_key_pem()).sign(identity()),
            "expired": servers.signer().sign(identity(), now=time.time() - 3600),
            "unsigned": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
            "tampered": f"{header}.{_b64({**_claims(payload), 'country': 'de'})}.{signature}",
        }
        token = tokens[case]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await client.get("/v1/whoami", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 401


def _claims(payload: str) -> dict[str, object]:
    padded = payload + "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))
