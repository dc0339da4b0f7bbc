"""Database kit: one PostgreSQL database per service, async engine and sessions, Alembic helpers."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, event, exc, pool, text
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import ValuesBase
from sqlalchemy.sql.elements import ClauseElement

from shared import json_codec
from shared.settings import REPO_ROOT

# Pooled connections idle for longer than this are pinged before use (``Database``).
PING_AFTER_IDLE_SECONDS = 5.0
CHECKED_IN_AT = "imi_checked_in_at"
# Where a session keeps its transaction's driver connection (``DriverStatement``).
DRIVER_CONNECTION = "imi_driver_connection"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A service's own MetaData, with the naming convention every migration relies on."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The same database as a plain ``postgresql://`` DSN for asyncpg (LISTEN, admin)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Database:
    """The engine and session factory of one service's database."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
    ) -> None:
        self.url = url
        self.ping_after_idle = ping_after_idle
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            echo=echo,
            json_serializer=json_codec.dumps_text,
        )
        pool_events = self.engine.sync_engine.pool
        event.listen(pool_events, "connect", _mark_checked_in)
        event.listen(pool_events, "checkin", _mark_checked_in)
        event.listen(pool_events, "checkout", self._ping_if_idle)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back when it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()

    def _ping_if_idle(
        self, dbapi_connection: Any, record: ConnectionPoolEntry, _: PoolProxiedConnection
    ) -> None:
        """A connection that rested in the pool longer than ``ping_after_idle`` is pinged before
        use; a dead one is replaced (the pool retries the checkout with a new connection). One
        that was in use a moment ago is not: a ping on every checkout costs three round trips
        (begin, an empty statement, rollback), as many as a short unit of work's own. Should the
        server have gone away in between, the first statement fails, SQLAlchemy invalidates
        the pool's older connections, and the next unit of work gets fresh ones."""
        rested = time.monotonic() - record.info.get(CHECKED_IN_AT, 0.0)
        if rested < self.ping_after_idle:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:  # any failure of the ping means: not this connection
            raise exc.DisconnectionError(f"connection lost while idle: {error!r}") from error


def _mark_checked_in(_: Any, record: ConnectionPoolEntry) -> None:
    record.info[CHECKED_IN_AT] = time.monotonic()


