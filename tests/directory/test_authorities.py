"""Authorities through the internal API: registration, lifecycle, changes with history, scope,
bad input (nothing stored), idempotency, visibility, countries."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.directory.seed import demo_id
from shared.identity import Role
from tests.directory.conftest import RunningDirectory, authority_body, etag_of

PT_NATIONAL = demo_id("authority", "pt:national")
DE_NATIONAL = demo_id("authority", "de:national")
DE_COORDINATING = demo_id("authority", "de:coordinator")


async def register(
    directory: RunningDirectory, body: dict[str, Any], who: str = "pt-coordinator", **headers: str
) -> httpx.Response:
    return await directory.client.post(
        "/v1/authorities", json=body, headers=directory.headers(who, **headers)
    )


async def registered(directory: RunningDirectory, **overrides: Any) -> dict[str, Any]:
    response = await register(directory, authority_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def transition(
    directory: RunningDirectory,
    authority_id: str,
    action: str,
    version: int | None,
    who: str = "pt-coordinator",
    **body: Any,
) -> httpx.Response:
    headers = directory.headers(who)
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return await directory.client.post(
        f"/v1/authorities/{authority_id}/{action}", headers=headers, json=body or None
    )


async def count_named(directory: RunningDirectory, name: str) -> int:
    return int(
        await directory.scalar("SELECT count(*) FROM authorities WHERE official_name = :n", n=name)
    )


class TestRegisterAuthority:
    async def test_a_national_coordinator_registers_an_authority_of_their_country(
        self, directory: RunningDirectory
    ) -> None:
        body = authority_body()
        response = await register(directory, body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "registered"
        assert created["version"] == 1
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/v1/authorities/{created['id']}"
        assert created["official_name"] == body["official_name"]
        assert created["region"] == "PT-13"
        assert created["region_name"] == "Porto"
        assert created["country_name"] == "Portugal"
        assert created["address"]["city"] == "Porto"
        [competence] = created["competences"]
        assert competence["area"]["key"] == "professional_qualifications"
        assert {k["key"] for k in competence["keywords"]} == {"teacher", "secondary_school_teacher"}
        event = await directory.event("directory.authority.registered", created["id"])
        assert event.data["authority"]["status"] == "registered"
        assert event.data["authority"]["address"]["city"] == "Porto"
        assert event.data["acting_user_id"] == str(demo_id("user", "pt-coordinator"))

    async def test_competence_names_follow_the_readers_language(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        response = await directory.client.get(
            f"/v1/authorities/{created['id']}",
            headers=directory.headers("pt-coordinator", **{"Accept-Language": "de"}),
        )
        body = response.json()
        assert body["language"] == "de"
        assert body["competences"][0]["area"]["name"] == "Anerkennung von Berufsqualifikationen"
        teacher = next(k for k in body["competences"][0]["keywords"] if k["key"] == "teacher")
        assert teacher["term"] == "Lehrer"
        assert body["informal_title"] == {
            "text": "Northern Region Education Services",
            "language": "en",
        }

    async def test_the_same_idempotency_key_gives_the_same_answer_and_one_authority(
        self, directory: RunningDirectory
    ) -> None:
        body = authority_body()
        key = str(uuid.uuid4())
        first = await register(directory, body, **{"Idempotency-Key": key})
        second = await register(directory, body, **{"Idempotency-Key": key})
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        assert await count_named(directory, body["official_name"]) == 1

    async def test_an_idempotency_key_reused_for_another_body_is_refused(
        self, directory: RunningDirectory
    ) -> None:
        key = str(uuid.uuid4())
        await register(directory, authority_body(), **{"Idempotency-Key": key})
        other = authority_body()
        response = await register(directory, other, **{"Idempotency-Key": key})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "header.Idempotency-Key"
        assert await count_named(directory, other["official_name"]) == 0

    async def test_a_delegated_coordinator_for_an_area_registers_inside_it(
        self, directory: RunningDirectory
    ) -> None:
        token = directory.as_identity(
            user_id=uuid.uuid4(),
            username="pt-delegated-pq",
            country="pt",
            roles=(Role(name="delegated_coordinator", area="professional_qualifications"),),
        )
        response = await directory.client.post(
            "/v1/authorities", json=authority_body(), headers=token
        )
        assert response.status_code == 201, response.text

    async def test_a_delegated_coordinator_for_a_region_registers_inside_it(
        self, directory: RunningDirectory
    ) -> None:
        token = directory.as_identity(
            user_id=uuid.uuid4(),
            username="pt-delegated-north",
            country="pt",
            roles=(Role(name="delegated_coordinator", region="PT-13"),),
        )
        response = await directory.client.post(
            "/v1/authorities", json=authority_body(), headers=token
        )
        assert response.status_code == 201, response.text


BAD_REGISTRATIONS = [
    pytest.param({"country": "xx"}, "body.country", 422, id="unknown-country"),
    pytest.param({"country": "us"}, "body.country", 422, id="country-outside-the-eea"),
    pytest.param({"region": "ES-CT"}, "body.region", 422, id="region-of-another-country"),
    pytest.param({"region": "PT-99"}, "body.region", 422, id="unknown-region"),
    pytest.param({"official_name": "   "}, "body.official_name", 422, id="empty-official-name"),
    pytest.param({"email": "geral(at)dsrn"}, "body.email", 422, id="invalid-email"),
    pytest.param({"name_language": "xx"}, "body.name_language", 422, id="unknown-name-language"),
    pytest.param(
        {"informal_titles": {"klingon": "Qapla"}},
        "body.informal_titles.klingon",
        422,
        id="unknown-title-language",
    ),
    pytest.param({"languages": ["pt", "zz"]}, "body.languages[1]", 422, id="unknown-language"),
    pytest.param({"level": "federal"}, "body.level", 422, id="unknown-level"),
    pytest.param({"region": None}, "body.region", 422, id="regional-without-region"),
    pytest.param({"website": "javascript:alert(1)"}, "body.website", 422, id="bad-website"),
    pytest.param(
        {"competences": [{"area": "professional_qualifications", "keywords": ["astronaut"]}]},
        "body.competences[0].keywords[0]",
        422,
        id="unknown-keyword",
    ),
    pytest.param(
        {"competences": [{"area": "services", "procedures": ["pq_establishment"]}]},
        "body.competences[0].procedures[0]",
        422,
        id="procedure-of-another-area",
    ),
    pytest.param(
        {"country": "es", "region": None, "level": "national"},
        "body.country",
        403,
        id="coordinator-outside-own-country",
    ),
    pytest.param(
        {"country": "eu", "region": None, "level": "national"},
        "body.country",
        403,
        id="commission-country-for-a-national-coordinator",
    ),
    pytest.param(
        {"coordinating": True, "region": None, "level": "national"},
        "body.coordinating",
        403,
        id="second-coordinating-authority",
    ),
]


class TestRegistrationRefusals:
    @pytest.mark.parametrize(("overrides", "field", "status"), BAD_REGISTRATIONS)
    async def test_bad_registration_names_the_field_and_stores_nothing(
        self, directory: RunningDirectory, overrides: dict[str, Any], field: str, status: int
    ) -> None:
        body = authority_body(**overrides)
        if "official_name" in overrides:
            body["official_name"] = overrides["official_name"]
        outbox_before = await directory.scalar("SELECT count(*) FROM outbox")
        authorities_before = await directory.scalar("SELECT count(*) FROM authorities")
        response = await register(directory, body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert field in [e["field"] for e in problem["errors"]], problem
        assert await directory.scalar("SELECT count(*) FROM authorities") == authorities_before
        assert await directory.scalar("SELECT count(*) FROM outbox") == outbox_before

    async def test_a_duplicate_registration_is_a_conflict_naming_the_name(
        self, directory: RunningDirectory
    ) -> None:
        first = await registered(directory)
        again = authority_body(official_name=first["official_name"].upper())
        response = await register(directory, again)
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "body.official_name"
        assert await count_named(directory, again["official_name"]) == 0

    async def test_a_user_without_a_coordinator_role_cannot_register(
        self, directory: RunningDirectory
    ) -> None:
        response = await register(directory, authority_body(), who="pt-officer")
        assert response.status_code == 403

    async def test_a_delegated_coordinator_cannot_register_outside_their_area(
        self, directory: RunningDirectory
    ) -> None:
        token = directory.as_identity(
            user_id=uuid.uuid4(),
            username="pt-delegated-services",
            country="pt",
            roles=(Role(name="delegated_coordinator", area="services"),),
        )
        body = authority_body()
        response = await directory.client.post("/v1/authorities", json=body, headers=token)
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "body.competences[0].area"
        assert await count_named(directory, body["official_name"]) == 0

    async def test_a_delegated_coordinator_cannot_register_outside_their_region(
        self, directory: RunningDirectory
    ) -> None:
        token = directory.as_identity(
            user_id=uuid.uuid4(),
            username="pt-delegated-lisbon",
            country="pt",
            roles=(Role(name="delegated_coordinator", region="PT-11"),),
        )
        response = await directory.client.post(
            "/v1/authorities", json=authority_body(), headers=token
        )
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "body.region"

    async def test_the_commission_registers_a_coordinating_authority_only(
        self, directory: RunningDirectory
    ) -> None:
        ordinary = authority_body(country="pt")
        response = await register(directory, ordinary, who="commission")
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "body.coordinating"

    async def test_without_identity_token_is_401(self, directory: RunningDirectory) -> None:
        response = await directory.client.post("/v1/authorities", json=authority_body())
        assert response.status_code == 401


class TestLifecycle:
    async def test_registered_validated_active_deactivated_and_back(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        validated = await transition(directory, created["id"], "validate", 1)
        assert validated.status_code == 200, validated.text
        assert validated.json()["status"] == "validated"
        assert validated.headers["etag"] == '"2"'
        activated = await transition(directory, created["id"], "activate", 2)
        assert activated.json()["status"] == "active"
        deactivated = await transition(
            directory, created["id"], "deactivate", 3, reason="merged into another body"
        )
        assert deactivated.json()["status"] == "deactivated"
        back = await transition(directory, created["id"], "activate", 4)
        assert back.json()["status"] == "active"
        history = await directory.client.get(
            f"/v1/authorities/{created['id']}/history", headers=directory.headers("pt-coordinator")
        )
        entries = history.json()["items"]
        assert [e["action"] for e in entries] == [
            "registered",
            "validated",
            "activated",
            "deactivated",
            "activated",
        ]
        assert entries[3]["reason"] == "merged into another body"
        assert entries[1]["changes"] == {"status": {"before": "registered", "after": "validated"}}
        assert entries[1]["actor"]["username"] == "pt-coordinator"
        for event_type in ("validated", "activated", "deactivated"):
            event = await directory.event(f"directory.authority.{event_type}", created["id"])
            assert event.data["authority"]["status"] in ("validated", "active", "deactivated")

    async def test_a_transition_without_if_match_is_428(self, directory: RunningDirectory) -> None:
        created = await registered(directory)
        response = await transition(directory, created["id"], "validate", None)
        assert response.status_code == 428
        assert response.json()["errors"][0]["field"] == "header.If-Match"

    async def test_a_transition_with_a_stale_version_is_412(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        await transition(directory, created["id"], "validate", 1)
        response = await transition(directory, created["id"], "activate", 1)
        assert response.status_code == 412
        assert (
            await directory.scalar(
                "SELECT status FROM authorities WHERE id = :id", id=uuid.UUID(created["id"])
            )
            == "validated"
        )

    async def test_an_illegal_transition_is_409_listing_what_is_possible(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        response = await transition(directory, created["id"], "activate", 1)
        assert response.status_code == 409
        assert response.json()["allowed_actions"] == ["validate", "deactivate"]

    async def test_a_coordinator_of_another_country_does_not_see_a_registered_authority(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        response = await transition(directory, created["id"], "validate", 1, who="es-coordinator")
        assert response.status_code == 404
        read = await directory.client.get(
            f"/v1/authorities/{created['id']}", headers=directory.headers("es-coordinator")
        )
        assert read.status_code == 404

    async def test_a_coordinator_of_another_country_may_see_but_not_deactivate_an_active_one(
        self, directory: RunningDirectory
    ) -> None:
        read = await directory.client.get(
            f"/v1/authorities/{PT_NATIONAL}", headers=directory.headers("es-coordinator")
        )
        assert read.status_code == 200
        assert read.json()["allowed_actions"] == []
        response = await transition(
            directory, str(PT_NATIONAL), "deactivate", read.json()["version"], who="es-coordinator"
        )
        assert response.status_code == 403

    async def test_the_local_data_administrator_activates_their_validated_authority(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        await transition(directory, created["id"], "validate", 1)
        admin = directory.as_identity(
            user_id=uuid.uuid4(),
            username="dsrn-admin",
            country="pt",
            authority_id=uuid.UUID(created["id"]),
            roles=(Role(name="local_data_administrator"),),
        )
        refused = await directory.client.post(
            f"/v1/authorities/{created['id']}/deactivate", headers={**admin, "If-Match": '"2"'}
        )
        assert refused.status_code == 403
        response = await directory.client.post(
            f"/v1/authorities/{created['id']}/activate", headers={**admin, "If-Match": '"2"'}
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "active"

    async def test_only_the_commission_deactivates_a_coordinating_authority(
        self, directory: RunningDirectory
    ) -> None:
        read = await directory.client.get(
            f"/v1/authorities/{DE_COORDINATING}", headers=directory.headers("de-coordinator")
        )
        assert "deactivate" not in read.json()["allowed_actions"]
        own = await transition(
            directory, str(DE_COORDINATING), "deactivate", read.json()["version"], "de-coordinator"
        )
        assert own.status_code == 403
        by_commission = await directory.client.get(
            f"/v1/authorities/{DE_COORDINATING}", headers=directory.headers("commission")
        )
        assert "deactivate" in by_commission.json()["allowed_actions"]


class TestUpdateAuthority:
    async def test_a_change_keeps_history_and_announces_the_full_snapshot(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        response = await directory.client.patch(
            f"/v1/authorities/{created['id']}",
            json={"email": "novo@dsrn.example.pt", "informal_titles": {"en": "DSRN", "fr": "DSRN"}},
            headers={**directory.headers("pt-coordinator"), "If-Match": '"1"'},
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["version"] == 2
        assert updated["email"] == "novo@dsrn.example.pt"
        history = await directory.client.get(
            f"/v1/authorities/{created['id']}/history", headers=directory.headers("pt-coordinator")
        )
        last = history.json()["items"][-1]
        assert last["action"] == "updated"
        assert last["changes"]["email"] == {
            "before": "geral@dsrn.example.pt",
            "after": "novo@dsrn.example.pt",
        }
        assert set(last["changes"]) == {"email", "informal_titles"}
        event = await directory.event("directory.authority.updated", created["id"])
        assert sorted(event.data["changed_fields"]) == ["email", "informal_titles"]
        assert event.data["authority"]["version"] == 2
        assert event.data["authority"]["competences"][0]["keywords"] == [
            "teacher",
            "secondary_school_teacher",
        ]

    async def test_a_change_without_if_match_is_428_and_changes_nothing(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        response = await directory.client.patch(
            f"/v1/authorities/{created['id']}",
            json={"email": "x@dsrn.example.pt"},
            headers=directory.headers("pt-coordinator"),
        )
        assert response.status_code == 428

    async def test_the_country_cannot_change(self, directory: RunningDirectory) -> None:
        created = await registered(directory)
        response = await directory.client.patch(
            f"/v1/authorities/{created['id']}",
            json={"country": "es"},
            headers={**directory.headers("pt-coordinator"), "If-Match": '"1"'},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body.country"

    async def test_a_local_data_administrator_changes_contact_data_but_not_competences(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        admin = directory.as_identity(
            user_id=uuid.uuid4(),
            username="dsrn-admin-2",
            country="pt",
            authority_id=uuid.UUID(created["id"]),
            roles=(Role(name="local_data_administrator"),),
        )
        contact = await directory.client.patch(
            f"/v1/authorities/{created['id']}",
            json={"phone": "+351 22 111 1111"},
            headers={**admin, "If-Match": '"1"'},
        )
        assert contact.status_code == 200, contact.text
        competences = await directory.client.patch(
            f"/v1/authorities/{created['id']}",
            json={"competences": []},
            headers={**admin, "If-Match": '"2"'},
        )
        assert competences.status_code == 403
        assert competences.json()["errors"][0]["field"] == "body.competences"

    async def test_a_delegated_area_coordinator_cannot_add_another_area(
        self, directory: RunningDirectory
    ) -> None:
        created = await registered(directory)
        token = directory.as_identity(
            user_id=uuid.uuid4(),
            username="pt-delegated-pq-2",
            country="pt",
            roles=(Role(name="delegated_coordinator", area="professional_qualifications"),),
        )
        competences = [
            *authority_body()["competences"],
            {"area": "services", "procedures": ["svc_provider_information"]},
        ]
        response = await directory.client.patch(
            f"/v1/authorities/{created['id']}",
            json={"competences": competences},
            headers={**token, "If-Match": '"1"'},
        )
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "body.competences[1]"


class TestReadAuthority:
    async def test_an_active_authority_is_visible_to_everyone(
        self, directory: RunningDirectory
    ) -> None:
        response = await directory.client.get(
            f"/v1/authorities/{DE_NATIONAL}", headers=directory.headers("fi-officer")
        )
        assert response.status_code == 200
        assert response.json()["official_name"].startswith("Kultusministerkonferenz")

    async def test_if_none_match_with_the_current_version_is_304(
        self, directory: RunningDirectory
    ) -> None:
        first = await directory.client.get(
            f"/v1/authorities/{DE_NATIONAL}", headers=directory.headers("fi-officer")
        )
        again = await directory.client.get(
            f"/v1/authorities/{DE_NATIONAL}",
            headers={**directory.headers("fi-officer"), "If-None-Match": etag_of(first)},
        )
        assert again.status_code == 304

    async def test_an_unknown_authority_is_404(self, directory: RunningDirectory) -> None:
        response = await directory.client.get(
            f"/v1/authorities/{uuid.uuid4()}", headers=directory.headers("fi-officer")
        )
        assert response.status_code == 404

    async def test_history_is_hidden_from_other_authorities(
        self, directory: RunningDirectory
    ) -> None:
        response = await directory.client.get(
            f"/v1/authorities/{DE_NATIONAL}/history", headers=directory.headers("fi-officer")
        )
        assert response.status_code == 404


class TestCountries:
    async def test_the_30_countries_with_languages_and_regions_in_the_readers_language(
        self, directory: RunningDirectory
    ) -> None:
        response = await directory.client.get(
            "/v1/countries", headers=directory.headers("pt-officer", **{"Accept-Language": "pt"})
        )
        items = {c["code"]: c for c in response.json()["items"]}
        assert len(items) == 30
        assert "eu" not in items
        assert items["de"]["name"] == "Alemanha"
        assert items["be"]["languages"] == ["nl", "fr", "de"]
        assert "ES-CT" in {r["code"] for r in items["es"]["regions"]}
        assert len(items["de"]["regions"]) == 16
