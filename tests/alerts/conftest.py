"""Fixtures of the alerts tests: the service on a fresh database and vhost, a directory network
of the 30 EEA countries and the Commission sent to it as directory events, the shipped catalogue
as ``translation.catalogue.published``, a movable clock, and helpers to act as each user."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.alerts.app import create_app
from services.alerts.domain import EEA_COUNTRIES
from services.alerts.settings import AlertsSettings
from services.translation.catalogue_files import load_catalogue
from services.translation.service import published_event
from shared.contracts import Event
from shared.contracts.directory import (
    AuthorityLevel,
    AuthorityRegistered,
    AuthoritySnapshot,
    AuthorityStatus,
    Competence,
    UserRegistered,
    UserSnapshot,
)
from shared.contracts.envelope import Envelope
from shared.db import Database
from shared.identity import Role
from shared.messaging import EVENTS_EXCHANGE, declare_topology
from tests.infra import EventTap, Servers, eventually, migrated_settings, running

# The language each country's users read (one per country is enough for the tests).
COUNTRY_LANGUAGES: dict[str, str] = {
    "at": "de", "be": "nl", "bg": "bg", "cy": "el", "cz": "cs", "de": "de", "dk": "da",
    "ee": "et", "es": "es", "fi": "fi", "fr": "fr", "gr": "el", "hr": "hr", "hu": "hu",
    "ie": "en", "is": "is", "it": "it", "li": "de", "lt": "lt", "lu": "fr", "lv": "lv",
    "mt": "mt", "nl": "nl", "no": "no", "pl": "pl", "pt": "pt", "ro": "ro", "se": "sv",
    "si": "sl", "sk": "sk", "eu": "en",
}  # fmt: skip

CATALOGUE = load_catalogue()
AREAS_PROCEDURES: dict[str, tuple[str, ...]] = {
    a.key: tuple(p.key for p in a.procedures) for a in CATALOGUE.areas
}
AREAS_KEYWORDS: dict[str, tuple[str, ...]] = {a.key: a.keywords for a in CATALOGUE.areas}
EVERY_COMPETENCE = tuple(
    Competence(area=area, procedures=procedures, keywords=AREAS_KEYWORDS[area])
    for area, procedures in AREAS_PROCEDURES.items()
)

WITHOUT_PQ_KEYWORDS = tuple(
    Competence(area=c.area, procedures=c.procedures)
    if c.area == "professional_qualifications"
    else c
    for c in EVERY_COMPETENCE
)


class MovableClock:
    """The service's clock: the real time plus an offset the tests move."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    def reset(self) -> None:
        self.offset = timedelta()

    def set(self, moment: datetime) -> None:
        """Make the service's now ``moment`` (it then runs on with the real time)."""
        self.offset = moment - datetime.now(UTC)


@dataclass(frozen=True)
class Member:
    """A user of the network as the directory announces it and the gateway vouches for it."""

    username: str
    authority_id: uuid.UUID
    country: str
    roles: tuple[Role, ...]
    language: str
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def claims(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "authority_id": self.authority_id,
            "country": self.country,
            "roles": self.roles,
            "language": self.language,
        }


@dataclass
class Network:
    """Authorities and users, sent to the service as directory events."""

    authorities: dict[str, AuthoritySnapshot] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)

    def authority(
        self,
        label: str,
        country: str,
        *,
        competences: Sequence[Competence] = (),
        region: str | None = None,
        level: AuthorityLevel = AuthorityLevel.NATIONAL,
        status: AuthorityStatus = AuthorityStatus.ACTIVE,
        coordinating: bool = False,
    ) -> AuthoritySnapshot:
        snapshot = AuthoritySnapshot(
            id=uuid.uuid4(),
            country=country,
            region=region,
            level=level,
            official_name=f"{label} ({country})",
            name_language=COUNTRY_LANGUAGES[country],
            languages=(COUNTRY_LANGUAGES[country],),
            competences=tuple(competences),
            status=status,
            version=1,
            coordinating=coordinating,
        )
        self.authorities[label] = snapshot
        return snapshot

    def member(
        self, username: str, authority: AuthoritySnapshot, *roles: Role, language: str | None = None
    ) -> Member:
        found = Member(
            username=username,
            authority_id=authority.id,
            country=authority.country,
            roles=tuple(roles),
            language=language or COUNTRY_LANGUAGES[authority.country],
        )
        self.members[username] = found
        return found

    def __getitem__(self, username: str) -> Member:
        return self.members[username]

    def authority_of(self, username: str) -> AuthoritySnapshot:
        member = self.members[username]
        return next(a for a in self.authorities.values() if a.id == member.authority_id)

    def events(self) -> list[Event]:
        found: list[Event] = [AuthorityRegistered(authority=a) for a in self.authorities.values()]
        for member in self.members.values():
            found.append(
                UserRegistered(
                    user=UserSnapshot(
                        id=member.user_id,
                        username=member.username,
                        display_name=member.username,
                        authority_id=member.authority_id,
                        country=member.country,
                        language=member.language,
                        roles=member.roles,
                        version=1,
                    )
                )
            )
        return found


