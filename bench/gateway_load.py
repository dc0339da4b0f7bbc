"""100 concurrent API clients on the gateway, a realistic mix, beside a trivial gateway endpoint.

    .venv/bin/python bench/gateway_load.py [--clients 100] [--duration 30]

The whole network runs as ``make run`` runs it (``deploy/local.py``: every service in its own
process, the demo network seeded) on free ports, a scratch vhost and scratch databases. Each
client signs in once (``POST /api/v1/auth/token``) as one of the 30 demo officers and then, for a
fixed duration, picks its next call by weight, as an officer's client would:

- 30 % list: ``GET /api/v1/requests?box=outgoing`` (or incoming);
- 30 % read: ``GET /api/v1/requests/{id}`` of one of its requests;
- 10 % directory: ``GET /api/v1/authorities?q=...&country=...``;
- 15 % create: ``POST /api/v1/requests`` (a draft to the German officer's authority);
- 15 % act: ``POST /api/v1/requests/{id}/send`` with ``If-Match`` (one of its drafts).

Beside it, in the same run and with the same concurrency: ``GET /healthz`` of the gateway (no
sign-in, no service behind it) and ``GET /api/v1/me`` (the gateway's own session lookup), the
floor any forwarded call stands on. The mix runs twice: back to back (each client calls again
as soon as it has its answer: the network's saturation throughput) and paced (each client pauses
``--think`` seconds on average between calls, as an officer or a national system does). Target:
p99 under 150 ms, on the paced mix: back to back, 100 clients keep the network saturated, and the
mean latency is then 100 / throughput whatever the network does (Little's law); that phase
measures the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import uvloop  # noqa: E402

from bench.common import (  # noqa: E402
    PG_URL,
    database_url,
    free_port,
    percentile,
    report,
    scratch_vhost,
)
from bench.http_client import Answer, Connection  # noqa: E402
from shared.db import asyncpg_dsn, drop_database  # noqa: E402

SERVICES = ["gateway", "directory", "exchange", "alerts", "translation", "repository"]
COUNTRIES = (
    "at be bg cy cz de dk ee es fi fr gr hr hu ie is it li lt lu lv mt nl no pl pt ro se si sk"
).split()
WEIGHTS = {"list": 30, "read": 30, "directory": 10, "create": 15, "act": 15}
SEARCHES = [("professor", "de"), ("teacher", "fr"), ("arquitecto", "it"), ("médico", "pl")]
PASSWORD = "bench"


def start_network(amqp_url: str, prefix: str) -> tuple[subprocess.Popen[str], dict[str, int]]:
    ports = {service: free_port() for service in SERVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMI_")}
    env.update(
        IMI_ENV="dev",
        IMI_PG_URL=PG_URL,
        IMI_AMQP_URL=amqp_url,
        IMI_DATABASE_PREFIX=prefix,
        IMI_STATE_DIR=tempfile.mkdtemp(prefix="imi-bench-gateway-"),
        IMI_LOG_LEVEL="WARNING",
        IMI_DEMO_PASSWORD=PASSWORD,
        # One bench machine signs in 100 clients, and 29 officers' tokens are shared by them:
        # the limits per address and per caller are not what is measured (they are still
        # checked on every call).
        IMI_GATEWAY_SIGNIN_RATE_PER_MINUTE="100000",
        IMI_GATEWAY_SIGNIN_BURST="100000",
        IMI_GATEWAY_API_RATE_PER_SECOND="100000",
        IMI_GATEWAY_API_BURST="100000",
        **{f"IMI_{s.upper()}_PORT": str(p) for s, p in ports.items()},
    )
    process = subprocess.Popen(
        [sys.executable, "deploy/local.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 240
    for line in process.stdout:
        if "IMI is ready at" in line:
            break
        if time.monotonic() > deadline:
            break
    else:
        raise RuntimeError("the network stopped before it was ready")
    # Keep draining its output so no service blocks on a full pipe.
    asyncio.get_running_loop().run_in_executor(None, lambda: [*process.stdout])  # type: ignore[misc]
    return process, ports


def stop_network(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _queued_messages(vhost: str) -> int:
    """Messages waiting in queues a service consumes (a national system's queue, with no
    system attached in the bench, only fills)."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers"]
        + ["messages", "consumers"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    rows = [line.split() for line in listed]
    return sum(int(r[0]) for r in rows if len(r) == 2 and r[1].isdigit() and int(r[1]) > 0)


async def settle(prefix: str, vhost: str, within: float = 180.0) -> float:
    """Wait until every service's outbox is published and every consumed queue is empty: the
    back-to-back phase leaves thousands of events behind it, and the paced phase measures a
    network at its pace, not one still working off the previous run. Seconds it took."""
    started = time.monotonic()
    connections = [
        await asyncpg.connect(asyncpg_dsn(database_url(f"{prefix}_{service}")))
        for service in SERVICES
    ]
    try:
        while time.monotonic() - started < within:
            pending = 0
            for connection in connections:
                try:
                    pending += await connection.fetchval(
                        "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                    )
                except asyncpg.UndefinedTableError:
                    pass
            if pending == 0 and await asyncio.to_thread(_queued_messages, vhost) == 0:
                return time.monotonic() - started
            await asyncio.sleep(0.5)
    finally:
        for connection in connections:
            await connection.close()
    raise RuntimeError(f"the network did not settle within {within:.0f} s")


async def sign_in(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def floor(
    port: int, path: str, tokens: list[str], clients: int, duration: float
) -> tuple[list[float], int]:
    """The same concurrency on one cheap endpoint, one keep-alive connection per client."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + duration

    async def worker(n: int) -> None:
        nonlocal errors
        connection = Connection("127.0.0.1", port)
        headers = {"authorization": f"Bearer {tokens[n % len(tokens)]}"}
        try:
            while time.monotonic() < stop:
                started = time.perf_counter()
                answer = await connection.request("GET", path, headers=headers)
                latencies.append(time.perf_counter() - started)
                errors += answer.status != 200
        finally:
            await connection.close()

    await asyncio.gather(*(worker(n) for n in range(clients)))
    return latencies, errors


class Officer:
    def __init__(self, connection: Connection, token: str, germany: str, seed: int) -> None:
        self.client = connection
        self.headers = {"authorization": f"Bearer {token}"}
        self.germany = germany
        self.random = random.Random(seed)
        self.drafts: list[dict[str, Any]] = []
        self.known: list[str] = []

    async def one(self) -> tuple[str, float, bool]:
        kind = self.random.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if kind == "read" and not self.known:
            kind = "list"
        if kind == "act" and not self.drafts:
            kind = "create"
        started = time.perf_counter()
        response = await getattr(self, kind)()
        elapsed = time.perf_counter() - started
        return kind, elapsed, response.status < 400

    async def list(self) -> Answer:
        box = self.random.choice(["outgoing", "incoming"])
        response = await self.client.request(
            "GET", "/api/v1/requests", params={"box": box}, headers=self.headers
        )
        if response.status == 200:
            ids = [r["id"] for r in response.json()["items"][:20]]
            self.known = list(dict.fromkeys(self.known + ids))[-50:]
        return response

    async def read(self) -> Answer:
        request_id = self.random.choice(self.known)
        return await self.client.request(
            "GET", f"/api/v1/requests/{request_id}", headers=self.headers
        )

    async def directory(self) -> Answer:
        q, country = self.random.choice(SEARCHES)
        return await self.client.request(
            "GET", "/api/v1/authorities", params={"q": q, "country": country}, headers=self.headers
        )

    async def create(self) -> Answer:
        response = await self.client.request(
            "POST",
            "/api/v1/requests",
            json_body={
                "procedure": "pq_establishment",
                "responding_authority_id": self.germany,
                "items": [{"question": "pq_diploma_authentic"}],
                "requested_reply_date": (date.today() + timedelta(days=14)).isoformat(),
            },
            headers={**self.headers, "idempotency-key": uuid.uuid4().hex},
        )
        if response.status == 201:
            self.drafts.append(response.json())
            self.known.append(response.json()["id"])
        return response

    async def act(self) -> Answer:
        draft = self.drafts.pop()
        return await self.client.request(
            "POST",
            f"/api/v1/requests/{draft['id']}/send",
            headers={**self.headers, "if-match": f'"{draft["version"]}"'},
        )


async def mix(
    port: int,
    tokens: list[str],
    germany: str,
    clients: int,
    duration: float,
    think: float = 0.0,
) -> dict[str, list[tuple[float, bool]]]:
    results: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    stop = time.monotonic() + duration

    async def worker(n: int) -> None:
        connection = Connection("127.0.0.1", port)
        officer = Officer(connection, tokens[n % len(tokens)], germany, seed=n)
        try:
            if think:
                await asyncio.sleep(officer.random.uniform(0, think))
            while time.monotonic() < stop:
                kind, elapsed, ok = await officer.one()
                results[kind].append((elapsed, ok))
                if think:
                    # An officer or a national system reads between calls: exponential pauses
                    # with mean ``think`` seconds.
                    await asyncio.sleep(officer.random.expovariate(1 / think))
        finally:
            await connection.close()

    await asyncio.gather(*(worker(n) for n in range(clients)))
    return results


def line(latencies: list[float], duration: float, errors: int) -> str:
    ms = [v * 1000 for v in latencies]
    return (
        f"p50 {percentile(ms, 50):7.2f} ms  p99 {percentile(ms, 99):7.2f} ms  "
        f"{len(ms) / duration:8.1f} req/s  errors {errors}"
    )


def kind_rows(
    results: dict[str, list[tuple[float, bool]]], duration: float
) -> list[tuple[str, str]]:
    rows = []
    for kind in WEIGHTS:
        calls = results.get(kind, [])
        errors = sum(not ok for _, ok in calls)
        rows.append((f"  {kind}", line([e for e, _ in calls], duration, errors)))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a paced client's calls (s)"
    )
    args = parser.parse_args()
    prefix = f"imi_bench_gw_{uuid.uuid4().hex[:6]}"
    async with scratch_vhost("gateway") as amqp_url:
        process, ports = start_network(amqp_url, prefix)
        try:
            vhost = unquote(urlsplit(amqp_url).path[1:])
            settled = functools.partial(settle, prefix, vhost)
            await run(ports["gateway"], args.clients, args.duration, args.think, settled)
        finally:
            stop_network(process)
            for service in SERVICES:
                await drop_database(database_url(f"{prefix}_{service}"))


async def run(
    port: int,
    clients: int,
    duration: float,
    think: float,
    settled: Callable[[], Awaitable[float]],
) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        officers = [f"{cc}-officer" for cc in COUNTRIES if cc != "de"]
        tokens = list(await asyncio.gather(*(sign_in(client, name) for name in officers)))
        german = await sign_in(client, "de-officer")
        me = await client.get("/api/v1/me", headers={"authorization": f"Bearer {german}"})
        germany = str(me.json()["authority_id"])
    # Warm every pool (connections to the services, database sessions) before measuring.
    await mix(port, tokens, germany, clients, 3.0)
    health, health_errors = await floor(port, "/healthz", tokens, clients, duration / 3)
    me_calls, me_errors = await floor(port, "/api/v1/me", tokens, clients, duration / 3)
    results = await mix(port, tokens, germany, clients, duration)
    settling = await settled()
    paced = await mix(port, tokens, germany, clients, duration, think)

    every = [elapsed for calls in results.values() for elapsed, _ in calls]
    failures = sum(not ok for calls in results.values() for _, ok in calls)
    rows = [
        (f"baseline GET /healthz ({clients} clients)", line(health, duration / 3, health_errors)),
        (f"baseline GET /api/v1/me ({clients} clients)", line(me_calls, duration / 3, me_errors)),
        (f"mix, all calls ({clients} clients)", line(every, duration, failures)),
    ]
    rows += kind_rows(results, duration)
    rows.append(("network settled (outboxes published, queues empty)", f"in {settling:.1f} s"))
    paced_every = [elapsed for calls in paced.values() for elapsed, _ in calls]
    paced_failures = sum(not ok for calls in paced.values() for _, ok in calls)
    rows.append(
        (
            f"paced mix ({clients} clients, {think:g} s mean pause)",
            line(paced_every, duration, paced_failures),
        )
    )
    rows += kind_rows(paced, duration)
    p99 = percentile([v * 1000 for v in every], 99)
    paced_p99 = percentile([v * 1000 for v in paced_every], 99)
    throughput = len(every) / duration
    rows += [
        (
            "target (the realistic mix: paced)",
            f"p99 under 150 ms: {'met' if paced_p99 < 150 and not paced_failures else 'NOT met'}"
            f" (p99 {paced_p99:.1f} ms at {len(paced_every) / duration:.1f} req/s,"
            f" {paced_failures} errors)",
        ),
        (
            "back to back (saturation, not a target)",
            f"p99 {p99:.0f} ms at {throughput:.0f} req/s: with every client calling again at"
            f" once, the mean latency is clients / throughput = {clients / throughput * 1000:.0f}"
            " ms (Little's law)",
        ),
    ]
    report("gateway load", rows)


if __name__ == "__main__":
    uvloop.run(main())
