"""Repository search over a million records, beside a primary-key lookup, same run.

    .venv/bin/python bench/repository_search.py [--records 1000000] [--queries 1000]

- migrates a scratch database, loads the shipped definitions and seeds N records of the
  directory of registers set-based (``INSERT ... SELECT generate_series``, the text-search
  document computed by the database's own ``repository_tsvector``), titles and descriptions in
  eight languages, each record also naming a district (``Bezirk1234``: about N/10,000 records
  each) and a country;
- starts the repository service in its own process (uvicorn) on that database;
- sends a mixed set of queries (a word in the reader's language only, the same across every
  language, a word typed without accents, two words, a district, with and without a country
  filter) one at a time over HTTP, and reports p50/p95;
- beside it, in the same run: ``GET /v1/repositories/registers/records/{id}`` of the same
  service and the plain primary-key lookup on the same database (asyncpg).

Target: search p95 under 50 ms at the service's HTTP API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import unicodedata
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.common import (  # noqa: E402
    PG_URL,
    free_port,
    percentile,
    primary_key_lookups,
    report,
    scratch_database,
    scratch_vhost,
    start_service,
    summary_ms,
    timed_gets,
    wait_ready,
)
from services.repository.domain import EEA_COUNTRIES  # noqa: E402
from services.repository.service import load_definitions  # noqa: E402
from services.repository.settings import SHIPPED_DEFINITIONS, RepositorySettings  # noqa: E402
from shared.db import Database, asyncpg_dsn, upgrade  # noqa: E402
from shared.identity import (  # noqa: E402
    Identity,
    IdentitySigner,
    Role,
    generate_private_key_pem,
    public_key_pem,
)
from shared.settings import CommonSettings  # noqa: E402

TARGET_P95_MS = 50.0
DISTRICTS = 10_000
# Words of register names and descriptions, by language (the seed combines them).
WORDS: dict[str, list[str]] = {
    "de": ["Handelsregister", "Grundbuch", "Fahrzeugregister", "Vereinsregister", "Gewerbe",
           "Genossenschaften", "Eintragungen", "Unternehmen", "Grundstücke", "Berufsangehörige",
           "Kammer", "Melderegister", "Stiftungen", "Insolvenzen", "Urkunden", "Zulassungen"],
    "fr": ["registre", "commerce", "sociétés", "cadastre", "véhicules", "associations",
           "immatriculation", "entreprises", "propriétés", "professionnels", "chambre",
           "état civil", "fondations", "faillites", "actes", "agréments"],
    "es": ["registro", "mercantil", "propiedad", "fincas", "vehículos", "asociaciones",
           "inscripción", "empresas", "inmuebles", "profesionales", "cámara", "padrón",
           "fundaciones", "concursos", "escrituras", "licencias"],
    "it": ["registro", "imprese", "catasto", "immobili", "veicoli", "associazioni",
           "iscrizione", "società", "proprietà", "professionisti", "camera", "anagrafe",
           "fondazioni", "fallimenti", "atti", "autorizzazioni"],
    "pl": ["rejestr", "przedsiębiorców", "księgi", "wieczyste", "pojazdów", "stowarzyszeń",
           "wpisy", "spółek", "nieruchomości", "zawodów", "izba", "ludności", "fundacji",
           "upadłości", "dokumentów", "zezwoleń"],
    "fi": ["kaupparekisteri", "kiinteistörekisteri", "ajoneuvorekisteri", "yhdistysrekisteri",
           "yritykset", "kiinteistöt", "ajoneuvot", "merkinnät", "ammattilaiset", "kamari",
           "väestötiedot", "säätiöt", "konkurssit", "asiakirjat", "luvat", "osuuskunnat"],
    "pt": ["registo", "comercial", "predial", "veículos", "associações", "inscrição",
           "empresas", "imóveis", "profissionais", "câmara", "civil", "fundações",
           "insolvências", "escrituras", "licenças", "cooperativas"],
    "en": ["register", "companies", "land", "vehicles", "associations", "registration",
           "businesses", "property", "professionals", "chamber", "population", "foundations",
           "insolvencies", "deeds", "licences", "cooperatives"],
}  # fmt: skip
LANGUAGES = list(WORDS)

SEED_SQL = """
INSERT INTO records (id, repository, status, version, fields, languages, sort_key,
                     document, created_at, updated_at)
