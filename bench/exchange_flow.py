"""Sustained create-and-send of information requests through the exchange service's internal API,
beside the raw broker baseline of the same run.

    .venv/bin/python bench/exchange_flow.py [--clients 24] [--duration 20] [--rate 200]
        [--workers 1] [--relay-in-workers] [--pool-size N] [--quick]

On a fresh database and vhost:

- the exchange service runs as on a machine of its own: ``python -m services.exchange`` with
  ``IMI_EXCHANGE_BACKGROUND_PROCESS=true`` (one serving worker, uvicorn on uvloop; the outbox
  relay and the jobs in a background process at a lower priority) and a database pool of one
  connection per client (``--pool-size``, default ``--clients``);
- its directory projection (a Portuguese and a German authority and one officer of each) and the
  shipped catalogue reach it through the broker, published as the directory and translation
  services' relays would, and the bench waits until the service has projected them;
- a queue of the bench bound to ``exchange.request.sent`` stands for the recipient side;
- N concurrent clients each draft a request (``POST /v1/requests``) from Portugal to Germany and
  send it (``POST /v1/requests/{id}/send`` with ``If-Match``); the latency of each create + send
  pair is recorded. Two phases of ``--duration`` seconds: back to back (each client goes on as
  soon as it has its answer: the ceiling) and paced (the clients together offer ``--rate``
  pairs a second: sustained);
- after each phase every sent request must have arrived on the recipient queue as an
  ``exchange.request.sent`` event (outbox → relay → broker), with the delay from the send's
  answer to the event's arrival;
- beside it, in the same run: the raw aio-pika ceiling (persistent, confirmed publish and acked
  consume) on the same broker.

Targets: at least 200 requests/s (create + send) on the 2-core machine, p95 under 150 ms; in the
paced phase the recipient keeps up too (its events within a second, p95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aio_pika  # noqa: E402
import asyncpg  # noqa: E402
import orjson  # noqa: E402

from bench.common import (  # noqa: E402
    PG_URL,
    broker_baseline,
    free_port,
    percentile,
    report,
    scratch_database,
    scratch_vhost,
    start_service,
    summary_ms,
    wait_ready,
)
from bench.http_client import Connection  # noqa: E402
from services.exchange.settings import ExchangeSettings  # noqa: E402
from services.translation.catalogue_files import load_catalogue  # noqa: E402
from services.translation.service import published_event  # noqa: E402
from shared.contracts import Event  # noqa: E402
from shared.contracts.directory import (  # noqa: E402
    AuthorityLevel,
    AuthorityRegistered,
    AuthoritySnapshot,
    AuthorityStatus,
    Competence,
    UserRegistered,
    UserSnapshot,
)
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.db import asyncpg_dsn, upgrade  # noqa: E402
from shared.identity import (  # noqa: E402
    Identity,
    IdentitySigner,
    Role,
    generate_private_key_pem,
    public_key_pem,
)
from shared.messaging import EVENTS_EXCHANGE, declare_topology  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402

TARGET_RATE = 200.0
TARGET_P95_MS = 150.0
# In the paced phase the recipient must keep up too: its events arrive within this.
TARGET_DELIVERY_P95_MS = 1000.0
SENT = "exchange.request.sent"

PQ_COMPETENCE = Competence(
    area="professional_qualifications", procedures=("pq_establishment", "pq_temporary_services")
)
PT_AUTHORITY = uuid.UUID("00000000-0000-4000-8000-0000000e0001")
DE_AUTHORITY = uuid.UUID("00000000-0000-4000-8000-0000000e0002")
PT_OFFICER = uuid.UUID("00000000-0000-4000-8000-0000000e0011")
DE_OFFICER = uuid.UUID("00000000-0000-4000-8000-0000000e0012")


def network_events() -> list[Event]:
    """The directory's snapshots of the two authorities and their officers."""
    handler = Role(name="request_handler")

    def authority(id_: uuid.UUID, country: str, region: str, name: str) -> AuthoritySnapshot:
        return AuthoritySnapshot(
            id=id_,
            country=country,
            region=region,
            level=AuthorityLevel.NATIONAL,
            official_name=name,
            name_language=country,
            informal_titles={"en": name},
            languages=(country,),
            competences=(PQ_COMPETENCE,),
            status=AuthorityStatus.ACTIVE,
            version=1,
        )

    def user(id_: uuid.UUID, authority_id: uuid.UUID, country: str) -> UserSnapshot:
        return UserSnapshot(
            id=id_,
            username=f"bench-{country}-officer",
            display_name=f"Bench officer ({country})",
            authority_id=authority_id,
            country=country,
            language=country,
            roles=(handler,),
            active=True,
            version=1,
        )

    return [
        AuthorityRegistered(
            authority=authority(PT_AUTHORITY, "pt", "PT-11", "Ordem dos Professores")
        ),
        AuthorityRegistered(
            authority=authority(DE_AUTHORITY, "de", "DE-BE", "Senatsverwaltung für Bildung")
        ),
        UserRegistered(user=user(PT_OFFICER, PT_AUTHORITY, "pt")),
        UserRegistered(user=user(DE_OFFICER, DE_AUTHORITY, "de")),
    ]


