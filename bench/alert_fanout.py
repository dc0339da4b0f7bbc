"""One alert reaching 12,600 authorities: the service's set-based fan-out beside the naive way.

    .venv/bin/python bench/alert_fanout.py [--authorities-per-country N] [--runs N] [--quick]

On a fresh database and vhost, 12,600 authorities (30 countries × 420: each country's
coordinating authority with its alert coordinator, and 419 authorities competent for the services
procedures with one alert handler each), a sending authority and the Commission are written into
the alerts service's directory projection with set-based inserts. The service runs in process
(lifespan: broker, consumer, outbox relay) and is driven through its internal HTTP API:

- project: a Services Directive alert is broadcast to all 30 countries, then the 30 receiving
  coordinators disseminate it at once, each to its own country's competent authorities. Timed
  from the broadcast call until every inbox entry exists and every batched event (one per country
  and action) is published with publisher confirms (the outbox relay has marked it published).
- baseline, same run: the naive way, one persistent, confirmed broker message per recipient,
  consumed into a table one by one (insert and commit per message, eight connections).

Targets: every inbox entry visible in under 3 s, and at most a fifth of the naive time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aio_pika  # noqa: E402
import asyncpg  # noqa: E402
import httpx  # noqa: E402
import uvloop  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import PG_URL, report, scratch_database, scratch_vhost  # noqa: E402
from services.alerts.app import create_app  # noqa: E402
from services.alerts.domain import EEA_COUNTRIES  # noqa: E402
from services.alerts.settings import AlertsSettings  # noqa: E402
from services.translation.catalogue_files import load_catalogue  # noqa: E402
from services.translation.service import published_event  # noqa: E402
from shared.db import Database, asyncpg_dsn, upgrade  # noqa: E402
from shared.identity import (  # noqa: E402
    Identity,
    IdentitySigner,
    Role,
    generate_private_key_pem,
    public_key_pem,
)
from shared.messaging import EVENTS_EXCHANGE, declare_topology  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402

LANGUAGE = {
    "at": "de", "be": "nl", "bg": "bg", "cy": "el", "cz": "cs", "de": "de", "dk": "da",
    "ee": "et", "es": "es", "fi": "fi", "fr": "fr", "gr": "el", "hr": "hr", "hu": "hu",
    "ie": "en", "is": "is", "it": "it", "li": "de", "lt": "lt", "lv": "lv", "lu": "fr",
    "mt": "mt", "nl": "nl", "no": "no", "pl": "pl", "pt": "pt", "ro": "ro", "se": "sv",
    "si": "sl", "sk": "sk", "eu": "en",
}  # fmt: skip

SENDER_AUTHORITY = uuid.UUID("00000000-0000-4000-8000-00000000de01")
SENDER_USER = uuid.UUID("00000000-0000-4000-8000-00000000de02")
ALERT = {
    "procedure": "svc_alert",
    "language": "de",
    "content": {
        "items": [
            {"question": "svc_alert_risk_type", "answer": {"option": "safety"}},
            {"question": "svc_alert_serious_damage", "answer": {"option": "yes"}},
            {"question": "svc_alert_urgency", "answer": {"option": "immediate_action"}},
        ],
        "free_texts": [{"id": "summary", "text": "Ein Gerüstbauer setzt ungeprüfte Gerüste ein."}],
    },
}


async def seed_projection(db: Database, per_country: int) -> int:
    """The directory projection, written set-based; returns the number of recipient
    authorities (the Commission included)."""
    codes = list(EEA_COUNTRIES)
    async with db.transaction() as session:
        competent = (
            '\'[{"area": "services", "procedures": ["svc_provider_information",'
            ' "svc_alert"], "keywords": [], "regions": []}]\''
        )
        await session.execute(
            text(
                "INSERT INTO directory_authorities (id, country, region, level, official_name,"
                " name_language, informal_titles, languages, status, coordinating, competences,"
                " areas, procedures, keywords, competence_regions, version, updated_at)"
                " SELECT gen_random_uuid(), c.code, upper(c.code) || '-' || (n % 8),"
                "  CASE WHEN n = 0 THEN 'national' ELSE 'regional' END,"
                "  'Authority ' || n || ' (' || c.code || ')', c.lang, '{}', ARRAY[c.lang],"
                "  'active', n = 0,"
                f"  CASE WHEN n = 0 THEN jsonb '[]' ELSE jsonb {competent} END,"
                "  CASE WHEN n = 0 THEN '{}' ELSE ARRAY['services'] END,"
                "  CASE WHEN n = 0 THEN '{}'"
                "   ELSE ARRAY['svc_provider_information', 'svc_alert'] END,"
                "  '{}', '{}', 1, now()"
                " FROM unnest(CAST(:codes AS text[]), CAST(:langs AS text[])) AS c(code, lang),"
                "  generate_series(0, :last) AS n"
            ),
            {"codes": codes, "langs": [LANGUAGE[c] for c in codes], "last": per_country - 1},
        )
        await session.execute(
            text(
                "INSERT INTO directory_authorities (id, country, level, official_name,"
                " name_language, informal_titles, languages, status, coordinating, competences,"
                " areas, procedures, keywords, competence_regions, version, updated_at) VALUES"
                " (:sender, 'de', 'national', 'Gewerbeaufsicht (de)', 'de', '{}', '{de}',"
                f"  'active', false, jsonb {competent}, '{{services}}',"
                "  '{svc_provider_information, svc_alert}', '{}', '{}', 1, now()),"
                " (gen_random_uuid(), 'eu', 'national', 'European Commission', 'en', '{}',"
                "  '{en}', 'active', false, '[]', '{}', '{}', '{}', '{}', 1, now())"
            ),
            {"sender": SENDER_AUTHORITY},
        )
        await session.execute(
            text(
                "INSERT INTO directory_users (id, authority_id, country, username,"
                " display_name, language, active, roles, role_keys, version, updated_at)"
                " SELECT CASE WHEN a.id = :sender THEN CAST(:user AS uuid)"
                "  ELSE gen_random_uuid() END, a.id, a.country, 'user-' || a.id, 'User',"
                "  a.languages[1], true, r.roles, r.keys, 1, now()"
                " FROM directory_authorities a, LATERAL (SELECT"
                "  CASE WHEN a.coordinating"
                "   THEN ARRAY['alert_coordinator', 'national_coordinator']"
                "   WHEN a.country = 'eu' THEN ARRAY['commission']"
                "   ELSE ARRAY['alert_handler'] END AS keys) k,"
                "  LATERAL (SELECT k.keys,"
                "   (SELECT jsonb_agg(jsonb_build_object('name', name, 'area', NULL,"
                "    'region', NULL)) FROM unnest(k.keys) AS name) AS roles) r"
            ),
            {"sender": SENDER_AUTHORITY, "user": SENDER_USER},
        )
        event = published_event(load_catalogue(), datetime.now(UTC))
        await session.execute(
            text(
                "INSERT INTO catalogue_versions (version, published_at, event, received_at)"
                " VALUES (:version, now(), CAST(:event AS jsonb), now())"
            ),
            {"version": event.version, "event": json.dumps(event.model_dump(mode="json"))},
        )
        await session.execute(text("ANALYZE"))
    return len(codes) * per_country + 1


async def coordinators(db: Database) -> dict[str, tuple[uuid.UUID, uuid.UUID]]:
    """country → (user id, authority id) of its alert coordinator."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT a.country, u.id, a.id FROM directory_authorities a"
                " JOIN directory_users u ON u.authority_id = a.id WHERE a.coordinating"
            )
        )
        return {row[0]: (row[1], row[2]) for row in rows}


