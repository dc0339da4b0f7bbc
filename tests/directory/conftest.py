"""Fixtures of the directory tests: the app on a fresh database and vhost per module, the
catalogue published through the broker, the demo network seeded, identity tokens of its users."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.directory.app import create_app
from services.directory.seed import demo_id, seed_demo
from services.directory.settings import DirectorySettings
from services.translation.catalogue_files import load_catalogue
from services.translation.service import published_event
from shared.contracts.envelope import Envelope
from shared.db import Database
from shared.identity import Role
from tests.infra import EventTap, Servers, eventually, migrated_settings, publish_event, running

DEMO_PASSWORD = "demo-password-for-tests"
# Cheap argon2 parameters: the tests verify behaviour, not hashing cost.
FAST_HASHING = {"password_time_cost": 1, "password_memory_cost": 8192, "password_parallelism": 1}


@dataclass
class RunningDirectory:
    client: httpx.AsyncClient
    settings: DirectorySettings
    tap: EventTap
    servers: Servers
    db: Database
    app: Any
    clock: list[datetime] = field(default_factory=lambda: [datetime(2026, 11, 25, 9, tzinfo=UTC)])

    def token(self, username: str | None = None, **fields: Any) -> str:
        """A token for a demo user (``de-coordinator``) or for any identity given by fields."""
        if username is not None:
            known = DEMO_IDENTITIES[username]
            fields = {**known, **fields}
        return self.servers.token(**fields)

    def headers(self, username: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}", **extra}

    def as_identity(self, **fields: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.servers.token(**fields)}"}

    async def event(self, event_type: str, subject_id: str) -> Envelope:
        """The first event of ``event_type`` about the authority or user ``subject_id``."""

        def found() -> list[Envelope]:
            return [
                e
                for e in self.tap.of_type(event_type)
                if str((e.data.get("authority") or e.data.get("user") or {}).get("id"))
                == str(subject_id)
            ]

        async def arrived() -> bool:
            return bool(found())

        await eventually(arrived, timeout=20)
        return found()[0]

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())


def _demo_identities() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    countries = [
        "at", "be", "bg", "cy", "cz", "de", "dk", "ee", "es", "fi", "fr", "gr", "hr", "hu", "ie",
        "is", "it", "li", "lt", "lu", "lv", "mt", "nl", "no", "pl", "pt", "ro", "se", "si", "sk",
    ]  # fmt: skip
    for country in countries:
        found[f"{country}-coordinator"] = {
            "user_id": demo_id("user", f"{country}-coordinator"),
            "username": f"{country}-coordinator",
            "authority_id": demo_id("authority", f"{country}:coordinator"),
            "country": country,
            "roles": (Role(name="national_coordinator"), Role(name="alert_coordinator")),
        }
        found[f"{country}-officer"] = {
            "user_id": demo_id("user", f"{country}-officer"),
            "username": f"{country}-officer",
            "authority_id": demo_id("authority", f"{country}:national"),
            "country": country,
            "roles": (
                Role(name="request_handler"),
                Role(name="request_allocator"),
                Role(name="alert_handler"),
                Role(name="supervisor"),
            ),
        }
    found["commission"] = {
        "user_id": demo_id("user", "commission"),
        "username": "commission",
        "authority_id": demo_id("authority", "eu:commission"),
        "country": "eu",
        "roles": (Role(name="commission"),),
    }
    found["gateway"] = {
        "user_id": uuid.UUID(int=0),
        "username": "imi-gateway",
        "roles": (Role(name="gateway"),),
    }
    return found


DEMO_IDENTITIES = _demo_identities()


def catalogue_envelope() -> Envelope:
    event = published_event(load_catalogue(), datetime.now(UTC))
    return Envelope(source="imi/translation", type=event.type, data=event.model_dump(mode="json"))


async def start_directory(
    servers: Servers, label: str, *, seed: bool = True, publish_catalogue: bool = True
) -> tuple[DirectorySettings, EventTap]:
    amqp_url = servers.new_vhost(f"directory-{label}")
    # Each module its own database: the demo network and the outbox start empty.
    database_url = (
        make_url(servers.pg_url)
        .set(database=f"imi_test_{servers.run_id}_directory_{label.replace('-', '_')}")
        .render_as_string(hide_password=False)
    )
    settings = await migrated_settings(
        servers,
        DirectorySettings,
        amqp_url,
        database_url=database_url,
        catalogue_ttl=0.0,
        **FAST_HASHING,
    )
    if seed:
        await seed_demo(settings, DEMO_PASSWORD)
    tap = EventTap(amqp_url, ("directory.#",))
    await tap.start()
    return settings, tap


async def wait_for_catalogue(directory: RunningDirectory) -> None:
    async def received() -> bool:
        return bool(await directory.scalar("SELECT count(*) FROM catalogue_versions"))

    await eventually(received, timeout=20)


@pytest.fixture(scope="module")
async def directory(
    servers: Servers, request: pytest.FixtureRequest
) -> AsyncIterator[RunningDirectory]:
    """The service with the demo network and the shipped catalogue, own database and vhost."""
    label = request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")
    settings, tap = await start_directory(servers, label)
    running_directory: RunningDirectory | None = None
    clock_box: list[datetime] = [datetime(2026, 11, 25, 9, tzinfo=UTC)]
    app = create_app(settings, clock=lambda: clock_box[0])
    db = Database(settings.sqlalchemy_url, pool_size=2)
    try:
        async with running(app) as client:
            running_directory = RunningDirectory(
                client, settings, tap, servers, db, app, clock=clock_box
            )
            await publish_event(settings.common.amqp_url, catalogue_envelope())
            await wait_for_catalogue(running_directory)
            yield running_directory
    finally:
        await tap.stop()
        await db.dispose()


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def authority_body(**overrides: Any) -> dict[str, Any]:
    """A valid registration of a regional Portuguese education authority."""
    body: dict[str, Any] = {
        "official_name": unique("Direção de Serviços da Região Norte"),
        "name_language": "pt",
        "country": "pt",
        "region": "PT-13",
        "level": "regional",
        "informal_titles": {"en": "Northern Region Education Services"},
        "descriptions": {"en": "Recognises teaching qualifications in the Porto district."},
        "languages": ["pt", "en"],
        "email": "geral@dsrn.example.pt",
        "phone": "+351 22 000 0000",
        "website": "https://dsrn.example.pt",
        "address": {"street": "Rua António Carneiro 8", "postal_code": "4349-003", "city": "Porto"},
        "competences": [
            {
                "area": "professional_qualifications",
                "procedures": ["pq_establishment", "pq_temporary_services"],
                "keywords": ["teacher", "secondary_school_teacher"],
            }
        ],
    }
    body.update(overrides)
    return body


def etag_of(response: httpx.Response) -> str:
    return response.headers["etag"]
