"""Fixtures of the exchange tests: the app on a fresh database and vhost, a small network of
authorities and users published as directory events, the shipped catalogue published as the
translation service would, a movable clock and a tap on the events exchange."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.exchange.app import create_app
from services.exchange.settings import ExchangeSettings
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
from tests.infra import EventTap, Servers, eventually, migrated_settings, publish_event, running

PQ = "professional_qualifications"
PQ_PROCEDURES = ("pq_establishment", "pq_temporary_services")
EVERYTHING = (
    Competence(area=PQ, procedures=PQ_PROCEDURES),
    Competence(area="services", procedures=("svc_provider_information",)),
    Competence(
        area="posting_of_workers",
        procedures=("pw_information_request", "pw_cross_border_enforcement"),
    ),
)


class MovableClock:
    """The service's clock: tests move it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass(frozen=True)
class Authority:
    key: str
    id: uuid.UUID
    country: str
    region: str | None
    languages: tuple[str, ...]
    competences: tuple[Competence, ...]
    status: AuthorityStatus = AuthorityStatus.ACTIVE
    name: str = ""

    def snapshot(self, version: int = 1) -> AuthoritySnapshot:
        return AuthoritySnapshot(
            id=self.id,
            country=self.country,
            region=self.region,
            level=AuthorityLevel.NATIONAL,
            official_name=self.name or f"Authority {self.key}",
            name_language=self.languages[0] if self.languages else "en",
            informal_titles={"en": f"{self.key} (en)", "de": f"{self.key} (de)"},
            languages=self.languages,
            competences=self.competences,
            status=self.status,
            version=version,
        )


@dataclass(frozen=True)
class User:
    key: str
    id: uuid.UUID
    authority: Authority
    roles: tuple[Role, ...]
    language: str

    @property
    def country(self) -> str:
        return self.authority.country

    def snapshot(self, version: int = 1, active: bool = True) -> UserSnapshot:
        return UserSnapshot(
            id=self.id,
            username=self.key,
            display_name=self.key.replace("_", " ").title(),
            authority_id=self.authority.id,
            country=self.country,
            language=self.language,
            roles=self.roles,
            active=active,
            version=version,
        )


def _authority(
    key: str, country: str, region: str | None, languages: tuple[str, ...], **kw: Any
) -> Authority:
    return Authority(
        key=key,
        id=uuid.uuid4(),
        country=country,
        region=region,
        languages=languages,
        competences=kw.pop("competences", EVERYTHING),
        **kw,
    )


