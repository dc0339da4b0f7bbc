"""The internal HTTP API against real PostgreSQL and RabbitMQ: drafts, every transition, the
rules of who may act and see, concurrency, bad input and the events published."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from services.exchange.schemas import RequestOut
from tests.exchange.conftest import RunningExchange, today_plus

PERSONAL_VALUES = ("Maria Helena", "Sousa", "1986-04-12", "12345678")


async def count_requests(exchange: RunningExchange) -> int:
    rows = await exchange.sql("SELECT count(*) FROM requests")
    return int(rows[0][0])


def problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


class TestCreateDraft:
    async def test_a_draft_has_an_etag_a_location_and_content_in_the_render_shape(
        self, exchange: RunningExchange
    ) -> None:
        response = await exchange.client.post(
            "/v1/requests", json=exchange.draft_body(), headers=exchange.headers("pt_officer")
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/v1/requests/{body['id']}"
        RequestOut.model_validate(body)
        assert body["state"] == "draft"
        assert body["allowed_actions"] == ["send", "withdraw"]
        assert body["can_edit"] is True
        content = body["content"]
        assert content["procedure"] == "pq_establishment"
        assert content["catalogue_version"] == exchange.catalogue_version
        assert content["items"][0] == {"question": "pq_diploma_authentic", "answer": None}
        assert content["free_texts"] == [
            {
                "id": "t1",
                "text": "Pedimos a confirmação do diploma de professora da requerente.",
                "language": "pt",
            }
        ]
        assert body["personal_data"]["present"] is True
        assert body["personal_data"]["fields"] == [
            "date_of_birth",
            "family_name",
            "given_names",
            "identification_numbers",
            "nationality",
        ]
        assert "pq_sanctions_imposed" in body["personal_data"]["personal_questions"]
        assert not any(value in response.text for value in PERSONAL_VALUES)
        assert body["history"][0]["action"] == "created"
        assert body["language"] == "pt"

    async def test_the_reader_language_names_the_procedure(self, exchange: RunningExchange) -> None:
        created = await exchange.create()
        german = await exchange.get("pt_officer", created["id"], **{"Accept-Language": "de"})
        portuguese = await exchange.get("pt_officer", created["id"])
        assert german.json()["language"] == "de"
        assert portuguese.json()["language"] == "pt"
        assert german.json()["area_name"] != portuguese.json()["area_name"]

    async def test_the_same_idempotency_key_gives_the_same_draft_and_no_second_one(
        self, exchange: RunningExchange
    ) -> None:
        headers = exchange.headers("pt_officer", **{"Idempotency-Key": str(uuid.uuid4())})
        body = exchange.draft_body()
        before = await count_requests(exchange)
        first, second = await asyncio.gather(
            exchange.client.post("/v1/requests", json=body, headers=headers),
            exchange.client.post("/v1/requests", json=body, headers=headers),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 201]
        assert first.json()["id"] == second.json()["id"]
        assert await count_requests(exchange) == before + 1
        third = await exchange.client.post("/v1/requests", json=body, headers=headers)
        assert third.json()["id"] == first.json()["id"]

    async def test_an_idempotency_key_with_another_body_is_refused(
        self, exchange: RunningExchange
    ) -> None:
        headers = exchange.headers("pt_officer", **{"Idempotency-Key": "draft-4711"})
        await exchange.client.post("/v1/requests", json=exchange.draft_body(), headers=headers)
        other = exchange.draft_body(requested_reply_date=today_plus(exchange.clock, 30))
        response = await exchange.client.post("/v1/requests", json=other, headers=headers)
        problem(response, 422, "headers.idempotency-key")

    async def test_the_same_key_of_another_caller_is_another_draft(
        self, exchange: RunningExchange
    ) -> None:
        body = exchange.draft_body()
        first = await exchange.client.post(
            "/v1/requests",
            json=body,
            headers=exchange.headers("pt_officer", **{"Idempotency-Key": "k1"}),
        )
        second = await exchange.client.post(
            "/v1/requests",
            json=body,
            headers={
                "Authorization": f"Bearer {exchange.token('pt_officer', user_id=uuid.uuid4())}",
                "Idempotency-Key": "k1",
            },
        )
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] != second.json()["id"]

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"responding_authority_id": str(uuid.uuid4())}, "body.responding_authority_id"),
            ({"procedure": "pq_unknown"}, "body.procedure"),
            ({"procedure": "pq_alert"}, "body.procedure"),
            ({"catalogue_version": "no-such-version"}, "body.catalogue_version"),
            (
                {"items": [{"question": "pq_diploma_authentic"}, {"question": "svc_registered"}]},
                "body.items[1]",
            ),
            (
                {"items": [{"question": "pq_diploma_authentic", "answer": {"option": "yes"}}]},
                "body.items.0.answer",
            ),
            ({"items": []}, "body.items"),
            ({"requested_reply_date": "2001-01-01"}, "body.requested_reply_date"),
            (
                {"free_texts": [{"text": "Hallo", "language": "klingon"}]},
                "body.free_texts[0].language",
            ),
            (
                {"data_subject": {"given_names": "A", "shoe_size": 42}},
                "body.data_subject.shoe_size",
            ),
        ],
    )
    async def test_bad_input_names_the_field_and_stores_nothing(
        self, exchange: RunningExchange, override: dict[str, Any], field: str
    ) -> None:
        before = await count_requests(exchange)
        response = await exchange.client.post(
            "/v1/requests",
            json=exchange.draft_body(**override),
            headers=exchange.headers("pt_officer"),
        )
        problem(response, 422, field)
        assert await count_requests(exchange) == before

    @pytest.mark.parametrize("target", ["de_deactivated", "de_services_only", "pt_coordination"])
    async def test_the_responding_authority_must_be_active_competent_and_abroad(
        self, exchange: RunningExchange, target: str
    ) -> None:
        authority = getattr(exchange.network, target)
        response = await exchange.client.post(
            "/v1/requests",
            json=exchange.draft_body(responding_authority_id=str(authority.id)),
            headers=exchange.headers("pt_officer"),
        )
        problem(response, 422, "body.responding_authority_id")

    async def test_a_user_without_the_handler_role_for_the_area_may_not_draft(
        self, exchange: RunningExchange
    ) -> None:
        response = await exchange.client.post(
            "/v1/requests", json=exchange.draft_body(), headers=exchange.headers("pt_supervisor")
        )
        problem(response, 403)

    async def test_without_identity_token_is_401(self, exchange: RunningExchange) -> None:
        response = await exchange.client.post("/v1/requests", json=exchange.draft_body())
        problem(response, 401)


class TestEditDraft:
    async def test_a_draft_is_edited_under_its_version(self, exchange: RunningExchange) -> None:
        created = await exchange.create()
        response = await exchange.client.patch(
            f"/v1/requests/{created['id']}",
            json={
                "responding_authority_id": str(exchange.network.de_bavaria.id),
                "items": [{"question": "pq_good_repute_confirmed"}],
                "data_subject": {"given_names": "Maria", "family_name": "Sousa Lima"},
            },
            headers=exchange.headers("pt_officer", version=1),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert response.headers["etag"] == '"2"'
        assert body["responding_authority"]["id"] == str(exchange.network.de_bavaria.id)
        assert [i["question"] for i in body["content"]["items"]] == ["pq_good_repute_confirmed"]
        assert body["personal_data"]["fields"] == ["family_name", "given_names"]
        assert body["history"][-1]["action"] == "edited"
        assert set(body["history"][-1]["details"]["fields"]) == {
            "items",
            "responding_authority_id",
            "data_subject",
        }

    async def test_without_if_match_is_428_and_with_an_old_version_412(
        self, exchange: RunningExchange
    ) -> None:
        created = await exchange.create()
        url = f"/v1/requests/{created['id']}"
        missing = await exchange.client.patch(
            url, json={"free_texts": []}, headers=exchange.headers("pt_officer")
        )
        problem(missing, 428, "headers.if-match")
        await exchange.client.patch(
            url, json={"free_texts": []}, headers=exchange.headers("pt_officer", 1)
        )
        stale = await exchange.client.patch(
            url, json={"free_texts": []}, headers=exchange.headers("pt_officer", 1)
        )
        body = problem(stale, 412)
        assert body["current_version"] == 2

    async def test_a_sent_request_is_no_draft_any_more(self, exchange: RunningExchange) -> None:
        sent = await exchange.sent()
        response = await exchange.client.patch(
            f"/v1/requests/{sent['id']}",
            json={"free_texts": []},
            headers=exchange.headers("pt_officer", sent["version"]),
        )
        body = problem(response, 409)
        assert body["allowed_actions"] == ["propose-date", "withdraw"]


class TestSend:
    async def test_sending_publishes_who_may_see_it_and_no_personal_data(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        assert sent["state"] == "sent"
        assert sent["version"] == 2
        assert sent["reply_date"]["reply_by"] == sent["reply_date"]["requested"]
        assert sent["reply_date"]["pending_proposal"]["proposed_by"] == "requester"
        [event] = await exchange.tap.wait_for("exchange.request.sent", request_id=sent["id"])
        data = event.data
        network = exchange.network
        assert data["state"] == "sent"
        assert data["version"] == 2
        assert data["requesting_authority_id"] == str(network.pt.id)
        assert data["responding_country"] == "de"
        assert set(data["visible_authority_ids"]) == {str(network.pt.id), str(network.de.id)}
        assert data["acting_user_id"] == str(network["pt_officer"].id)
        assert data["reply_by"] == sent["reply_date"]["reply_by"]
        assert data["question_keys"][0] == "pq_diploma_authentic"
        assert not any(value in json.dumps(data) for value in PERSONAL_VALUES)
        [translation] = await exchange.tap.wait_for(
            "translation.requested", reference=f"exchange:request:{sent['id']}:text:t1"
        )
        assert translation.data["target_languages"] == ["de"]
        assert translation.data["source_language"] == "pt"
        assert translation.data["requester"] == "exchange"

    async def test_the_responder_reads_it_now_in_its_own_language(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        response = await exchange.get("de_officer", sent["id"])
        assert response.status_code == 200
        body = response.json()
        assert body["language"] == "de"
        assert body["allowed_actions"] == ["accept", "reject", "forward", "split", "propose-date"]
        assert body["responding_authority"]["title"] == "de (de)"

    async def test_send_needs_if_match_and_the_current_version(
        self, exchange: RunningExchange
    ) -> None:
        created = await exchange.create()
        url = f"/v1/requests/{created['id']}/send"
        problem(await exchange.client.post(url, headers=exchange.headers("pt_officer")), 428)
        problem(await exchange.client.post(url, headers=exchange.headers("pt_officer", 7)), 412)

    async def test_a_draft_does_not_exist_for_the_responder(
        self, exchange: RunningExchange
    ) -> None:
        created = await exchange.create()
        response = await exchange.client.post(
            f"/v1/requests/{created['id']}/send", headers=exchange.headers("de_officer", 1)
        )
        problem(response, 404)


class TestAccept:
    async def test_the_responder_accepts(self, exchange: RunningExchange) -> None:
        accepted = await exchange.accepted()
        assert accepted["state"] == "accepted"
        assert accepted["accepted_at"] is not None
        assert "answer" in accepted["allowed_actions"]
        await exchange.tap.wait_for("exchange.request.accepted", request_id=accepted["id"])

    async def test_the_requester_cannot_accept_its_own_request(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        body = await exchange.act("pt_officer", sent, "accept", expect=403)
        assert body["allowed_actions"] == ["propose-date", "withdraw"]

    async def test_a_handler_of_another_area_cannot_accept(self, exchange: RunningExchange) -> None:
        sent = await exchange.sent()
        await exchange.act("de_services_handler", sent, "accept", expect=404)

    async def test_accepting_twice_is_409_listing_what_is_possible(
        self, exchange: RunningExchange
    ) -> None:
        accepted = await exchange.accepted()
        body = await exchange.act("de_officer", accepted, "accept", expect=409)
        assert body["allowed_actions"] == ["forward", "split", "propose-date", "answer"]
        assert body["state"] == "accepted"


class TestReject:
    async def test_a_rejection_gives_its_reason_and_closes_the_request(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        rejected = await exchange.act(
            "de_officer", sent, "reject", {"reason": "Nicht zuständig für Lehrkräfte."}
        )
        assert rejected["state"] == "rejected"
        assert rejected["formal_closure_at"] is not None
        assert rejected["allowed_actions"] == []
        [event] = await exchange.tap.wait_for("exchange.request.rejected", request_id=sent["id"])
        assert event.data["reason"] == "Nicht zuständig für Lehrkräfte."

    async def test_a_rejection_without_reason_is_422(self, exchange: RunningExchange) -> None:
        sent = await exchange.sent()
        response = await exchange.client.post(
            f"/v1/requests/{sent['id']}/reject", json={}, headers=exchange.headers("de_officer", 2)
        )
        problem(response, 422, "body.reason")


class TestForward:
    async def test_forwarded_within_the_country_after_acceptance(
        self, exchange: RunningExchange
    ) -> None:
        accepted = await exchange.accepted()
        network = exchange.network
        forwarded = await exchange.act(
            "de_officer",
            accepted,
            "forward",
            {"authority_id": str(network.de_bavaria.id), "reason": "Bayern ist zuständig"},
        )
        assert forwarded["state"] == "sent"
        assert forwarded["responding_authority"]["id"] == str(network.de_bavaria.id)
        assert forwarded["allowed_actions"] == []  # Berlin sees it still, but acts no more
        bavaria = await exchange.get("de_bavaria_officer", forwarded["id"])
        assert bavaria.json()["allowed_actions"][0] == "accept"
        [event] = await exchange.tap.wait_for(
            "exchange.request.forwarded", request_id=accepted["id"]
        )
        assert event.data["from_authority_id"] == str(network.de.id)
        assert event.data["to_authority_id"] == str(network.de_bavaria.id)
        assert set(event.data["visible_authority_ids"]) == {
            str(network.pt.id),
            str(network.de.id),
            str(network.de_bavaria.id),
        }

    @pytest.mark.parametrize("target", ["fr", "de_deactivated", "de_services_only", "de"])
    async def test_the_target_must_be_another_competent_active_authority_of_the_country(
        self, exchange: RunningExchange, target: str
    ) -> None:
        sent = await exchange.sent()
        response = await exchange.client.post(
            f"/v1/requests/{sent['id']}/forward",
            json={"authority_id": str(getattr(exchange.network, target).id)},
            headers=exchange.headers("de_officer", sent["version"]),
        )
        problem(response, 422, "body.authority_id")


class TestSplit:
    async def test_questions_move_to_a_new_request_with_the_data_subject(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        network = exchange.network
        split = await exchange.act(
            "de_officer",
            sent,
            "split",
            {
                "authority_id": str(network.de_bavaria.id),
                "questions": ["pq_sanctions_imposed", "pq_sanctions_details"],
            },
        )
        assert "pq_sanctions_imposed" not in [i["question"] for i in split["content"]["items"]]
        [new_id] = split["splits"]
        new = await exchange.get("de_bavaria_officer", new_id)
        assert new.status_code == 200
        body = new.json()
        assert body["state"] == "sent"
        assert body["split_from"] == sent["id"]
        assert [i["question"] for i in body["content"]["items"]] == [
            "pq_sanctions_imposed",
            "pq_sanctions_details",
        ]
        assert body["content"]["free_texts"] == sent["content"]["free_texts"]
        assert body["personal_data"]["present"] is True
        assert (await exchange.get("de_bavaria_officer", sent["id"])).status_code == 404
        assert (await exchange.get("de_officer", new_id)).status_code == 200
        subject = await exchange.client.get(
            f"/v1/requests/{new_id}/personal-data",
            params={"purpose": "verify the sanctions record"},
            headers=exchange.headers("de_bavaria_officer"),
        )
        assert subject.json()["data_subject"]["family_name"] == "Sousa"
        await exchange.tap.wait_for("exchange.request.split", request_id=sent["id"])
        [event] = await exchange.tap.wait_for("exchange.request.sent", request_id=new_id)
        assert event.data["split_from"] == sent["id"]

    async def test_all_questions_cannot_move(self, exchange: RunningExchange) -> None:
        sent = await exchange.sent()
        keys = [i["question"] for i in sent["content"]["items"]]
        body = await exchange.act(
            "de_officer",
            sent,
            "split",
            {"authority_id": str(exchange.network.de_bavaria.id), "questions": keys},
            expect=422,
        )
        assert body["errors"][0]["field"] == "body.questions"

    async def test_a_question_not_in_the_request_is_named(self, exchange: RunningExchange) -> None:
        sent = await exchange.sent()
        body = await exchange.act(
            "de_officer",
            sent,
            "split",
            {
                "authority_id": str(exchange.network.de_bavaria.id),
                "questions": ["pq_training_level"],
            },
            expect=422,
        )
        assert body["errors"][0]["field"] == "body.questions[0]"


class TestAllocate:
    async def test_the_allocator_gives_the_request_to_a_handler_who_then_sees_it(
        self, exchange: RunningExchange
    ) -> None:
        accepted = await exchange.accepted()
        handler = exchange.network["de_pq_handler"]
        allocated = await exchange.act(
            "de_allocator", accepted, "allocate", {"handler_user_id": str(handler.id)}
        )
        assert allocated["state"] == "allocated"
        assert allocated["handler_user_id"] == str(handler.id)
        assert {"user_id": str(handler.id), "role": "handler"}.items() <= next(
            p for p in allocated["participants"] if p["role"] == "handler"
        ).items()
        [event] = await exchange.tap.wait_for(
            "exchange.request.allocated", request_id=accepted["id"]
        )
        assert event.data["handler_user_id"] == str(handler.id)
        assert str(handler.id) in event.data["participant_user_ids"]

    @pytest.mark.parametrize("user", ["de_services_handler", "de_bavaria_officer", "de_allocator"])
    async def test_only_a_handler_of_the_area_in_the_responding_authority(
        self, exchange: RunningExchange, user: str
    ) -> None:
        accepted = await exchange.accepted()
        body = await exchange.act(
            "de_allocator",
            accepted,
            "allocate",
            {"handler_user_id": str(exchange.network[user].id)},
            expect=422,
        )
        assert body["errors"][0]["field"] == "body.handler_user_id"

    async def test_a_handler_is_no_allocator(self, exchange: RunningExchange) -> None:
        accepted = await exchange.accepted()
        await exchange.act(
            "de_officer",
            accepted,
            "allocate",
            {"handler_user_id": str(exchange.network["de_pq_handler"].id)},
            expect=403,
        )


class TestProposeDate:
    async def test_the_responder_counter_proposes_and_the_requester_accepts(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        later = today_plus(exchange.clock, 45)
        countered = await exchange.act("de_officer", sent, "propose-date", {"date": later})
        assert countered["reply_date"]["pending_proposal"]["proposed_by"] == "responder"
        assert countered["reply_date"]["reply_by"] == sent["reply_date"]["reply_by"]
        agreed = await exchange.act("pt_officer", countered, "propose-date", {"accept": True})
        assert agreed["reply_date"] == {
            "requested": sent["reply_date"]["requested"],
            "reply_by": later,
            "agreed": True,
            "pending_proposal": None,
        }
        [event] = await exchange.tap.wait_for("exchange.request.date_agreed", request_id=sent["id"])
        assert event.data["agreed_date"] == later
        assert event.data["proposed_by"] == "responder"

    async def test_the_responder_accepts_the_requested_date(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        agreed = await exchange.act("de_officer", sent, "propose-date", {"accept": True})
        assert agreed["reply_date"]["agreed"] is True

    async def test_one_cannot_accept_ones_own_proposal(self, exchange: RunningExchange) -> None:
        sent = await exchange.sent()
        await exchange.act("pt_officer", sent, "propose-date", {"accept": True}, expect=409)

    async def test_a_date_in_the_past_is_refused(self, exchange: RunningExchange) -> None:
        sent = await exchange.sent()
        body = await exchange.act(
            "de_officer", sent, "propose-date", {"date": today_plus(exchange.clock, -1)}, expect=422
        )
        assert body["errors"][0]["field"] == "body.date"


class TestAnswer:
    async def test_answers_fill_the_asked_questions_personal_ones_apart(
        self, exchange: RunningExchange
    ) -> None:
        accepted = await exchange.accepted()
        answered = await exchange.act(
            "de_officer",
            accepted,
            "answer",
            {
                "answers": [
                    {"question": "pq_diploma_authentic", "answer": {"option": "yes"}},
                    {"question": "pq_diploma_issuing_body", "answer": {"option": "university"}},
                    {"question": "pq_diploma_award_date", "answer": {"date": "2011-07-15"}},
                    {"question": "pq_sanctions_imposed", "answer": {"option": "no"}},
                    {
                        "question": "pq_sanctions_details",
                        "answer": {"text": "Keine Sanktionen bekannt."},
                    },
                ],
                "free_texts": [{"text": "Das Diplom ist echt."}],
            },
        )
        assert answered["state"] == "answered"
        items = {i["question"]: i["answer"] for i in answered["content"]["items"]}
        assert items["pq_diploma_issuing_body"] == {"option": "university"}
        assert items["pq_diploma_award_date"] == {"date": "2011-07-15"}
        assert items["pq_sanctions_imposed"] is None  # personal data: read through personal-data
        assert items["pq_sanctions_details"] is None
        questions = {q["question"]: q for q in answered["questions"]}
        assert questions["pq_sanctions_imposed"]["answered"] is True
        assert questions["pq_registration_proof"]["answered"] is False
        assert answered["content"]["free_texts"][-1] == {
            "id": "t2",
            "text": "Das Diplom ist echt.",
            "language": "de",
        }
        personal = await exchange.client.get(
            f"/v1/requests/{accepted['id']}/personal-data",
            params={"purpose": "read the answer"},
            headers=exchange.headers("pt_officer"),
        )
        answers = {a["question"]: a["answer"] for a in personal.json()["answers"]}
        assert answers["pq_sanctions_imposed"] == {"option": "no"}
        assert answers["pq_sanctions_details"] == {
            "text": "Keine Sanktionen bekannt.",
            "language": "de",
        }
        [event] = await exchange.tap.wait_for(
            "exchange.request.answered", request_id=accepted["id"]
        )
        assert "Keine Sanktionen" not in json.dumps(event.data)
        assert event.data["on_time"] is True
        [translation] = await exchange.tap.wait_for(
            "translation.requested", reference=f"exchange:request:{accepted['id']}:text:t2"
        )
        assert translation.data["target_languages"] == ["pt"]

    @pytest.mark.parametrize(
        ("answer", "field"),
        [
            (
                {
                    "question": "pq_training_level",
                    "answer": {"option": "attestation_of_competence"},
                },
                "body.answers[0].question",
            ),
            (
                {"question": "pq_diploma_authentic", "answer": {"option": "perhaps"}},
                "body.answers[0].answer.option",
            ),
            (
                {"question": "pq_diploma_award_date", "answer": {"option": "yes"}},
                "body.answers[0].answer",
            ),
            (
                {"question": "pq_registration_proof", "answer": {"document": str(uuid.uuid4())}},
                "body.answers[0].answer.document",
            ),
        ],
    )
    async def test_a_wrong_answer_names_the_field_and_changes_nothing(
        self, exchange: RunningExchange, answer: dict[str, Any], field: str
    ) -> None:
        accepted = await exchange.accepted()
        body = await exchange.act(
            "de_officer", accepted, "answer", {"answers": [answer]}, expect=422
        )
        assert body["errors"][0]["field"] == field
        unchanged = (await exchange.get("de_officer", accepted["id"])).json()
        assert unchanged["version"] == accepted["version"]
        assert unchanged["state"] == "accepted"

    async def test_the_requester_cannot_answer(self, exchange: RunningExchange) -> None:
        accepted = await exchange.accepted()
        await exchange.act(
            "pt_officer",
            accepted,
            "answer",
            {"answers": [{"question": "pq_diploma_authentic", "answer": {"option": "yes"}}]},
            expect=403,
        )


class TestTwoHandlersAnswering:
    async def test_the_second_answer_with_the_same_version_gets_412(
        self, exchange: RunningExchange
    ) -> None:
        accepted = await exchange.accepted()
        url = f"/v1/requests/{accepted['id']}/answer"
        body = {"answers": [{"question": "pq_diploma_authentic", "answer": {"option": "yes"}}]}
        responses = await asyncio.gather(
            exchange.client.post(
                url, json=body, headers=exchange.headers("de_officer", accepted["version"])
            ),
            exchange.client.post(
                url, json=body, headers=exchange.headers("de_pq_handler", accepted["version"])
            ),
        )
        assert sorted(r.status_code for r in responses) == [200, 412]
        history = (await exchange.get("de_officer", accepted["id"])).json()["history"]
        assert [h["action"] for h in history].count("answer") == 1


class TestRequestInformation:
    async def test_more_information_and_a_second_answer(self, exchange: RunningExchange) -> None:
        answered = await exchange.answered()
        asked = await exchange.act(
            "pt_officer",
            answered,
            "request-info",
            {
                "text": "Pode enviar o certificado de registo?",
                "questions": ["pq_good_standing_certificate"],
                "reply_by": today_plus(exchange.clock, 10),
            },
        )
        assert asked["state"] == "information_requested"
        assert asked["reply_date"]["reply_by"] == today_plus(exchange.clock, 10)
        assert asked["content"]["items"][-1] == {
            "question": "pq_good_standing_certificate",
            "answer": None,
        }
        again = await exchange.act(
            "de_officer",
            asked,
            "answer",
            {"answers": [{"question": "pq_diploma_issuing_body", "answer": {"option": "college"}}]},
        )
        assert again["state"] == "answered"
        actions = [h["action"] for h in again["history"]]
        assert actions[-3:] == ["answer", "request-info", "answer"]

    async def test_a_question_asked_already_is_named(self, exchange: RunningExchange) -> None:
        answered = await exchange.answered()
        body = await exchange.act(
            "pt_officer",
            answered,
            "request-info",
            {"text": "Mais?", "questions": ["pq_diploma_authentic"]},
            expect=422,
        )
        assert body["errors"][0]["field"] == "body.questions[0]"


class TestAcceptAnswerAndClose:
    async def test_the_answer_is_accepted_with_a_rating_then_formally_closed(
        self, exchange: RunningExchange
    ) -> None:
        answered = await exchange.answered()
        rated = await exchange.act(
            "pt_officer", answered, "accept-answer", {"timeliness": 5, "effort": 2}
        )
        assert rated["state"] == "answer_accepted"
        assert rated["rating"] == {"timeliness": 5, "effort": 2, "negative": True}
        assert rated["allowed_actions"] == ["close"]
        closed = await exchange.act("pt_officer", rated, "close")
        assert closed["state"] == "closed"
        assert closed["formal_closure_at"] is not None
        [event] = await exchange.tap.wait_for("exchange.request.closed", request_id=answered["id"])
        assert event.data["formal_closure_at"]

    async def test_a_rating_out_of_range_is_422(self, exchange: RunningExchange) -> None:
        answered = await exchange.answered()
        body = await exchange.act(
            "pt_officer", answered, "accept-answer", {"timeliness": 6, "effort": 3}, expect=422
        )
        assert body["errors"][0]["field"] == "body.timeliness"

    async def test_an_answer_is_not_closed_without_being_accepted(
        self, exchange: RunningExchange
    ) -> None:
        answered = await exchange.answered()
        body = await exchange.act("pt_officer", answered, "close", expect=409)
        assert body["allowed_actions"] == ["request-info", "accept-answer"]


class TestWithdraw:
    async def test_withdrawn_before_an_answer(self, exchange: RunningExchange) -> None:
        accepted = await exchange.accepted()
        withdrawn = await exchange.act(
            "pt_officer", accepted, "withdraw", {"reason": "A requerente desistiu."}
        )
        assert withdrawn["state"] == "withdrawn"
        await exchange.tap.wait_for("exchange.request.withdrawn", request_id=accepted["id"])

    async def test_not_after_an_answer(self, exchange: RunningExchange) -> None:
        answered = await exchange.answered()
        await exchange.act("pt_officer", answered, "withdraw", {"reason": "x"}, expect=409)


class TestVisibility:
    @pytest.mark.parametrize(
        "user", ["fr_officer", "fr_coordinator", "de_alerts_only", "de_services_handler"]
    )
    async def test_anyone_else_gets_404_everywhere(
        self, exchange: RunningExchange, user: str
    ) -> None:
        sent = await exchange.sent()
        base = f"/v1/requests/{sent['id']}"
        headers = exchange.headers(user, sent["version"])
        for response in (
            await exchange.client.get(base, headers=headers),
            await exchange.client.post(f"{base}/accept", headers=headers),
            await exchange.client.get(f"{base}/personal-data?purpose=x", headers=headers),
            await exchange.client.get(f"{base}/attachments", headers=headers),
            await exchange.client.get(f"{base}/access-log", headers=headers),
        ):
            problem(response, 404)
        listed = await exchange.client.get("/v1/requests", headers=headers)
        assert sent["id"] not in [i["id"] for i in listed.json()["items"]]

    @pytest.mark.parametrize(
        "user", ["de_coordinator", "pt_coordinator", "pt_reader", "pt_supervisor"]
    )
    async def test_coordinators_and_readers_of_the_authorities_see_it(
        self, exchange: RunningExchange, user: str
    ) -> None:
        sent = await exchange.sent()
        response = await exchange.get(user, sent["id"])
        assert response.status_code == 200
        assert response.json()["allowed_actions"] == []
        listed = await exchange.client.get("/v1/requests?limit=200", headers=exchange.headers(user))
        assert sent["id"] in [i["id"] for i in listed.json()["items"]]

    async def test_a_delegated_coordinator_sees_what_reaches_its_region(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        assert (await exchange.get("de_bavaria_delegate", sent["id"])).status_code == 404
        assert (await exchange.get("de_services_delegate", sent["id"])).status_code == 404
        await exchange.act(
            "de_officer", sent, "forward", {"authority_id": str(exchange.network.de_bavaria.id)}
        )
        assert (await exchange.get("de_bavaria_delegate", sent["id"])).status_code == 200
        listed = await exchange.client.get(
            "/v1/requests?limit=200", headers=exchange.headers("de_bavaria_delegate")
        )
        assert sent["id"] in [i["id"] for i in listed.json()["items"]]

    async def test_coordinators_do_not_read_the_personal_data(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        response = await exchange.client.get(
            f"/v1/requests/{sent['id']}/personal-data",
            params={"purpose": "curiosity"},
            headers=exchange.headers("de_coordinator"),
        )
        problem(response, 403)


class TestList:
    async def test_boxes_filters_and_pages(self, exchange: RunningExchange) -> None:
        ids = []
        for _ in range(3):
            exchange.clock.advance(seconds=1)  # the list runs newest first
            sent = await exchange.sent(
                procedure="pq_temporary_services",
                items=[{"question": "pq_decl_legally_established"}],
            )
            ids.append(sent["id"])
        draft = await exchange.create(
            procedure="pq_temporary_services", items=[{"question": "pq_decl_prohibited"}]
        )
        incoming = await exchange.client.get(
            "/v1/requests",
            params={"box": "incoming", "procedure": "pq_temporary_services", "limit": 2},
            headers=exchange.headers("de_officer"),
        )
        page = incoming.json()
        assert [i["id"] for i in page["items"]] == ids[::-1][:2]
        assert page["items"][0]["question_count"] == 1
        rest = await exchange.client.get(
            "/v1/requests",
            params={
                "box": "incoming",
                "procedure": "pq_temporary_services",
                "limit": 2,
                "cursor": page["next_cursor"],
            },
            headers=exchange.headers("de_officer"),
        )
        assert [i["id"] for i in rest.json()["items"]] == [ids[0]]
        assert rest.json()["next_cursor"] is None
        outgoing = await exchange.client.get(
            "/v1/requests",
            params={"box": "outgoing", "procedure": "pq_temporary_services", "state": "draft"},
            headers=exchange.headers("pt_officer"),
        )
        assert [i["id"] for i in outgoing.json()["items"]] == [draft["id"]]
        nothing = await exchange.client.get(
            "/v1/requests", params={"box": "outgoing"}, headers=exchange.headers("de_officer")
        )
        assert nothing.json()["items"] == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"cursor": "not-a-cursor"}, "query.cursor"),
            ({"limit": 5000}, "query.limit"),
            ({"state": "lost"}, "query.state"),
            ({"box": "sideways"}, "query.box"),
        ],
    )
    async def test_bad_parameters_name_the_field(
        self, exchange: RunningExchange, params: dict[str, Any], field: str
    ) -> None:
        response = await exchange.client.get(
            "/v1/requests", params=params, headers=exchange.headers("pt_officer")
        )
        problem(response, 422, field)


class TestDocuments:
    async def test_the_openapi_document_marks_personal_fields(
        self, exchange: RunningExchange
    ) -> None:
        document = (await exchange.client.get("/openapi.json")).json()
        subject = document["components"]["schemas"]["DataSubjectIn"]["properties"]
        assert subject["family_name"]["x-personal-data"] is True
        assert "/v1/requests/{request_id}/propose-date" in document["paths"]

    async def test_the_asyncapi_document_lists_every_request_event(
        self, exchange: RunningExchange
    ) -> None:
        document = (await exchange.client.get("/v1/asyncapi.json")).json()
        text = json.dumps(document)
        for verb in ("sent", "split", "escalated", "personal_data_deleted"):
            assert f"exchange.request.{verb}" in text
        assert "directory.authority.registered" in text
        assert "translation.catalogue.published" in text
