"""Events/s through outbox → relay → broker → consumer inbox, between two service processes.

The producer process commits state changes, each with its event in the same transaction (8
concurrent writers) and runs the outbox relay; the consumer process applies each event once
through its inbox in the transaction of its effect. The figure is events applied per second from
the first commit to the last application, beside the raw aio-pika ceiling measured in the same run.

    .venv/bin/python bench/outbox_throughput.py [--events N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import BigInteger, Column, Identity, Integer, Table, Text, func, select  # noqa: E402

from bench.common import (  # noqa: E402
    broker_baseline,
    report,
    scratch_database,
    scratch_vhost,
)
from shared.contracts import Event  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.db import Database, new_metadata  # noqa: E402
from shared.messaging import (  # noqa: E402
    EventConsumer,
    Inbox,
    Outbox,
    OutboxRelay,
    declare_topology,
    messaging_tables,
)

WRITERS = 8


class CaseUpdated(Event):
    type = "bench.case.updated"
    case: int
    state: str


producer_metadata = new_metadata()
producer_tables = messaging_tables(producer_metadata)
cases = Table(
    "cases",
    producer_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("n", Integer, nullable=False),
)
consumer_metadata = new_metadata()
consumer_tables = messaging_tables(consumer_metadata)
projection = Table(
    "case_projection",
    consumer_metadata,
    Column("event_id", Text, primary_key=True),
    Column("case", Integer, nullable=False),
)


async def create_schema(url: str, metadata: Any) -> None:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await db.dispose()


async def run_consumer(db_url: str, amqp_url: str) -> None:
    db = Database(db_url, pool_size=16)
    consumer = EventConsumer("benchconsumer", Inbox(consumer_tables.inbox))

    @consumer.on(CaseUpdated)
    async def apply(session: Any, event: CaseUpdated, envelope: Envelope) -> None:
        await session.execute(projection.insert(), {"event_id": envelope.id, "case": event.case})

    await consumer.start(amqp_url, db, prefetch=200)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await consumer.stop()
    await db.dispose()


async def run_producer(db_url: str, amqp_url: str, events: int, backlog: bool) -> None:
    """Commit ``events`` state changes; with ``backlog`` the relay starts only after all commits
    (as after a broker outage) when the parent says go, so that the drain is measured alone."""
    db = Database(db_url, pool_size=WRITERS)
    outbox = Outbox(producer_tables.outbox, service="benchproducer")
    relay = OutboxRelay(db, outbox, amqp_url, batch_size=500)
    relay_task = None if backlog else asyncio.create_task(relay.run())
    counter = iter(range(events))

    async def writer() -> None:
        for n in counter:
            async with db.transaction() as session:
                await session.execute(cases.insert().values(n=n))
                await outbox.add(session, CaseUpdated(case=n, state="sent"))

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    sys.stdout.write("committed\n")
    sys.stdout.flush()
    if relay_task is None:
        await asyncio.to_thread(sys.stdin.readline)
        relay_task = asyncio.create_task(relay.run())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    await db.dispose()


def spawn(role: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--role", role, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def applied(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(projection)) or 0)


async def run_pipeline(events: int, amqp_url: str, *, backlog: bool) -> tuple[float, float]:
    """Returns (events applied per second, commits per second)."""
    async with (
        scratch_database("producer") as producer_url,
        scratch_database("consumer") as consumer_url,
    ):
        await create_schema(producer_url, producer_metadata)
        await create_schema(consumer_url, consumer_metadata)
        await declare_topology(amqp_url, "benchconsumer", [CaseUpdated.type])
        consumer = spawn("consumer", "--db", consumer_url, "--amqp", amqp_url)
        assert consumer.stdout is not None
        await asyncio.to_thread(consumer.stdout.readline)
        check = Database(consumer_url, pool_size=1)
        args = ["--db", producer_url, "--amqp", amqp_url, "--events", str(events)]
        started = time.perf_counter()
        producer = spawn("producer", *args, *(["--backlog"] if backlog else []))
        try:
            assert producer.stdout is not None
            assert producer.stdin is not None
            await asyncio.to_thread(producer.stdout.readline)
            commit_rate = events / (time.perf_counter() - started)
            if backlog:
                started = time.perf_counter()
                producer.stdin.write("go\n")
                producer.stdin.flush()
            while (count := await applied(check)) < events:
                await asyncio.sleep(0.1)
                if time.perf_counter() - started > 600:
                    raise RuntimeError(f"only {count} of {events} applied after 600 s")
            elapsed = time.perf_counter() - started
            await asyncio.sleep(0.5)
            if (final := await applied(check)) != events:
                raise RuntimeError(f"{final} applications for {events} events")
        finally:
            for process in (producer, consumer):
                process.send_signal(signal.SIGTERM)
                process.wait(30)
            await check.dispose()
        return events / elapsed, commit_rate


async def measure(events: int) -> None:
    async with scratch_vhost("outbox") as amqp_url:
        await broker_baseline(amqp_url, 1_000)  # warm-up
        baseline = await broker_baseline(amqp_url, events)
        drain, _ = await run_pipeline(events, amqp_url, backlog=True)
        live, commits = await run_pipeline(events, amqp_url, backlog=False)
    report(
        "outbox throughput: outbox → relay → broker → inbox+effect, two processes",
        [
            ("events per run", f"{events} (each applied exactly once, checked)"),
            ("project: drain of committed events", f"{drain:,.0f} events/s"),
            ("baseline: raw aio-pika, same run", f"{baseline:,.0f} msg/s"),
            ("ratio (target >= 0.5)", f"{drain / baseline:.2f}"),
            ("live: 8 writers committing meanwhile", f"{live:,.0f} events/s end to end"),
            ("live: producer commit rate", f"{commits:,.0f} commits/s (change + event each)"),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--role", choices=["consumer", "producer"])
    parser.add_argument("--db")
    parser.add_argument("--amqp")
    parser.add_argument("--backlog", action="store_true")
    args = parser.parse_args()
    if args.role == "consumer":
        asyncio.run(run_consumer(args.db, args.amqp))
    elif args.role == "producer":
        asyncio.run(run_producer(args.db, args.amqp, args.events, args.backlog))
    else:
        asyncio.run(measure(2_000 if args.quick else args.events))


if __name__ == "__main__":
    uvloop.install()  # as the services run (uvicorn --loop uvloop)
    main()
