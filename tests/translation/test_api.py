"""The internal HTTP API: catalogue reading, rendering, language detection, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.translation.catalogue_files import load_catalogue
from services.translation.models import outbox
from services.translation.service import publish_catalogue, utc_now
from shared.contracts.translation import LANGUAGES
from shared.db import Database
from tests.infra import Servers, eventually
from tests.translation.conftest import CATALOGUE_DIR, RunningTranslation
from tests.translation.fake_provider import translated

READER_LANGUAGES = ["pt", "de", "el", "fi"]


def texts_of(language: str) -> dict[str, Any]:
    path = CATALOGUE_DIR / "texts" / f"{language}.yaml"
    if not path.exists():
        pytest.fail(f"texts/{language}.yaml is not there yet")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


ANSWERS = {
    "yes_no": lambda q: {"option": "no"},
    "choice": lambda q: {"option": q["options"][-1]["key"]},
    "date": lambda q: {"date": "2019-07-15"},
    "document": lambda q: {"document": "7d1b6c1e-2f0a-4b43-9a55-0d1c3f1c2a10"},
    "free_text": lambda q: {
        "text": "O profissional foi advertido pela ordem em março de 2021.",
        "language": "pt",
    },
}


async def procedure(app: RunningTranslation, key: str, language: str = "en") -> dict[str, Any]:
    response = await app.client.get(
        f"/v1/catalogue/procedures/{key}", headers=app.headers(**{"Accept-Language": language})
    )
    assert response.status_code == 200, response.text
    return response.json()


async def render(app: RunningTranslation, body: dict[str, Any]) -> Any:
    return await app.client.post("/v1/render", json=body, headers=app.headers())


class TestReadCatalogue:
    async def test_areas_list_their_procedures_in_the_readers_language(
        self, translation: RunningTranslation
    ) -> None:
        response = await translation.client.get(
            "/v1/catalogue/areas", headers=translation.headers(**{"Accept-Language": "en"})
        )
        assert response.status_code == 200, response.text
        body = response.json()
        keys = {a["key"]: a for a in body["items"]}
        assert set(keys) >= {"professional_qualifications", "services", "posting_of_workers"}
        pq = keys["professional_qualifications"]
        assert pq["name"] == "Recognition of professional qualifications"
        assert "pq_establishment" in [p["key"] for p in pq["procedures"]]
        assert body["catalogue_version"]

    @pytest.mark.parametrize("language", READER_LANGUAGES)
    async def test_areas_follow_the_identity_language_without_accept_language(
        self, translation: RunningTranslation, servers: Servers, language: str
    ) -> None:
        texts = texts_of(language)
        response = await translation.client.get(
            "/v1/catalogue/areas",
            headers={"Authorization": f"Bearer {servers.token(language=language)}"},
        )
        body = response.json()
        assert body["language"] == language
        for area in body["items"]:
            assert area["name"] == texts[f"area.{area['key']}.name"]

    async def test_accept_language_wins_over_the_identity_language(
        self, translation: RunningTranslation, servers: Servers
    ) -> None:
        response = await translation.client.get(
            "/v1/catalogue/areas",
            headers={
                "Authorization": f"Bearer {servers.token(language='fi')}",
                "Accept-Language": "xx, de-AT;q=0.9, en;q=0.5",
            },
        )
        assert response.json()["language"] == "de"

    async def test_procedure_lists_every_question_with_help_and_options(
        self, translation: RunningTranslation
    ) -> None:
        body = await procedure(translation, "pq_establishment")
        assert body["area"] == {
            "key": "professional_qualifications",
            "name": "Recognition of professional qualifications",
        }
        questions = {q["key"]: q for s in body["question_sets"] for q in s["questions"]}
        assert len(questions) >= 8
        authentic = questions["pq_diploma_authentic"]
        assert authentic["type"] == "yes_no"
        assert [o["key"] for o in authentic["options"]] == ["yes", "no"]
        assert authentic["help"].startswith("Compare the attached document")
        body_type = questions["pq_diploma_issuing_body"]
        assert body_type["options"][0] == {"key": "university", "text": "University"}
        assert questions["pq_sanctions_details"]["personal_data"] is True

    async def test_unknown_procedure_is_404(self, translation: RunningTranslation) -> None:
        response = await translation.client.get(
            "/v1/catalogue/procedures/nope", headers=translation.headers()
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_unknown_version_is_404(self, translation: RunningTranslation) -> None:
        response = await translation.client.get(
            "/v1/catalogue/procedures/pq_establishment?version=0000",
            headers=translation.headers(),
        )
        assert response.status_code == 404

    async def test_without_identity_token_is_401(self, translation: RunningTranslation) -> None:
        response = await translation.client.get("/v1/catalogue/areas")
        assert response.status_code == 401


class TestKeywords:
    async def test_an_english_synonym_expands_to_all_languages(
        self, translation: RunningTranslation
    ) -> None:
        response = await translation.client.get(
            "/v1/catalogue/keywords", params={"q": "Physician"}, headers=translation.headers()
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert items[0]["keyword"] == "doctor"
        assert items[0]["area"] == "professional_qualifications"
        assert items[0]["matched"]["exact"] is True
        assert set(items[0]["terms"]) == set(LANGUAGES)
        assert "medical practitioner" in items[0]["terms"]["en"]

    @pytest.mark.parametrize("language", ["de", "pt", "fi", "el"])
    async def test_a_term_in_another_language_finds_the_same_keyword(
        self, translation: RunningTranslation, language: str
    ) -> None:
        term = texts_of(language)["keyword.nurse"][0]
        response = await translation.client.get(
            "/v1/catalogue/keywords",
            params={"q": term.upper(), "lang": language},
            headers=translation.headers(),
        )
        found = [i["keyword"] for i in response.json()["items"]]
        assert "nurse" in found

    async def test_unknown_lang_is_422(self, translation: RunningTranslation) -> None:
        response = await translation.client.get(
            "/v1/catalogue/keywords",
            params={"q": "nurse", "lang": "xx"},
            headers=translation.headers(),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "lang"


def request_from(
    procedure_body: dict[str, Any], question_set: str, language: str
) -> dict[str, Any]:
    questions = next(s for s in procedure_body["question_sets"] if s["key"] == question_set)
    return {
        "language": language,
        "procedure": procedure_body["key"],
        "items": [
            {"question": q["key"], "answer": ANSWERS[q["type"]](q)} for q in questions["questions"]
        ]
        + [{"question": "pq_diploma_issuing_body", "answer": None}],
        "free_texts": [
            {
                "id": "note-1",
                "text": "Junto enviamos a decisão disciplinar completa.",
                "language": "pt",
            }
        ],
    }


class TestRender:
    @pytest.mark.parametrize("language", READER_LANGUAGES)
    async def test_a_request_from_a_question_set_renders_every_text_in_the_readers_language(
        self, translation: RunningTranslation, language: str
    ) -> None:
        texts, english = texts_of(language), texts_of("en")
        body = request_from(
            await procedure(translation, "pq_establishment"), "pq_establishment_sanctions", language
        )
        response = await render(translation, body)
        assert response.status_code == 200, response.text
        out = response.json()
        assert out["language"] == language
        assert out["area"]["name"] == texts["area.professional_qualifications.name"]
        assert out["procedure"]["name"] == texts["procedure.pq_establishment.name"]
        shown: list[tuple[str, str]] = [
            ("area.professional_qualifications.name", out["area"]["name"]),
            ("procedure.pq_establishment.name", out["procedure"]["name"]),
        ]
        for item in out["items"]:
            shown.append((f"question.{item['question']}.text", item["text"]))
            shown.append((f"question.{item['question']}.help", item["help"]))
            answer = item["answer"]
            if answer and "option" in answer:
                key = (
                    f"option.{answer['option']}.text"
                    if item["type"] == "yes_no"
                    else f"option.{item['question']}.{answer['option']}.text"
                )
                shown.append((key, answer["text"]))
        for key, value in shown:
            assert value == texts[key], key
            # English appears only where the language's own file says the same words.
            assert value != english[key] or texts[key] == english[key], key

    async def test_answers_keep_their_structure(self, translation: RunningTranslation) -> None:
        response = await render(
            translation,
            {
                "language": "en",
                "procedure": "pq_establishment",
                "items": [
                    {"question": "pq_diploma_authentic", "answer": {"option": "yes"}},
                    {"question": "pq_diploma_award_date", "answer": {"date": "2019-07-15"}},
                    {"question": "pq_registration_proof", "answer": {"document": "att-1"}},
                    {"question": "pq_diploma_issuing_body", "answer": None},
                ],
            },
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert items[0]["answer"] == {"option": "yes", "text": "Yes"}
        assert items[0]["question_set"] == "pq_establishment_diploma"
        assert items[1]["answer"] == {"date": "2019-07-15"}
        assert items[2]["answer"] == {"document": "att-1"}
        assert items[2]["personal_data"] is True
        assert items[3]["answer"] is None

    async def test_free_text_in_the_readers_language_needs_no_translation(
        self, translation: RunningTranslation
    ) -> None:
        body = {
            "language": "pt",
            "procedure": "pq_establishment",
            "items": [
                {
                    "question": "pq_sanctions_details",
                    "answer": {"text": "Advertência escrita em 2021.", "language": "pt"},
                }
            ],
        }
        answer = (await render(translation, body)).json()["items"][0]["answer"]
        assert answer == {
            "text": "Advertência escrita em 2021.",
            "language": "pt",
            "translation": None,
            "translation_status": "same_language",
        }

    async def test_free_text_is_pending_then_shown_with_its_labelled_translation(
        self, translation: RunningTranslation
    ) -> None:
        original = "A autoridade aplicou uma coima de 500 euros ao prestador."
        body = {
            "language": "de",
            "procedure": "pq_establishment",
            "items": [],
            "free_texts": [{"id": "note-1", "text": original}],
        }
        first = (await render(translation, body)).json()["free_texts"][0]
        assert first["original"] == original
        assert first["language"] == "pt"  # detected
        assert first["translation"] is None
        assert first["translation_status"] == "pending"

        async def translated_now() -> bool:
            view = (await render(translation, body)).json()["free_texts"][0]
            return view["translation_status"] == "available"

        await eventually(translated_now)
        view = (await render(translation, body)).json()["free_texts"][0]
        assert view == {
            "id": "note-1",
            "original": original,
            "language": "pt",
            "translation": {
                "text": translated(original, "de"),
                "machine_translated": True,
                "provider": "libretranslate",
            },
            "translation_status": "available",
        }
        assert translation.provider is not None
        assert translation.provider.calls_for(original) == 1

    async def test_a_provider_that_keeps_failing_shows_failed(
        self, translation: RunningTranslation
    ) -> None:
        original = "[error] O prestador não respondeu ao pedido de informação."
        body = {
            "language": "fi",
            "procedure": "pq_establishment",
            "free_texts": [{"id": "n", "text": original, "language": "pt"}],
        }
        assert (await render(translation, body)).json()["free_texts"][0][
            "translation_status"
        ] == "pending"

        async def failed() -> bool:
            view = (await render(translation, body)).json()["free_texts"][0]
            return view["translation_status"] == "failed"

        await eventually(failed)
        view = (await render(translation, body)).json()["free_texts"][0]
        assert view["translation"] is None
        assert view["original"] == original
        assert translation.provider is not None
        assert translation.provider.calls_for(original) == translation.settings.max_attempts


class TestRenderRejects:
    async def _problem(self, app: RunningTranslation, body: dict[str, Any]) -> dict[str, Any]:
        response = await render(app, body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        return response.json()

    async def test_an_unknown_language_tag(self, translation: RunningTranslation) -> None:
        problem = await self._problem(
            translation, {"language": "klingon", "procedure": "pq_establishment", "items": []}
        )
        assert problem["errors"][0]["field"] == "language"

    async def test_a_question_not_in_the_procedure(self, translation: RunningTranslation) -> None:
        problem = await self._problem(
            translation,
            {
                "language": "de",
                "procedure": "pq_establishment",
                "items": [
                    {"question": "pq_diploma_authentic", "answer": {"option": "yes"}},
                    {"question": "svc_registered", "answer": {"option": "yes"}},
                ],
            },
        )
        assert problem["errors"][0]["field"] == "items[1].question"

    async def test_an_option_of_another_question(self, translation: RunningTranslation) -> None:
        problem = await self._problem(
            translation,
            {
                "language": "de",
                "procedure": "pq_establishment",
                "items": [{"question": "pq_sanction_type", "answer": {"option": "university"}}],
            },
        )
        assert problem["errors"][0]["field"] == "items[0].answer.option"

    async def test_an_empty_free_text(self, translation: RunningTranslation) -> None:
        problem = await self._problem(
            translation,
            {
                "language": "de",
                "procedure": "pq_establishment",
                "items": [{"question": "pq_sanctions_details", "answer": {"text": "  "}}],
            },
        )
        assert problem["errors"][0]["field"] == "items[0].answer.text"
        problem = await self._problem(
            translation,
            {
                "language": "de",
                "procedure": "pq_establishment",
                "free_texts": [{"id": "a", "text": ""}],
            },
        )
        assert problem["errors"][0]["field"] == "free_texts[0].text"

    async def test_a_malformed_date(self, translation: RunningTranslation) -> None:
        problem = await self._problem(
            translation,
            {
                "language": "de",
                "procedure": "pq_establishment",
                "items": [{"question": "pq_diploma_award_date", "answer": {"date": "15/07/2019"}}],
            },
        )
        assert problem["errors"][0]["field"] == "items[0].answer.date"

    async def test_an_unknown_procedure(self, translation: RunningTranslation) -> None:
        problem = await self._problem(
            translation, {"language": "de", "procedure": "nope", "items": []}
        )
        assert problem["errors"][0]["field"] == "procedure"

    async def test_an_unknown_catalogue_version_is_404(
        self, translation: RunningTranslation
    ) -> None:
        response = await render(
            translation,
            {"language": "de", "catalogue_version": "feedc0de", "procedure": "pq_establishment"},
        )
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "catalogue_version"


class TestVersions:
    async def test_a_request_written_with_version_v_is_rendered_with_v(
        self, translation: RunningTranslation, tmp_path: Path
    ) -> None:
        original = (
            await render(
                translation,
                {
                    "language": "en",
                    "procedure": "pq_establishment",
                    "items": [{"question": "pq_diploma_authentic"}],
                },
            )
        ).json()
        old_version = original["catalogue_version"]
        edited = tmp_path / "catalogue"
        (edited / "areas").mkdir(parents=True)
        (edited / "texts").mkdir()
        for path in (CATALOGUE_DIR / "areas").glob("*.yaml"):
            (edited / "areas" / path.name).write_bytes(path.read_bytes())
        for path in (CATALOGUE_DIR / "texts").glob("*.yaml"):
            (edited / "texts" / path.name).write_bytes(path.read_bytes())
        english = texts_of("en")
        english["question.pq_diploma_authentic.text"] = "Is the diploma genuine?"
        (edited / "texts" / "en.yaml").write_text(
            yaml.safe_dump(english, allow_unicode=True), encoding="utf-8"
        )
        catalogue = load_catalogue(edited)
        assert catalogue.version != old_version
        db = Database(translation.settings.sqlalchemy_url, pool_size=1)
        try:
            async with db.transaction() as session:
                assert await publish_catalogue(session, outbox, catalogue, utc_now())
        finally:
            await db.dispose()

        async def body(version: str | None) -> dict[str, Any]:
            payload: dict[str, Any] = {
                "language": "en",
                "procedure": "pq_establishment",
                "items": [{"question": "pq_diploma_authentic"}],
            }
            if version:
                payload["catalogue_version"] = version
            response = await render(translation, payload)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        current = await body(None)
        assert current["catalogue_version"] == catalogue.version
        assert current["items"][0]["text"] == "Is the diploma genuine?"
        kept = await body(old_version)
        assert kept["catalogue_version"] == old_version
        assert kept["items"][0]["text"] == original["items"][0]["text"]
        await translation.tap.wait_for("translation.catalogue.published", version=catalogue.version)
        listed = await translation.client.get(
            "/v1/catalogue/versions", headers=translation.headers()
        )
        versions = {v["version"]: v["current"] for v in listed.json()["items"]}
        assert versions == {old_version: False, catalogue.version: True}


class TestDetectLanguage:
    @pytest.mark.parametrize(
        ("text", "language"),
        [
            ("O diploma foi emitido pela Universidade de Lisboa em julho de 2019.", "pt"),
            ("Das Diplom wurde im Juli 2019 von der Universität Wien ausgestellt.", "de"),
            ("Το δίπλωμα εκδόθηκε από το Πανεπιστήμιο Αθηνών τον Ιούλιο του 2019.", "el"),
            ("Tutkintotodistus myönnettiin Helsingin yliopistosta heinäkuussa 2019.", "fi"),
        ],
    )
    async def test_it_tells_the_language(
        self, translation: RunningTranslation, text: str, language: str
    ) -> None:
        response = await translation.client.post(
            "/v1/detect-language", json={"text": text}, headers=translation.headers()
        )
        assert response.status_code == 200, response.text
        assert response.json()["language"] == language

    async def test_empty_text_is_422(self, translation: RunningTranslation) -> None:
        response = await translation.client.post(
            "/v1/detect-language", json={"text": " "}, headers=translation.headers()
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "text"
