"""A national IT system as a test sees it: its broker user, its reply and event queues."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aio_pika

from shared.contracts.national import INBOUND, OUTBOUND
from shared.settings import REPO_ROOT
from tests.infra import rabbitmqctl


def vhost_of(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).path.lstrip("/")) or "/"


@contextmanager
def national_user(country: str, amqp_url: str) -> Iterator[str]:
    """The country's broker user made by the operator command; yields its AMQP URL."""
    vhost = vhost_of(amqp_url)
    created = subprocess.run(
        [sys.executable, "deploy/national_users.py", "create", country, "--vhost", vhost],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    password = next(
        line.split(":", 1)[1].strip()
        for line in created.stdout.splitlines()
        if line.strip().startswith("password:")
    )
    user = f"imi-national-{country}"
    try:
        yield f"amqp://{user}:{quote(password, safe='')}@127.0.0.1:5672/{quote(vhost, safe='')}"
    finally:
        rabbitmqctl("delete_user", user)


@dataclass
class NationalSystem:
    country: str
    user: str
    channel: aio_pika.abc.AbstractChannel
    replies: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    reply_log: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reply_queue: str = ""

    async def publish(
        self,
        command: str,
        body: dict[str, Any] | bytes,
        *,
        message_id: str | None = None,
        routing_key: str | None = None,
        user_id: str | None = None,
        reply_to: str | None = "",
        correlation_id: str | None = None,
    ) -> str:
        correlation_id = correlation_id or str(uuid.uuid4())
        payload = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
        exchange = await self.channel.get_exchange(INBOUND, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                payload,
                content_type="application/json",
                message_id=message_id if message_id is not None else str(uuid.uuid4()),
                correlation_id=correlation_id,
                reply_to=self.reply_queue if reply_to == "" else reply_to,
                user_id=user_id or self.user,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key or f"{self.country}.{command}",
        )
        return correlation_id

    async def command(
        self, command: str, body: dict[str, Any] | bytes, **options: Any
    ) -> dict[str, Any]:
        """Publish and wait for the one reply."""
        correlation_id = options.pop("correlation_id", None) or str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[correlation_id] = future
        await self.publish(command, body, correlation_id=correlation_id, **options)
        return await asyncio.wait_for(future, 30)

    async def event(self, event_type: str, resource_id: str) -> dict[str, Any]:
        timeout = 30.0
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for key, body in self.events:
                if key.endswith("." + event_type) and body["resource_id"] == resource_id:
                    return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {event_type} for {resource_id} within {timeout} s")


@asynccontextmanager
async def connected(url: str, country: str) -> AsyncIterator[NationalSystem]:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        user = f"imi-national-{country}"
        system = NationalSystem(country=country, user=user, channel=channel)
        replies = await channel.declare_queue(
            f"{user}.replies-{uuid.uuid4().hex[:6]}", exclusive=True
        )
        system.reply_queue = replies.name
        events = await channel.declare_queue(
            f"{user}.events-{uuid.uuid4().hex[:6]}", exclusive=True
        )
        outbound = await channel.get_exchange(OUTBOUND, ensure=False)
        await events.bind(outbound, routing_key=f"{country}.#")

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                body = json.loads(message.body)
                system.reply_log.append((message.correlation_id, body))
                future = system.replies.pop(message.correlation_id or "", None)
                if future is not None and not future.done():
                    future.set_result(body)

        async def on_event(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                system.events.append((message.routing_key or "", json.loads(message.body)))

        await replies.consume(on_reply)
        await events.consume(on_event)
        yield system
    finally:
        await connection.close()