@dataclass
class Network:
    """Authorities of Portugal, Germany and France and their users."""

    pt: Authority = field(
        default_factory=lambda: _authority(
            "pt", "pt", "PT-11", ("pt",), name="Ordem dos Professores"
        )
    )
    de: Authority = field(
        default_factory=lambda: _authority(
            "de", "de", "DE-BE", ("de",), name="Senatsverwaltung für Bildung"
        )
    )
    de_bavaria: Authority = field(
        default_factory=lambda: _authority("de_bavaria", "de", "DE-BY", ("de",))
    )
    de_services_only: Authority = field(
        default_factory=lambda: _authority(
            "de_services_only",
            "de",
            "DE-HH",
            ("de",),
            competences=(Competence(area="services", procedures=("svc_provider_information",)),),
        )
    )
    de_deactivated: Authority = field(
        default_factory=lambda: _authority(
            "de_deactivated", "de", "DE-HE", ("de",), status=AuthorityStatus.DEACTIVATED
        )
    )
    de_coordination: Authority = field(
        default_factory=lambda: _authority("de_coordination", "de", None, ("de",))
    )
    fr: Authority = field(default_factory=lambda: _authority("fr", "fr", "FR-IDF", ("fr",)))
    pt_coordination: Authority = field(
        default_factory=lambda: _authority("pt_coordination", "pt", None, ("pt",))
    )
    users: dict[str, User] = field(default_factory=dict)

    def __post_init__(self) -> None:
        handler = Role(name="request_handler")
        allocator = Role(name="request_allocator")
        for key, authority, roles, language in (
            ("pt_officer", self.pt, (handler, allocator), "pt"),
            ("pt_supervisor", self.pt, (Role(name="supervisor"),), "pt"),
            ("pt_reader", self.pt, (Role(name="read_only", area=PQ),), "pt"),
            ("de_officer", self.de, (handler,), "de"),
            ("de_allocator", self.de, (allocator,), "de"),
            ("de_pq_handler", self.de, (Role(name="request_handler", area=PQ),), "de"),
            (
                "de_services_handler",
                self.de,
                (Role(name="request_handler", area="services"),),
                "de",
            ),
            ("de_alerts_only", self.de, (Role(name="alert_handler"),), "de"),
            ("de_bavaria_officer", self.de_bavaria, (handler, allocator), "de"),
            ("fr_officer", self.fr, (handler,), "fr"),
            ("de_coordinator", self.de_coordination, (Role(name="national_coordinator"),), "de"),
            (
                "de_bavaria_delegate",
                self.de_coordination,
                (Role(name="delegated_coordinator", region="DE-BY"),),
                "de",
            ),
            (
                "de_services_delegate",
                self.de_coordination,
                (Role(name="delegated_coordinator", area="services"),),
                "de",
            ),
            ("pt_coordinator", self.pt_coordination, (Role(name="national_coordinator"),), "pt"),
            (
                "pt_dpa",
                self.pt_coordination,
                (Role(name="data_protection_administrator"),),
                "pt",
            ),
            ("fr_coordinator", self.fr, (Role(name="national_coordinator"),), "fr"),
        ):
            self.users[key] = User(key, uuid.uuid4(), authority, roles, language)

    @property
    def authorities(self) -> list[Authority]:
        return [
            self.pt,
            self.de,
            self.de_bavaria,
            self.de_services_only,
            self.de_deactivated,
            self.de_coordination,
            self.fr,
            self.pt_coordination,
        ]

    def __getitem__(self, key: str) -> User:
        return self.users[key]

    def events(self) -> list[Event]:
        found: list[Event] = [AuthorityRegistered(authority=a.snapshot()) for a in self.authorities]
        found += [UserRegistered(user=u.snapshot()) for u in self.users.values()]
        return found


def envelope_of(event: Event, source: str = "imi/directory") -> Envelope:
    return Envelope(source=source, type=event.type, data=event.model_dump(mode="json"))


def catalogue_event(now: datetime) -> Event:
    return published_event(load_catalogue(), now)


@dataclass
class RunningExchange:
    client: httpx.AsyncClient
    settings: ExchangeSettings
    tap: EventTap
    app: Any
    clock: MovableClock
    network: Network
    servers: Servers
    catalogue_version: str

    @property
    def db(self) -> Database:
        db: Database = self.app.state.db
        return db

    def token(self, user: User | str, **overrides: Any) -> str:
        who = self.network[user] if isinstance(user, str) else user
        values: dict[str, Any] = {
            "user_id": who.id,
            "username": who.key,
            "authority_id": who.authority.id,
            "country": who.country,
            "roles": who.roles,
            "language": who.language,
        }
        values.update(overrides)
        return self.servers.token(**values)

    def headers(self, user: User | str, version: int | None = None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(user)}", **extra}
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        return headers

    def draft_body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "procedure": "pq_establishment",
            "catalogue_version": self.catalogue_version,
            "responding_authority_id": str(self.network.de.id),
            "items": [
                {"question": "pq_diploma_authentic"},
                {"question": "pq_diploma_issuing_body"},
                {"question": "pq_diploma_award_date"},
                {"question": "pq_sanctions_imposed"},
                {"question": "pq_sanctions_details"},
                {"question": "pq_registration_proof"},
            ],
            "free_texts": [
                {
                    "text": "Pedimos a confirmação do diploma de professora da requerente.",
                    "language": "pt",
                }
            ],
            "requested_reply_date": (self.clock.now.date() + timedelta(days=20)).isoformat(),
            "data_subject": {
                "given_names": "Maria Helena",
                "family_name": "Sousa",
                "date_of_birth": "1986-04-12",
                "nationality": ["pt"],
                "identification_numbers": [{"type": "national_id", "value": "12345678"}],
            },
        }
        body.update(overrides)
        return body

    async def create(self, user: str = "pt_officer", **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/requests", json=self.draft_body(**overrides), headers=self.headers(user)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def act(
        self,
        user: str,
        request: dict[str, Any],
        action: str,
        body: dict[str, Any] | None = None,
        *,
        expect: int = 200,
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/requests/{request['id']}/{action}",
            json=body,
            headers=self.headers(user, request["version"]),
        )
        assert response.status_code == expect, response.text
        return dict(response.json())

    async def sent(self, **overrides: Any) -> dict[str, Any]:
        return await self.act("pt_officer", await self.create(**overrides), "send")

    async def accepted(self, **overrides: Any) -> dict[str, Any]:
        return await self.act("de_officer", await self.sent(**overrides), "accept")

    async def answered(self, **overrides: Any) -> dict[str, Any]:
        request = await self.accepted(**overrides)
        return await self.act(
            "de_officer",
            request,
            "answer",
            {
                "answers": [
                    {"question": "pq_diploma_authentic", "answer": {"option": "yes"}},
                    {"question": "pq_sanctions_imposed", "answer": {"option": "no"}},
                ]
            },
        )

    async def get(self, user: str, request_id: str, **headers: str) -> httpx.Response:
        return await self.client.get(
            f"/v1/requests/{request_id}", headers=self.headers(user, **headers)
        )

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.db.engine.connect() as conn:
            return list((await conn.execute(text(statement), params)).all())


