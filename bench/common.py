"""What every bench script needs: throw-away databases and vhosts, the broker baseline, figures."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
from sqlalchemy.engine import make_url

from shared.db import drop_database, ensure_database

PG_URL = os.environ.get("IMI_PG_URL", "postgresql://postgres@127.0.0.1:5432")
AMQP_URL = os.environ.get("IMI_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROOT = Path(__file__).resolve().parent.parent


def database_url(name: str) -> str:
    url = make_url(PG_URL).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


@asynccontextmanager
async def scratch_database(label: str) -> AsyncIterator[str]:
    """A database that exists for the bench only (imi_bench_<label>_<random>)."""
    url = database_url(f"imi_bench_{label}_{uuid.uuid4().hex[:6]}")
    await ensure_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@asynccontextmanager
async def scratch_vhost(label: str) -> AsyncIterator[str]:
    """A RabbitMQ vhost that exists for the bench only; yields its AMQP URL."""
    name = f"imi-bench-{label}-{uuid.uuid4().hex[:6]}"
    user = urlsplit(AMQP_URL).username or "guest"
    await asyncio.to_thread(_rabbitmqctl, "add_vhost", name)
    await asyncio.to_thread(_rabbitmqctl, "set_permissions", "-p", name, user, ".*", ".*", ".*")
    try:
        yield urlunsplit(urlsplit(AMQP_URL)._replace(path="/" + quote(name, safe="")))
    finally:
        await asyncio.to_thread(_rabbitmqctl, "delete_vhost", name)


async def broker_baseline(amqp_url: str, messages: int, *, window: int = 500) -> float:
    """The raw aio-pika ceiling: persistent, confirmed publish and acked consume in one process.

    Returns messages per second from the first publish to the last ack.
    """
    connection = await aio_pika.connect(amqp_url)
    try:
        publish_channel = await connection.channel(publisher_confirms=True)
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=256)
        queue = await consume_channel.declare_queue(
            f"baseline-{uuid.uuid4().hex[:6]}",
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )
        done = asyncio.Event()
        received = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received >= messages:
                done.set()

        await queue.consume(on_message)
        body = b'{"authority":"0b6f6a53-2f43-4f0a-9d55-0d0f1c1e2a3b","state":"sent","version":3}'
        started = time.perf_counter()
        for offset in range(0, messages, window):
            await asyncio.gather(
                *(
                    publish_channel.default_exchange.publish(
                        aio_pika.Message(
                            body,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=str(uuid.uuid4()),
                        ),
                        routing_key=queue.name,
                    )
                    for _ in range(min(window, messages - offset))
                )
            )
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
        return messages / elapsed
    finally:
        await connection.close()


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: Sequence[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f} ms, "
        f"p99 {percentile(ms, 99):.2f} ms, mean {statistics.fmean(ms):.2f} ms (n={len(ms)})"
    )


def report(title: str, rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n== {title}")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")


# --- a service under measurement, in its own process ----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    service: str,
    *,
    database_url: str,
    port: int,
    public_pem: bytes,
    amqp_url: str,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``python -m services.<service>`` on its scratch database and vhost, quiet JSON logs."""
    prefix = f"IMI_{service.upper()}_"
    env = {
        **os.environ,
        "IMI_ENV": "test",
        "IMI_PG_URL": PG_URL,
        "IMI_AMQP_URL": amqp_url,
        "IMI_IDENTITY_PUBLIC_KEY": public_pem.decode(),
        "IMI_LOG_LEVEL": "WARNING",
        "IMI_LOG_FORMAT": "json",
        f"{prefix}DATABASE_URL": database_url,
        f"{prefix}PORT": str(port),
        **(extra_env or {}),
    }
    return subprocess.Popen([sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=env)


async def wait_ready(url: str, process: subprocess.Popen[bytes], service: str) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"the {service} service exited while starting")
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the {service} service did not become ready")


async def timed_gets(
    client: httpx.AsyncClient, requests: list[tuple[str, dict[str, Any], dict[str, str]]]
) -> tuple[list[float], list[int]]:
    """Each GET one after the other: its time and how many items it answered."""
    timings: list[float] = []
    sizes: list[int] = []
    for path, params, headers in requests:
        started = time.perf_counter()
        response = await client.get(path, params=params, headers=headers)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params}: {response.status_code} {response.text[:300]}")
        body = response.json()
        sizes.append(len(body.get("items", [body])))
    return timings, sizes


async def primary_key_lookups(
    dsn: str, table: str, ids: Sequence[uuid.UUID], rounds: int
) -> list[float]:
    """The baseline: one row by its primary key, plain asyncpg, same database."""
    connection = await asyncpg.connect(dsn)
    try:
        statement = await connection.prepare(f"SELECT * FROM {table} WHERE id = $1")
        for row_id in ids[:50]:
            await statement.fetchrow(row_id)
        timings = []
        for i in range(rounds):
            started = time.perf_counter()
            await statement.fetchrow(ids[i % len(ids)])
            timings.append(time.perf_counter() - started)
        return timings
    finally:
        await connection.close()