def demo_network() -> Network:
    """Every EEA country: its coordinating authority with ``cc-coordinator`` (national and alert
    coordinator) and a national authority competent for every procedure with ``cc-officer``
    (request and alert handler); the Commission; a few regional authorities for dissemination."""
    network = Network()
    for country in EEA_COUNTRIES:
        coordinating = network.authority(f"{country}-coordination", country, coordinating=True)
        network.member(
            f"{country}-coordinator",
            coordinating,
            Role(name="national_coordinator"),
            Role(name="alert_coordinator"),
        )
        officer = network.authority(
            f"{country}-national",
            country,
            competences=WITHOUT_PQ_KEYWORDS if country == "mt" else EVERY_COMPETENCE,
        )
        network.member(
            f"{country}-officer",
            officer,
            Role(name="request_handler"),
            Role(name="request_allocator"),
            Role(name="alert_handler"),
        )
    commission = network.authority("commission", "eu")
    network.member("commission", commission, Role(name="commission"))
    # Germany: regional authorities to disseminate to, by procedure and by region.
    bavaria = network.authority(
        "de-bavaria-services",
        "de",
        region="DE-BY",
        level=AuthorityLevel.REGIONAL,
        competences=(Competence(area="services", procedures=("svc_provider_information",)),),
    )
    network.member("de-bavaria", bavaria, Role(name="alert_handler", area="services"))
    berlin = network.authority(
        "de-berlin-nursing",
        "de",
        region="DE-BE",
        level=AuthorityLevel.REGIONAL,
        competences=(
            Competence(
                area="professional_qualifications",
                procedures=("pq_establishment", "pq_alert"),
                keywords=("nurse",),
            ),
        ),
    )
    network.member(
        "de-berlin", berlin, Role(name="alert_handler", area="professional_qualifications")
    )
    network.authority(
        "de-hamburg-closed",
        "de",
        region="DE-HH",
        level=AuthorityLevel.REGIONAL,
        status=AuthorityStatus.DEACTIVATED,
        competences=(Competence(area="services", procedures=("svc_provider_information",)),),
    )
    # Spain: a regional authority in Catalonia.
    catalonia = network.authority(
        "es-catalonia-services",
        "es",
        region="ES-CT",
        level=AuthorityLevel.REGIONAL,
        competences=(Competence(area="services", procedures=("svc_provider_information",)),),
    )
    network.member("es-catalonia", catalonia, Role(name="alert_handler", area="services"))
    # Malta: its national authority names no profession; a teaching council names teachers.
    network.authority(
        "mt-teaching",
        "mt",
        competences=(
            Competence(
                area="professional_qualifications",
                procedures=("pq_establishment",),
                keywords=("teacher",),
            ),
        ),
    )
    # Poland: a handler limited to posting of workers, who drafts no services alert.
    network.member(
        "pl-posting",
        network.authority_of("pl-officer"),
        Role(name="alert_handler", area="posting_of_workers"),
    )
    # People who read rather than act.
    network.member(
        "de-dpa",
        network.authority_of("de-coordinator"),
        Role(name="data_protection_administrator"),
    )
    network.member("pt-supervisor", network.authority_of("pt-officer"), Role(name="supervisor"))
    network.member("pt-reader", network.authority_of("pt-officer"), Role(name="read_only"))
    return network


