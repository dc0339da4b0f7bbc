"""Finding the competent counterpart: cross-lingual search in pt, de, el, bg, pl and fi (different
scripts and diacritics), ranking, matched competences in the reader's language, filters,
pagination, bad queries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from services.directory.domain import MatchClass
from services.directory.repository import AuthorityRepository
from services.directory.seed import demo_id
from tests.directory.conftest import RunningDirectory

DE_NATIONAL = str(demo_id("authority", "de:national"))


async def active_authority(directory: RunningDirectory, body: dict[str, Any]) -> dict[str, Any]:
    """Registered by the country's coordinator, validated and activated."""
    who = f"{body['country']}-coordinator"
    created = await directory.client.post(
        "/v1/authorities", json=body, headers=directory.headers(who)
    )
    assert created.status_code == 201, created.text
    authority = created.json()
    for version, action in ((1, "validate"), (2, "activate")):
        response = await directory.client.post(
            f"/v1/authorities/{authority['id']}/{action}",
            headers={**directory.headers(who), "If-Match": f'"{version}"'},
        )
        assert response.status_code == 200, response.text
    return dict(response.json())


def competence(area: str, procedures: list[str], keywords: list[str]) -> dict[str, Any]:
    return {"area": area, "procedures": procedures, "keywords": keywords}


@pytest.fixture(scope="module")
async def network(directory: RunningDirectory) -> dict[str, dict[str, Any]]:
    """A few specialised bodies beside the demo network's national authorities."""
    pq = ["pq_establishment", "pq_temporary_services"]
    bodies = {
        "saxony_teachers": {
            "official_name": "Landesamt für Schule und Bildung Sachsen",
            "name_language": "de",
            "country": "de",
            "region": "DE-SN",
            "level": "regional",
            "informal_titles": {"en": "Saxon State Office for Schools and Education"},
            "descriptions": {"de": "Anerkennung ausländischer Lehramtsqualifikationen."},
            "competences": [competence("professional_qualifications", pq, ["teacher"])],
        },
        "berlin_nurses": {
            "official_name": "Landesamt für Gesundheit und Soziales Berlin",
            "name_language": "de",
            "country": "de",
            "region": "DE-BE",
            "level": "regional",
            "informal_titles": {"en": "Berlin State Office for Health and Social Affairs"},
            "competences": [competence("professional_qualifications", pq, ["nurse", "midwife"])],
        },
        "porto_teachers": {
            "official_name": "Direção de Serviços da Região Norte – Docentes",
            "name_language": "pt",
            "country": "pt",
            "region": "PT-13",
            "level": "regional",
            "informal_titles": {"en": "Northern Region teaching staff services"},
            "competences": [
                competence("professional_qualifications", pq, ["teacher", "childcare_worker"])
            ],
        },
        "thessaloniki_builders": {
            "official_name": "Επιθεώρηση Εργασίας Κεντρικής Μακεδονίας",
            "name_language": "el",
            "country": "gr",
            "region": "GR-B",
            "level": "regional",
            "informal_titles": {"en": "Labour Inspectorate of Central Macedonia"},
            "competences": [
                competence(
                    "posting_of_workers",
                    ["pw_information_request", "pw_cross_border_enforcement"],
                    ["construction"],
                )
            ],
        },
    }
    return {key: await active_authority(directory, body) for key, body in bodies.items()}


