"""Fixtures of the translation tests: the app on fresh databases and vhosts, the fake provider,
and a tap on the events exchange."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from services.translation.app import create_app
from services.translation.settings import TranslationSettings
from tests.infra import EventTap, Servers, migrated_settings, running
from tests.translation.fake_provider import FakeLibreTranslate, fake_libretranslate

CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "services" / "translation" / "catalogue"


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
