"""The diploma scenario end to end through the services' APIs, real RabbitMQ and PostgreSQL:
the translation service publishes its catalogue and translates the free texts the exchange asks
for; a Portuguese authority verifies a German teacher's diploma; a French one never sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from services.exchange.app import create_app
from services.translation.app import create_app as create_translation_app
from services.translation.settings import TranslationSettings
from tests.exchange.conftest import (
    MovableClock,
    Network,
    RunningExchange,
    publish_all,
    start_exchange,
    today_plus,
    wait_projected,
)
from tests.infra import Servers, eventually, migrated_settings, running
from tests.translation.fake_provider import fake_libretranslate, translated

CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "services" / "translation" / "catalogue"


def catalogue_texts(language: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (CATALOGUE_DIR / "texts" / f"{language}.yaml").read_text(encoding="utf-8")
    )
    return data


@dataclass
class Services:
    exchange: RunningExchange
    translation: httpx.AsyncClient

    async def render(self, user: str, view: dict[str, Any], language: str) -> dict[str, Any]:
        content = view["content"]
        response = await self.translation.post(
            "/v1/render",
            json={"language": language, **content},
            headers={"Authorization": f"Bearer {self.exchange.token(user)}"},
        )
        assert response.status_code == 200, response.text
        rendered: dict[str, Any] = response.json()
        return rendered


@pytest.fixture(scope="module")
async def services(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Services]:
    settings, tap = await start_exchange(servers, "scenario", tmp_path_factory.mktemp("scenario"))
    amqp_url = settings.common.amqp_url
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    network = Network()
    async with fake_libretranslate(slow_seconds=2.0) as provider:
        translation_settings = await migrated_settings(
            servers,
            TranslationSettings,
            amqp_url,
            provider_url=provider.url,
            worker_interval=0.05,
            current_version_ttl=0.0,
            catalogue_dir=CATALOGUE_DIR,
            database_url=make_url(servers.pg_url)
            .set(database=f"imi_test_{servers.run_id}_translation_for_exchange")
            .render_as_string(hide_password=False),
        )
        # The exchange declares its queue first: the catalogue the translation service
        # publishes at start reaches it through the broker.
        exchange_app = create_app(settings, clock=clock)
        try:
            async with running(exchange_app) as client:
                async with running(create_translation_app(translation_settings)) as translation:
                    version = (
                        await translation.get(
                            "/v1/catalogue/versions",
                            headers={"Authorization": f"Bearer {servers.token()}"},
                        )
                    ).json()["items"][0]["version"]
                    exchange = RunningExchange(
                        client, settings, tap, exchange_app, clock, network, servers, version
                    )
                    await publish_all(amqp_url, network.events())
                    await wait_projected(exchange)
                    yield Services(exchange, translation)
        finally:
            await tap.stop()


class TestDiplomaVerification:
    async def test_portugal_asks_germany_answers_france_never_sees_it(
        self, services: Services
    ) -> None:
        exchange = services.exchange
        network = exchange.network
        de_texts, pt_texts = catalogue_texts("de"), catalogue_texts("pt")

        # PT drafts in Portuguese and sends
        question = "Pedimos a confirmação do diploma de professora de Maria Helena Sousa."
        draft = await exchange.create(
            items=[
                {"question": "pq_diploma_authentic"},
                {"question": "pq_diploma_issuing_body"},
                {"question": "pq_diploma_award_date"},
                {"question": "pq_good_repute_confirmed"},
            ],
            free_texts=[{"text": question}],  # the writer's language: Portuguese
            requested_reply_date=today_plus(exchange.clock, 14),
        )
        assert draft["content"]["free_texts"][0]["language"] == "pt"
        sent = await exchange.act("pt_officer", draft, "send")

        # DE reads in German: catalogue texts and the machine translation of the free text
        reading = await exchange.get("de_officer", sent["id"])
        assert reading.status_code == 200
        view = reading.json()
        assert view["language"] == "de"
        assert view["allowed_actions"][0] == "accept"

        async def translated_for_germany() -> bool:
            rendered = await services.render("de_officer", view, "de")
            return rendered["free_texts"][0]["translation_status"] == "available"

        await eventually(translated_for_germany, timeout=30)
        rendered = await services.render("de_officer", view, "de")
        assert rendered["items"][0]["text"] == de_texts["question.pq_diploma_authentic.text"]
        assert rendered["procedure"]["name"] == de_texts["procedure.pq_establishment.name"]
        german = rendered["free_texts"][0]
        assert german["original"] == question
        assert german["translation"] == {
            "text": translated(question, "de"),
            "machine_translated": True,
            "provider": "libretranslate",
        }
        subject = await exchange.client.get(
            f"/v1/requests/{sent['id']}/personal-data",
            params={"purpose": "identify the diploma holder"},
            headers=exchange.headers("de_officer"),
        )
        assert subject.json()["data_subject"]["family_name"] == "Sousa"

        # DE accepts and answers, partly in German
        accepted = await exchange.act("de_officer", view, "accept")
        remark = "Das Diplom wurde 2011 von der Universität Lissabon ausgestellt und ist echt."
        answered = await exchange.act(
            "de_officer",
            accepted,
            "answer",
            {
                "answers": [
                    {"question": "pq_diploma_authentic", "answer": {"option": "yes"}},
                    {"question": "pq_diploma_issuing_body", "answer": {"option": "university"}},
                    {"question": "pq_diploma_award_date", "answer": {"date": "2011-07-15"}},
                    {"question": "pq_good_repute_confirmed", "answer": {"option": "yes"}},
                ],
                "free_texts": [{"text": remark}],
            },
        )
        assert answered["state"] == "answered"

        # PT reads the answer in Portuguese
        pt_view = (await exchange.get("pt_officer", sent["id"])).json()

        async def translated_for_portugal() -> bool:
            rendered = await services.render("pt_officer", pt_view, "pt")
            return rendered["free_texts"][1]["translation_status"] == "available"

        await eventually(translated_for_portugal, timeout=30)
        rendered = await services.render("pt_officer", pt_view, "pt")
        answers = {i["question"]: i for i in rendered["items"]}
        authentic = answers["pq_diploma_authentic"]
        assert authentic["answer"]["option"] == "yes"
        assert authentic["answer"]["text"] == pt_texts["option.yes.text"]
        assert answers["pq_diploma_award_date"]["answer"] == {"date": "2011-07-15"}
        assert answers["pq_good_repute_confirmed"]["answer"] is None  # personal data
        assert rendered["free_texts"][1]["translation"]["text"] == translated(remark, "pt")
        repute = await exchange.client.get(
            f"/v1/requests/{sent['id']}/personal-data",
            params={"purpose": "read the answer on good repute"},
            headers=exchange.headers("pt_officer"),
        )
        assert {a["question"]: a["answer"] for a in repute.json()["answers"]} == {
            "pq_good_repute_confirmed": {"option": "yes"}
        }

        # PT accepts the answer with a rating and closes the request formally
        rated = await exchange.act(
            "pt_officer", pt_view, "accept-answer", {"timeliness": 5, "effort": 5}
        )
        closed = await exchange.act("pt_officer", rated, "close")
        assert closed["state"] == "closed"
        assert [h["action"] for h in closed["history"]] == [
            "created",
            "send",
            "accept",
            "answer",
            "accept-answer",
            "close",
        ]

        # France never sees it
        for path in ("", "/personal-data?purpose=x", "/attachments", "/access-log"):
            response = await exchange.client.get(
                f"/v1/requests/{sent['id']}{path}", headers=exchange.headers("fr_officer")
            )
            assert response.status_code == 404, path
        listed = await exchange.client.get(
            "/v1/requests", headers=exchange.headers("fr_coordinator")
        )
        assert sent["id"] not in [i["id"] for i in listed.json()["items"]]

        # every event told who may see it, and France was never among them
        expected = ["sent", "accepted", "answered", "answer_accepted", "closed"]
        for verb in expected:
            await exchange.tap.wait_for(f"exchange.request.{verb}", request_id=sent["id"])
        events = [e for e in exchange.tap.received if e.data.get("request_id") == sent["id"]]
        assert [e.type.rsplit(".", 1)[1] for e in events] == expected
        for event in events:
            assert set(event.data["visible_authority_ids"]) == {
                str(network.pt.id),
                str(network.de.id),
            }
            assert "fr" not in event.data["visible_countries"]
            assert "Sousa" not in str(event.data)
