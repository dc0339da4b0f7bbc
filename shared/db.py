"""Database kit: one PostgreSQL database per service, async engine and sessions, Alembic helpers."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings import REPO_ROOT

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

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            echo=echo,
        )
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


class Repository:
    """Base of a service's repository: every SQL statement of the service goes through one."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session


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
