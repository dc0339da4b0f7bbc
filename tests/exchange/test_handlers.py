"""The projections the service keeps from other services' events, through the real broker:
directory snapshots (newest version wins, redelivery is harmless) and catalogue versions (a
request keeps the version it was written with)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.translation.catalogue_files import load_catalogue
from services.translation.service import published_event
from shared.contracts.directory import (
    AuthorityDeactivated,
    AuthorityRegistered,
    AuthorityStatus,
    AuthorityUpdated,
    UserDeactivated,
    UserRegistered,
    UserUpdated,
)
from shared.identity import Role
from tests.exchange.conftest import (
    PQ,
    RunningExchange,
    User,
    _authority,
    envelope_of,
    publish_all,
)
from tests.infra import eventually, publish_event


async def authority_version(
    exchange: RunningExchange, authority_id: uuid.UUID
) -> tuple[int, str] | None:
    rows = await exchange.sql(
        "SELECT version, status FROM authorities WHERE id = :id", id=authority_id
    )
    return (rows[0][0], rows[0][1]) if rows else None


async def inbox_count(exchange: RunningExchange, event_type: str) -> int:
    rows = await exchange.sql("SELECT count(*) FROM inbox WHERE type = :t", t=event_type)
    return int(rows[0][0])


class TestAuthorityProjection:
    async def test_the_newest_snapshot_wins_whatever_the_order_of_arrival(
        self, exchange: RunningExchange
    ) -> None:
        hamburg = _authority("de_hamburg", "de", "DE-HH", ("de",))
        amqp = exchange.settings.common.amqp_url
        await publish_all(amqp, [AuthorityRegistered(authority=hamburg.snapshot(1))])

        async def at(version: int) -> bool:
            found = await authority_version(exchange, hamburg.id)
            return found is not None and found[0] == version

        await eventually(lambda: at(1))
        body = exchange.draft_body(responding_authority_id=str(hamburg.id))
        accepted = await exchange.client.post(
            "/v1/requests", json=body, headers=exchange.headers("pt_officer")
        )
        assert accepted.status_code == 201
        deactivated = hamburg.snapshot(3).model_copy(update={"status": AuthorityStatus.DEACTIVATED})
        await publish_all(amqp, [AuthorityDeactivated(authority=deactivated)])
        await eventually(lambda: at(3))
        updates_before = await inbox_count(exchange, AuthorityUpdated.type)
        await publish_all(amqp, [AuthorityUpdated(authority=hamburg.snapshot(2))])  # late

        async def late_one_consumed() -> bool:
            return await inbox_count(exchange, AuthorityUpdated.type) == updates_before + 1

        await eventually(late_one_consumed)
        refused = await exchange.client.post(
            "/v1/requests", json=body, headers=exchange.headers("pt_officer")
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "body.responding_authority_id"
        assert await authority_version(exchange, hamburg.id) == (3, "deactivated")

    async def test_a_redelivered_event_is_applied_once(self, exchange: RunningExchange) -> None:
        bremen = _authority("de_bremen", "de", "DE-HB", ("de",))
        envelope = envelope_of(AuthorityRegistered(authority=bremen.snapshot(1)))
        amqp = exchange.settings.common.amqp_url
        await publish_event(amqp, envelope)
        await publish_event(amqp, envelope)

        async def projected() -> bool:
            return await authority_version(exchange, bremen.id) is not None

        await eventually(projected)
        inbox = await exchange.sql(
            "SELECT count(*) FROM inbox WHERE message_id = :id", id=envelope.id
        )
        assert inbox[0][0] == 1


class TestUserProjection:
    async def test_allocation_follows_the_users_roles_and_activity(
        self, exchange: RunningExchange
    ) -> None:
        newcomer = User(
            "de_newcomer", uuid.uuid4(), exchange.network.de, (Role(name="read_only"),), "de"
        )
        amqp = exchange.settings.common.amqp_url
        await publish_all(amqp, [UserRegistered(user=newcomer.snapshot(1))])

        async def version(expected: int) -> bool:
            rows = await exchange.sql("SELECT version FROM users WHERE id = :id", id=newcomer.id)
            return bool(rows) and rows[0][0] == expected

        await eventually(lambda: version(1))
        accepted = await exchange.accepted()
        body = {"handler_user_id": str(newcomer.id)}
        await exchange.act("de_allocator", accepted, "allocate", body, expect=422)
        promoted = User(
            newcomer.key,
            newcomer.id,
            newcomer.authority,
            (Role(name="request_handler", area=PQ),),
            "de",
        )
        await publish_all(amqp, [UserUpdated(user=promoted.snapshot(2))])
        await eventually(lambda: version(2))
        allocated = await exchange.act("de_allocator", accepted, "allocate", body)
        assert allocated["handler_user_id"] == str(newcomer.id)
        await publish_all(amqp, [UserDeactivated(user=promoted.snapshot(3, active=False))])
        await eventually(lambda: version(3))
        again = await exchange.act("de_allocator", allocated, "allocate", body, expect=422)
        assert "not active" in again["detail"]


class TestCatalogueVersions:
    async def test_a_request_keeps_the_version_it_was_written_with(
        self, exchange: RunningExchange
    ) -> None:
        first = await exchange.create(catalogue_version=None)
        assert first["catalogue_version"] == exchange.catalogue_version
        newer = published_event(
            load_catalogue(version="exchange-test-2"), exchange.clock.now + timedelta(seconds=5)
        )
        await publish_all(exchange.settings.common.amqp_url, [newer])

        async def received() -> bool:
            rows = await exchange.sql(
                "SELECT count(*) FROM catalogue_versions WHERE version = 'exchange-test-2'"
            )
            return rows[0][0] == 1

        await eventually(received)
        second = await exchange.create(catalogue_version=None)
        assert second["catalogue_version"] == "exchange-test-2"
        again = await exchange.get("pt_officer", first["id"])
        assert again.json()["catalogue_version"] == exchange.catalogue_version
        sent = await exchange.act("pt_officer", first, "send")
        accepted = await exchange.act("de_officer", sent, "accept")
        answered = await exchange.act(
            "de_officer",
            accepted,
            "answer",
            {"answers": [{"question": "pq_diploma_authentic", "answer": {"option": "no"}}]},
        )
        assert answered["catalogue_version"] == exchange.catalogue_version