async def publish_all(amqp_url: str, events: list[Event]) -> None:
    for event in events:
        source = "imi/translation" if event.type.startswith("translation.") else "imi/directory"
        await publish_event(amqp_url, envelope_of(event, source))


async def wait_projected(running: RunningExchange) -> None:
    network = running.network

    async def ready() -> bool:
        rows = await running.sql(
            "SELECT (SELECT count(*) FROM authorities), (SELECT count(*) FROM users),"
            " (SELECT count(*) FROM catalogue_versions)"
        )
        authorities, users, catalogues = rows[0]
        return (
            authorities == len(network.authorities)
            and users == len(network.users)
            and catalogues >= 1
        )

    await eventually(ready, timeout=30)


async def start_exchange(
    servers: Servers, label: str, tmp_path: Path, **overrides: Any
) -> tuple[ExchangeSettings, EventTap]:
    amqp_url = servers.new_vhost(f"exchange-{label}")
    values: dict[str, Any] = {
        "attachments_dir": tmp_path / "attachments",
        # the tests run the jobs themselves, with a moved clock
        "deadline_job_interval": 3600.0,
        "retention_job_interval": 3600.0,
        "attachment_max_bytes": 256 * 1024,
        "database_url": make_url(servers.pg_url)
        .set(database=f"imi_test_{servers.run_id}_exchange_{label.replace('-', '_')}")
        .render_as_string(hide_password=False),
    }
    values.update(overrides)
    settings = await migrated_settings(servers, ExchangeSettings, amqp_url, **values)
    tap = EventTap(amqp_url, ("exchange.#", "translation.requested"))
    await tap.start()
    return settings, tap


@pytest.fixture(scope="module")
async def exchange(
    servers: Servers, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningExchange]:
    """The service with the network and the catalogue projected, its own database and vhost."""
    label = request.module.__name__.rsplit(".", 1)[-1]
    settings, tap = await start_exchange(servers, label, tmp_path_factory.mktemp(label))
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    network = Network()
    app = create_app(settings, clock=clock)
    catalogue = catalogue_event(clock.now)
    try:
        async with running(app) as client:
            exchange = RunningExchange(
                client, settings, tap, app, clock, network, servers, catalogue.version
            )
            await publish_all(settings.common.amqp_url, [*network.events(), catalogue])
            await wait_projected(exchange)
            yield exchange
    finally:
        await tap.stop()


def today_plus(clock: MovableClock, days: int) -> str:
    return (clock.now.date() + timedelta(days=days)).isoformat()


def iso_date(value: date) -> str:
    return value.isoformat()
