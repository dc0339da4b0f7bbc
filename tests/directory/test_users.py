"""Users and roles through the internal API: registration by coordinators and local data
administrators within their scope, self-service, deactivation, credentials for the gateway."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.directory.seed import demo_id
from shared.identity import Role
from tests.directory.conftest import DEMO_PASSWORD, RunningDirectory, authority_body

PT_NATIONAL = demo_id("authority", "pt:national")
PT_COORDINATING = demo_id("authority", "pt:coordinator")
PASSWORD = "correct horse battery staple"


def user_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": f"pt-user-{uuid.uuid4().hex[:8]}",
        "display_name": "Inês Carvalho",
        "password": PASSWORD,
        "email": "ines.carvalho@dgae.example.pt",
        "language": "pt",
        "roles": [{"name": "request_handler", "area": "professional_qualifications"}],
    }
    body.update(overrides)
    return body


async def add_user(
    directory: RunningDirectory,
    authority_id: uuid.UUID | str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> httpx.Response:
    return await directory.client.post(
        f"/v1/authorities/{authority_id}/users", json=body, headers=headers
    )


async def new_user(
    directory: RunningDirectory, authority_id: uuid.UUID | str = PT_NATIONAL, **overrides: Any
) -> dict[str, Any]:
    response = await add_user(
        directory, authority_id, user_body(**overrides), directory.headers("pt-coordinator")
    )
    assert response.status_code == 201, response.text
    return response.json()


def identity_of(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": uuid.UUID(user["id"]),
        "username": user["username"],
        "authority_id": uuid.UUID(user["authority_id"]),
        "country": user["country"],
        "roles": tuple(Role(**r) for r in user["roles"]),
    }


async def verify(directory: RunningDirectory, username: str, password: str) -> httpx.Response:
    return await directory.client.post(
        "/v1/credentials/verify",
        json={"username": username, "password": password},
        headers=directory.headers("gateway"),
    )


class TestRegisterUser:
    async def test_a_national_coordinator_registers_a_user_with_area_roles(
        self, directory: RunningDirectory
    ) -> None:
        user = await new_user(directory)
        assert user["authority_id"] == str(PT_NATIONAL)
        assert user["country"] == "pt"
        assert user["roles"] == [
            {"name": "request_handler", "area": "professional_qualifications", "region": None}
        ]
        assert user["active"] is True
        assert "password" not in user
        assert "password_hash" not in user
        event = await directory.event("directory.user.registered", user["id"])
        assert event.data["user"]["roles"][0]["area"] == "professional_qualifications"
        stored = await directory.scalar(
            "SELECT password_hash FROM users WHERE id = :id", id=uuid.UUID(user["id"])
        )
        assert stored.startswith("$argon2id$")

    async def test_a_local_data_administrator_registers_users_of_their_own_authority(
        self, directory: RunningDirectory
    ) -> None:
        admin = await new_user(directory, roles=[{"name": "local_data_administrator"}])
        headers = directory.as_identity(**identity_of(admin))
        response = await add_user(directory, PT_NATIONAL, user_body(), headers)
        assert response.status_code == 201, response.text

    async def test_a_local_data_administrator_cannot_grant_coordinator_roles(
        self, directory: RunningDirectory
    ) -> None:
        admin = await new_user(directory, roles=[{"name": "local_data_administrator"}])
        headers = directory.as_identity(**identity_of(admin))
        body = user_body(roles=[{"name": "alert_coordinator"}])
        response = await add_user(directory, PT_NATIONAL, body, headers)
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "body.roles[0]"
        assert (
            await directory.scalar(
                "SELECT count(*) FROM users WHERE username = :u", u=body["username"]
            )
            == 0
        )

    async def test_a_local_data_administrator_cannot_register_users_elsewhere(
        self, directory: RunningDirectory
    ) -> None:
        admin = await new_user(directory, roles=[{"name": "local_data_administrator"}])
        headers = directory.as_identity(**identity_of(admin))
        response = await add_user(directory, PT_COORDINATING, user_body(), headers)
        assert response.status_code == 404

    async def test_a_coordinator_of_another_country_cannot_register_users(
        self, directory: RunningDirectory
    ) -> None:
        response = await add_user(
            directory, PT_NATIONAL, user_body(), directory.headers("es-coordinator")
        )
        assert response.status_code == 404

    async def test_the_national_coordinator_role_belongs_to_the_coordinating_authority(
        self, directory: RunningDirectory
    ) -> None:
        body = user_body(roles=[{"name": "national_coordinator"}])
        refused = await add_user(directory, PT_NATIONAL, body, directory.headers("pt-coordinator"))
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "body.roles[0].name"
        accepted = await add_user(
            directory, PT_COORDINATING, body, directory.headers("pt-coordinator")
        )
        assert accepted.status_code == 201, accepted.text

    async def test_a_delegated_coordinator_gives_roles_only_in_their_area(
        self, directory: RunningDirectory
    ) -> None:
        headers = directory.as_identity(
            user_id=uuid.uuid4(),
            username="pt-delegated-pq-users",
            country="pt",
            roles=(Role(name="delegated_coordinator", area="professional_qualifications"),),
        )
        inside = await add_user(directory, PT_NATIONAL, user_body(), headers)
        assert inside.status_code == 201, inside.text
        every_area = user_body(roles=[{"name": "request_handler"}])
        outside = await add_user(directory, PT_NATIONAL, every_area, headers)
        assert outside.status_code == 403

    async def test_a_taken_user_name_is_a_conflict(self, directory: RunningDirectory) -> None:
        user = await new_user(directory)
        response = await add_user(
            directory,
            PT_NATIONAL,
            user_body(username=user["username"].upper()),
            directory.headers("pt-coordinator"),
        )
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "body.username"

    async def test_bad_user_input_names_the_field(self, directory: RunningDirectory) -> None:
        cases = [
            ({"email": "not-an-address"}, "body.email"),
            ({"language": "xx"}, "body.language"),
            ({"username": "A B"}, "body.username"),
            ({"password": "short"}, "body.password"),
            ({"display_name": " "}, "body.display_name"),
            ({"roles": [{"name": "emperor"}]}, "body.roles[0].name"),
            ({"roles": [{"name": "gateway"}]}, "body.roles[0].name"),
            ({"roles": [{"name": "request_handler", "area": "space"}]}, "body.roles[0].area"),
        ]
        before = await directory.scalar("SELECT count(*) FROM users")
        for overrides, field in cases:
            response = await add_user(
                directory, PT_NATIONAL, user_body(**overrides), directory.headers("pt-coordinator")
            )
            assert response.status_code == 422, (overrides, response.text)
            assert response.json()["errors"][0]["field"] == field
        assert await directory.scalar("SELECT count(*) FROM users") == before


class TestReadUsers:
    async def test_colleagues_see_each_other_and_others_get_404(
        self, directory: RunningDirectory
    ) -> None:
        user = await new_user(directory)
        colleagues = await directory.client.get(
            f"/v1/authorities/{PT_NATIONAL}/users", headers=directory.headers("pt-officer")
        )
        assert colleagues.status_code == 200
        assert user["username"] in [u["username"] for u in colleagues.json()["items"]]
        stranger = await directory.client.get(
            f"/v1/users/{user['id']}", headers=directory.headers("fi-officer")
        )
        assert stranger.status_code == 404

    async def test_users_are_listed_a_page_at_a_time(self, directory: RunningDirectory) -> None:
        for _ in range(3):
            await new_user(directory)
        first = await directory.client.get(
            f"/v1/authorities/{PT_NATIONAL}/users?limit=2", headers=directory.headers("pt-officer")
        )
        page = first.json()
        assert len(page["items"]) == 2
        second = await directory.client.get(
            f"/v1/authorities/{PT_NATIONAL}/users",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=directory.headers("pt-officer"),
        )
        names = [u["username"] for u in page["items"] + second.json()["items"]]
        assert names == sorted(names)
        assert len(set(names)) == 4


class TestUpdateUser:
    async def test_a_user_changes_their_own_name_and_password_with_the_old_one(
        self, directory: RunningDirectory
    ) -> None:
        user = await new_user(directory)
        me = directory.as_identity(**identity_of(user))
        wrong = await directory.client.patch(
            f"/v1/users/{user['id']}",
            json={"password": "a brand new secret", "old_password": "guess"},
            headers={**me, "If-Match": '"1"'},
        )
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "body.old_password"
        response = await directory.client.patch(
            f"/v1/users/{user['id']}",
            json={
                "display_name": "Inês M. Carvalho",
                "password": "a brand new secret",
                "old_password": PASSWORD,
            },
            headers={**me, "If-Match": '"1"'},
        )
        assert response.status_code == 200, response.text
        assert response.json()["display_name"] == "Inês M. Carvalho"
        assert (await verify(directory, user["username"], "a brand new secret")).status_code == 200
        assert (await verify(directory, user["username"], PASSWORD)).status_code == 401
        history = await directory.client.get(f"/v1/users/{user['id']}/history", headers=me)
        changes = history.json()["items"][-1]["changes"]
        assert changes["display_name"]["after"] == "Inês M. Carvalho"
        assert changes["password"] == {"before": "(hidden)", "after": "(changed)"}

    async def test_a_user_cannot_give_themselves_roles(self, directory: RunningDirectory) -> None:
        user = await new_user(directory)
        me = directory.as_identity(**identity_of(user))
        response = await directory.client.patch(
            f"/v1/users/{user['id']}",
            json={"roles": [{"name": "supervisor"}]},
            headers={**me, "If-Match": '"1"'},
        )
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "body.roles"

    async def test_a_coordinator_changes_roles_and_the_event_carries_them(
        self, directory: RunningDirectory
    ) -> None:
        user = await new_user(directory)
        response = await directory.client.patch(
            f"/v1/users/{user['id']}",
            json={"roles": [{"name": "supervisor"}, {"name": "alert_handler", "area": "services"}]},
            headers={**directory.headers("pt-coordinator"), "If-Match": '"1"'},
        )
        assert response.status_code == 200, response.text
        event = await directory.event("directory.user.updated", user["id"])
        assert event.data["changed_fields"] == ["roles"]
        assert [r["name"] for r in event.data["user"]["roles"]] == ["supervisor", "alert_handler"]

    async def test_a_stale_version_is_412(self, directory: RunningDirectory) -> None:
        user = await new_user(directory)
        response = await directory.client.patch(
            f"/v1/users/{user['id']}",
            json={"display_name": "X"},
            headers={**directory.headers("pt-coordinator"), "If-Match": '"7"'},
        )
        assert response.status_code == 412


class TestDeactivateUser:
    async def test_a_deactivated_user_cannot_sign_in(self, directory: RunningDirectory) -> None:
        user = await new_user(directory)
        assert (await verify(directory, user["username"], PASSWORD)).status_code == 200
        response = await directory.client.post(
            f"/v1/users/{user['id']}/deactivate",
            headers={**directory.headers("pt-coordinator"), "If-Match": '"1"'},
        )
        assert response.status_code == 200
        assert response.json()["active"] is False
        await directory.event("directory.user.deactivated", user["id"])
        assert (await verify(directory, user["username"], PASSWORD)).status_code == 401

    async def test_a_local_data_administrator_cannot_deactivate_a_coordinator(
        self, directory: RunningDirectory
    ) -> None:
        coordinator = await new_user(
            directory, PT_COORDINATING, roles=[{"name": "national_coordinator"}]
        )
        admin = await new_user(
            directory, PT_COORDINATING, roles=[{"name": "local_data_administrator"}]
        )
        response = await directory.client.post(
            f"/v1/users/{coordinator['id']}/deactivate",
            headers={**directory.as_identity(**identity_of(admin)), "If-Match": '"1"'},
        )
        assert response.status_code == 403


class TestVerifyCredentials:
    async def test_the_gateway_gets_the_user_and_authority_of_a_demo_sign_in(
        self, directory: RunningDirectory
    ) -> None:
        response = await verify(directory, "de-officer", DEMO_PASSWORD)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"]["username"] == "de-officer"
        assert {r["name"] for r in body["user"]["roles"]} >= {"request_handler", "alert_handler"}
        assert body["authority"]["country"] == "de"
        assert body["authority"]["status"] == "active"

    async def test_a_wrong_password_and_an_unknown_user_are_both_401(
        self, directory: RunningDirectory
    ) -> None:
        wrong = await verify(directory, "de-officer", "not the password")
        unknown = await verify(directory, "nobody-at-all", DEMO_PASSWORD)
        assert wrong.status_code == unknown.status_code == 401
        assert (
            wrong.json()["type"] == unknown.json()["type"] == "urn:imi:problem:invalid-credentials"
        )

    async def test_only_the_gateway_may_verify_credentials(
        self, directory: RunningDirectory
    ) -> None:
        response = await directory.client.post(
            "/v1/credentials/verify",
            json={"username": "de-officer", "password": DEMO_PASSWORD},
            headers=directory.headers("de-coordinator"),
        )
        assert response.status_code == 404

    async def test_users_of_a_deactivated_authority_cannot_sign_in(
        self, directory: RunningDirectory
    ) -> None:
        created = await directory.client.post(
            "/v1/authorities", json=authority_body(), headers=directory.headers("pt-coordinator")
        )
        authority = created.json()
        user = await new_user(directory, authority["id"])
        assert (await verify(directory, user["username"], PASSWORD)).status_code == 200
        deactivated = await directory.client.post(
            f"/v1/authorities/{authority['id']}/deactivate",
            headers={**directory.headers("pt-coordinator"), "If-Match": '"1"'},
        )
        assert deactivated.status_code == 200
        assert (await verify(directory, user["username"], PASSWORD)).status_code == 401
