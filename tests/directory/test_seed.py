"""The demo network (deterministic, a second run is a no-op, events for each) and the generator
of realistic networks."""

from __future__ import annotations

from services.directory.geography import EEA_COUNTRIES
from services.directory.seed import demo_id, generate, seed_demo
from tests.directory.conftest import DEMO_PASSWORD, RunningDirectory


class TestDemoNetwork:
    async def test_every_country_has_its_coordinator_and_officer_at_active_authorities(
        self, directory: RunningDirectory
    ) -> None:
        rows = await directory.rows(
            "SELECT u.username, a.country, a.status, a.coordinating, u.roles"
            " FROM users u JOIN authorities a ON a.id = u.authority_id"
        )
        by_name = {r.username: r for r in rows}
        for country in EEA_COUNTRIES:
            coordinator = by_name[f"{country}-coordinator"]
            assert coordinator.coordinating is True
            assert {r["name"] for r in coordinator.roles} == {
                "national_coordinator",
                "alert_coordinator",
            }
            officer = by_name[f"{country}-officer"]
            assert officer.country == country
            assert officer.status == "active"
            assert all(r["area"] is None for r in officer.roles)
        assert by_name["commission"].country == "eu"

    async def test_the_national_authority_is_competent_for_every_procedure_of_the_catalogue(
        self, directory: RunningDirectory
    ) -> None:
        procedures = await directory.scalar(
            "SELECT procedures FROM authority_search WHERE authority_id = :id",
            id=demo_id("authority", "pt:national"),
        )
        assert set(procedures) >= {
            "pq_establishment",
            "pq_temporary_services",
            "pq_alert",
            "svc_provider_information",
            "svc_alert",
            "svc_notification",
            "pw_information_request",
            "pw_cross_border_enforcement",
        }

    async def test_regional_and_local_bodies_sit_in_iso_regions(
        self, directory: RunningDirectory
    ) -> None:
        rows = await directory.rows(
            "SELECT country, level, region FROM authorities WHERE level <> 'national'"
        )
        assert {r.level for r in rows} == {"regional", "local"}
        assert all(r.region.split("-")[0].lower() == r.country for r in rows)
        assert len({r.country for r in rows}) == 30

    async def test_a_second_run_changes_nothing(self, directory: RunningDirectory) -> None:
        authorities = await directory.scalar("SELECT count(*) FROM authorities")
        outbox = await directory.scalar("SELECT count(*) FROM outbox")
        message = await seed_demo(directory.settings, DEMO_PASSWORD, if_empty=False)
        assert "0 authorities, 0 users" in message
        skipped = await seed_demo(directory.settings, DEMO_PASSWORD, if_empty=True)
        assert "not seeded" in skipped
        assert await directory.scalar("SELECT count(*) FROM authorities") == authorities
        assert await directory.scalar("SELECT count(*) FROM outbox") == outbox

    async def test_each_demo_authority_and_user_was_announced(
        self, directory: RunningDirectory
    ) -> None:
        await directory.event(
            "directory.authority.registered", str(demo_id("authority", "eu:commission"))
        )
        event = await directory.event(
            "directory.user.registered", str(demo_id("user", "commission"))
        )
        assert event.data["user"]["roles"] == [{"name": "commission", "area": None, "region": None}]


class TestGeneratedNetwork:
    async def test_the_generator_spreads_bodies_over_countries_levels_and_competences(
        self, directory: RunningDirectory
    ) -> None:
        before = await directory.scalar("SELECT count(*) FROM authorities")
        users_before = await directory.scalar("SELECT count(*) FROM users")
        await generate(directory.settings, 600, 200, "generated password", random_seed=7)
        assert await directory.scalar("SELECT count(*) FROM authorities") == before + 600
        assert await directory.scalar("SELECT count(*) FROM users") == users_before + 200
        generated = await directory.rows(
            "SELECT a.country, a.level, a.informal_titles, s.areas, s.keywords"
            " FROM authorities a JOIN authority_search s ON s.authority_id = a.id"
            " WHERE a.official_name ~ ' [0-9]+$'"
        )
        assert len(generated) == 600
        assert len({r.country for r in generated}) >= 25
        levels = [r.level for r in generated]
        assert levels.count("local") > levels.count("regional") > levels.count("national") > 0
        assert {a for r in generated for a in r.areas} == {
            "professional_qualifications",
            "services",
            "posting_of_workers",
        }
        assert all(
            "en" in r.informal_titles and 2 <= len(r.informal_titles) <= 4 for r in generated
        )

    async def test_generated_users_sign_in_with_the_shared_password(
        self, directory: RunningDirectory
    ) -> None:
        username = await directory.scalar(
            "SELECT username FROM users WHERE username LIKE '%-user-%' LIMIT 1"
        )
        response = await directory.client.post(
            "/v1/credentials/verify",
            json={"username": username, "password": "generated password"},
            headers=directory.headers("gateway"),
        )
        assert response.status_code == 200, response.text