class Caller:
    def __init__(self, client: httpx.AsyncClient, signer: IdentitySigner) -> None:
        self.client = client
        self.signer = signer

    def headers(
        self, user: uuid.UUID, authority: uuid.UUID, country: str, *roles: str, **extra: str
    ) -> dict[str, str]:
        token = self.signer.sign(
            Identity(
                user_id=user,
                username=f"bench-{country}",
                authority_id=authority,
                country=country,
                roles=tuple(Role(name=r) for r in roles),
                language=LANGUAGE[country],
            )
        )
        return {"Authorization": f"Bearer {token}", **extra}

    async def post(self, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        return dict(response.json())


async def project_run(
    caller: Caller, db: Database, coordinator: dict[str, tuple[uuid.UUID, uuid.UUID]], expected: int
) -> tuple[float, float, float]:
    """Seconds until the calls returned, every entry existed, every event was confirmed."""
    sender = caller.headers(SENDER_USER, SENDER_AUTHORITY, "de", "alert_handler")
    de_user, de_authority = coordinator["de"]
    de = caller.headers(de_user, de_authority, "de", "alert_coordinator", "national_coordinator")
    draft = await caller.post("/v1/alerts", ALERT, sender)
    alert_id = draft["id"]
    path = f"/v1/alerts/{alert_id}"
    submitted = await caller.post(f"{path}/submit", None, {**sender, "If-Match": '"1"'})
    approved = await caller.post(
        f"{path}/approve", None, {**de, "If-Match": f'"{submitted["version"]}"'}
    )
    await wait_for_outbox(db)

    started = time.perf_counter()
    sent = await caller.post(
        f"{path}/broadcast",
        {"countries": "all"},
        {**de, "If-Match": f'"{approved["version"]}"'},
    )

    async def disseminate(country: str) -> None:
        user, authority = coordinator[country]
        headers = caller.headers(
            user, authority, country, "alert_coordinator", **{"If-Match": f'"{sent["version"]}"'}
        )
        await caller.post(
            f"{path}/disseminate", {"procedures": ["svc_provider_information"]}, headers
        )

    await asyncio.gather(*(disseminate(country) for country in EEA_COUNTRIES))
    calls = time.perf_counter() - started
    async with db.engine.connect() as conn:
        while True:
            count = await conn.scalar(
                text("SELECT count(*) FROM alert_recipients WHERE alert_id = :id"),
                {"id": uuid.UUID(alert_id)},
            )
            if count >= expected:
                break
            await asyncio.sleep(0.005)
    entries = time.perf_counter() - started
    if count != expected:
        raise RuntimeError(f"{count} inbox entries for {expected} recipients")
    await wait_for_outbox(db)
    events = time.perf_counter() - started
    return calls, entries, events


async def wait_for_outbox(db: Database) -> None:
    """Until the relay has published every event with confirms and marked it."""
    async with db.engine.connect() as conn:
        while True:
            pending = await conn.scalar(
                text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            )
            await conn.commit()
            if pending == 0:
                return
            await asyncio.sleep(0.005)


async def count_events(amqp_url: str) -> tuple[aio_pika.abc.AbstractConnection, list[str]]:
    """A tap on alerts.alert.* to check the events arrived (outside the timing)."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key="alerts.alert.#")
    seen: list[str] = []

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            seen.append(message.type or "")

    await queue.consume(on_message)
    return connection, seen


async def naive(amqp_url: str, db_url: str, recipients: list[tuple[uuid.UUID, str]]) -> float:
    """One persistent confirmed message per recipient, each consumed into a table on its own
    (insert, commit, ack); seconds from the first publish to the last row committed."""
    dsn = asyncpg_dsn(db_url)
    admin = await asyncpg.connect(dsn)
    await admin.execute(
        "CREATE TABLE naive_inbox (alert_id uuid, authority_id uuid, country text,"
        " delivered_at timestamptz, PRIMARY KEY (alert_id, authority_id))"
    )
    await admin.close()
    pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
    connection = await aio_pika.connect(amqp_url)
    try:
        publish_channel = await connection.channel(publisher_confirms=True)
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=256)
        queue = await consume_channel.declare_queue(
            f"naive-{uuid.uuid4().hex[:6]}", durable=True, arguments={"x-queue-type": "quorum"}
        )
        done = asyncio.Event()
        applied = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal applied
            data = json.loads(message.body)
            async with pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO naive_inbox VALUES ($1, $2, $3, now())",
                    uuid.UUID(data["alert_id"]),
                    uuid.UUID(data["authority_id"]),
                    data["country"],
                )
            await message.ack()
            applied += 1
            if applied >= len(recipients):
                done.set()

        await queue.consume(on_message)
        alert_id = str(uuid.uuid4())
        started = time.perf_counter()
        window = 500
        for offset in range(0, len(recipients), window):
            await asyncio.gather(
                *(
                    publish_channel.default_exchange.publish(
                        aio_pika.Message(
                            json.dumps(
                                {
                                    "alert_id": alert_id,
                                    "authority_id": str(authority),
                                    "country": country,
                                    "type": "alerts.alert.disseminated",
                                }
                            ).encode(),
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=str(uuid.uuid4()),
                        ),
                        routing_key=queue.name,
                    )
                    for authority, country in recipients[offset : offset + window]
                )
            )
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
        return elapsed
    finally:
        await connection.close()
        await pool.close()


async def measure(per_country: int, runs: int) -> None:
    private = generate_private_key_pem()
    async with scratch_database("alerts") as db_url, scratch_vhost("alertfanout") as amqp_url:
        settings = AlertsSettings(
            database_url=db_url,
            database_pool_size=20,
            common=CommonSettings(
                env="test",
                pg_url=PG_URL,
                amqp_url=amqp_url,
                identity_public_key=public_key_pem(private).decode(),
                log_level="WARNING",
            ),
        )
        await upgrade("alerts", settings.sqlalchemy_url)
        await declare_topology(amqp_url)
        db = Database(settings.sqlalchemy_url, pool_size=4)
        expected = await seed_projection(db, per_country)
        coordinator = await coordinators(db)
        tap_connection, seen = await count_events(amqp_url)
        app = create_app(settings)
        results: list[tuple[float, float, float]] = []
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://bench"
                ) as client:
                    caller = Caller(client, IdentitySigner(private))
                    for _ in range(runs):
                        results.append(await project_run(caller, db, coordinator, expected))
            async with db.engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT DISTINCT authority_id, country FROM alert_recipients LIMIT :n"),
                    {"n": expected},
                )
                recipients = [(row[0], row[1]) for row in rows]
            await asyncio.sleep(0.5)
            broadcast = seen.count("alerts.alert.broadcast")
            disseminated = seen.count("alerts.alert.disseminated")
            baseline = await naive(amqp_url, db_url, recipients)
        finally:
            await tap_connection.close()
            await db.dispose()

    entries = statistics.median(r[1] for r in results)
    events = statistics.median(r[2] for r in results)
    report(
        f"alert fan-out: one Services Directive alert to {expected:,} authorities",
        [
            ("recipients", f"{expected:,} (30 × {per_country} and the Commission), {runs} runs"),
            (
                "events per alert (checked)",
                f"{broadcast // runs} broadcast + {disseminated // runs} disseminated"
                " (one per country and action)",
            ),
            ("project: API calls returned", _runs(r[0] for r in results)),
            ("project: every inbox entry exists", _runs(r[1] for r in results)),
            ("project: + every event confirmed", _runs(r[2] for r in results)),
            ("baseline: one message per recipient", f"{baseline:.2f} s (naive, same run)"),
            ("ratio entries / naive (target ≤ 0.20)", f"{entries / baseline:.3f}"),
            ("ratio with events / naive", f"{events / baseline:.3f}"),
            ("target: all entries visible", f"< 3 s: {'met' if entries < 3 else 'NOT met'}"),
            (
                "target: a fifth of naive",
                f"{'met' if entries <= baseline / 5 else 'NOT met'}",
            ),
        ],
    )


def _runs(values: Any) -> str:
    found = list(values)
    return f"median {statistics.median(found):.3f} s ({', '.join(f'{v:.3f}' for v in found)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--authorities-per-country", type=int, default=420)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    per_country, runs = (40, 1) if args.quick else (args.authorities_per_country, args.runs)
    asyncio.run(measure(per_country, runs))


if __name__ == "__main__":
    uvloop.install()  # as the services run (uvicorn --loop uvloop)
    main()
