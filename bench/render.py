"""Rendering a 20-question request in all 26 languages, beside a plain dict lookup.

    .venv/bin/python bench/render.py [--rounds N] [--quick]

Three figures, measured in the same run:
- baseline: the same 20 questions' texts, help and chosen options taken from a nested dict;
- render: the service's validation and rendering of the request, in process, catalogue in memory;
- POST /v1/render: the whole internal API (identity check, JSON, the database lookup of the free
  texts' translations) on a scratch database and vhost, beside GET /healthz of the same app.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import AMQP_URL, PG_URL, free_port, scratch_database, scratch_vhost  # noqa: E402
from services.translation.app import create_app  # noqa: E402
from services.translation.catalogue_files import load_catalogue  # noqa: E402
from services.translation.domain import (  # noqa: E402
    Catalogue,
    option_text_key,
    plan_render,
    render,
)
from services.translation.settings import TranslationSettings  # noqa: E402
from shared.contracts.translation import LANGUAGES, AnswerType  # noqa: E402
from shared.db import upgrade  # noqa: E402
from shared.identity import (  # noqa: E402
    Identity,
    IdentitySigner,
    generate_private_key_pem,
    public_key_pem,
)
from shared.settings import CommonSettings  # noqa: E402

PROCEDURE = "pq_establishment"
QUESTIONS = 20


def request_items(catalogue: Catalogue) -> list[tuple[str, dict[str, Any] | None]]:
    """20 questions of the procedure, each answered as its type wants."""
    items: list[tuple[str, dict[str, Any] | None]] = []
    for question in list(catalogue.procedures[PROCEDURE].questions())[:QUESTIONS]:
        answer: dict[str, Any]
        if question.type in (AnswerType.YES_NO, AnswerType.CHOICE):
            answer = {"option": question.option_keys[-1]}
        elif question.type is AnswerType.DATE:
            answer = {"date": "2019-07-15"}
        elif question.type is AnswerType.DOCUMENT:
            answer = {"document": "7d1b6c1e-2f0a-4b43-9a55-0d1c3f1c2a10"}
        else:
            answer = {"text": "O profissional foi advertido em 2021.", "language": "pt"}
        items.append((question.key, answer))
    assert len(items) == QUESTIONS, "the procedure has fewer than 20 questions"
    return items


def baseline(catalogue: Catalogue, items: list[tuple[str, dict[str, Any] | None]], rounds: int):
    """Per-render seconds of the plain nested-dict lookup of the same texts."""
    questions = catalogue.questions[PROCEDURE]
    keys = []
    for key, answer in items:
        question = questions[key]
        option = answer.get("option") if answer else None
        keys.append(
            (
                f"question.{key}.text",
                f"question.{key}.help",
                option_text_key(question, option) if option else None,
            )
        )
    texts = catalogue.texts
    started = time.perf_counter()
    count = 0
    for _ in range(rounds):
        for language in LANGUAGES:
            table = texts.get(language) or texts["en"]
            out = []
            for text_key, help_key, option_key in keys:
                out.append(
                    {
                        "text": table.get(text_key),
                        "help": table.get(help_key),
                        "option": table.get(option_key) if option_key else None,
                    }
                )
            count += 1
    return (time.perf_counter() - started) / count


def in_process(catalogue: Catalogue, items: list[tuple[str, dict[str, Any] | None]], rounds: int):
    """Per-render seconds of validation plus rendering, catalogue in memory."""
    started = time.perf_counter()
    count = 0
    for _ in range(rounds):
        for language in LANGUAGES:
            render(plan_render(catalogue, language, PROCEDURE, items, []), {})
            count += 1
    return (time.perf_counter() - started) / count


async def over_http(items: list[tuple[str, dict[str, Any] | None]], rounds: int):
    """Per-request seconds of POST /v1/render and of GET /healthz, same app, same run."""
    private = generate_private_key_pem()
    token = IdentitySigner(private).sign(
        Identity(user_id="00000000-0000-0000-0000-000000000001", username="bench", language="de")
    )
    async with scratch_database("render") as db_url, scratch_vhost("render") as amqp_url:
        settings = TranslationSettings(
            database_url=db_url,
            port=free_port(),
            common=CommonSettings(
                env="test",
                pg_url=PG_URL,
                amqp_url=amqp_url,
                identity_public_key=public_key_pem(private).decode(),
                log_level="WARNING",
            ),
        )
        await upgrade("translation", settings.sqlalchemy_url)
        app = create_app(settings)
        headers = {"Authorization": f"Bearer {token}"}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                bodies = [
                    {
                        "language": language,
                        "procedure": PROCEDURE,
                        "items": [{"question": k, "answer": a} for k, a in items],
                    }
                    for language in LANGUAGES
                ]
                for body in bodies:  # warm up: versions in memory, pool connections open
                    response = await client.post("/v1/render", json=body, headers=headers)
                    response.raise_for_status()
                started = time.perf_counter()
                for _ in range(rounds):
                    for body in bodies:
                        await client.post("/v1/render", json=body, headers=headers)
                render_seconds = (time.perf_counter() - started) / (rounds * len(bodies))
                started = time.perf_counter()
                for _ in range(rounds):
                    for _ in bodies:
                        await client.get("/healthz")
                health_seconds = (time.perf_counter() - started) / (rounds * len(bodies))
    return render_seconds, health_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200, help="rounds of 26 renders in process")
    parser.add_argument("--http-rounds", type=int, default=10, help="rounds of 26 HTTP renders")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, http_rounds = (20, 2) if args.quick else (args.rounds, args.http_rounds)

    catalogue = load_catalogue()
    missing = catalogue.missing_texts()
    items = request_items(catalogue)
    print(
        f"catalogue {catalogue.version}: {QUESTIONS} questions of {PROCEDURE}, "
        f"{len(LANGUAGES)} languages"
        + (f" ({len(missing)} texts missing: English stands in)" if missing else "")
    )
    in_process(catalogue, items, 2)  # warm up
    base = baseline(catalogue, items, rounds)
    ours = in_process(catalogue, items, rounds)
    print(f"baseline  plain dict lookup        {base * 1e6:9.1f} µs per render")
    print(f"project   render (in process)      {ours * 1e6:9.1f} µs per render")
    print(f"ratio     render / dict lookup     {ours / base:9.1f} x")
    print(f"          {1 / ours:,.0f} renders/s in one process")
    render_http, health_http = asyncio.run(over_http(items, http_rounds))
    print(f"project   POST /v1/render          {render_http * 1e3:9.2f} ms per request")
    print(f"baseline  GET /healthz (same app)  {health_http * 1e3:9.2f} ms per request")
    print(f"ratio     render / healthz         {render_http / health_http:9.1f} x")
    print(f"ratio     render / dict lookup     {render_http / base:9.1f} x")
    print(f"(servers: {PG_URL}, {AMQP_URL.rsplit('@', 1)[-1]})")


if __name__ == "__main__":
    main()
