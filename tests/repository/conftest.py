"""Fixtures of the repository tests: the service on a fresh database and vhost, its definitions
(the shipped ones plus test ones) in a directory of the session, and a small directory network
sent to it as directory events."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.repository.app import create_app
from services.repository.settings import SHIPPED_DEFINITIONS, RepositorySettings
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

CASH = Competence(area="euro_cash_transport")


@dataclass(frozen=True)
class Member:
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
    authorities: dict[str, AuthoritySnapshot] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)

    def authority(
        self,
        label: str,
        country: str,
        language: str,
        *,
        competences: Sequence[Competence] = (),
        coordinating: bool = False,
    ) -> AuthoritySnapshot:
        snapshot = AuthoritySnapshot(
            id=uuid.uuid4(),
            country=country,
            level=AuthorityLevel.NATIONAL,
            official_name=label,
            name_language=language,
            competences=tuple(competences),
            status=AuthorityStatus.ACTIVE,
            version=1,
            coordinating=coordinating,
        )
        self.authorities[label] = snapshot
        return snapshot

    def member(self, username: str, authority: str, *roles: str, language: str) -> Member:
        snapshot = self.authorities[authority]
        found = Member(
            username=username,
            authority_id=snapshot.id,
            country=snapshot.country,
            roles=tuple(Role(name=r) for r in roles),
            language=language,
        )
        self.members[username] = found
        return found

    def __getitem__(self, username: str) -> Member:
        return self.members[username]

    def events(self) -> list[Event]:
        found: list[Event] = [AuthorityRegistered(authority=a) for a in self.authorities.values()]
        found.extend(
            UserRegistered(
                user=UserSnapshot(
                    id=m.user_id,
                    username=m.username,
                    display_name=m.username,
                    authority_id=m.authority_id,
                    country=m.country,
                    language=m.language,
                    roles=m.roles,
                    version=1,
                )
            )
            for m in self.members.values()
        )
        return found


def build_network() -> Network:
    network = Network()
    network.authority("de-coordination", "de", "de", coordinating=True)
    network.member("de-coordinator", "de-coordination", "national_coordinator", language="de")
    network.authority("de-cash", "de", "de", competences=(CASH,))
    network.member("de-cash-admin", "de-cash", "local_data_administrator", language="de")
    network.member("de-cash-reader", "de-cash", "read_only", language="de")
    network.authority("fr-cash", "fr", "fr", competences=(CASH,))
    network.member("fr-cash-officer", "fr-cash", "request_handler", language="fr")
    network.authority("pt-services", "pt", "pt", competences=(Competence(area="services"),))
    network.member("pt-officer", "pt-services", "request_handler", language="pt")
    network.authority("it-services", "it", "it", competences=(Competence(area="services"),))
    network.member("it-officer", "it-services", "request_handler", language="it")
    return network


def write_definitions(directory: Path, network: Network) -> None:
    """The shipped definitions, a copy of the registers under another key (for round trips),
    and a repository of a group named by authority ids."""
    for path in SHIPPED_DEFINITIONS.glob("*.yaml"):
        shutil.copy(path, directory / path.name)
    registers = yaml.safe_load((SHIPPED_DEFINITIONS / "registers.yaml").read_text())
    registers["key"] = "registers_copy"
    (directory / "registers_copy.json").write_text(json.dumps(registers))
    named = {
        "key": "named_group",
        "titles": {"en": "A repository of two named authorities"},
        "title_field": "name",
        "read": {
            "group": {
                "authorities": [
                    str(network.authorities["pt-services"].id),
                    str(network.authorities["it-services"].id),
                ]
            }
        },
        "write": [
            {
                "roles": ["request_handler"],
                "authorities": {"authorities": [str(network.authorities["pt-services"].id)]},
            }
        ],
        "fields": [{"name": "name", "type": "text", "required": True, "searchable": True}],
    }
    (directory / "named_group.yaml").write_text(yaml.safe_dump(named))


async def publish_all(amqp_url: str, events: Sequence[Event]) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event in events:
            envelope = Envelope(
                source="imi/directory", type=event.type, data=event.model_dump(mode="json")
            )
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
class RepositoryService:
    """The running service and the network it knows, with helpers to act as its users."""

    client: httpx.AsyncClient
    settings: RepositorySettings
    servers: Servers
    network: Network
    tap: EventTap
    db: Database

    def headers(self, username: str, **extra: str) -> dict[str, str]:
        token = self.servers.token(**self.network[username].claims())
        return {"Authorization": f"Bearer {token}", **extra}

    async def get(self, username: str, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.headers(username))

    async def post(
        self, username: str, path: str, body: Any = None, **extra: str
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers(username, **extra))

    async def patch(self, username: str, path: str, body: Any, **extra: str) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=self.headers(username, **extra))

    async def create(self, username: str, key: str, fields: dict[str, Any]) -> dict[str, Any]:
        response = await self.post(username, f"/v1/repositories/{key}/records", {"fields": fields})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def import_csv(self, username: str, key: str, csv_text: str) -> httpx.Response:
        return await self.client.post(
            f"/v1/repositories/{key}/import",
            content=csv_text.encode(),
            headers=self.headers(username, **{"Content-Type": "text/csv"}),
        )

    async def fetch(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def count(self, key: str) -> int:
        rows = await self.fetch("SELECT count(*) FROM records WHERE repository = :k", k=key)
        return int(rows[0][0])


@pytest.fixture(scope="module")
async def repo(
    servers: Servers, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RepositoryService]:
    """The service on a fresh database and vhost of this test module, knowing the network."""
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    amqp_url = servers.new_vhost(f"repository-{label}")
    await declare_topology(amqp_url)
    network = build_network()
    definitions = tmp_path_factory.mktemp(f"definitions-{label}")
    write_definitions(definitions, network)
    settings = await migrated_settings(
        servers,
        RepositorySettings,
        amqp_url,
        database_url=make_url(servers.pg_url)
        .set(database=f"imi_test_{servers.run_id}_repository_{label}")
        .render_as_string(hide_password=False),
        definitions_dir=definitions,
        import_max_rows=50,
        search_rank_window=5,
    )
    tap = EventTap(amqp_url, ("repository.#",))
    await tap.start()
    app = create_app(settings)
    db = Database(settings.sqlalchemy_url, pool_size=2)
    try:
        async with running(app) as client:
            await publish_all(amqp_url, network.events())

            async def projected() -> bool:
                rows = await found.fetch("SELECT count(*) FROM directory_users")
                return bool(rows[0][0] == len(network.members))

            found = RepositoryService(client, settings, servers, network, tap, db)
            await eventually(projected, timeout=30)
            yield found
    finally:
        await db.dispose()
        await tap.stop()