class Repository:
    """Base of a service's repository: every SQL statement of the service goes through one."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    # values bound in the statement itself (a LIMIT, a literal compared to)
    defaults: Mapping[str, Any]

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        given = {**self.defaults, **params} if self.defaults else params
        return tuple(
            value if process is None else process(value)
            for value, process in zip((given[n] for n in self.names), self.processors, strict=True)
        )


class DriverStatement:
    """A Core statement compiled once by SQLAlchemy and run on the asyncpg connection of the
    session's transaction: the same SQL and the same parameter processing (JSON serialised,
    arrays of UUIDs), without the work SQLAlchemy does again on every execution (a cache key,
    an execution context, result metadata), which on the short statements of a service's hot
    path costs three to four times what asyncpg itself spends. Rows come back as asyncpg
    records, JSON already decoded by the codec SQLAlchemy installs on each connection.

    For the statements a use case runs on every call; the rest go through ``session.execute``.
    An INSERT or UPDATE is compiled for the columns its parameters name (once per set of
    names); a column whose default Python would compute is refused: pass its value. Errors are
    asyncpg's own (``asyncpg.UniqueViolationError``, not ``IntegrityError``): a statement whose
    failure a caller handles stays on ``session.execute``."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_columns = isinstance(statement, ValuesBase)
        self._compiled: dict[tuple[str, ...] | None, _Compiled] = {}

    def _compile(self, dialect: Dialect, columns: tuple[str, ...] | None) -> _Compiled:
        compiled = cast(
            SQLCompiler,
            self.statement.compile(
                dialect=dialect, column_keys=list(columns) if columns is not None else None
            ),
        )
        prefetch = [
            *getattr(compiled, "insert_prefetch", ()),
            *getattr(compiled, "update_prefetch", ()),
        ]
        if prefetch:
            raise ValueError(
                "a DriverStatement cannot compute Python-side defaults; pass "
                + ", ".join(c.key for c in prefetch)
            )
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("a DriverStatement takes no expanding IN parameter; use = ANY(...)")
        names = tuple(compiled.positiontup or ())
        binds = {name: compiled.binds[name] for name in names}
        defaults = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
        processors: Mapping[str, Any] = compiled._bind_processors
        if any(isinstance(processors.get(n), Sequence) for n in names):
            raise ValueError("a DriverStatement takes no tuple-typed parameter")
        return _Compiled(compiled.string, names, tuple(processors.get(n) for n in names), defaults)

    def _for(self, session: AsyncSession, params: Mapping[str, Any]) -> _Compiled:
        columns = tuple(params) if self._by_columns else None
        compiled = self._compiled.get(columns)
        if compiled is None:
            bind = session.get_bind()
            compiled = self._compile(bind.dialect, columns)
            self._compiled[columns] = compiled
        return compiled

    @staticmethod
    async def _driver(session: AsyncSession) -> Any:
        """The session's asyncpg connection, in its transaction; found once per transaction
        (asking SQLAlchemy for it costs more than a short statement)."""
        transaction = session.sync_session.get_transaction()
        held = session.info.get(DRIVER_CONNECTION)
        if held is not None and transaction is not None and held[0] is transaction:
            return held[1]
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        adapted: Any = raw.dbapi_connection
        # SQLAlchemy's adapter sends BEGIN with the first statement it runs itself; one run
        # here must be inside the session's transaction too (its locks held, its writes undone
        # by a rollback), so the transaction is begun here when it has not been yet.
        if adapted._transaction is None and adapted.isolation_level != "autocommit":
            await adapted._start_transaction()
        # session.connection() began the session's transaction if there was none
        session.info[DRIVER_CONNECTION] = (
            session.sync_session.get_transaction(),
            raw.driver_connection,
        )
        return raw.driver_connection

    async def execute(self, session: AsyncSession, params: Mapping[str, Any]) -> str:
        compiled = self._for(session, params)
        driver = await self._driver(session)
        status: str = await driver.execute(compiled.sql, *compiled.arguments(params))
        return status

    async def executemany(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """Each row's parameters name the same columns (one compiled statement for all)."""
        if not rows:
            return
        compiled = self._for(session, rows[0])
        driver = await self._driver(session)
        await driver.executemany(compiled.sql, [compiled.arguments(row) for row in rows])

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        compiled = self._for(session, params)
        driver = await self._driver(session)
        rows: list[asyncpg.Record] = await driver.fetch(compiled.sql, *compiled.arguments(params))
        return rows

    async def fetchrow(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        compiled = self._for(session, params)
        driver = await self._driver(session)
        row: asyncpg.Record | None = await driver.fetchrow(
            compiled.sql, *compiled.arguments(params)
        )
        return row


def _server_dsn(sqlalchemy_url: str) -> tuple[str, str]:
    url = make_url(sqlalchemy_url)
    name = url.database
    if not name:
        raise ValueError(f"no database name in {url!r}")
    admin = url.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), name


async def ensure_database(sqlalchemy_url: str) -> bool:
    """Create the database named in the URL if it does not exist; True when it was created."""
    admin_dsn, name = _server_dsn(sqlalchemy_url)
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()


async def drop_database(sqlalchemy_url: str) -> None:
    admin_dsn, name = _server_dsn(sqlalchemy_url)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrations_dir(service: str) -> Path:
    return REPO_ROOT / "services" / service / "migrations"


def alembic_config(service: str, sqlalchemy_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(service)))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["sqlalchemy_url"] = sqlalchemy_url
    return config


# Alembic's migration context is a module-level global: migrations run one at a time.
_alembic_lock = threading.Lock()


def upgrade_sync(service: str, sqlalchemy_url: str, revision: str = "head") -> None:
    with _alembic_lock:
        command.upgrade(alembic_config(service, sqlalchemy_url), revision)


async def upgrade(service: str, sqlalchemy_url: str, revision: str = "head") -> None:
    """Create the service's database if missing and migrate it (Alembic runs in a worker thread)."""
    await ensure_database(sqlalchemy_url)
    await asyncio.to_thread(upgrade_sync, service, sqlalchemy_url, revision)


def run_migrations_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py``: online migrations over asyncpg."""
    url = context.config.attributes.get("sqlalchemy_url")
    if url is None:
        raise RuntimeError("alembic_config() sets the database URL; run migrations through it")

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            include_object=_include_object,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # Objects created by raw SQL in migrations (text-search configurations, triggers) are not in
    # the metadata; autogenerate must not propose dropping them.
    return not (type_ == "table" and reflected and compare_to is None)


def main(argv: list[str] | None = None) -> None:
    """``python -m shared.db upgrade|revision SERVICE [MESSAGE]``."""
    import argparse

    from shared.settings import CommonSettings

    parser = argparse.ArgumentParser(prog="python -m shared.db")
    parser.add_argument("action", choices=["upgrade", "revision"])
    parser.add_argument("service")
    parser.add_argument("message", nargs="?", default="change")
    args = parser.parse_args(argv)
    common = CommonSettings()
    own = os.environ.get(f"IMI_{args.service.upper()}_DATABASE_URL")
    base = make_url(own) if own else make_url(common.pg_url)
    url = base.set(
        drivername="postgresql+asyncpg",
        database=base.database if own else f"{common.database_prefix}_{args.service}",
    ).render_as_string(hide_password=False)
    if args.action == "upgrade":
        asyncio.run(upgrade(args.service, url))
    else:
        asyncio.run(upgrade(args.service, url))
        command.revision(alembic_config(args.service, url), message=args.message, autogenerate=True)


if __name__ == "__main__":
    main()
