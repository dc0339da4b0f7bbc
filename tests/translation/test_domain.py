"""Pure rules: language tags, reader language, catalogue parsing and completeness, rendering
plans, keyword matching, back-off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.translation.domain import (
    Catalogue,
    CatalogueError,
    FreeText,
    MachineTranslation,
    TranslationState,
    TranslationStatus,
    content_version,
    fold,
    match_keywords,
    parse_area,
    plan_render,
    render,
    required_text_keys,
    retry_delay,
    split_language_file,
    usable_translation,
)
from shared.contracts.translation import LANGUAGES
from shared.languages import language_tag, reader_language
from shared.problems import InvalidInput

AREA: dict[str, Any] = {
    "key": "services",
    "legal_basis": "Directive 2006/123/EC",
    "keywords": ["catering"],
    "procedures": [
        {
            "key": "svc_info",
            "legal_basis": "Art. 28",
            "retention_months": 6,
            "question_sets": [
                {
                    "key": "svc_reg",
                    "questions": [
                        {"key": "svc_registered", "type": "yes_no"},
                        {"key": "svc_form", "type": "choice", "options": ["sole", "company"]},
                        {"key": "svc_date", "type": "date", "personal_data": True},
                        {"key": "svc_notes", "type": "free_text"},
                        {"key": "svc_extract", "type": "document"},
                    ],
                }
            ],
        }
    ],
}


def full_texts(language: str) -> dict[str, str]:
    keys = required_text_keys([parse_area(AREA, "test")])
    return {key: f"{language}:{key}" for key in keys}


def catalogue(languages: tuple[str, ...] = LANGUAGES) -> Catalogue:
    areas = (parse_area(AREA, "test"),)
    return Catalogue(
        version="v1",
        areas=areas,
        texts={lang: full_texts(lang) for lang in languages},
        keywords={
            lang: {"catering": (f"{lang}-catering", f"{lang}-Café Service")} for lang in languages
        },
    )


class TestLanguageTag:
    @pytest.mark.parametrize(
        ("tag", "expected"),
        [
            ("pt", "pt"),
            ("PT-pt", "pt"),
            ("de_AT", "de"),
            ("nb", "no"),
            ("nn-NO", "no"),
            ("no", "no"),
            ("is", "is"),
            ("ga-IE", "ga"),
            ("ru", None),
            ("", None),
            (None, None),
            ("klingon", None),
        ],
    )
    def test_known_tags_map_to_our_codes(self, tag: str | None, expected: str | None) -> None:
        assert language_tag(tag) == expected

    @given(st.text(max_size=12))
    def test_the_answer_is_always_one_of_the_26_or_none(self, tag: str) -> None:
        assert language_tag(tag) in (*LANGUAGES, None)

    @given(st.sampled_from(LANGUAGES), st.sampled_from(["", "-XX", "_yy", "-Latn-ZZ"]))
    def test_every_language_survives_a_region_suffix(self, language: str, suffix: str) -> None:
        assert language_tag(language.upper() + suffix) == language


class TestReaderLanguage:
    @pytest.mark.parametrize(
        ("header", "identity", "expected"),
        [
            (None, "fi", "fi"),
            ("", "el", "el"),
            ("de", "fi", "de"),
            ("xx, fr;q=0.8", "fi", "fr"),
            ("en;q=0.4, pt-BR;q=0.9", None, "pt"),
            ("ja, zh", "sv", "sv"),
            ("de;q=0", "hu", "hu"),
            ("de;q=oops", "hu", "hu"),
            (None, None, "en"),
            (None, "xx", "en"),
        ],
    )
    def test_accept_language_by_weight_then_identity_then_english(
        self, header: str | None, identity: str | None, expected: str
    ) -> None:
        assert reader_language(header, identity) == expected


class TestParseArea:
    def test_yes_no_questions_have_yes_and_no(self) -> None:
        area = parse_area(AREA, "test")
        question = area.procedures[0].question_sets[0].questions[0]
        assert question.option_keys == ("yes", "no")
        assert question.question_set == "svc_reg"

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"type": "maybe"}, "unknown"),
            ({"type": "choice", "options": []}, "needs options"),
            ({"type": "date", "options": ["a"]}, "only a choice"),
            ({"key": ""}, "non-empty"),
        ],
    )
    def test_malformed_questions_are_refused(self, change: dict[str, Any], message: str) -> None:
        broken = {
            **AREA,
            "procedures": [
                {
                    **AREA["procedures"][0],
                    "question_sets": [
                        {"key": "s", "questions": [{"key": "q", "type": "yes_no", **change}]}
                    ],
                }
            ],
        }
        with pytest.raises(CatalogueError, match=message):
            parse_area(broken, "test")

    def test_required_keys_cover_names_questions_help_and_options(self) -> None:
        keys = required_text_keys([parse_area(AREA, "test")])
        assert "area.services.name" in keys
        assert "procedure.svc_info.description" in keys
        assert "question_set.svc_reg.name" in keys
        assert "question.svc_notes.help" in keys
        assert "option.svc_form.company.text" in keys
        assert {"option.yes.text", "option.no.text"} <= set(keys)
        assert len(keys) == len(set(keys))


class TestCompleteness:
    def test_a_complete_catalogue_lacks_nothing(self) -> None:
        assert catalogue().missing_texts() == []

    @given(st.sampled_from(LANGUAGES), st.data())
    def test_removing_any_one_text_is_reported_exactly(self, language: str, data: Any) -> None:
        complete = catalogue()
        key = data.draw(st.sampled_from(sorted(complete.texts[language])))
        del complete.texts[language][key]
        assert [str(m) for m in complete.missing_texts()] == [f"{language}: {key}"]

    def test_keywords_are_checked_too(self) -> None:
        incomplete = catalogue()
        incomplete.keywords["lv"]["catering"] = ()
        assert [str(m) for m in incomplete.missing_texts()] == ["lv: keyword.catering"]

    def test_unused_texts_are_listed(self) -> None:
        extra = catalogue()
        extra.texts["da"]["question.typo.text"] = "x"
        assert [str(m) for m in extra.unused_texts()] == ["da: question.typo.text"]


class TestLanguageFile:
    def test_keywords_are_split_from_texts(self) -> None:
        texts, keywords = split_language_file(
            "de", {"area.a.name": " Dienste ", "keyword.k": ["Koch", " ", "Köchin"]}
        )
        assert texts == {"area.a.name": "Dienste"}
        assert keywords == {"k": ("Koch", "Köchin")}

    def test_a_nested_value_is_refused(self) -> None:
        with pytest.raises(CatalogueError):
            split_language_file("de", {"area.a.name": {"x": 1}})


class TestContentVersion:
    @given(st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=5))
    def test_same_content_same_version_regardless_of_order(self, texts: dict[str, str]) -> None:
        reordered = dict(reversed(list(texts.items())))
        assert content_version({}, {"en": texts}, {}) == content_version({}, {"en": reordered}, {})

    def test_one_changed_text_changes_the_version(self) -> None:
        assert content_version({}, {"en": {"a": "x"}}, {}) != content_version(
            {}, {"en": {"a": "y"}}, {}
        )


def plan(items: list[tuple[str, Any]], language: str = "de", **kwargs: Any) -> Any:
    return plan_render(catalogue(), language, "svc_info", items, kwargs.get("free", []))


class TestPlanRender:
    def test_a_valid_content_is_planned(self) -> None:
        planned = plan(
            [
                ("svc_registered", {"option": "yes"}),
                ("svc_form", {"option": "company"}),
                ("svc_date", {"date": "2024-02-29"}),
                ("svc_extract", {"document": "a1"}),
                ("svc_notes", {"text": "Olá", "language": "pt-PT"}),
                ("svc_notes", None),
            ]
        )
        assert len(planned.items) == 6
        assert planned.items[4].free_text == FreeText("Olá", "pt")
        assert planned.texts_to_translate() == [FreeText("Olá", "pt")]

    @pytest.mark.parametrize(
        ("item", "field"),
        [
            (("svc_unknown", {"option": "yes"}), "items[0].question"),
            (("svc_registered", {"option": "maybe"}), "items[0].answer.option"),
            (("svc_form", {"option": "yes"}), "items[0].answer.option"),
            (("svc_registered", {"date": "2020-01-01"}), "items[0].answer"),
            (("svc_date", {"date": "2023-02-29"}), "items[0].answer.date"),
            (("svc_extract", {"document": ""}), "items[0].answer.document"),
            (("svc_notes", {"text": ""}), "items[0].answer.text"),
            (("svc_notes", {"text": "x", "language": "xx"}), "items[0].answer.language"),
        ],
    )
    def test_bad_content_names_the_field(self, item: tuple[str, Any], field: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            plan([item])
        assert raised.value.field == field

    def test_an_unknown_procedure_names_the_field(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            plan_render(catalogue(), "de", "nope", [], [])
        assert raised.value.field == "procedure"

    def test_free_texts_need_distinct_ids_and_some_text(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            plan([], free=[("a", "x", "pt"), ("a", "y", "pt")])
        assert raised.value.field == "free_texts[1].id"
        with pytest.raises(InvalidInput) as raised:
            plan([], free=[("a", " \n", "pt")])
        assert raised.value.field == "free_texts[0].text"

    def test_the_language_is_detected_when_the_writer_did_not_say(self) -> None:
        planned = plan_render(
            catalogue(), "de", "svc_info", [], [("a", "Olá", None)], detect=lambda text: "pt"
        )
        assert planned.free_texts[0][1].language == "pt"


class TestRender:
    @given(st.sampled_from(LANGUAGES))
    def test_every_catalogue_text_comes_in_the_readers_language(self, language: str) -> None:
        planned = plan_render(
            catalogue(),
            language,
            "svc_info",
            [("svc_registered", {"option": "no"}), ("svc_form", {"option": "sole"})],
            [],
        )
        out = render(planned, {})
        assert out["area"]["name"] == f"{language}:area.services.name"
        assert out["procedure"]["name"] == f"{language}:procedure.svc_info.name"
        assert out["items"][0]["answer"] == {"option": "no", "text": f"{language}:option.no.text"}
        assert out["items"][1]["answer"]["text"] == f"{language}:option.svc_form.sole.text"
        assert out["items"][1]["help"] == f"{language}:question.svc_form.help"

    def test_english_stands_in_only_where_a_version_lacks_a_text(self) -> None:
        partial = catalogue(("en",))
        out = render(plan_render(partial, "fi", "svc_info", [], []), {})
        assert out["area"]["name"] == "en:area.services.name"

    @pytest.mark.parametrize(
        ("state", "expected"),
        [
            (None, "unavailable"),
            (TranslationState(TranslationStatus.PENDING), "pending"),
            (TranslationState(TranslationStatus.FAILED), "failed"),
        ],
    )
    def test_free_text_without_translation_keeps_the_original(
        self, state: TranslationState | None, expected: str
    ) -> None:
        planned = plan([("svc_notes", {"text": "Olá", "language": "pt"})])
        free = planned.items[0].free_text
        states = {(free.text_hash, "pt"): state} if state else {}
        answer = render(planned, states)["items"][0]["answer"]
        assert answer == {
            "text": "Olá",
            "language": "pt",
            "translation": None,
            "translation_status": expected,
        }

    def test_a_translation_is_labelled_machine_translated_beside_the_original(self) -> None:
        planned = plan([], free=[("n", "Olá", "pt")])
        free = planned.free_texts[0][1]
        state = TranslationState(
            TranslationStatus.AVAILABLE, MachineTranslation("Hallo", "libretranslate")
        )
        [view] = render(planned, {(free.text_hash, "pt"): state})["free_texts"]
        assert view == {
            "id": "n",
            "original": "Olá",
            "language": "pt",
            "translation": {
                "text": "Hallo",
                "machine_translated": True,
                "provider": "libretranslate",
            },
            "translation_status": "available",
        }

    def test_an_undetectable_language_is_reported_failed(self) -> None:
        planned = plan([], free=[("n", "12345", None)])
        assert render(planned, {})["free_texts"][0]["translation_status"] == "failed"


class TestKeywords:
    def test_fold_ignores_case_accents_and_hyphens(self) -> None:
        assert fold("  Ärztin-Praxis ") == fold("arztin praxis")

    @given(st.text(max_size=20))
    def test_fold_is_idempotent(self, term: str) -> None:
        assert fold(fold(term)) == fold(term)

    def test_an_exact_term_in_any_language_finds_the_keyword(self) -> None:
        [found] = match_keywords(catalogue(), "EL-CATERING")
        assert (found.keyword, found.area, found.language, found.exact) == (
            "catering",
            "services",
            "el",
            True,
        )

    def test_a_word_prefix_of_three_letters_or_more_matches(self) -> None:
        assert [m.keyword for m in match_keywords(catalogue(), "cafe", "fr")] == ["catering"]
        assert match_keywords(catalogue(), "ca", "fr") == []

    def test_the_readers_language_is_searched_first(self) -> None:
        [found] = match_keywords(catalogue(), "cafe serv", "sv")
        assert found.language == "sv"

    def test_nothing_matches_nothing(self) -> None:
        assert match_keywords(catalogue(), "   ") == []
        assert match_keywords(catalogue(), "astronaut") == []


class TestRetries:
    def test_back_off_doubles_up_to_a_ceiling(self) -> None:
        delays = [retry_delay(n, 5, 60) for n in range(1, 7)]
        assert delays == [timedelta(seconds=s) for s in (5, 10, 20, 40, 60, 60)]

    @given(st.integers(min_value=0, max_value=10_000))
    def test_back_off_never_exceeds_the_ceiling(self, attempts: int) -> None:
        assert timedelta(0) <= retry_delay(attempts, 2.0, 300.0) <= timedelta(seconds=300)

    @pytest.mark.parametrize(
        "answer",
        [None, "text", [], {}, {"translatedText": ""}, {"translatedText": "  "}, {"x": "y"}],
    )
    def test_garbage_answers_are_no_translation(self, answer: Any) -> None:
        assert usable_translation(answer) is None

    def test_a_usable_answer(self) -> None:
        assert usable_translation({"translatedText": "Hallo"}) == "Hallo"


class TestSettings:
    def test_a_blank_provider_url_means_no_provider(self) -> None:
        from services.translation.settings import TranslationSettings

        assert TranslationSettings(provider_url="").provider_url is None
        assert TranslationSettings(provider_url="http://mt:5000").provider_url == "http://mt:5000"
