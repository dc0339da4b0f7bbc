"""The messaging kit on the real servers: outbox, relay, inbox, delivery limit, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
import pytest
from sqlalchemy import BigInteger, Column, Identity, Integer, Table, Text, func, select

from shared.contracts import Event
from shared.contracts.envelope import Envelope
from shared.db import Database, new_metadata
from shared.logging import bind_correlation_id, correlation_id_var
from shared.messaging import (
    DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    EventConsumer,
    Inbox,
    Outbox,
    OutboxRelay,
    declare_topology,
    events_queue,
    list_dead_letters,
    messaging_tables,
    replay_dead_letters,
)
from tests.infra import Servers, eventually, rabbitmqctl


class ThingChanged(Event):
    type = "test.thing.changed"
    n: int


class ThingPoisoned(Event):
    type = "test.thing.poisoned"
    n: int


producer_metadata = new_metadata()
producer_tables = messaging_tables(producer_metadata)
things = Table(
    "things",
    producer_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("n", Integer, nullable=False),
)

consumer_metadata = new_metadata()
consumer_tables = messaging_tables(consumer_metadata)
applied = Table(
    "applied",
    consumer_metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("event_id", Text, nullable=False),
    Column("n", Integer, nullable=False),
)


async def fresh_database(servers: Servers, label: str, metadata: object) -> Database:
    db = Database(await servers.new_database(f"{label}_{uuid.uuid4().hex[:6]}"), pool_size=10)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)  # type: ignore[attr-defined]
    return db


@dataclass
class Pipeline:
    """A producing service (outbox + relay) and a consuming service (queue + inbox)."""

    producer: Database
    consumer_db: Database
    amqp_url: str
    service: str
    outbox: Outbox
    consumer: EventConsumer
    attempts: Counter[str] = field(default_factory=Counter)
    correlations: list[str | None] = field(default_factory=list)
    poison_heals: bool = False

    async def change(self, n: int, *, rollback: bool = False) -> None:
        """One state change and its event, in one transaction."""
        async with self.producer.sessions() as session:
            async with session.begin():
                await session.execute(things.insert().values(n=n))
                await self.outbox.add(session, ThingChanged(n=n), subject=str(n))
                if rollback:
                    await session.rollback()

    async def applied_rows(self) -> list[tuple[str, int]]:
        async with self.consumer_db.sessions() as session:
            rows = await session.execute(select(applied.c.event_id, applied.c.n))
            return [(r.event_id, r.n) for r in rows]

    async def applied_count(self) -> int:
        async with self.consumer_db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(applied)) or 0)


@asynccontextmanager
async def pipeline(
    servers: Servers, *, relays: int = 1, batch_size: int = 500, consume: bool = True
) -> AsyncIterator[tuple[Pipeline, list[OutboxRelay]]]:
    amqp_url = servers.new_vhost(uuid.uuid4().hex[:6])
    producer = await fresh_database(servers, "producer", producer_metadata)
    consumer_db = await fresh_database(servers, "consumer", consumer_metadata)
    service = "consumer"
    outbox = Outbox(producer_tables.outbox, service="producer")
    consumer = EventConsumer(service, Inbox(consumer_tables.inbox))
    pipe = Pipeline(producer, consumer_db, amqp_url, service, outbox, consumer)

    @consumer.on(ThingChanged)
    async def on_changed(session: object, event: ThingChanged, envelope: Envelope) -> None:
        pipe.attempts[envelope.id] += 1
        pipe.correlations.append(correlation_id_var.get())
        await session.execute(  # type: ignore[attr-defined]
            applied.insert().values(event_id=envelope.id, n=event.n)
        )

    @consumer.on(ThingPoisoned)
    async def on_poisoned(session: object, event: ThingPoisoned, envelope: Envelope) -> None:
        pipe.attempts[envelope.id] += 1
        await session.execute(  # type: ignore[attr-defined]
            applied.insert().values(event_id=envelope.id, n=event.n)
        )
        if not pipe.poison_heals:
            raise RuntimeError("this handler cannot apply the event yet")

    await declare_topology(amqp_url, service, consumer.binding_keys)
    if consume:
        await consumer.start(amqp_url, consumer_db)
    relay_objs = [
        OutboxRelay(producer, outbox, amqp_url, batch_size=batch_size) for _ in range(relays)
    ]
    tasks = [asyncio.create_task(r.run()) for r in relay_objs]
    try:
        yield pipe, relay_objs
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await consumer.stop()
        await producer.dispose()
        await consumer_db.dispose()


@pytest.mark.chaos
class TestOutboxSurvivesBrokerRestart:
    async def test_thousand_changes_across_a_broker_restart_arrive_exactly_once(
        self, servers: Servers
    ) -> None:
        async with pipeline(servers) as (pipe, relays):
            for n in range(500):
                await pipe.change(n)
            try:
                rabbitmqctl("stop_app")
                # The producer keeps committing while the broker is gone: nothing may be lost.
                for n in range(500, 1000):
                    await pipe.change(n)
                assert await _unpublished(pipe) > 0  # these wait in the outbox for the broker
            finally:
                rabbitmqctl("start_app")
            await eventually(lambda: _count_is(pipe, 1000), timeout=120)
            await asyncio.sleep(1.0)  # a late duplicate would show up now
            rows = await pipe.applied_rows()
            assert len(rows) == 1000
            assert sorted(n for _, n in rows) == list(range(1000))
            assert len({event_id for event_id, _ in rows}) == 1000


async def _unpublished(pipe: Pipeline) -> int:
    outbox = producer_tables.outbox
    async with pipe.producer.sessions() as session:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int(await session.scalar(query) or 0)


async def _count_is(pipe: Pipeline, expected: int) -> bool:
    return await pipe.applied_count() == expected


class TestRollback:
    async def test_rolled_back_change_publishes_nothing(self, servers: Servers) -> None:
        async with pipeline(servers) as (pipe, _):
            await pipe.change(1, rollback=True)
            await pipe.change(2)
            await eventually(lambda: _count_is(pipe, 1))
            await asyncio.sleep(0.5)
            assert [n for _, n in await pipe.applied_rows()] == [2]
            async with pipe.producer.sessions() as session:
                outbox = producer_tables.outbox
                published = await session.scalar(select(func.count()).select_from(outbox))
            assert published == 1


class TestCorrelation:
    async def test_correlation_id_travels_from_the_writer_to_the_consumer(
        self, servers: Servers
    ) -> None:
        async with pipeline(servers) as (pipe, _):
            bind_correlation_id("case-4711")
            await pipe.change(5)
            bind_correlation_id(None)
            await eventually(lambda: _count_is(pipe, 1))
            assert pipe.correlations == ["case-4711"]


class TestInbox:
    async def test_redelivered_message_is_applied_once(self, servers: Servers) -> None:
        async with pipeline(servers) as (pipe, _):
            await pipe.change(7)
            await eventually(lambda: _count_is(pipe, 1))
            event_id, _ = (await pipe.applied_rows())[0]
            # The same message again, as a broker redelivery after a lost ack would bring it.
            envelope = Envelope(
                id=event_id, source="imi/producer", type=ThingChanged.type, data={"n": 7}
            )
            connection = await aio_pika.connect(pipe.amqp_url)
            async with connection:
                channel = await connection.channel()
                exchange = await channel.get_exchange(EVENTS_EXCHANGE)
                for _ in range(3):
                    await exchange.publish(
                        aio_pika.Message(
                            envelope.body(), headers=envelope.headers(), message_id=event_id
                        ),
                        routing_key=ThingChanged.type,
                    )
            await asyncio.sleep(1.0)
            assert await pipe.applied_count() == 1
            assert pipe.attempts[event_id] == 1


class TestDeliveryLimitAndDeadLetters:
    async def test_failing_handler_is_retried_then_dead_lettered_and_replayable(
        self, servers: Servers
    ) -> None:
        async with pipeline(servers) as (pipe, _):
            async with pipe.producer.transaction() as session:
                envelope = await pipe.outbox.add(session, ThingPoisoned(n=13))
            dead: list[object] = []

            async def dead_lettered() -> bool:
                dead[:] = await list_dead_letters(pipe.amqp_url, pipe.service)
                return len(dead) == 1

            await eventually(dead_lettered, timeout=30)
            # Every attempt rolled back: the effect never happened, the message was not dropped.
            assert pipe.attempts[envelope.id] == DELIVERY_LIMIT + 1
            assert await pipe.applied_count() == 0
            letter = dead[0]
            assert letter.message_id == envelope.id  # type: ignore[attr-defined]
            assert letter.routing_key == ThingPoisoned.type  # type: ignore[attr-defined]
            # Listing does not consume.
            assert len(await list_dead_letters(pipe.amqp_url, pipe.service)) == 1

            pipe.poison_heals = True
            assert await replay_dead_letters(pipe.amqp_url, pipe.service) == 1
            await eventually(lambda: _count_is(pipe, 1))
            assert await list_dead_letters(pipe.amqp_url, pipe.service) == []

    async def test_malformed_message_is_dead_lettered_not_dropped(self, servers: Servers) -> None:
        async with pipeline(servers) as (pipe, _):
            connection = await aio_pika.connect(pipe.amqp_url)
            async with connection:
                channel = await connection.channel()
                await channel.default_exchange.publish(
                    aio_pika.Message(b"[not an object", message_id="garbage-1"),
                    routing_key=events_queue(pipe.service),
                )

            async def dead_lettered() -> bool:
                return len(await list_dead_letters(pipe.amqp_url, pipe.service)) == 1

            await eventually(dead_lettered, timeout=30)
            assert await pipe.applied_count() == 0


class TestRelayReplicas:
    async def test_two_relays_publish_every_event_once(self, servers: Servers) -> None:
        async with pipeline(servers, relays=0, consume=False) as (pipe, _):
            received: Counter[str] = Counter()
            connection = await aio_pika.connect(pipe.amqp_url)
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(EVENTS_EXCHANGE, routing_key="test.#")

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                received[message.message_id or ""] += 1
                await message.ack()

            await queue.consume(on_message)
            async with pipe.producer.transaction() as session:
                for n in range(2000):
                    await pipe.outbox.add(session, ThingChanged(n=n))
            relays = [
                OutboxRelay(pipe.producer, pipe.outbox, pipe.amqp_url, batch_size=50)
                for _ in range(2)
            ]
            tasks = [asyncio.create_task(r.run()) for r in relays]
            try:

                async def all_received() -> bool:
                    return sum(received.values()) >= 2000

                await eventually(all_received, timeout=60)
                await asyncio.sleep(0.5)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await connection.close()
            assert len(received) == 2000
            assert max(received.values()) == 1
            assert all(r.published > 0 for r in relays), [r.published for r in relays]
            assert sum(r.published for r in relays) == 2000
