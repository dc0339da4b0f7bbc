"""Fixtures of the translation tests: the app on fresh databases and vhosts, the fake provider,
and a tap on the events exchange."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from sqlalchemy.engine import make_url

from services.translation.app import create_app
from services.translation.settings import TranslationSettings
from shared.contracts.envelope import Envelope
from shared.messaging import EVENTS_EXCHANGE, declare_topology
from tests.infra import Servers, eventually, migrated_settings, running
from tests.translation.fake_provider import FakeLibreTranslate, fake_libretranslate

CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "services" / "translation" / "catalogue"


@dataclass
class EventTap:
    """Every event published on ``imi.events`` under the tapped keys, as envelopes."""

    amqp_url: str
    keys: tuple[str, ...]
    received: list[Envelope] = field(default_factory=list)
    _connection: Any = None

    async def start(self) -> None:
        await declare_topology(self.amqp_url)
        self._connection = await aio_pika.connect(self.amqp_url)
        channel = await self._connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in self.keys:
            await queue.bind(EVENTS_EXCHANGE, routing_key=key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.received.append(Envelope.from_amqp(dict(message.headers), message.body))

        await queue.consume(on_message)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def of_type(self, event_type: str, **data: Any) -> list[Envelope]:
        return [
            e
            for e in self.received
            if e.type == event_type and all(e.data.get(k) == v for k, v in data.items())
        ]

    async def wait_for(self, event_type: str, count: int = 1, **data: Any) -> list[Envelope]:
        async def enough() -> bool:
            return len(self.of_type(event_type, **data)) >= count

        await eventually(enough, timeout=20)
        return self.of_type(event_type, **data)


async def publish_event(amqp_url: str, envelope: Envelope) -> None:
    """Publish an event as another service's relay would."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(envelope.data).encode(),
                headers=envelope.headers(),
                message_id=envelope.id,
                type=envelope.type,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=envelope.type,
        )
    finally:
        await connection.close()


@dataclass
class RunningTranslation:
    client: httpx.AsyncClient
    settings: TranslationSettings
    tap: EventTap
    provider: FakeLibreTranslate | None
    app: Any
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}


@pytest.fixture(scope="session")
async def libretranslate() -> AsyncIterator[FakeLibreTranslate]:
    async with fake_libretranslate(slow_seconds=2.0) as server:
        yield server


async def start_translation(
    servers: Servers, label: str, provider: FakeLibreTranslate | None, **overrides: Any
) -> tuple[TranslationSettings, EventTap]:
    amqp_url = servers.new_vhost(f"translation-{label}")
    values: dict[str, Any] = {
        "worker_interval": 0.05,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "max_attempts": 3,
        "provider_timeout": 0.5,
        "current_version_ttl": 0.0,
        "provider_url": provider.url if provider else None,
        "catalogue_dir": CATALOGUE_DIR,
        # Each app its own database: two apps sharing one would share their job queue.
        "database_url": make_url(servers.pg_url)
        .set(database=f"imi_test_{servers.run_id}_translation_{label.replace('-', '_')}")
        .render_as_string(hide_password=False),
    }
    values.update(overrides)
    settings = await migrated_settings(servers, TranslationSettings, amqp_url, **values)
    tap = EventTap(amqp_url, ("translation.#",))
    await tap.start()
    return settings, tap


@pytest.fixture(scope="module")
async def translation(
    servers: Servers, libretranslate: FakeLibreTranslate, request: pytest.FixtureRequest
) -> AsyncIterator[RunningTranslation]:
    """The service with the fake provider configured, its own database and vhost."""
    label = request.module.__name__.rsplit(".", 1)[-1]
    settings, tap = await start_translation(servers, label, libretranslate)
    app = create_app(settings)
    try:
        async with running(app) as client:
            yield RunningTranslation(
                client, settings, tap, libretranslate, app, servers.token(language="en")
            )
    finally:
        await tap.stop()


async def settle() -> None:
    await asyncio.sleep(0)
