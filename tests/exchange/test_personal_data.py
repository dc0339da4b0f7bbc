"""The data subject's part: apart from the request, read only with a purpose, every read
recorded (who, when, which record, why), the log shown to the data protection administrator and
the requesting authority's supervisor."""

from __future__ import annotations

from datetime import datetime

from tests.exchange.conftest import RunningExchange


async def read(
    exchange: RunningExchange, request_id: str, user: str, purpose: str | None
) -> object:
    params = {"purpose": purpose} if purpose is not None else {}
    return await exchange.client.get(
        f"/v1/requests/{request_id}/personal-data", params=params, headers=exchange.headers(user)
    )


class TestReadPersonalData:
    async def test_the_responder_reads_it_with_a_purpose_and_the_read_is_recorded(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        response = await read(exchange, sent["id"], "de_officer", "verify the diploma holder")
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["data_subject"] == {
            "given_names": "Maria Helena",
            "family_name": "Sousa",
            "date_of_birth": "1986-04-12",
            "nationality": ["pt"],
            "identification_numbers": [{"type": "national_id", "value": "12345678"}],
        }
        assert body["blocked"] is False
        assert body["purpose"] == "verify the diploma holder"
        assert {a["question"] for a in body["answers"]} == {
            "pq_sanctions_imposed",
            "pq_sanctions_details",
            "pq_registration_proof",
        }
        rows = await exchange.sql(
            "SELECT user_id, username, authority_id, record, purpose, at FROM personal_data_access"
            " WHERE request_id = :id",
            id=sent["id"],
        )
        [(user_id, username, authority_id, record, purpose, at)] = rows
        officer = exchange.network["de_officer"]
        assert (user_id, username, authority_id) == (officer.id, "de_officer", officer.authority.id)
        assert (record, purpose) == ("data_subject", "verify the diploma holder")
        assert at == exchange.clock.now

    async def test_without_a_purpose_nothing_is_read_or_recorded(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        for purpose in (None, "   "):
            response = await read(exchange, sent["id"], "de_officer", purpose)
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] == "query.purpose"
            assert "Sousa" not in response.text
        rows = await exchange.sql(
            "SELECT count(*) FROM personal_data_access WHERE request_id = :id", id=sent["id"]
        )
        assert rows[0][0] == 0

    async def test_a_draft_without_data_subject_has_an_empty_part(
        self, exchange: RunningExchange
    ) -> None:
        created = await exchange.create(data_subject=None)
        assert created["personal_data"]["present"] is False
        response = await read(exchange, created["id"], "pt_officer", "check")
        assert response.json()["data_subject"] is None

    async def test_the_requester_replaces_or_removes_the_part_while_drafting(
        self, exchange: RunningExchange
    ) -> None:
        created = await exchange.create()
        url = f"/v1/requests/{created['id']}"
        replaced = await exchange.client.patch(
            url,
            json={"data_subject": {"family_name": "Sousa Lima", "address": {"city": "Porto"}}},
            headers=exchange.headers("pt_officer", 1),
        )
        assert replaced.json()["personal_data"]["fields"] == ["address", "family_name"]
        removed = await exchange.client.patch(
            url, json={"data_subject": None}, headers=exchange.headers("pt_officer", 2)
        )
        assert removed.json()["personal_data"]["present"] is False
        assert (await read(exchange, created["id"], "pt_officer", "check")).json()[
            "data_subject"
        ] is None


class TestAccessLog:
    async def test_the_supervisor_and_the_administrator_read_it_page_by_page(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        for purpose in ("first look", "second look", "third look"):
            exchange.clock.advance(seconds=1)
            await read(exchange, sent["id"], "de_officer", purpose)
        url = f"/v1/requests/{sent['id']}/access-log"
        first = await exchange.client.get(
            url, params={"limit": 2}, headers=exchange.headers("pt_supervisor")
        )
        assert first.status_code == 200, first.text
        page = first.json()
        assert [e["purpose"] for e in page["items"]] == ["first look", "second look"]
        assert datetime.fromisoformat(page["items"][0]["at"]) < datetime.fromisoformat(
            page["items"][1]["at"]
        )
        rest = await exchange.client.get(
            url,
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=exchange.headers("pt_dpa"),
        )
        assert [e["purpose"] for e in rest.json()["items"]] == ["third look"]
        assert rest.json()["next_cursor"] is None

    async def test_others_who_see_the_request_may_not_read_the_log(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        url = f"/v1/requests/{sent['id']}/access-log"
        for user, status in (("pt_officer", 403), ("de_officer", 403), ("fr_officer", 404)):
            response = await exchange.client.get(url, headers=exchange.headers(user))
            assert response.status_code == status, (user, response.text)