async def publish_all(amqp_url: str, events: Sequence[Event], source: str) -> None:
    """Publish events as another service's relay would, over one connection."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event in events:
            envelope = Envelope(source=source, type=event.type, data=event.model_dump(mode="json"))
            await publish_envelope(exchange, envelope)
    finally:
        await connection.close()


async def publish_envelope(exchange: aio_pika.abc.AbstractExchange, envelope: Envelope) -> None:
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


@dataclass
class Alerts:
    """The running service and the network it knows, with helpers to act as its users."""

    client: httpx.AsyncClient
    settings: AlertsSettings
    servers: Servers
    network: Network
    clock: MovableClock
    tap: EventTap
    app: Any
    db: Database

    def headers(self, username: str, **extra: str) -> dict[str, str]:
        token = self.servers.token(**self.network[username].claims())
        return {"Authorization": f"Bearer {token}", **extra}

    async def get(self, username: str, path: str, **extra: str) -> httpx.Response:
        return await self.client.get(path, headers=self.headers(username, **extra))

    async def post(
        self, username: str, path: str, body: Any = None, **extra: str
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers(username, **extra))

    async def patch(self, username: str, path: str, body: Any, **extra: str) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=self.headers(username, **extra))

    async def view(self, username: str, alert_id: str, **extra: str) -> dict[str, Any]:
        response = await self.get(username, f"/v1/alerts/{alert_id}", **extra)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def draft(self, username: str, body: dict[str, Any], **extra: str) -> dict[str, Any]:
        response = await self.post(username, "/v1/alerts", body, **extra)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def act(
        self,
        username: str,
        alert: dict[str, Any],
        action: str,
        body: Any = None,
        *,
        expect: int = 200,
    ) -> dict[str, Any]:
        """Take an action at the version ``alert`` was read at; checks the status."""
        response = await self.post(
            username,
            f"/v1/alerts/{alert['id']}/{action}",
            body,
            **{"If-Match": f'"{alert["version"]}"'},
        )
        assert response.status_code == expect, response.text
        return dict(response.json())

    async def fetch(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def recipients_of(self, alert_id: str) -> dict[str, str]:
        """authority id → country of every inbox entry of the alert."""
        rows = await self.fetch(
            "SELECT authority_id, country FROM alert_recipients WHERE alert_id = :id",
            id=uuid.UUID(alert_id),
        )
        return {str(r[0]): r[1] for r in rows}

    async def publish(self, *events: Event, source: str = "imi/directory") -> None:
        await publish_all(self.settings.common.amqp_url, events, source)

    def authority_id(self, label: str) -> str:
        return str(self.network.authorities[label].id)


async def seed(alerts: Alerts, *, with_catalogue: bool = True) -> None:
    """Send the network (and the catalogue); wait until the projection holds them."""
    await alerts.publish(*alerts.network.events())
    if with_catalogue:
        await alerts.publish(
            published_event(CATALOGUE, datetime.now(UTC)), source="imi/translation"
        )
    users = len(alerts.network.members)

    async def projected() -> bool:
        rows = await alerts.fetch(
            "SELECT (SELECT count(*) FROM directory_users),"
            " (SELECT count(*) FROM catalogue_versions)"
        )
        return bool(rows[0][0] == users and rows[0][1] >= (1 if with_catalogue else 0))

    await eventually(projected, timeout=30)


@asynccontextmanager
async def start_alerts(
    servers: Servers, label: str, *, amqp_url: str | None = None, with_catalogue: bool = True
) -> AsyncIterator[Alerts]:
    """The service with its own database (and vhost unless given), knowing the demo network
    (and the shipped catalogue unless another service publishes it)."""
    amqp_url = amqp_url or servers.new_vhost(f"alerts-{label}")
    await declare_topology(amqp_url)
    settings = await migrated_settings(
        servers,
        AlertsSettings,
        amqp_url,
        database_url=make_url(servers.pg_url)
        .set(database=f"imi_test_{servers.run_id}_alerts_{label}")
        .render_as_string(hide_password=False),
        deadline_interval=3600,
        retention_interval=3600,
    )
    clock = MovableClock()
    tap = EventTap(amqp_url, ("alerts.#", "translation.requested"))
    await tap.start()
    app = create_app(settings, clock=clock)
    db = Database(settings.sqlalchemy_url, pool_size=2)
    try:
        async with running(app) as client:
            found = Alerts(client, settings, servers, demo_network(), clock, tap, app, db)
            await seed(found, with_catalogue=with_catalogue)
            yield found
    finally:
        await db.dispose()
        await tap.stop()


@pytest.fixture(scope="module")
async def alerts(servers: Servers, request: pytest.FixtureRequest) -> AsyncIterator[Alerts]:
    """The service on a fresh database and vhost of this test module."""
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    async with start_alerts(servers, label) as found:
        yield found


@pytest.fixture
def clock(alerts: Alerts) -> Iterator[MovableClock]:
    """The service's clock, back to the real time after the test."""
    alerts.clock.reset()
    try:
        yield alerts.clock
    finally:
        alerts.clock.reset()
