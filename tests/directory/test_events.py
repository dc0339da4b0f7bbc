"""Events: another service keeps its own projection of authorities and users from the directory's
events alone (registration, update, deactivation, redelivery of an old snapshot); the directory
takes up a new catalogue version from the translation service's event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.directory.seed import demo_id
from services.translation.catalogue_files import load_catalogue
from services.translation.service import published_event
from shared.contracts.directory import AUTHORITY_EVENTS, USER_EVENTS
from shared.contracts.envelope import Envelope
from shared.db import Database
from shared.messaging import EventConsumer, Inbox, declare_topology, messaging_tables
from tests.directory.conftest import RunningDirectory, authority_body
from tests.infra import Servers, eventually, publish_event

PT_NATIONAL = demo_id("authority", "pt:national")

metadata = MetaData()
tables = messaging_tables(metadata)
authorities = Table(
    "authorities",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("official_name", Text, nullable=False),
    Column("email", Text),
    Column("competences", JSONB, nullable=False),
)
users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("authority_id", Uuid, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("roles", JSONB, nullable=False),
)


async def upsert_newer(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """Keep the snapshot when its version is newer than the one held (reordering-safe)."""
    statement = pg_insert(table).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"],
            set_={k: statement.excluded[k] for k in values if k != "id"},
            where=table.c.version < statement.excluded.version,
        )
    )


def projection_consumer(name: str) -> EventConsumer:
    consumer = EventConsumer(name, Inbox(tables.inbox))

    async def on_authority(session: AsyncSession, event: Any, envelope: Envelope) -> None:
        a = event.authority
        await upsert_newer(
            session,
            authorities,
            {
                "id": a.id,
                "version": a.version,
                "status": a.status.value,
                "country": a.country,
                "official_name": a.official_name,
                "email": a.email,
                "competences": [c.model_dump(mode="json") for c in a.competences],
            },
        )

    async def on_user(session: AsyncSession, event: Any, envelope: Envelope) -> None:
        u = event.user
        await upsert_newer(
            session,
            users,
            {
                "id": u.id,
                "version": u.version,
                "authority_id": u.authority_id,
                "active": u.active,
                "roles": [r.model_dump() for r in u.roles],
            },
        )

    for event_type in AUTHORITY_EVENTS:
        consumer.on(event_type)(on_authority)
    for event_type in USER_EVENTS:
        consumer.on(event_type)(on_user)
    return consumer


@dataclass
class Projection:
    db: Database
    consumer: EventConsumer

    async def authority(self, authority_id: str) -> Any:
        async with self.db.engine.connect() as conn:
            found = await conn.execute(
                select(authorities).where(authorities.c.id == uuid.UUID(authority_id))
            )
            return found.first()

    async def user(self, user_id: str) -> Any:
        async with self.db.engine.connect() as conn:
            found = await conn.execute(select(users).where(users.c.id == uuid.UUID(user_id)))
            return found.first()

    async def consumed(self, message_id: str) -> bool:
        async with self.db.engine.connect() as conn:
            found = await conn.execute(
                select(tables.inbox.c.message_id).where(tables.inbox.c.message_id == message_id)
            )
            return found.first() is not None


@pytest.fixture(scope="module")
async def projection(directory: RunningDirectory, servers: Servers) -> AsyncIterator[Projection]:
    """The exchange service's side, as a test stands for it: its own database and queue."""
    db = Database(await servers.new_database("projection"), pool_size=2)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    consumer = projection_consumer("projection-test")
    amqp_url = directory.settings.common.amqp_url
    await declare_topology(amqp_url, consumer.service, consumer.binding_keys)
    await consumer.start(amqp_url, db)
    try:
        yield Projection(db, consumer)
    finally:
        await consumer.stop()
        await db.dispose()


def headers(directory: RunningDirectory, version: int, who: str = "pt-coordinator") -> dict:
    return {**directory.headers(who), "If-Match": f'"{version}"'}


