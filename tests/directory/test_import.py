"""Bulk registration from CSV: all rows or none, a report per row, dry runs, file problems."""

from __future__ import annotations

import uuid

from tests.directory.conftest import RunningDirectory

HEADER = (
    "official_name,name_language,country,region,level,email,languages,procedures,keywords,"
    "informal_title_en,informal_title_de,description_en,city"
)


def row(name: str, **cells: str) -> str:
    values = {
        "official_name": name,
        "name_language": "pt",
        "country": "pt",
        "region": "PT-11",
        "level": "local",
        "email": "geral@example.pt",
        "languages": "pt;en",
        "procedures": "pq_establishment",
        "keywords": "teacher|childcare_worker",
        "informal_title_en": "Lisbon school office",
        "informal_title_de": "Schulamt Lissabon",
        "description_en": "Recognises teaching qualifications.",
        "city": "Lisboa",
    }
    values.update(cells)
    return ",".join(f'"{values[c]}"' for c in HEADER.split(","))


def names(count: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"Agrupamento de Escolas de Lisboa {tag} {i}" for i in range(count)]


async def upload(
    directory: RunningDirectory, text: str, who: str = "pt-coordinator", **params: str
) -> dict:
    response = await directory.client.post(
        "/v1/authorities/import",
        content=text.encode(),
        params=params,
        headers={**directory.headers(who), "Content-Type": "text/csv; charset=utf-8"},
    )
    return {"status": response.status_code, "body": response.json()}


async def stored(directory: RunningDirectory, official_names: list[str]) -> int:
    return int(
        await directory.scalar(
            "SELECT count(*) FROM authorities WHERE official_name = ANY(:n)", n=official_names
        )
    )


