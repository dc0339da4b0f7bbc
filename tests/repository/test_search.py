"""Multilingual search of the directory of registers: in the reader's language, across
languages, unaccented, filtered, ranked and paginated."""

from __future__ import annotations

from typing import Any

import pytest

from tests.repository.conftest import RepositoryService

PATH = "/v1/repositories/registers/records"

RECORDS: dict[str, dict[str, Any]] = {
    "de-commerce": {
        "register_name": {"de": "Handelsregister", "en": "Commercial register"},
        "country": "de",
        "keeping_authority": "Amtsgericht",
        "records": {"de": "Eintragungen über Kaufleute und Handelsgesellschaften"},
        "subjects": ["companies"],
        "languages": ["de"],
    },
    "fr-commerce": {
        "register_name": {"fr": "Registre du commerce et des sociétés"},
        "country": "fr",
        "keeping_authority": "Greffe du tribunal de commerce",
        "records": {"fr": "Immatriculation des sociétés commerciales"},
        "subjects": ["companies"],
        "languages": ["fr"],
    },
    "de-cooperatives": {
        "register_name": {"de": "Genossenschaftsregister"},
        "country": "de",
        "keeping_authority": "Amtsgericht",
        "records": {"de": "Genossenschaften, die nicht im Handelsregister stehen"},
    },
    "es-land": {
        "register_name": {"es": "Registro de la Propiedad"},
        "country": "es",
        "keeping_authority": "Colegio de Registradores",
        "records": {"es": "Inscripción de fincas y derechos reales"},
        "subjects": ["land"],
    },
    "it-vehicles": {
        "register_name": {"it": "Pubblico Registro Automobilistico"},
        "country": "it",
        "keeping_authority": "Automobile Club d'Italia",
        "records": {"it": "Iscrizione dei veicoli nel registro"},
        "subjects": ["vehicles"],
    },
    "pl-vehicles": {
        "register_name": {"pl": "Centralna Ewidencja Pojazdów"},
        "country": "pl",
        "keeping_authority": "Ministerstwo Cyfryzacji",
        "records": {"pl": "Dane o pojazdach i ich właścicielach"},
        "subjects": ["vehicles"],
    },
    "fi-population": {
        "register_name": {"fi": "Väestötietojärjestelmä"},
        "country": "fi",
        "keeping_authority": "Digi- ja väestötietovirasto",
        "records": {"fi": "Henkilöiden ja rakennusten tiedot"},
        "subjects": ["population"],
    },
    "el-commerce": {
        "register_name": {"el": "Γενικό Εμπορικό Μητρώο"},
        "country": "gr",
        "keeping_authority": "Επιμελητήρια",
        "records": {"el": "Καταχώριση εμπορικών επιχειρήσεων"},
        "subjects": ["companies"],
    },
}


@pytest.fixture(scope="module")
async def ids(repo: RepositoryService) -> dict[str, str]:
    found = {}
    for label, fields in RECORDS.items():
        found[label] = (await repo.create("de-coordinator", "registers", fields))["id"]
    return found


async def search(
    repo: RepositoryService, ids: dict[str, str], reader: str = "pt-officer", **params: Any
) -> list[str]:
    response = await repo.get(reader, PATH, **params)
    assert response.status_code == 200, response.text
    labels = {v: k for k, v in ids.items()}
    return [labels[item["id"]] for item in response.json()["items"]]