async def publish_projections(amqp_url: str, events: list[Event]) -> None:
    """Publish as the directory and translation services' outbox relays would."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event in events:
            source = "imi/translation" if event.type.startswith("translation.") else "imi/directory"
            envelope = Envelope(source=source, type=event.type, data=event.model_dump(mode="json"))
            headers: dict[str, Any] = {**envelope.headers()}
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(envelope.data).encode(),
                    headers=headers,
                    message_id=envelope.id,
                    type=envelope.type,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=envelope.type,
            )
    finally:
        await connection.close()


async def wait_projected(dsn: str, authorities: int, users: int, within: float = 60.0) -> float:
    """Seconds until the service's projection holds the published authorities, users and a
    catalogue version."""
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        while True:
            row = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM authorities) AS a, (SELECT count(*) FROM users) AS u,"
                " (SELECT count(*) FROM catalogue_versions) AS c"
            )
            if row is not None and row["a"] >= authorities and row["u"] >= users and row["c"]:
                return time.perf_counter() - started
            if time.perf_counter() - started > within:
                raise RuntimeError(f"projection incomplete after {within} s: {dict(row or {})}")
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


@dataclass
class RecipientTap:
    """The recipient side: a queue of the bench bound to ``exchange.request.sent``."""

    amqp_url: str
    arrived: dict[str, float] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    duplicates: int = 0
    connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> None:
        self.connection = await aio_pika.connect_robust(self.amqp_url)
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=512)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key=SENT)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            now = time.perf_counter()
            data = json.loads(message.body)
            request_id = str(data["request_id"])
            if request_id in self.arrived:
                self.duplicates += 1
            else:
                self.arrived[request_id] = now
                self.states[request_id] = str(data.get("state"))
            await message.ack()

        await queue.consume(on_message)

    async def wait_for(self, request_ids: set[str], within: float) -> float:
        started = time.perf_counter()
        while not request_ids <= self.arrived.keys():
            if time.perf_counter() - started > within:
                break
            await asyncio.sleep(0.02)
        return time.perf_counter() - started

    async def stop(self) -> None:
        if self.connection is not None:
            await self.connection.close()


@dataclass
class Flow:
    """Create + send, timed per pair; records when each send was answered."""

    headers: dict[str, str]
    body: dict[str, Any]
    pairs: list[float] = field(default_factory=list)
    creates: list[float] = field(default_factory=list)
    sends: list[float] = field(default_factory=list)
    answered: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    encoded: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.encoded = orjson.dumps(self.body)  # the same draft each time: encoded once

    async def one(self, connection: Connection, record: bool) -> None:
        started = time.perf_counter()
        created = await connection.request(
            "POST", "/v1/requests", raw_json=self.encoded, headers=self.headers
        )
        between = time.perf_counter()
        if created.status != 201:
            self.failures.append(f"create {created.status}: {created.body[:200]!r}")
            return
        draft = created.json()
        sent = await connection.request(
            "POST",
            f"/v1/requests/{draft['id']}/send",
            headers={**self.headers, "If-Match": f'"{draft["version"]}"'},
        )
        finished = time.perf_counter()
        if sent.status != 200:
            self.failures.append(f"send {sent.status}: {sent.body[:200]!r}")
            return
        state = sent.json()["state"]
        if state != "sent":
            self.failures.append(f"send answered state {state}")
            return
        if record:
            self.pairs.append(finished - started)
            self.creates.append(between - started)
            self.sends.append(finished - between)
            self.answered[draft["id"]] = finished

    async def client_loop(
        self,
        connection: Connection,
        until: float,
        record: bool,
        *,
        interval: float | None = None,
        offset: float = 0.0,
    ) -> None:
        """Pairs until ``until``: back to back, or with ``interval``, one every ``interval``
        seconds from ``offset`` on (a client that falls behind starts its next pair at once,
        so the rate achieved shows whether the service kept up)."""
        due = time.perf_counter() + offset
        while time.perf_counter() < until:
            if interval is not None:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                due += interval
                if due - interval >= until:
                    break
            await self.one(connection, record)
            if len(self.failures) > 20:
                raise RuntimeError("too many failed calls:\n" + "\n".join(self.failures[:5]))


def draft_body(catalogue_version: str) -> dict[str, Any]:
    """A request as a Portuguese officer writes it: six questions, one free text, a data
    subject."""
    return {
        "procedure": "pq_establishment",
        "catalogue_version": catalogue_version,
        "responding_authority_id": str(DE_AUTHORITY),
        "items": [
            {"question": "pq_diploma_authentic"},
            {"question": "pq_diploma_issuing_body"},
            {"question": "pq_diploma_award_date"},
            {"question": "pq_sanctions_imposed"},
            {"question": "pq_sanctions_details"},
            {"question": "pq_registration_proof"},
        ],
        "free_texts": [
            {
                "text": "Pedimos a confirmação do diploma de professora da requerente.",
                "language": "pt",
            }
        ],
        "requested_reply_date": (datetime.now(UTC).date() + timedelta(days=20)).isoformat(),
        "data_subject": {
            "given_names": "Maria Helena",
            "family_name": "Sousa",
            "date_of_birth": "1986-04-12",
            "nationality": ["pt"],
            "identification_numbers": [{"type": "national_id", "value": "12345678"}],
        },
    }


@dataclass
class Phase:
    """One measured run of the clients, and what reached the recipient queue of it."""

    name: str
    flow: Flow
    elapsed: float
    cpu_service: float
    cpu_bench: float
    cpu_machine: float
    arrived: int = 0
    states_sent: int = 0
    drain: float = 0.0
    delivery: list[float] = field(default_factory=list)

    @property
    def done(self) -> int:
        return len(self.flow.pairs)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed

    def settle(self, tap: RecipientTap, drain: float) -> None:
        answered = self.flow.answered
        self.drain = drain
        self.delivery = [tap.arrived[i] - t for i, t in answered.items() if i in tap.arrived]
        self.arrived = sum(1 for i in answered if i in tap.arrived)
        self.states_sent = sum(1 for i in answered if tap.states.get(i) == "sent")


@dataclass
class Results:
    clients: int
    duration: float
    rate: float
    workers: int
    background: bool
    projected: float
    phases: list[Phase]
    duplicates: int
    baseline: list[float]
    pool_size: int


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and of the worker processes it forked (Linux
    /proc)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for each in [pid, *(int(c) for c in children.read_text().split())]:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def run_phase(
    name: str,
    process: subprocess.Popen[bytes],
    connections: list[Connection],
    flow: Flow,
    duration: float,
    rate: float | None,
) -> Phase:
    cpu_before = process_cpu_seconds(process.pid)
    bench_before = own_cpu_seconds()
    busy_before, total_before = machine_cpu()
    started = time.perf_counter()
    until = started + duration
    if rate is None:
        loops = [flow.client_loop(c, until, True) for c in connections]
    else:  # each client one pair every len/rate seconds, the clients spread over the interval
        interval = len(connections) / rate
        loops = [
            flow.client_loop(
                c, until, True, interval=interval, offset=i * interval / len(connections)
            )
            for i, c in enumerate(connections)
        ]
    await asyncio.gather(*loops)
    elapsed = time.perf_counter() - started
    busy_after, total_after = machine_cpu()
    phase = Phase(
        name=name,
        flow=flow,
        elapsed=elapsed,
        cpu_service=process_cpu_seconds(process.pid) - cpu_before,
        cpu_bench=own_cpu_seconds() - bench_before,
        cpu_machine=(busy_after - busy_before) / max(total_after - total_before, 1),
    )
    if flow.failures:
        raise RuntimeError("failed calls:\n" + "\n".join(flow.failures[:5]))
    return phase


async def measure(
    clients: int,
    duration: float,
    warmup: float,
    rate: float,
    workers: int,
    background: bool,
    baseline_messages: int,
    pool_size: int | None,
) -> Results:
    private = generate_private_key_pem()
    signer = IdentitySigner(private, ttl=3600)
    token = signer.sign(
        Identity(
            user_id=PT_OFFICER,
            username="bench-pt-officer",
            authority_id=PT_AUTHORITY,
            country="pt",
            roles=(Role(name="request_handler"),),
            language="pt",
        )
    )
    catalogue = published_event(load_catalogue(), datetime.now(UTC))
    events = network_events()
    headers = {"Authorization": f"Bearer {token}"}
    body = draft_body(catalogue.version)
    phases: list[Phase] = []
    async with (
        scratch_database("exchange") as db_url,
        scratch_vhost("exchangeflow") as amqp_url,
    ):
        settings = ExchangeSettings(
            database_url=db_url,
            port=free_port(),
            common=CommonSettings(env="test", pg_url=PG_URL, amqp_url=amqp_url),
        )
        await upgrade("exchange", settings.sqlalchemy_url)
        await declare_topology(amqp_url)
        dsn = asyncpg_dsn(settings.sqlalchemy_url)
        tap = RecipientTap(amqp_url)
        await tap.start()
        with tempfile.TemporaryDirectory(prefix="imi-bench-exchange-") as attachments:
            extra_env = {"IMI_EXCHANGE_ATTACHMENTS_DIR": attachments}
            extra_env["IMI_EXCHANGE_WORKERS"] = str(workers)
            extra_env["IMI_EXCHANGE_BACKGROUND_PROCESS"] = "true" if background else "false"
            if pool_size is not None:
                extra_env["IMI_EXCHANGE_DATABASE_POOL_SIZE"] = str(pool_size)
            process = start_service(
                "exchange",
                database_url=settings.sqlalchemy_url,
                port=settings.port,
                public_pem=public_key_pem(private),
                amqp_url=amqp_url,
                extra_env=extra_env,
            )
            url = f"http://127.0.0.1:{settings.port}"
            try:
                await wait_ready(url, process, "exchange")
                # the service has declared its queue: the projections reach it through the broker
                await publish_projections(amqp_url, [*events, catalogue])
                projected = await wait_projected(dsn, authorities=2, users=2)
                # one keep-alive connection per client, on the lean client: the load generator
                # shares the 2 cores with the service, the database and the broker
                connections = [Connection("127.0.0.1", settings.port) for _ in range(clients)]
                try:
                    warming = Flow(headers, body)
                    until = time.perf_counter() + warmup
                    await asyncio.gather(
                        *(warming.client_loop(c, until, False) for c in connections)
                    )
                    await tap.wait_for(set(warming.answered), within=60)
                    for name, paced in (("back to back", None), (f"paced at {rate:.0f}/s", rate)):
                        phase = await run_phase(
                            name, process, connections, Flow(headers, body), duration, paced
                        )
                        # what the phase sent reaches the recipient before the next one starts
                        phase.settle(tap, await tap.wait_for(set(phase.flow.answered), within=90))
                        phases.append(phase)
                finally:
                    for connection in connections:
                        await connection.close()
            finally:
                process.terminate()
                process.wait(timeout=20)
        await tap.stop()
        await broker_baseline(amqp_url, min(baseline_messages, 1_000))  # warm-up
        baseline = [await broker_baseline(amqp_url, baseline_messages) for _ in range(3)]
    return Results(
        clients=clients,
        duration=duration,
        rate=rate,
        workers=workers,
        background=background,
        projected=projected,
        phases=phases,
        duplicates=tap.duplicates,
        baseline=baseline,
        pool_size=pool_size if pool_size is not None else settings.database_pool_size,
    )


def phase_rows(r: Results, phase: Phase) -> list[tuple[str, str]]:
    done = phase.done
    return [
        (f"{phase.name}: requests created and sent", f"{done:,} in {phase.elapsed:.1f} s"),
        ("  project: requests/s (create + send)", f"{phase.rate:,.1f}"),
        ("  project: create + send latency", summary_ms(phase.flow.pairs)),
        ("    POST /v1/requests", summary_ms(phase.flow.creates)),
        ("    POST /v1/requests/{id}/send", summary_ms(phase.flow.sends)),
        (
            "    service CPU (all its processes)",
            f"{phase.cpu_service / phase.elapsed:.0%} of one core"
            f" ({phase.cpu_service / max(done, 1) * 1000:.2f} ms per request),"
            f" {r.workers} worker(s){' + relay process' if r.background else ''},"
            f" database pool {r.pool_size} + {r.pool_size} overflow each",
        ),
        (
            "    bench process CPU (clients, tap)",
            f"{phase.cpu_bench / phase.elapsed:.0%} of one core",
        ),
        ("    machine CPU busy (all cores)", f"{phase.cpu_machine:.0%} of {os.cpu_count()} cores"),
        (
            f"  recipient queue: {SENT}",
            f"{phase.arrived:,}/{done:,} arrived ({phase.states_sent:,} with state sent),"
            f" last {phase.drain:.2f} s after the phase",
        ),
        (
            "    send answered → event arrived",
            summary_ms(phase.delivery) if phase.delivery else "none",
        ),
    ]


def print_results(r: Results) -> None:
    saturated, paced = r.phases
    best = max(r.baseline)
    rows: list[tuple[str, str]] = [
        (
            "projection through the broker",
            f"2 authorities, 2 users, catalogue in {r.projected:.2f} s",
        ),
    ]
    for phase in r.phases:
        rows += phase_rows(r, phase)
    saturated_p95 = percentile(saturated.flow.pairs, 95) * 1000
    paced_p95 = percentile(paced.flow.pairs, 95) * 1000
    paced_delivery_p95 = percentile(paced.delivery, 95) * 1000 if paced.delivery else float("inf")
    ceiling_met = saturated.rate >= TARGET_RATE and saturated_p95 < TARGET_P95_MS
    sustained_met = (
        paced.rate >= TARGET_RATE * 0.98
        and paced_p95 < TARGET_P95_MS
        and paced_delivery_p95 < TARGET_DELIVERY_P95_MS
    )
    rows += [
        (
            "baseline: raw broker (msg/s)",
            ", ".join(f"{b:,.0f}" for b in r.baseline) + f" (best {best:,.0f}, same run)",
        ),
        ("ratio requests/s (back to back) / broker msg/s", f"{saturated.rate / best:.3f}"),
        (
            "target: back to back",
            f">= {TARGET_RATE:.0f} requests/s with p95 < {TARGET_P95_MS:.0f} ms:"
            f" {'met' if ceiling_met else 'NOT met'}"
            f" ({saturated.rate:,.1f}/s, p95 {saturated_p95:.1f} ms)",
        ),
        (
            f"target: sustained {r.rate:.0f}/s",
            f"kept, p95 < {TARGET_P95_MS:.0f} ms, events delivered p95 < "
            f"{TARGET_DELIVERY_P95_MS:.0f} ms: {'met' if sustained_met else 'NOT met'}"
            f" ({paced.rate:,.1f}/s, p95 {paced_p95:.1f} ms, delivered p95"
            f" {paced_delivery_p95:.0f} ms)",
        ),
        (
            "check: every sent request reached the recipient queue",
            "yes"
            if all(p.arrived == p.done and p.states_sent == p.done for p in r.phases)
            and not r.duplicates
            else "NO",
        ),
    ]
    report(
        f"exchange flow: create + send of requests PT → DE, {r.clients} concurrent clients, "
        f"{r.duration:.0f} s a phase",
        rows,
    )
    for phase in r.phases:
        if phase.arrived != phase.done:
            raise SystemExit(
                f"{phase.done - phase.arrived} sent requests never reached the recipient queue"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of measured load")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load")
    parser.add_argument(
        "--rate", type=float, default=TARGET_RATE, help="pairs/s offered in the paced phase"
    )
    parser.add_argument("--workers", type=int, default=1, help="the service's worker processes")
    parser.add_argument(
        "--relay-in-workers",
        action="store_true",
        help="the relay and the jobs in each worker (default: a background process of their own)",
    )
    parser.add_argument("--baseline-messages", type=int, default=10_000)
    parser.add_argument(
        "--pool-size", type=int, default=None, help="the service's database pool (--clients)"
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.pool_size is None:
        args.pool_size = args.clients
    if args.quick:
        args.duration, args.warmup, args.baseline_messages = 5.0, 1.0, 2_000
    results = asyncio.run(
        measure(
            args.clients,
            args.duration,
            args.warmup,
            args.rate,
            args.workers,
            not args.relay_in_workers,
            args.baseline_messages,
            args.pool_size,
        )
    )
    print_results(results)


if __name__ == "__main__":
    uvloop.install()  # as the services run (uvicorn --loop uvloop)
    main()