class TestImportAuthorities:
    async def test_every_row_is_registered_with_its_competences_and_titles(
        self, directory: RunningDirectory
    ) -> None:
        official = names(3)
        text = "\n".join(
            [
                HEADER,
                row(official[0]),
                row(official[1], level="regional", region="PT-13"),
                row(official[2], keywords=""),
            ]
        )
        answer = await upload(directory, text)
        assert answer["status"] == 201, answer
        report = answer["body"]
        assert report["created"] == 3
        assert [r["status"] for r in report["rows"]] == ["created"] * 3
        assert [r["line"] for r in report["rows"]] == [2, 3, 4]
        first = await directory.client.get(
            f"/v1/authorities/{report['rows'][0]['id']}",
            headers=directory.headers("pt-coordinator", **{"Accept-Language": "de"}),
        )
        authority = first.json()
        assert authority["status"] == "registered"
        assert authority["informal_title"] == {"text": "Schulamt Lissabon", "language": "de"}
        assert authority["address"]["city"] == "Lisboa"
        [competence] = authority["competences"]
        assert [k["key"] for k in competence["keywords"]] == ["teacher", "childcare_worker"]
        event = await directory.event("directory.authority.registered", report["rows"][2]["id"])
        assert event.data["authority"]["official_name"] == official[2]
        history = await directory.client.get(
            f"/v1/authorities/{report['rows'][0]['id']}/history",
            headers=directory.headers("pt-coordinator"),
        )
        assert history.json()["items"][0]["action"] == "imported"

    async def test_one_bad_row_refuses_the_file_with_a_report_per_row(
        self, directory: RunningDirectory
    ) -> None:
        official = names(5)
        text = "\n".join(
            [
                HEADER,
                row(official[0]),
                row(official[1], region="ES-CT"),
                row(official[2], email="nobody"),
                row(official[0]),
                row(official[4], keywords="teacher;astronaut"),
            ]
        )
        before = await directory.scalar("SELECT count(*) FROM authorities")
        outbox_before = await directory.scalar("SELECT count(*) FROM outbox")
        answer = await upload(directory, text)
        assert answer["status"] == 422
        problem = answer["body"]
        assert problem["created"] == 0
        assert problem["refused"] == 4
        rows = {r["line"]: r for r in problem["rows"]}
        assert rows[2]["status"] == "created"
        assert rows[3]["errors"][0]["field"] == "region"
        assert rows[4]["errors"][0]["field"] == "email"
        assert rows[5]["errors"][0] == {
            "field": "official_name",
            "message": "the same authority as line 2",
        }
        assert rows[6]["errors"][0]["field"] == "keywords"
        assert "line 3: region" in [e["field"] for e in problem["errors"]]
        assert await directory.scalar("SELECT count(*) FROM authorities") == before
        assert await directory.scalar("SELECT count(*) FROM outbox") == outbox_before

    async def test_a_name_registered_already_is_refused(self, directory: RunningDirectory) -> None:
        official = names(1)
        assert (await upload(directory, "\n".join([HEADER, row(official[0])])))["status"] == 201
        again = await upload(directory, "\n".join([HEADER, row(official[0].lower())]))
        assert again["status"] == 422
        assert again["body"]["rows"][0]["errors"][0]["field"] == "official_name"

    async def test_rows_outside_the_coordinators_country_are_refused(
        self, directory: RunningDirectory
    ) -> None:
        official = names(2)
        text = "\n".join(
            [
                HEADER,
                row(official[0]),
                row(official[1], country="es", region="ES-CT", name_language="es"),
            ]
        )
        answer = await upload(directory, text)
        assert answer["status"] == 422
        refused = answer["body"]["rows"][1]
        assert refused["errors"][0]["field"] == "country"
        assert await stored(directory, official) == 0

    async def test_a_dry_run_reports_without_storing(self, directory: RunningDirectory) -> None:
        official = names(2)
        good = await upload(directory, "\n".join([HEADER, row(official[0])]), dry_run="true")
        assert good["status"] == 200
        assert good["body"]["valid"] is True
        assert good["body"]["rows"][0]["status"] == "valid"
        bad = await upload(
            directory, "\n".join([HEADER, row(official[1], level="galactic")]), dry_run="true"
        )
        assert bad["status"] == 200
        assert bad["body"]["valid"] is False
        assert bad["body"]["rows"][0]["errors"][0]["field"] == "level"
        assert await stored(directory, official) == 0

    async def test_a_semicolon_separated_spreadsheet_export_is_read(
        self, directory: RunningDirectory
    ) -> None:
        [official] = names(1)
        text = (
            "official_name;name_language;country;region;level;keywords\n"
            f"{official};pt;pt;PT-11;local;teacher\n"
        )
        answer = await upload(directory, text)
        assert answer["status"] == 201, answer
        assert await stored(directory, [official]) == 1

    async def test_a_multipart_upload_is_read(self, directory: RunningDirectory) -> None:
        [official] = names(1)
        response = await directory.client.post(
            "/v1/authorities/import",
            files={"file": ("authorities.csv", f"{HEADER}\n{row(official)}\n", "text/csv")},
            headers=directory.headers("pt-coordinator"),
        )
        assert response.status_code == 201, response.text
        assert await stored(directory, [official]) == 1

    async def test_file_problems_name_the_body(self, directory: RunningDirectory) -> None:
        cases = [
            ("official_name,country\nX,pt\n", "body.header"),
            (f"{HEADER},colour\n", "body.header"),
            (f"{HEADER}\n", "body"),
            ("", "body"),
        ]
        for text, field in cases:
            answer = await upload(directory, text)
            assert answer["status"] == 422, text
            assert answer["body"]["errors"][0]["field"] == field
        response = await directory.client.post(
            "/v1/authorities/import",
            json={"rows": []},
            headers=directory.headers("pt-coordinator"),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "header.Content-Type"

    async def test_only_coordinators_import(self, directory: RunningDirectory) -> None:
        official = names(1)
        answer = await upload(directory, "\n".join([HEADER, row(official[0])]), who="pt-officer")
        assert answer["status"] == 403
        assert await stored(directory, official) == 0