class TestInTheReadersLanguage:
    @pytest.mark.parametrize(
        ("lang", "q", "expected"),
        [
            ("de", "Handelsgesellschaft", "de-commerce"),  # stem of the plural
            ("fr", "société", "fr-commerce"),
            ("fr", "SOCIETE", "fr-commerce"),  # capitals, no accent
            ("es", "finca", "es-land"),
            ("it", "automobilistici", "it-vehicles"),
            ("pl", "pojazdow", "pl-vehicles"),  # typed without the accent
            ("fi", "väestötietojärjestelmä", "fi-population"),
            ("el", "Μητρώο", "el-commerce"),
        ],
    )
    async def test_a_word_finds_the_record_written_in_it(
        self, repo: RepositoryService, ids: dict[str, str], lang: str, q: str, expected: str
    ) -> None:
        assert await search(repo, ids, q=q, lang=lang, across="false") == [expected]

    async def test_the_stem_of_another_language_needs_the_search_across_languages(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        assert await search(repo, ids, q="automobilistici", lang="de", across="false") == []
        assert await search(repo, ids, q="automobilistici", lang="de") == ["it-vehicles"]

    async def test_results_are_shown_in_the_readers_language(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        response = await repo.get("pt-officer", PATH, q="Handelsregister", lang="en")
        item = response.json()["items"][0]
        assert item["display"]["register_name"] == {"text": "Commercial register", "language": "en"}
        assert item["display"]["subjects"] == [{"term": "companies", "label": "companies"}]
        response = await repo.get("pt-officer", PATH, q="Handelsregister", lang="fr")
        item = response.json()["items"][0]
        assert item["display"]["subjects"][0]["label"] == "entreprises"


class TestAcrossLanguages:
    async def test_an_english_query_finds_records_written_in_italian_and_polish(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        assert set(await search(repo, ids, q="vehicles", lang="en")) == {
            "it-vehicles",
            "pl-vehicles",
        }

    async def test_a_german_query_finds_french_and_greek_company_registers(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        found = await search(repo, ids, q="Unternehmen", lang="de", across="false")
        assert set(found) == {"de-commerce", "fr-commerce", "el-commerce"}

    async def test_a_portuguese_query_finds_the_spanish_land_register(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        assert await search(repo, ids, q="imóveis", lang="pt") == ["es-land"]


class TestFiltersRankingPages:
    async def test_filters_by_country_and_subject(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        assert await search(repo, ids, q="vehicles", country="pl") == ["pl-vehicles"]
        assert set(await search(repo, ids, subjects="companies")) == {
            "de-commerce",
            "fr-commerce",
            "el-commerce",
        }

    async def test_a_title_match_ranks_above_a_match_in_the_description(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        found = await search(repo, ids, q="Handelsregister", lang="de")
        assert found == ["de-commerce", "de-cooperatives"]

    async def test_every_word_must_match(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        assert await search(repo, ids, q="registro automobilistico", lang="it") == ["it-vehicles"]

    async def test_pages_follow_the_cursor_without_repeats(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            body = (await repo.get("pt-officer", PATH, **params)).json()
            seen.extend(item["id"] for item in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids.values())
        ranked: list[str] = []
        cursor = None
        for _ in range(10):
            params = {"limit": 1, "q": "companies"}
            if cursor:
                params["cursor"] = cursor
            body = (await repo.get("pt-officer", PATH, **params)).json()
            ranked.extend(item["id"] for item in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(ranked) == sorted(
            ids[k] for k in ("de-commerce", "fr-commerce", "el-commerce")
        )

    async def test_a_cursor_of_another_list_is_refused(
        self, repo: RepositoryService, ids: dict[str, str]
    ) -> None:
        body = (await repo.get("pt-officer", PATH, limit=1)).json()
        response = await repo.get("pt-officer", PATH, q="companies", cursor=body["next_cursor"])
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.cursor"


COPY_PATH = "/v1/repositories/registers_copy/records"


def register(title: str, records: str) -> dict[str, Any]:
    return {
        "register_name": {"de": title},
        "country": "de",
        "keeping_authority": "Landesamt",
        "records": {"de": records},
    }


async def found_in_copy(repo: RepositoryService, q: str) -> list[str]:
    response = await repo.get("pt-officer", COPY_PATH, q=q, lang="de")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestTheStartOfAWord:
    """A word being typed matches the words that start with it, looked up in the words the
    records hold (``record_words``) and, when too many start so, searched as a prefix."""

    async def test_the_start_of_a_word_finds_the_record(self, repo: RepositoryService) -> None:
        created = await repo.create(
            "de-coordinator", "registers_copy", register("Schornsteinfegerregister", "Bezirke")
        )
        assert await found_in_copy(repo, "Schornstein") == [created["id"]]
        assert await found_in_copy(repo, "schornsteinfegerregister") == [created["id"]]
        assert await found_in_copy(repo, "Schornsteinx") == []
        compiled = await repo.fetch(
            "SELECT repository_query(ARRAY['schornstein'], ARRAY['de'])::text"
        )
        assert "'schornsteinfegerregister'" in compiled[0][0]
        assert ":*" not in compiled[0][0]

    async def test_a_word_an_update_brings_is_found_by_its_start(
        self, repo: RepositoryService
    ) -> None:
        created = await repo.create(
            "de-coordinator", "registers_copy", register("Seeschiffsregister", "Schiffe")
        )
        assert await found_in_copy(repo, "Binnenschiff") == []
        updated = await repo.patch(
            "de-coordinator",
            f"{COPY_PATH}/{created['id']}",
            {"fields": {"register_name": {"de": "Binnenschiffsregister"}}},
            **{"If-Match": '"1"'},
        )
        assert updated.status_code == 200, updated.text
        assert await found_in_copy(repo, "Binnenschiff") == [created["id"]]
        assert await found_in_copy(repo, "Seeschiff") == []

    async def test_a_start_many_words_share_is_searched_as_a_prefix(
        self, repo: RepositoryService
    ) -> None:
        words = " ".join(f"Flurstück{n}" for n in range(40))
        created = await repo.create("de-coordinator", "registers_copy", register("Flurbuch", words))
        compiled = await repo.fetch("SELECT repository_query(ARRAY['flurst'], ARRAY['de'])::text")
        assert "'flurst':*" in compiled[0][0]
        assert await found_in_copy(repo, "Flurst") == [created["id"]]
        assert await found_in_copy(repo, "Flurstück17") == [created["id"]]