async def search(
    directory: RunningDirectory, reader: str, who: str = "pt-officer", **params: Any
) -> dict[str, Any]:
    response = await directory.client.get(
        "/v1/authorities",
        params={k: v for k, v in params.items() if v is not None},
        headers=directory.headers(who, **{"Accept-Language": reader}),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids(result: dict[str, Any]) -> list[str]:
    return [item["id"] for item in result["items"]]


def item_of(result: dict[str, Any], authority_id: str) -> dict[str, Any]:
    return next(item for item in result["items"] if item["id"] == authority_id)


def matched_keywords(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k["key"]: k for c in item["matched_competences"] for k in c["keywords"]}


class TestCrossLingualSearch:
    async def test_a_portuguese_officer_typing_professor_finds_the_german_teacher_authorities(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "pt", q="professor", country="de")
        found = ids(result)
        assert network["saxony_teachers"]["id"] in found
        assert DE_NATIONAL in found
        assert network["berlin_nurses"]["id"] not in found
        saxony = item_of(result, network["saxony_teachers"]["id"])
        assert saxony["official_name"] == "Landesamt für Schule und Bildung Sachsen"
        teacher = matched_keywords(saxony)["teacher"]
        assert teacher["term"] == "professor"
        assert teacher["matched_term"] == "professor"
        assert teacher["matched_language"] == "pt"
        [matched] = saxony["matched_competences"]
        assert matched["area"]["name"] == "Reconhecimento das qualificações profissionais"
        assert matched["procedures"][0]["name"].startswith("Reconhecimento")
        assert saxony["country_name"] == "Alemanha"
        assert result["interpretation"]["keywords"][0]["key"] == "teacher"

    async def test_a_german_reader_typing_lehrerin_finds_portuguese_teacher_bodies(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "de", who="de-officer", q="Lehrerin", country="pt")
        porto = item_of(result, network["porto_teachers"]["id"])
        assert matched_keywords(porto)["teacher"]["term"] == "Lehrer"
        assert porto["areas"][0]["name"] == "Anerkennung von Berufsqualifikationen"

    async def test_greek_in_capitals_without_accents_finds_construction_authorities(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "el", who="gr-officer", q="ΚΑΤΑΣΚΕΥΕΣ", country="gr")
        builders = item_of(result, network["thessaloniki_builders"]["id"])
        keyword = matched_keywords(builders)["construction"]
        assert keyword["matched_language"] == "el"
        assert keyword["term"] == "κατασκευές"

    async def test_bulgarian_cyrillic_finds_the_german_teacher_body_named_in_bulgarian(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "bg", who="bg-officer", q="учител", country="de")
        saxony = item_of(result, network["saxony_teachers"]["id"])
        assert matched_keywords(saxony)["teacher"]["term"] == "учител"
        assert saxony["matched_competences"][0]["area"]["name"] == (
            "Признаване на професионални квалификации"
        )

    async def test_polish_typed_without_diacritics_finds_nurses(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "pl", who="pl-officer", q="pielegniarka", country="de")
        assert network["berlin_nurses"]["id"] in ids(result)
        assert network["saxony_teachers"]["id"] not in ids(result)
        nurses = item_of(result, network["berlin_nurses"]["id"])
        assert matched_keywords(nurses)["nurse"]["term"] == "pielęgniarka"

    async def test_a_finnish_prefix_finds_teachers(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "fi", who="fi-officer", q="opetta", country="pt")
        porto = item_of(result, network["porto_teachers"]["id"])
        teacher = matched_keywords(porto)["teacher"]
        assert teacher["term"] == "opettaja"
        assert teacher["matched_language"] == "fi"

    async def test_the_query_language_is_tried_first_when_given(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "en", q="professor", lang="pt", country="de")
        [understood] = [k for k in result["interpretation"]["keywords"] if k["key"] == "teacher"]
        assert understood["matched_language"] == "pt"
        assert understood["term"] == "teacher"

    async def test_words_of_the_official_name_are_found_by_full_text_search(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "en", q="Schule Sachsen", country="de")
        assert ids(result)[0] == network["saxony_teachers"]["id"]

    async def test_german_stems_match_other_forms_of_a_word(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        # "Schulen" and "Schule" share the German stem; the plural is nowhere in the name.
        result = await search(directory, "de", q="Schulen Sachsen", lang="de", country="de")
        assert ids(result)[0] == network["saxony_teachers"]["id"]

    async def test_names_are_found_without_their_accents(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "en", q="direcao servicos regiao norte", country="pt")
        assert network["porto_teachers"]["id"] in ids(result)

    async def test_an_informal_title_in_english_finds_the_greek_body(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "en", q="macedonia labour", country="gr")
        assert network["thessaloniki_builders"]["id"] in ids(result)


class TestRankingAndFilters:
    async def test_the_specialised_regional_body_comes_before_the_national_catch_all(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "pt", q="professor", country="de", region="DE-SN")
        found = ids(result)
        assert found.index(network["saxony_teachers"]["id"]) < found.index(DE_NATIONAL)
        scores = [item["score"] for item in result["items"]]
        assert scores == sorted(scores, reverse=True)

    async def test_a_region_keeps_national_bodies_and_drops_other_regions(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "de", q="professor", region="DE-BE")
        found = ids(result)
        assert DE_NATIONAL in found
        assert network["saxony_teachers"]["id"] not in found

    async def test_procedure_and_level_filters_without_a_query(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(
            directory, "en", procedure="pw_cross_border_enforcement", country="gr", level="regional"
        )
        assert ids(result) == [network["thessaloniki_builders"]["id"]]
        [matched] = result["items"][0]["matched_competences"]
        enforcement = next(p for p in matched["procedures"] if p["matched"])
        assert enforcement["key"] == "pw_cross_border_enforcement"

    async def test_a_keyword_key_filters_by_competence(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        result = await search(directory, "en", keyword="midwife", country="de")
        assert set(ids(result)) == {network["berlin_nurses"]["id"], DE_NATIONAL}

    async def test_pages_follow_each_other_without_gaps_or_repeats(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        whole = ids(await search(directory, "en", q="teacher", limit=100))
        assert len(whole) > 6
        pages: list[str] = []
        cursor = None
        while True:
            page = await search(directory, "en", q="teacher", limit=4, cursor=cursor)
            pages += ids(page)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == whole

    async def test_registered_authorities_are_found_only_by_their_coordinators(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        body = {
            "official_name": f"Schulamt Leipzig {uuid.uuid4().hex[:6]}",
            "name_language": "de",
            "country": "de",
            "region": "DE-SN",
            "level": "local",
            "competences": [competence("professional_qualifications", [], ["teacher"])],
        }
        created = await directory.client.post(
            "/v1/authorities", json=body, headers=directory.headers("de-coordinator")
        )
        new_id = created.json()["id"]
        public = await search(directory, "de", q="Leipzig", country="de")
        assert new_id not in ids(public)
        own = await search(directory, "de", who="de-coordinator", q="Leipzig", status="registered")
        assert new_id in ids(own)
        foreign = await search(
            directory, "de", who="pt-coordinator", q="Leipzig", status="registered"
        )
        assert new_id not in ids(foreign)
        everyone = await search(directory, "de", who="commission", q="Leipzig", status="registered")
        assert new_id in ids(everyone)

    async def test_a_query_matching_nothing_gives_an_empty_page(
        self, directory: RunningDirectory
    ) -> None:
        result = await search(directory, "en", q="zzqqxxyy", country="de")
        assert result["items"] == []
        assert result["next_cursor"] is None


class TestBadQueries:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"q": "x" * 10_000}, "query.q"),
            ({"q": "teacher", "lang": "xx"}, "query.lang"),
            ({"country": "zz"}, "query.country"),
            ({"region": "DE-XX"}, "query.region"),
            ({"country": "pt", "region": "DE-SN"}, "query.region"),
            ({"keyword": "astronaut"}, "query.keyword"),
            ({"procedure": "nope"}, "query.procedure"),
            ({"level": "galactic"}, "query.level"),
            ({"status": "sleeping"}, "query.status"),
            ({"cursor": "not-a-cursor"}, "query.cursor"),
            ({"limit": 1000}, "query.limit"),
        ],
    )
    async def test_a_bad_parameter_is_422_naming_it(
        self, directory: RunningDirectory, params: dict[str, Any], field: str
    ) -> None:
        response = await directory.client.get(
            "/v1/authorities", params=params, headers=directory.headers("pt-officer")
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]]

    async def test_a_cursor_of_another_query_is_refused(self, directory: RunningDirectory) -> None:
        first = await search(directory, "en", q="teacher", limit=1)
        response = await directory.client.get(
            "/v1/authorities",
            params={"q": "nurse", "cursor": first["next_cursor"]},
            headers=directory.headers("pt-officer"),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.cursor"


class TestAKeywordAcrossCountries:
    """A keyword with no filter but the status is answered from each keyword's entries in
    rank order (``authority_keyword_rank``), kept by triggers on the search rows."""

    async def test_the_first_pages_are_those_of_the_filtered_search_of_every_row(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        keywords = ["teacher", "nurse", "midwife", "childcare_worker"]
        exact = "s.keywords && CAST(:kw_exact AS text[])"
        cases: list[tuple[MatchClass, list[str], list[str], str]] = [
            (MatchClass.COMPETENCE, chosen, [], exact)
            for chosen in (keywords[:1], keywords[1:3], keywords)
        ] + [
            (
                MatchClass.PARTIAL,
                keywords,
                excluded,
                "s.keywords && CAST(:kw_prefix AS text[])"
                + (f" AND NOT {exact}" if excluded else ""),
            )
            for excluded in ([], ["nurse"], ["teacher", "midwife"])
        ]
        async with directory.db.transaction() as session:
            repository = AuthorityRepository(session)
            for match, chosen, excluded, condition in cases:
                params = {"status": "active", "limit": 3}
                params.update(kw_exact=excluded or chosen, kw_prefix=chosen)
                position = None
                for _ in range(3):  # the first page, then the pages after it
                    expected = await repository._search_class(
                        match, condition, ["s.status = :status"], None, position, dict(params)
                    )
                    found = await repository._by_keyword(
                        match, chosen, position, dict(params), excluded=excluded
                    )
                    assert found == expected, (match, chosen, excluded)
                    if not expected:
                        break
                    position = expected[-1].position
                assert position is not None

    async def test_a_keyword_taken_away_or_a_deactivation_leaves_the_results(
        self, directory: RunningDirectory, network: dict[str, dict[str, Any]]
    ) -> None:
        body = {
            "official_name": f"Bergführerverband Tirol {uuid.uuid4().hex[:6]}",
            "name_language": "de",
            "country": "at",
            "region": "AT-7",
            "level": "regional",
            "competences": [competence("professional_qualifications", [], ["mountain_guide"])],
        }
        created = await active_authority(directory, body)

        async def across() -> list[str]:
            return ids(await search(directory, "en", q="mountain guide", limit=100))

        assert created["id"] in await across()
        changed = await directory.client.patch(
            f"/v1/authorities/{created['id']}",
            json={"competences": [competence("professional_qualifications", [], ["teacher"])]},
            headers={**directory.headers("at-coordinator"), "If-Match": '"3"'},
        )
        assert changed.status_code == 200, changed.text
        assert created["id"] not in await across()
        assert created["id"] in ids(await search(directory, "en", q="teacher", limit=100))
        deactivated = await directory.client.post(
            f"/v1/authorities/{created['id']}/deactivate",
            headers={**directory.headers("at-coordinator"), "If-Match": '"4"'},
        )
        assert deactivated.status_code == 200, deactivated.text
        assert created["id"] not in ids(await search(directory, "en", q="teacher", limit=100))
        rows = await directory.db.engine.connect()
        try:
            held = await rows.execute(
                text("SELECT keyword, status FROM authority_keyword_rank WHERE authority_id = :id"),
                {"id": uuid.UUID(created["id"])},
            )
            assert [tuple(r) for r in held] == [("teacher", "deactivated")]
        finally:
            await rows.close()