class TestProjectionFromEvents:
    async def test_an_authority_projection_follows_registration_update_and_deactivation(
        self, directory: RunningDirectory, projection: Projection
    ) -> None:
        created = await directory.client.post(
            "/v1/authorities", json=authority_body(), headers=directory.headers("pt-coordinator")
        )
        authority_id = created.json()["id"]
        for version, action in ((1, "validate"), (2, "activate")):
            response = await directory.client.post(
                f"/v1/authorities/{authority_id}/{action}", headers=headers(directory, version)
            )
            assert response.status_code == 200
        updated = await directory.client.patch(
            f"/v1/authorities/{authority_id}",
            json={"email": "mudou@dsrn.example.pt"},
            headers=headers(directory, 3),
        )
        assert updated.status_code == 200

        async def updated_held() -> bool:
            row = await projection.authority(authority_id)
            return row is not None and row.version == 4

        await eventually(updated_held)
        row = await projection.authority(authority_id)
        assert (row.status, row.email, row.country) == ("active", "mudou@dsrn.example.pt", "pt")
        assert row.competences[0]["keywords"] == ["teacher", "secondary_school_teacher"]

        deactivated = await directory.client.post(
            f"/v1/authorities/{authority_id}/deactivate",
            headers=headers(directory, 4),
            json={"reason": "merged"},
        )
        assert deactivated.status_code == 200

        async def deactivation_held() -> bool:
            row = await projection.authority(authority_id)
            return row is not None and row.status == "deactivated"

        await eventually(deactivation_held)
        assert (await projection.authority(authority_id)).version == 5

    async def test_an_old_snapshot_delivered_late_changes_nothing(
        self, directory: RunningDirectory, projection: Projection
    ) -> None:
        created = await directory.client.post(
            "/v1/authorities", json=authority_body(), headers=directory.headers("pt-coordinator")
        )
        authority_id = created.json()["id"]
        await directory.client.post(
            f"/v1/authorities/{authority_id}/validate", headers=headers(directory, 1)
        )

        async def validated_held() -> bool:
            row = await projection.authority(authority_id)
            return row is not None and row.status == "validated"

        await eventually(validated_held)
        registered = await directory.event("directory.authority.registered", authority_id)
        late = Envelope(
            source=registered.source, type=registered.type, data=registered.data
        )  # the same snapshot, delivered again as a new message
        await publish_event(directory.settings.common.amqp_url, late)

        async def consumed() -> bool:
            return await projection.consumed(late.id)

        await eventually(consumed)
        row = await projection.authority(authority_id)
        assert (row.version, row.status) == (2, "validated")

    async def test_a_user_projection_follows_roles_and_deactivation(
        self, directory: RunningDirectory, projection: Projection
    ) -> None:
        created = await directory.client.post(
            f"/v1/authorities/{PT_NATIONAL}/users",
            json={
                "username": f"pt-projection-{uuid.uuid4().hex[:6]}",
                "display_name": "Rui Costa",
                "password": "a long enough password",
                "roles": [{"name": "request_handler"}],
            },
            headers=directory.headers("pt-coordinator"),
        )
        user_id = created.json()["id"]
        await directory.client.patch(
            f"/v1/users/{user_id}",
            json={"roles": [{"name": "request_handler"}, {"name": "request_allocator"}]},
            headers=headers(directory, 1),
        )
        await directory.client.post(
            f"/v1/users/{user_id}/deactivate", headers=headers(directory, 2)
        )

        async def deactivated_held() -> bool:
            row = await projection.user(user_id)
            return row is not None and row.version == 3

        await eventually(deactivated_held)
        row = await projection.user(user_id)
        assert row.active is False
        assert [r["name"] for r in row.roles] == ["request_handler", "request_allocator"]
        assert row.authority_id == PT_NATIONAL


class TestCatalogueFromEvents:
    async def test_a_newer_catalogue_version_becomes_current_for_search(
        self, directory: RunningDirectory
    ) -> None:
        catalogue = load_catalogue()
        event = published_event(catalogue, datetime.now(UTC) + timedelta(minutes=1))
        keywords = {k: dict(v) for k, v in event.keywords.items()}
        keywords["teacher"]["pt"] = (*keywords["teacher"]["pt"], "mestre-escola")
        newer = event.model_copy(update={"version": "test-newer", "keywords": keywords})
        before = await directory.client.get(
            "/v1/authorities",
            params={"q": "mestre-escola", "country": "pt"},
            headers=directory.headers("pt-officer"),
        )
        assert before.json()["items"] == []
        await publish_event(
            directory.settings.common.amqp_url,
            Envelope(source="imi/translation", type=newer.type, data=newer.model_dump(mode="json")),
        )

        async def kept() -> bool:
            return bool(
                await directory.scalar(
                    "SELECT count(*) FROM catalogue_versions WHERE version = 'test-newer'"
                )
            )

        await eventually(kept)
        after = await directory.client.get(
            "/v1/authorities",
            params={"q": "mestre-escola", "country": "pt"},
            headers=directory.headers("pt-officer", **{"Accept-Language": "pt"}),
        )
        assert str(PT_NATIONAL) in [item["id"] for item in after.json()["items"]]
        assert await directory.scalar("SELECT count(*) FROM catalogue_versions") == 2
