"""Records through the internal API: definitions, access groups, history, personal-data reads,
bad input, import and export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from shared.contracts.directory import UserDeactivated, UserRegistered, UserSnapshot, UserUpdated
from tests.infra import eventually
from tests.repository.conftest import RepositoryService, publish_all

PROBLEM = "application/problem+json"


def licence(number: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "company": f"Geldtransporte {number} GmbH",
        "licence_number": number,
        "country": "de",
        "issuing_authority": "Bundesamt für Güterverkehr",
        "valid_from": "2025-01-01",
        "valid_until": "2027-12-31",
        "vehicles": ["B-GT 101", "B-GT 102"],
        "remarks": {"de": "Gepanzerte Fahrzeuge", "en": "Armoured vehicles"},
        "contact_person": "Erika Mustermann",
    }
    fields.update(overrides)
    return fields


def register(name: dict[str, str], country: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "register_name": name,
        "country": country,
        "keeping_authority": f"Authority of {country}",
    }
    fields.update(overrides)
    return fields


class TestDefinitions:
    async def test_shipped_and_test_definitions_are_loaded_at_start(
        self, repo: RepositoryService
    ) -> None:
        rows = await repo.fetch("SELECT key FROM repository_definitions ORDER BY key")
        assert [r[0] for r in rows] == [
            "euro_cash_transport",
            "named_group",
            "registers",
            "registers_copy",
        ]
        loaded = repo.tap.of_type("repository.definition.loaded")
        assert {e.data["key"] for e in loaded} >= {"registers", "euro_cash_transport"}

    async def test_a_reader_sees_the_schema_in_their_language(
        self, repo: RepositoryService
    ) -> None:
        response = await repo.get("de-cash-reader", "/v1/repositories")
        assert response.status_code == 200
        by_key = {r["key"]: r for r in response.json()["items"]}
        assert by_key["euro_cash_transport"]["title"].startswith("Inhaber von Lizenzen")
        fields = {f["name"]: f for f in by_key["euro_cash_transport"]["fields"]}
        assert fields["contact_person"]["personal"] is True
        assert fields["valid_until"]["label"] == "Gültig bis"
        assert by_key["euro_cash_transport"]["writable"] is False
        assert by_key["registers"]["access"] == "all_users"


class TestAccessGroups:
    async def test_member_reads_non_member_gets_404(self, repo: RepositoryService) -> None:
        created = await repo.create("de-cash-admin", "euro_cash_transport", licence("DE-0001"))
        path = f"/v1/repositories/euro_cash_transport/records/{created['id']}"
        assert (await repo.get("fr-cash-officer", path)).status_code == 200
        assert (await repo.get("de-coordinator", path)).status_code == 200  # coordinating
        outsider = await repo.get("pt-officer", path)
        assert outsider.status_code == 404
        assert outsider.headers["content-type"].startswith(PROBLEM)
        search = await repo.get("pt-officer", "/v1/repositories/euro_cash_transport/records")
        assert search.status_code == 404
        assert search.json()["type"] == "urn:imi:problem:not-found"
        export = await repo.get("pt-officer", "/v1/repositories/euro_cash_transport/export")
        assert export.status_code == 404
        listed = await repo.get("pt-officer", "/v1/repositories")
        assert "euro_cash_transport" not in {r["key"] for r in listed.json()["items"]}

    async def test_a_group_named_by_authority_ids(self, repo: RepositoryService) -> None:
        created = await repo.create("pt-officer", "named_group", {"name": "Shared list"})
        path = f"/v1/repositories/named_group/records/{created['id']}"
        assert (await repo.get("it-officer", path)).status_code == 200
        assert (await repo.get("de-coordinator", path)).status_code == 404
        # it-officer reads but the write rule names only the Portuguese authority.
        refused = await repo.post(
            "it-officer", "/v1/repositories/named_group/records", {"fields": {"name": "x"}}
        )
        assert refused.status_code == 403

    async def test_a_reader_without_a_writing_role_may_not_create(
        self, repo: RepositoryService
    ) -> None:
        response = await repo.post(
            "de-cash-reader",
            "/v1/repositories/euro_cash_transport/records",
            {"fields": licence("DE-0002")},
        )
        assert response.status_code == 403
        assert response.json()["type"] == "urn:imi:problem:forbidden"

    async def test_an_unknown_repository_is_404(self, repo: RepositoryService) -> None:
        response = await repo.get("pt-officer", "/v1/repositories/nothing_here/records")
        assert response.status_code == 404


class TestBadInput:
    async def test_a_record_not_matching_the_schema_names_each_field(
        self, repo: RepositoryService
    ) -> None:
        response = await repo.post(
            "de-cash-admin",
            "/v1/repositories/euro_cash_transport/records",
            {
                "fields": licence(
                    "DE-0003",
                    valid_until="31.12.2027",
                    colour="blue",
                    remarks={"de": "ok", "xx": "nope"},
                    country="us",
                )
            },
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith(PROBLEM)
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {
            "fields.valid_until",
            "fields.colour",
            "fields.remarks.xx",
            "fields.country",
        }
        assert await repo.count("euro_cash_transport") == len(
            await repo.fetch("SELECT 1 FROM records WHERE repository = 'euro_cash_transport'")
        )

    async def test_a_missing_required_field(self, repo: RepositoryService) -> None:
        fields = licence("DE-0004")
        del fields["company"]
        response = await repo.post(
            "de-cash-admin", "/v1/repositories/euro_cash_transport/records", {"fields": fields}
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "fields.company", "message": "is required"}]

    async def test_a_search_in_an_unknown_language(self, repo: RepositoryService) -> None:
        response = await repo.get("pt-officer", "/v1/repositories/registers/records", lang="xx")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.lang"

    async def test_a_filter_on_a_field_that_is_not_one(self, repo: RepositoryService) -> None:
        response = await repo.get("pt-officer", "/v1/repositories/registers/records", website="x")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.website"


class TestHistory:
    async def test_update_keeps_history_and_checks_the_version(
        self, repo: RepositoryService
    ) -> None:
        created = await repo.create("de-cash-admin", "euro_cash_transport", licence("DE-0100"))
        path = f"/v1/repositories/euro_cash_transport/records/{created['id']}"
        updated = await repo.patch(
            "de-cash-admin",
            path,
            {"fields": {"vehicles": ["B-GT 101"], "remarks": {"fr": "Véhicules blindés"}}},
            **{"If-Match": '"1"'},
        )
        assert updated.status_code == 200, updated.text
        assert updated.headers["ETag"] == '"2"'
        assert updated.json()["fields"]["remarks"] == {"fr": "Véhicules blindés"}
        stale = await repo.patch(
            "de-cash-admin", path, {"fields": {"vehicles": []}}, **{"If-Match": '"1"'}
        )
        assert stale.status_code == 412
        retired = await repo.post(
            "de-cash-admin",
            f"{path}/retire",
            {"reason": "licence withdrawn"},
            **{"If-Match": '"2"'},
        )
        assert retired.status_code == 200
        assert retired.json()["status"] == "retired"
        again = await repo.patch(
            "de-cash-admin", path, {"fields": {"vehicles": []}}, **{"If-Match": '"3"'}
        )
        assert again.status_code == 409
        history = (await repo.get("fr-cash-officer", f"{path}/history")).json()["items"]
        assert [(h["version"], h["action"]) for h in history] == [
            (1, "created"),
            (2, "updated"),
            (3, "retired"),
        ]
        assert history[1]["changes"]["vehicles"] == {
            "before": ["B-GT 101", "B-GT 102"],
            "after": ["B-GT 101"],
        }
        assert history[0]["changes"]["contact_person"] == {"changed": True}
        assert history[2]["reason"] == "licence withdrawn"
        search = await repo.get(
            "fr-cash-officer", "/v1/repositories/euro_cash_transport/records", q="DE-0100"
        )
        assert search.json()["items"] == []
        await repo.tap.wait_for("repository.record.retired")
        events = repo.tap.of_type("repository.record.updated")
        assert any(e.data["record"]["id"] == created["id"] for e in events)

    async def test_personal_data_reads_are_recorded_and_kept_out_of_events(
        self, repo: RepositoryService
    ) -> None:
        created = await repo.create("de-cash-admin", "euro_cash_transport", licence("DE-0200"))
        path = f"/v1/repositories/euro_cash_transport/records/{created['id']}"
        read = await repo.client.get(
            path,
            params={"purpose": "check of a transport"},
            headers=repo.headers("fr-cash-officer"),
        )
        assert read.json()["fields"]["contact_person"] == "Erika Mustermann"
        rows = await repo.fetch(
            "SELECT username, fields, purpose FROM personal_data_reads WHERE record_id = :id",
            id=created["id"],
        )
        assert [tuple(r) for r in rows] == [
            ("fr-cash-officer", ["contact_person"], "check of a transport")
        ]
        listed = await repo.get(
            "fr-cash-officer", "/v1/repositories/euro_cash_transport/records", q="DE-0200"
        )
        assert [i["id"] for i in listed.json()["items"]] == [created["id"]]
        assert "contact_person" not in listed.json()["items"][0]["fields"]
        events = await repo.tap.wait_for("repository.record.created")
        mine = [e for e in events if e.data["record"]["id"] == created["id"]]
        assert mine
        assert "contact_person" not in mine[0].data["record"]["fields"]

    async def test_validity_filter(self, repo: RepositoryService) -> None:
        await repo.create(
            "de-cash-admin",
            "euro_cash_transport",
            licence("DE-0300", valid_from="2020-01-01", valid_until="2021-12-31"),
        )
        path = "/v1/repositories/euro_cash_transport/records"
        found = await repo.get("fr-cash-officer", path, q="DE-0300", valid_on="2021-06-01")
        assert len(found.json()["items"]) == 1
        gone = await repo.get("fr-cash-officer", path, q="DE-0300", valid_on="2026-06-01")
        assert gone.json()["items"] == []


class TestImportExport:
    async def test_a_bad_row_stores_nothing_and_is_named(self, repo: RepositoryService) -> None:
        before = await repo.count("registers")
        csv_text = (
            "register_name:de,register_name:en,country,keeping_authority,subjects\n"
            "Handelsregister,Commercial register,de,Amtsgericht,companies\n"
            "Registre,,zz,Greffe,companies\n"
            ",,fr,Greffe,spaceships\n"
        )
        response = await repo.import_csv("de-coordinator", "registers", csv_text)
        assert response.status_code == 422
        body = response.json()
        assert body["rejected_rows"] == [3, 4]
        assert {(e["row"], e["field"]) for e in body["errors"]} == {
            (3, "country"),
            (4, "subjects"),
            (4, "register_name"),
        }
        assert await repo.count("registers") == before

    async def test_a_header_in_an_unknown_language(self, repo: RepositoryService) -> None:
        response = await repo.import_csv(
            "de-coordinator", "registers", "register_name:xx,country,keeping_authority\na,de,b\n"
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "header.register_name:xx"

    async def test_round_trip_through_csv_and_json(self, repo: RepositoryService) -> None:
        csv_text = (
            "register_name:de,register_name:fr,country,keeping_authority,records:de,subjects,"
            "languages,website\n"
            "Fahrzeugregister,Registre des véhicules,de,Kraftfahrt-Bundesamt,"
            '"Halter, Fahrzeuge",vehicles;companies,de;en,https://kba.example\n'
            'Grundbuch,,at,Bezirksgericht,"Eigentum an Grundstücken",land,de,\n'
        )
        imported = await repo.import_csv("de-coordinator", "registers_copy", csv_text)
        assert imported.status_code == 201, imported.text
        assert imported.json()["imported"] == 2
        exported = await repo.get("pt-officer", "/v1/repositories/registers_copy/export")
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {r["register_name:de"] for r in rows} == {"Fahrzeugregister", "Grundbuch"}
        # The export imports again into a repository of the same schema, unchanged.
        again = await repo.import_csv("de-coordinator", "registers", exported.text)
        assert again.status_code == 201, again.text
        as_json = await repo.get(
            "pt-officer", "/v1/repositories/registers_copy/export", format="json"
        )
        first = sorted(
            (r["fields"] for r in json.loads(as_json.text)["records"]),
            key=lambda f: f["register_name"]["de"],
        )
        ids = again.json()["ids"]
        second = []
        for record_id in ids:
            response = await repo.get(
                "pt-officer", f"/v1/repositories/registers/records/{record_id}"
            )
            second.append(response.json()["fields"])
        second.sort(key=lambda f: f["register_name"]["de"])
        assert first == second
        assert first[0]["subjects"] == ["vehicles", "companies"]
        assert first[0]["records"] == {"de": "Halter, Fahrzeuge"}
        imported_events = await repo.tap.wait_for("repository.records.imported", count=2)
        assert {e.data["count"] for e in imported_events} == {2}

    async def test_an_export_of_personal_data_is_recorded(self, repo: RepositoryService) -> None:
        await repo.create("de-cash-admin", "euro_cash_transport", licence("DE-0300"))
        plain = await repo.get(
            "fr-cash-officer", "/v1/repositories/euro_cash_transport/export", format="json"
        )
        assert json.loads(plain.text)["personal_data"] is False
        assert all("contact_person" not in r["fields"] for r in json.loads(plain.text)["records"])
        before = await repo.fetch("SELECT count(*) FROM personal_data_reads")
        exported = await repo.get(
            "fr-cash-officer",
            "/v1/repositories/euro_cash_transport/export",
            format="json",
            purpose="yearly audit of licences",
        )
        records = json.loads(exported.text)["records"]
        with_personal = [r for r in records if r["fields"].get("contact_person")]
        assert with_personal
        logged = await repo.fetch(
            "SELECT count(*) FROM personal_data_reads WHERE purpose = 'yearly audit of licences'"
        )
        assert logged[0][0] == len(with_personal)
        after = await repo.fetch("SELECT count(*) FROM personal_data_reads")
        assert after[0][0] - before[0][0] == len(with_personal)

    async def test_personal_data_is_withheld_from_a_read_without_purpose(
        self, repo: RepositoryService
    ) -> None:
        created = await repo.create("de-cash-admin", "euro_cash_transport", licence("DE-0310"))
        path = f"/v1/repositories/euro_cash_transport/records/{created['id']}"
        read = await repo.get("fr-cash-officer", path)
        assert read.status_code == 200
        assert "contact_person" not in read.json()["fields"]
        assert read.json()["personal_withheld"] == ["contact_person"]
        rows = await repo.fetch(
            "SELECT count(*) FROM personal_data_reads WHERE record_id = :id", id=created["id"]
        )
        assert rows[0][0] == 0


class TestProjection:
    async def test_access_follows_the_directory_events(self, repo: RepositoryService) -> None:
        created = await repo.create("de-cash-admin", "euro_cash_transport", licence("DE-0400"))
        path = f"/v1/repositories/euro_cash_transport/records/{created['id']}"
        newcomer = repo.network.member(
            "fr-cash-newcomer", "fr-cash", "request_handler", language="fr"
        )
        snapshot = UserSnapshot(
            id=newcomer.user_id,
            username=newcomer.username,
            display_name=newcomer.username,
            authority_id=newcomer.authority_id,
            country=newcomer.country,
            language=newcomer.language,
            roles=newcomer.roles,
            version=1,
        )
        assert (await repo.get("fr-cash-newcomer", path)).status_code == 404
        await publish_all(repo.settings.common.amqp_url, [UserRegistered(user=snapshot)])

        async def reads() -> bool:
            return (await repo.get("fr-cash-newcomer", path)).status_code == 200

        await eventually(reads)
        deactivated = snapshot.model_copy(update={"active": False, "version": 2})
        stale = snapshot.model_copy(update={"version": 1, "roles": ()})
        await publish_all(
            repo.settings.common.amqp_url,
            [UserDeactivated(user=deactivated), UserUpdated(user=stale)],
        )

        async def refused() -> bool:
            return (await repo.get("fr-cash-newcomer", path)).status_code == 404

        await eventually(refused)
        rows = await repo.fetch(
            "SELECT version, active FROM directory_users WHERE id = :id", id=newcomer.user_id
        )
        assert [tuple(r) for r in rows] == [(2, False)]


class TestRankWindow:
    async def test_a_word_matching_more_than_the_window_says_so(
        self, repo: RepositoryService
    ) -> None:
        for n in range(7):
            await repo.create("pt-officer", "named_group", {"name": f"Window probe {n}"})
        path = "/v1/repositories/named_group/records"
        wide = (await repo.get("it-officer", path, q="probe")).json()
        assert len(wide["items"]) == 5
        assert wide["ranked_first_matches"] == 5
        narrow = (await repo.get("it-officer", path, q="Shared")).json()
        assert "ranked_first_matches" not in narrow


class TestIdempotentCreation:
    async def test_the_same_key_creates_once(self, repo: RepositoryService) -> None:
        path = "/v1/repositories/euro_cash_transport/records"
        body = {"fields": licence("DE-0900")}
        first = await repo.post("de-cash-admin", path, body, **{"Idempotency-Key": "k-0900"})
        again = await repo.post("de-cash-admin", path, body, **{"Idempotency-Key": "k-0900"})
        assert first.status_code == 201, first.text
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        rows = await repo.fetch(
            "SELECT count(*) FROM records WHERE fields->>'licence_number' = 'DE-0900'"
        )
        assert rows[0][0] == 1

    async def test_the_same_key_with_another_body_is_refused(self, repo: RepositoryService) -> None:
        path = "/v1/repositories/euro_cash_transport/records"
        first = await repo.post(
            "de-cash-admin", path, {"fields": licence("DE-0901")}, **{"Idempotency-Key": "k-0901"}
        )
        assert first.status_code == 201
        other = await repo.post(
            "de-cash-admin", path, {"fields": licence("DE-0902")}, **{"Idempotency-Key": "k-0901"}
        )
        assert other.status_code == 422
        assert other.json()["errors"][0]["field"] == "headers.idempotency-key"
        rows = await repo.fetch(
            "SELECT count(*) FROM records WHERE fields->>'licence_number' = 'DE-0902'"
        )
        assert rows[0][0] == 0
