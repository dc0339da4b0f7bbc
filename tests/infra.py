"""Test infrastructure: the real PostgreSQL and RabbitMQ, fresh databases and vhosts per session."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from shared.contracts.envelope import Envelope
from shared.db import drop_database, ensure_database, upgrade
from shared.identity import (
    Identity,
    IdentitySigner,
    Role,
    generate_private_key_pem,
    public_key_pem,
)
from shared.messaging import EVENTS_EXCHANGE, declare_topology
from shared.settings import CommonSettings, ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def pg_answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(
            make_url(url).set(database="postgres").render_as_string(hide_password=False),
            timeout=3,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def amqp_answers(url: str) -> bool:
    try:
        conn = await aio_pika.connect(url, timeout=3)
    except (OSError, aio_pika.exceptions.AMQPError, TimeoutError):
        return False
    await conn.close()
    return True


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


def with_vhost(amqp_url: str, vhost: str) -> str:
    parts = urlsplit(amqp_url)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass
class Servers:
    """Where the test session's PostgreSQL and RabbitMQ are, and what it created on them."""

    pg_url: str
    amqp_root_url: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    vhosts: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    signer_pem: bytes = field(default_factory=generate_private_key_pem)
    local_broker: bool = True

    @property
    def public_pem(self) -> bytes:
        return public_key_pem(self.signer_pem)

    def new_vhost(self, label: str = "main") -> str:
        """A fresh vhost for this session, guest given full rights on it."""
        name = f"imi-test-{self.run_id}-{label}"
        user = urlsplit(self.amqp_root_url).username or "guest"
        rabbitmqctl("add_vhost", name)
        rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
        self.vhosts.append(name)
        return with_vhost(self.amqp_root_url, name)

    async def new_database(self, label: str) -> str:
        """A fresh empty database for this session (dropped at its end); its SQLAlchemy URL."""
        name = f"imi_test_{self.run_id}_{label}"
        url = (
            make_url(self.pg_url)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
        await ensure_database(url)
        self.databases.append(name)
        return url

    def common(self, amqp_url: str, **overrides: Any) -> CommonSettings:
        values: dict[str, Any] = {
            "env": "test",
            "pg_url": self.pg_url,
            "amqp_url": amqp_url,
            "database_prefix": f"imi_test_{self.run_id}",
            "identity_public_key": self.public_pem.decode(),
            "log_format": "console",
            "log_level": "WARNING",
        }
        values.update(overrides)
        return CommonSettings(**values)

    def signer(self) -> IdentitySigner:
        return IdentitySigner(self.signer_pem)

    def token(self, **fields: Any) -> str:
        fields.setdefault("user_id", uuid.uuid4())
        fields.setdefault("username", "test-user")
        fields.setdefault("roles", (Role(name="request_handler"),))
        return self.signer().sign(Identity(**fields))

    async def cleanup(self) -> None:
        for name in self.databases:
            await drop_database(
                make_url(self.pg_url)
                .set(drivername="postgresql+asyncpg", database=name)
                .render_as_string(hide_password=False)
            )
        for vhost in self.vhosts:
            try:
                rabbitmqctl("delete_vhost", vhost)
            except RuntimeError:
                pass


async def migrated_settings(
    servers: Servers, settings_cls: type[S], amqp_url: str, **overrides: Any
) -> S:
    """A service's settings pointing at a fresh, migrated database of this test session."""
    settings = settings_cls(common=servers.common(amqp_url), port=free_port(), **overrides)
    await upgrade(settings.service, settings.sqlalchemy_url)
    servers.databases.append(settings.database_name)
    return settings


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (broker, relay, jobs) and give an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float = 20.0,  # noqa: ASYNC109 (a deadline for polling, not a cancellation scope)
    interval: float = 0.05,
) -> None:
    """Wait until ``check()`` is true; fail the test with a clear message after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def environment_servers() -> tuple[str, str]:
    return (
        os.environ.get("IMI_PG_URL", DEFAULT_PG_URL),
        os.environ.get("IMI_AMQP_URL", DEFAULT_AMQP_URL),
    )


@dataclass
class EventTap:
    """Every event published on ``imi.events`` under the tapped keys, as envelopes."""

    amqp_url: str
    keys: tuple[str, ...]
    received: list[Envelope] = field(default_factory=list)
    _connection: Any = None

    async def start(self) -> None:
        await declare_topology(self.amqp_url)
        self._connection = await aio_pika.connect(self.amqp_url)
        channel = await self._connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in self.keys:
            await queue.bind(EVENTS_EXCHANGE, routing_key=key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.received.append(Envelope.from_amqp(dict(message.headers), message.body))

        await queue.consume(on_message)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connection.close(), 10)

    def of_type(self, event_type: str, **data: Any) -> list[Envelope]:
        return [
            e
            for e in self.received
            if e.type == event_type and all(e.data.get(k) == v for k, v in data.items())
        ]

    async def wait_for(self, event_type: str, count: int = 1, **data: Any) -> list[Envelope]:
        async def enough() -> bool:
            return len(self.of_type(event_type, **data)) >= count

        await eventually(enough, timeout=20)
        return self.of_type(event_type, **data)


async def publish_event(amqp_url: str, envelope: Envelope) -> None:
    """Publish an event as another service's relay would."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
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