SELECT gen_random_uuid(), 'registers', 'active', 1,
       jsonb_build_object('register_name', jsonb_build_object(lang, title),
                          'country', country, 'keeping_authority', keeper,
                          'records', jsonb_build_object(lang, body)),
       ARRAY[lang], lower(title),
       repository_tsvector(jsonb_build_object(lang, title),
                           jsonb_build_object(lang, body, '', keeper)),
       now(), now()
FROM (
  SELECT i, lang, country,
         (w->lang->>((i * 7) % n)::int) || ' ' || (w->lang->>((i / 8 * 13 + 5) % n)::int) AS title,
         (w->lang->>((i * 31 + 1) % n)::int) || ' ' || (w->lang->>((i * 17 + 3) % n)::int) || ' '
           || (w->lang->>((i / 8 * 11 + 2) % n)::int) AS body,
         'Bezirk' || (i % $4) || ' ' || upper(country) AS keeper
  FROM (
    SELECT i, $1::jsonb AS w, $2::int AS n,
           ($3::text[])[1 + i % cardinality($3::text[])] AS lang,
           ($5::text[])[1 + (i / 3) % cardinality($5::text[])] AS country
    FROM generate_series($6::bigint, $7::bigint) AS i
  ) s
) t
"""


def unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


KINDS = (
    "one word, reader's language, country",
    "word + district, across languages",
    "district alone, across languages",
    "two words unaccented, country",
    "district + word, another reader",
    "one word, reader's language",
)


def mixed_queries(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """(params, reader) pairs: each kind of query a reader makes, in eight languages."""
    queries: list[dict[str, Any]] = []
    for i in range(count):
        lang = rng.choice(LANGUAGES)
        word = rng.choice(WORDS[lang]).split()[0]
        other = rng.choice(WORDS[lang]).split()[0]
        district = f"Bezirk{rng.randrange(DISTRICTS)}"
        country = rng.choice(EEA_COUNTRIES)
        kind = i % 6
        if kind == 0:
            params = {"q": word, "lang": lang, "across": "false", "country": country}
        elif kind == 1:
            params = {"q": f"{word} {district}", "lang": lang}
        elif kind == 2:
            params = {"q": district, "lang": lang}
        elif kind == 3:
            params = {"q": unaccented(f"{word} {other}").lower(), "lang": lang, "country": country}
        elif kind == 4:
            params = {"q": f"{district} {word}", "lang": rng.choice(LANGUAGES)}
        else:
            params = {"q": word, "lang": lang, "across": "false"}
        queries.append({"params": params, "reader": lang, "kind": KINDS[kind]})
    return queries


async def seed(url: str, records: int) -> float:
    """The shipped definitions, then the records in batches of set-based inserts; the text
    index is built once at the end."""
    db = Database(url, pool_size=1)
    try:
        await load_definitions(db, SHIPPED_DEFINITIONS, datetime.now(UTC))
    finally:
        await db.dispose()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    started = time.perf_counter()
    try:
        await connection.execute("DROP INDEX ix_records_document")
        await connection.execute("DROP INDEX ix_records_fields")
        words = json.dumps(WORDS)
        n = min(len(v) for v in WORDS.values())
        batch = 100_000
        workers = 2

        async def insert(start: int) -> None:
            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                await conn.execute(
                    SEED_SQL,
                    words,
                    n,
                    LANGUAGES,
                    DISTRICTS,
                    list(EEA_COUNTRIES),
                    start,
                    min(start + batch, records) - 1,
                )
            finally:
                await conn.close()

        starts = list(range(0, records, batch))
        for offset in range(0, len(starts), workers):
            await asyncio.gather(*(insert(s) for s in starts[offset : offset + workers]))
        await connection.execute("SET maintenance_work_mem = '512MB'")
        await connection.execute("CREATE INDEX ix_records_document ON records USING gin (document)")
        await connection.execute(
            "CREATE INDEX ix_records_fields ON records USING gin (fields jsonb_path_ops)"
        )
        await connection.execute("VACUUM ANALYZE records")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def run(records: int, query_count: int) -> None:
    rng = random.Random(20261126)
    private = generate_private_key_pem()
    signer = IdentitySigner(private, ttl=3600)
    token = signer.sign(
        Identity(
            user_id=uuid.uuid4(),
            username="bench-officer",
            country="pt",
            roles=(Role(name="request_handler"),),
            language="pt",
        )
    )
    async with scratch_database("repository") as db_url, scratch_vhost("repository") as amqp_url:
        settings = RepositorySettings(
            database_url=db_url,
            port=free_port(),
            common=CommonSettings(env="test", pg_url=PG_URL, amqp_url=amqp_url),
        )
        await upgrade("repository", settings.sqlalchemy_url)
        seed_seconds = await seed(settings.sqlalchemy_url, records)
        dsn = asyncpg_dsn(settings.sqlalchemy_url)
        connection = await asyncpg.connect(dsn)
        total = await connection.fetchval("SELECT count(*) FROM records")
        ids = [
            r["id"]
            for r in await connection.fetch(
                "SELECT id FROM records TABLESAMPLE SYSTEM (1) LIMIT $1", query_count
            )
        ]
        await connection.close()
        rng.shuffle(ids)
        queries = mixed_queries(query_count, rng)
        process = start_service(
            "repository",
            database_url=settings.sqlalchemy_url,
            port=settings.port,
            public_pem=public_key_pem(private),
            amqp_url=amqp_url,
        )
        url = f"http://127.0.0.1:{settings.port}"
        try:
            await wait_ready(url, process, "repository")
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:

                def headers(reader: str) -> dict[str, str]:
                    return {"Authorization": f"Bearer {token}", "Accept-Language": reader}

                path = "/v1/repositories/registers/records"
                searches = [(path, q["params"], headers(q["reader"])) for q in queries]
                lookups: list[tuple[str, dict[str, Any], dict[str, str]]] = [
                    (f"{path}/{ids[i % len(ids)]}", {}, headers("en")) for i in range(query_count)
                ]
                await timed_gets(client, searches[:100] + lookups[:100])  # warm up
                search_times, result_sizes = await timed_gets(client, searches)
                lookup_times, _ = await timed_gets(client, lookups)
            sql_times = await primary_key_lookups(dsn, "records", ids, query_count)
        finally:
            process.terminate()
            process.wait(timeout=20)
    search_p95 = percentile(search_times, 95) * 1000
    by_kind = {
        kind: [t for t, q in zip(search_times, queries, strict=True) if q["kind"] == kind]
        for kind in KINDS
    }
    slowest = sorted(zip(search_times, queries, strict=True), key=lambda x: -x[0])[:8]
    report(
        f"repository search over {total:,} records ({query_count} mixed queries, "
        f"{len(LANGUAGES)} languages, one client)",
        [
            (f"seed {records:,} records + indexes", f"{seed_seconds:.1f} s"),
            ("project: GET .../records?q=...", summary_ms(search_times)),
            (
                "  queries with results",
                f"{sum(1 for s in result_sizes if s) / len(result_sizes):.0%}",
            ),
            *((f"  {kind}", summary_ms(times)) for kind, times in by_kind.items()),
            *(
                (f"  slow: {elapsed * 1000:.0f} ms", f"{q['params']} reader {q['reader']}")
                for elapsed, q in slowest
            ),
            ("baseline: GET .../records/{id}", summary_ms(lookup_times)),
            ("baseline: SQL primary-key lookup", summary_ms(sql_times)),
            (
                "ratio p95 search / HTTP id lookup",
                f"{search_p95 / (percentile(lookup_times, 95) * 1000):.1f} x",
            ),
            (
                "ratio p95 search / SQL pk lookup",
                f"{search_p95 / (percentile(sql_times, 95) * 1000):.1f} x",
            ),
            (
                "target",
                f"search p95 < {TARGET_P95_MS:.0f} ms: "
                + ("met" if search_p95 < TARGET_P95_MS else "NOT met")
                + f" ({search_p95:.1f} ms)",
            ),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run(args.records, args.queries))


if __name__ == "__main__":
    main()
