"""The connection pool's liveness check, and statements run on the driver connection.

The liveness check: a connection that rested is pinged before use and a
dead one replaced; one in use a moment ago is trusted, and should the server have dropped it
anyway, one unit of work fails and the next one gets a fresh connection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from shared.db import Database, DriverStatement, asyncpg_dsn
from tests.infra import Servers


@pytest.fixture
async def database_url(servers: Servers) -> str:
    return await servers.new_database(f"pool_{uuid.uuid4().hex[:6]}")


async def backend_pids(db: Database) -> set[int]:
    """The server processes behind the pool's connections, as each unit of work sees its own."""
    async with db.transaction() as session:
        return {(await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()}


async def drop_connections(url: str) -> int:
    """What a server restart does to the pool: every connection to the database is cut."""
    name = make_url(url).database
    admin = await asyncpg.connect(asyncpg_dsn(url).replace(f"/{name}", "/postgres"))
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    finally:
        await admin.close()


class TestPingAfterIdle:
    async def test_a_rested_connection_is_pinged_and_a_dead_one_replaced(
        self, database_url: str
    ) -> None:
        db = Database(database_url, pool_size=1, ping_after_idle=0.0)
        try:
            before = await backend_pids(db)
            assert await drop_connections(database_url) == 1
            # the checkout's ping finds the connection dead: the unit of work runs on a new one
            after = await backend_pids(db)
            assert after
            assert after != before
        finally:
            await db.dispose()

    async def test_a_connection_used_a_moment_ago_is_not_pinged(self, database_url: str) -> None:
        db = Database(database_url, pool_size=1, ping_after_idle=3600.0)
        try:
            before = await backend_pids(db)
            assert await drop_connections(database_url) == 1
            # no ping: the statement itself meets the cut connection, and says so
            with pytest.raises(DBAPIError) as failure:
                await backend_pids(db)
            assert failure.value.connection_invalidated
            # the pool dropped it: the next unit of work connects again
            after = await backend_pids(db)
            assert after
            assert after != before
        finally:
            await db.dispose()


things = Table(
    "things",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("tags", JSONB, nullable=True),
)
INSERT = DriverStatement(things.insert())
BY_NAME = DriverStatement(
    select(things.c.id, things.c.tags).where(things.c.name == bindparam("name")).limit(1)
)
LOCK = DriverStatement(select(things.c.id).where(things.c.id == bindparam("id")).with_for_update())
RENAME = DriverStatement(update(things).where(things.c.id == bindparam("b_id")))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2)
    async with database.engine.begin() as connection:
        await connection.run_sync(things.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


class TestDriverStatement:
    async def test_it_reads_and_writes_what_session_execute_does(self, db: Database) -> None:
        async with db.transaction() as session:
            await INSERT.executemany(
                session,
                [
                    {"id": 1, "name": "one", "tags": {"a": [1]}},
                    {"id": 2, "name": "two", "tags": None},
                ],
            )
            await RENAME.execute(session, {"b_id": 2, "name": "deux"})
            row = await BY_NAME.fetchrow(session, {"name": "one"})
            assert row is not None
            assert row["tags"] == {"a": [1]}
        async with db.transaction() as session:
            rows = (await session.execute(select(things).order_by(things.c.id))).all()
        assert [(r.id, r.name, r.tags) for r in rows] == [(1, "one", {"a": [1]}), (2, "deux", None)]

    async def test_its_writes_belong_to_the_session_transaction(self, db: Database) -> None:
        async def failing_use_case() -> None:
            async with db.transaction() as session:
                await INSERT.execute(session, {"id": 3, "name": "three", "tags": []})
                raise RuntimeError("the use case fails after the write")

        with pytest.raises(RuntimeError):
            await failing_use_case()
        async with db.transaction() as session:
            assert await BY_NAME.fetchrow(session, {"name": "three"}) is None

    async def test_a_row_it_locks_stays_locked_until_the_transaction_ends(
        self, db: Database
    ) -> None:
        async with db.transaction() as session:
            await INSERT.execute(session, {"id": 4, "name": "four", "tags": None})
        order: list[str] = []
        holding = asyncio.Event()

        async def first() -> None:
            async with db.transaction() as session:
                await LOCK.fetch(session, {"id": 4})
                holding.set()
                await asyncio.sleep(0.3)
                order.append("first done")

        async def second() -> None:
            await holding.wait()
            async with db.transaction() as session:
                await LOCK.fetch(session, {"id": 4})
                order.append("second locked")

        await asyncio.gather(first(), second())
        assert order == ["first done", "second locked"]

    def test_an_expanding_in_parameter_is_refused(self) -> None:
        from sqlalchemy.dialects import postgresql

        statement = DriverStatement(
            select(things.c.id).where(things.c.id.in_(bindparam("ids", expanding=True)))
        )
        with pytest.raises(ValueError, match="ANY"):
            statement._compile(postgresql.asyncpg.dialect(), None)
