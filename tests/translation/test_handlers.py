"""Events: machine translation round trips through the broker, catalogue publication."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.translation.app import create_app
from services.translation.seed import seed
from services.translation.settings import TranslationSettings
from shared.contracts.envelope import Envelope
from shared.contracts.translation import LANGUAGES, CataloguePublished, TranslationRequested
from shared.db import Database
from tests.infra import Servers, publish_event, running
from tests.translation.conftest import RunningTranslation, start_translation
from tests.translation.fake_provider import translated


def requested(text: str, targets: tuple[str, ...], source: str | None = None) -> Envelope:
    event = TranslationRequested(
        reference=f"exchange:request:{uuid.uuid4()}:part:1",
        requester="exchange",
        text=text,
        source_language=source,
        target_languages=targets,
    )
    return Envelope(source="imi/exchange", type=event.type, data=event.model_dump(mode="json"))


async def job_rows(settings: TranslationSettings, reference: str) -> list[Any]:
    db = Database(settings.sqlalchemy_url, pool_size=1)
    try:
        async with db.engine.connect() as conn:
            from sqlalchemy import text

            result = await conn.execute(
                text(
                    "SELECT target_language, status, attempts, last_error FROM translation_jobs"
                    " WHERE reference = :r ORDER BY target_language"
                ),
                {"r": reference},
            )
            return list(result.all())
    finally:
        await db.dispose()


class TestMachineTranslationRoundTrip:
    async def test_requested_translations_come_back_completed_and_labelled(
        self, translation: RunningTranslation
    ) -> None:
        text = "A empresa destacou doze trabalhadores para uma obra em Lyon."
        envelope = requested(text, ("de", "fi"), source="pt")
        await publish_event(translation.settings.common.amqp_url, envelope)
        reference = envelope.data["reference"]
        done = await translation.tap.wait_for("translation.completed", 2, reference=reference)
        by_target = {e.data["target_language"]: e.data for e in done}
        assert by_target["de"]["translated_text"] == translated(text, "de")
        assert by_target["fi"]["translated_text"] == translated(text, "fi")
        for data in by_target.values():
            assert data["machine_translated"] is True
            assert data["provider"] == "libretranslate"
            assert data["requester"] == "exchange"
            assert data["source_language"] == "pt"
        assert translation.provider is not None
        assert translation.provider.calls_for(text) == 2

    async def test_a_repeated_request_is_answered_from_the_cache(
        self, translation: RunningTranslation
    ) -> None:
        text = "O empregador não apresentou os recibos de vencimento."
        first = requested(text, ("de",), source="pt")
        await publish_event(translation.settings.common.amqp_url, first)
        await translation.tap.wait_for("translation.completed", reference=first.data["reference"])
        assert translation.provider is not None
        assert translation.provider.calls_for(text) == 1
        again = requested(text, ("de",), source="pt")
        await publish_event(translation.settings.common.amqp_url, again)
        [repeat] = await translation.tap.wait_for(
            "translation.completed", reference=again.data["reference"]
        )
        assert repeat.data["translated_text"] == translated(text, "de")
        assert translation.provider.calls_for(text) == 1

    async def test_the_source_language_is_detected_when_absent(
        self, translation: RunningTranslation
    ) -> None:
        text = "Der Arbeitgeber hat die Lohnabrechnungen für März nicht vorgelegt."
        envelope = requested(text, ("pt",))
        await publish_event(translation.settings.common.amqp_url, envelope)
        [done] = await translation.tap.wait_for(
            "translation.completed", reference=envelope.data["reference"]
        )
        assert done.data["source_language"] == "de"
        assert translation.provider is not None
        assert translation.provider.bodies[-1] == {
            "q": text,
            "source": "de",
            "target": "pt",
            "format": "text",
        }

    async def test_the_source_language_itself_comes_back_as_the_original(
        self, translation: RunningTranslation
    ) -> None:
        text = "Il datore di lavoro ha presentato la dichiarazione di distacco."
        envelope = requested(text, ("it",), source="it")
        await publish_event(translation.settings.common.amqp_url, envelope)
        [done] = await translation.tap.wait_for(
            "translation.completed", reference=envelope.data["reference"]
        )
        assert done.data["translated_text"] == text
        assert done.data["machine_translated"] is False
        assert translation.provider is not None
        assert translation.provider.calls_for(text) == 0

    @pytest.mark.parametrize(
        ("marker", "reason"),
        [
            ("[error]", "HTTP 500"),
            ("[slow]", "timed out"),
            ("[garbage]", "not JSON"),
            ("[empty]", "no translated text"),
        ],
    )
    async def test_a_failing_provider_is_retried_then_the_failure_is_reported(
        self, translation: RunningTranslation, marker: str, reason: str
    ) -> None:
        text = f"{marker} O trabalhador destacado não recebeu o salário mínimo."
        envelope = requested(text, ("sv",), source="pt")
        await publish_event(translation.settings.common.amqp_url, envelope)
        reference = envelope.data["reference"]
        [failed] = await translation.tap.wait_for("translation.failed", reference=reference)
        assert reason in failed.data["reason"]
        assert failed.data["target_language"] == "sv"
        assert failed.data["requester"] == "exchange"
        assert translation.provider is not None
        assert translation.provider.calls_for(text) == translation.settings.max_attempts
        assert not translation.tap.of_type("translation.completed", reference=reference)
        [job] = await job_rows(translation.settings, reference)
        assert job.status == "failed"
        assert job.attempts == translation.settings.max_attempts

    async def test_bad_requests_are_reported_not_lost(
        self, translation: RunningTranslation
    ) -> None:
        empty = requested("   ", ("de",), source="pt")
        unknown_target = requested("Texto de teste para o pedido.", ("xx",), source="pt")
        unknown_source = requested("Texto de teste para o pedido.", ("de",), source="tlh")
        for envelope in (empty, unknown_target, unknown_source):
            await publish_event(translation.settings.common.amqp_url, envelope)
        reasons = {}
        for envelope in (empty, unknown_target, unknown_source):
            [failed] = await translation.tap.wait_for(
                "translation.failed", reference=envelope.data["reference"]
            )
            reasons[envelope.id] = failed.data["reason"]
        assert "empty" in reasons[empty.id]
        assert "unknown target language" in reasons[unknown_target.id]
        assert "unknown source language" in reasons[unknown_source.id]

    async def test_a_redelivered_request_is_applied_once(
        self, translation: RunningTranslation
    ) -> None:
        text = "A declaração de destacamento foi apresentada fora de prazo."
        envelope = requested(text, ("nl",), source="pt")
        await publish_event(translation.settings.common.amqp_url, envelope)
        await publish_event(translation.settings.common.amqp_url, envelope)
        reference = envelope.data["reference"]
        await translation.tap.wait_for("translation.completed", reference=reference)
        assert len(await job_rows(translation.settings, reference)) == 1
        assert translation.provider is not None
        assert translation.provider.calls_for(text) == 1


class TestCataloguePublication:
    async def test_start_up_publishes_the_catalogue_with_names_and_keywords(
        self, translation: RunningTranslation
    ) -> None:
        [envelope] = await translation.tap.wait_for("translation.catalogue.published")
        event = CataloguePublished.model_validate(envelope.data)
        procedures = {p.key: p for p in event.procedures}
        assert {"pq_establishment", "svc_provider_information", "pw_information_request"} <= set(
            procedures
        )
        establishment = procedures["pq_establishment"]
        assert establishment.area == "professional_qualifications"
        questions = {q.key: q for s in establishment.question_sets for q in s.questions}
        assert questions["pq_diploma_authentic"].options == ("yes", "no")
        assert "university" in questions["pq_diploma_issuing_body"].options
        assert set(event.area_names["services"]) == set(LANGUAGES)
        assert set(event.procedure_names["pq_establishment"]) == set(LANGUAGES)
        assert event.keyword_areas["nurse"] == "professional_qualifications"
        assert set(event.keywords["nurse"]) == set(LANGUAGES)
        assert "registered nurse" in event.keywords["nurse"]["en"]
        # No question texts travel: other services render through this service.
        assert "Is the attached diploma authentic" not in envelope.body().decode()

    async def test_a_restart_or_the_seed_does_not_publish_the_same_version_again(
        self, servers: Servers
    ) -> None:
        settings, tap = await start_translation(servers, "republish", None)
        try:
            async with running(create_app(settings)):
                [first] = await tap.wait_for("translation.catalogue.published")
            async with running(create_app(settings)):
                pass
            message = await seed(settings)
            assert "already published" in message
            assert first.data["version"] in message
            # The relay of a running service would pick up a stray row; there must be none.
            db = Database(settings.sqlalchemy_url, pool_size=1)
            try:
                from sqlalchemy import text

                async with db.engine.connect() as conn:
                    count = await conn.scalar(
                        text("SELECT count(*) FROM outbox WHERE type = :t"),
                        {"t": "translation.catalogue.published"},
                    )
            finally:
                await db.dispose()
            assert count == 1
        finally:
            await tap.stop()


@pytest.fixture(scope="module")
async def without_provider(servers: Servers) -> AsyncIterator[RunningTranslation]:
    settings, tap = await start_translation(servers, "no-provider", None)
    app = create_app(settings)
    try:
        async with running(app) as client:
            yield RunningTranslation(client, settings, tap, None, app, servers.token())
    finally:
        await tap.stop()


class TestWithoutProvider:
    async def test_render_shows_the_original_labelled_unavailable(
        self, without_provider: RunningTranslation
    ) -> None:
        original = "O prestador foi suspenso por seis meses."
        response = await without_provider.client.post(
            "/v1/render",
            json={
                "language": "de",
                "procedure": "pq_establishment",
                "items": [
                    {
                        "question": "pq_sanctions_details",
                        "answer": {"text": original, "language": "pt"},
                    }
                ],
            },
            headers=without_provider.headers(),
        )
        assert response.status_code == 200, response.text
        assert response.json()["items"][0]["answer"] == {
            "text": original,
            "language": "pt",
            "translation": None,
            "translation_status": "unavailable",
        }

    async def test_a_request_is_reported_failed_with_the_reason(
        self, without_provider: RunningTranslation
    ) -> None:
        envelope = requested("O prestador foi suspenso por seis meses.", ("de",), source="pt")
        await publish_event(without_provider.settings.common.amqp_url, envelope)
        [failed] = await without_provider.tap.wait_for(
            "translation.failed", reference=envelope.data["reference"]
        )
        assert "no machine-translation provider" in failed.data["reason"]
        assert not without_provider.tap.of_type(
            "translation.completed", reference=envelope.data["reference"]
        )


class TestWorkerReplicas:
    async def test_two_workers_on_one_database_translate_each_job_once(
        self, servers: Servers, libretranslate: Any
    ) -> None:
        from services.translation.models import outbox
        from services.translation.provider import LibreTranslateProvider
        from services.translation.service import TranslationWorker, accept_translation_request
        from services.translation.service import utc_now as now

        settings, tap = await start_translation(
            servers, "replicas", libretranslate, worker_batch_size=4
        )
        await tap.stop()
        db = Database(settings.sqlalchemy_url, pool_size=4)
        providers = [LibreTranslateProvider(libretranslate.url, timeout=2) for _ in range(2)]
        try:
            text = f"Pedido {uuid.uuid4()} sobre o destacamento de trabalhadores."
            targets = ("de", "fi", "el", "sv", "da", "nl", "fr", "es", "it", "pl")
            async with db.transaction() as session:
                event = TranslationRequested(
                    reference="exchange:request:replicas",
                    requester="exchange",
                    text=text,
                    source_language="pt",
                    target_languages=targets,
                )
                await accept_translation_request(session, outbox, event, now())
            workers = [TranslationWorker(settings, outbox, p) for p in providers]
            while sum(await asyncio.gather(*(w.run(db) for w in workers))):
                pass
            rows = await job_rows(settings, "exchange:request:replicas")
            assert [r.status for r in rows] == ["done"] * len(targets)
            assert all(r.attempts == 1 for r in rows)
            assert libretranslate.calls_for(text) == len(targets)
        finally:
            for provider in providers:
                await provider.close()
            await db.dispose()
