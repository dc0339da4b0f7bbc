"""A national system answers requests over the broker, under the broker's own security."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import aio_pika
import pytest

from tests.infra import eventually, rabbitmqctl
from tests.national.system import NationalSystem, connected, national_user, vhost_of
from tests.stack import Stack

QUESTIONS = ["pq_diploma_authentic", "pq_diploma_issuing_body", "pq_diploma_award_date"]
ANSWERS = [
    {"question": "pq_diploma_authentic", "answer": {"option": "yes"}},
    {"question": "pq_diploma_issuing_body", "answer": {"option": "university"}},
    {"question": "pq_diploma_award_date", "answer": {"date": "2011-07-15"}},
]


@pytest.fixture(scope="module")
def de_url(stack: Stack) -> Iterator[str]:
    with national_user("de", stack.amqp_url) as url:
        yield url


@pytest.fixture
async def de_system(de_url: str) -> AsyncIterator[NationalSystem]:
    async with connected(de_url, "de") as system:
        yield system


@pytest.fixture(scope="module")
def de_authority(stack: Stack) -> str:
    with stack.api("de-officer") as api:
        return str(api.get("/me").json()["authority_id"])


def sent_request(stack: Stack, de_authority: str) -> dict[str, Any]:
    """PT drafts and sends a diploma request to the German national authority (web API)."""
    with stack.api("pt-officer") as pt:
        draft = pt.post(
            "/requests",
            json={
                "procedure": "pq_establishment",
                "responding_authority_id": de_authority,
                "items": [{"question": q} for q in QUESTIONS],
                "free_texts": [{"text": "Pedimos a confirmação do diploma de professora."}],
                "requested_reply_date": (date.today() + timedelta(days=14)).isoformat(),
            },
        )
        assert draft.status_code == 201, draft.text
        sent = pt.post(
            f"/requests/{draft.json()['id']}/send",
            headers={"if-match": f'"{draft.json()["version"]}"'},
        )
        assert sent.status_code == 200, sent.text
        return dict(sent.json())


def command(de_authority: str, **fields: Any) -> dict[str, Any]:
    return {"authority_id": de_authority, "username": "de-officer", **fields}


class TestAnsweredOverTheBroker:
    async def test_de_system_answers_a_pt_request_and_pt_reads_it(
        self, stack: Stack, de_system: NationalSystem, de_authority: str
    ) -> None:
        request = sent_request(stack, de_authority)
        arrived = await de_system.event("exchange.request.sent", request["id"])
        assert arrived["authority_id"] == de_authority
        assert arrived["language"] == "de"
        assert arrived["title"]  # the procedure, named in German
        assert arrived["data"]["question_keys"] == QUESTIONS

        accepted = await de_system.command(
            "request.accept",
            command(de_authority, request_id=request["id"], version=arrived["version"]),
        )
        assert accepted["outcome"] == "accepted", accepted
        assert accepted["state"] == "accepted"
        answered = await de_system.command(
            "request.answer",
            command(
                de_authority,
                request_id=request["id"],
                version=accepted["version"],
                answer={"answers": ANSWERS, "free_texts": [{"text": "Das Diplom ist echt."}]},
            ),
        )
        assert answered["outcome"] == "accepted", answered
        assert answered["resource_id"] == request["id"]
        assert answered["state"] == "answered"

        with stack.api("pt-officer") as pt:
            seen = pt.get(f"/requests/{request['id']}").json()
        assert seen["state"] == "answered"
        items = {i["question"]: i for i in seen["content"]["items"]}
        assert items["pq_diploma_award_date"]["answer"] == {"date": "2011-07-15"}
        assert items["pq_diploma_authentic"]["answer"] == {"option": "yes"}

    async def test_a_duplicate_command_gets_the_same_reply_and_no_second_effect(
        self, stack: Stack, de_system: NationalSystem, de_authority: str
    ) -> None:
        request = sent_request(stack, de_authority)
        body = command(de_authority, request_id=request["id"], version=request["version"])
        message_id = str(uuid.uuid4())
        first = await de_system.command("request.accept", body, message_id=message_id)
        again = await de_system.command("request.accept", body, message_id=message_id)
        assert first["outcome"] == "accepted"
        assert again == first
        with stack.api("pt-officer") as pt:
            history = pt.get(f"/requests/{request['id']}").json()["history"]
        assert [h["action"] for h in history].count("accept") == 1


class TestRejections:
    async def test_every_reason_is_replied_and_nothing_applied(
        self, stack: Stack, de_system: NationalSystem, de_authority: str
    ) -> None:
        request = sent_request(stack, de_authority)
        rid, version = request["id"], request["version"]
        with stack.api("fr-officer") as fr:
            fr_authority = fr.get("/me").json()["authority_id"]
        with stack.api("de-coordinator") as coordinator:
            coordination = coordinator.get("/me").json()["authority_id"]
        cases: list[tuple[str, dict[str, Any] | bytes, str, str | None]] = [
            ("request.accept", b"{not json", "malformed", "body"),
            ("request.accept", {"authority_id": de_authority}, "malformed", "username"),
            ("request.teleport", command(de_authority), "unknown-command", "routing_key"),
            (
                "request.accept",
                command(de_authority, request_id=rid, version=version, contract="2.0"),
                "unsupported-contract",
                "contract",
            ),
            (
                "request.accept",
                {
                    "authority_id": fr_authority,
                    "username": "fr-officer",
                    "request_id": rid,
                    "version": version,
                },
                "foreign-authority",
                "authority_id",
            ),
            (
                "request.accept",
                command(de_authority, request_id=rid, version=version, username="nobody"),
                "unknown-user",
                "username",
            ),
            (
                "request.accept",
                {
                    "authority_id": coordination,
                    "username": "de-coordinator",
                    "request_id": rid,
                    "version": version,
                },
                "forbidden",
                None,
            ),
            (
                "request.accept",
                command(de_authority, request_id=rid, version=version + 5),
                "stale-version",
                None,
            ),
            (
                "request.answer",
                command(de_authority, request_id=rid, version=version, answer={"answers": []}),
                "conflict",
                None,
            ),
            (
                "request.accept",
                command(de_authority, request_id=str(uuid.uuid4()), version=1),
                "not-found",
                None,
            ),
        ]
        for name, body, reason, field in cases:
            reply = await de_system.command(name, body)
            assert reply["outcome"] == "rejected", (name, body, reply)
            assert reply["reason"] == reason, (reason, reply)
            if field is not None:
                assert reply["field"] == field, (reason, reply)
            assert reply["detail"]
        with stack.api("pt-officer") as pt:
            seen = pt.get(f"/requests/{rid}").json()
        assert seen["state"] == "sent"
        assert seen["version"] == version

    async def test_a_command_without_reply_to_is_dead_lettered(
        self, stack: Stack, de_system: NationalSystem, de_authority: str
    ) -> None:
        request = sent_request(stack, de_authority)
        body = command(de_authority, request_id=request["id"], version=request["version"])
        before = _dead_count(stack)
        await de_system.publish("request.accept", body, reply_to=None)

        async def dead_lettered() -> bool:
            return _dead_count(stack) > before

        await eventually(dead_lettered, timeout=30)
        with stack.api("pt-officer") as pt:
            assert pt.get(f"/requests/{request['id']}").json()["state"] == "sent"


async def _refused(url: str, **options: Any) -> str:
    """Publish as the DE system with ``options``; the broker's reason for closing the channel."""
    async with connected(url, "de") as system:
        try:
            await system.publish("request.accept", {"authority_id": str(uuid.uuid4())}, **options)
            await system.channel.get_exchange("imi.inbound", ensure=True)
        except aio_pika.exceptions.AMQPError as exc:
            return repr(exc)
    return "the broker accepted the message"


def _dead_count(stack: Stack) -> int:
    out = rabbitmqctl("list_queues", "-p", vhost_of(stack.amqp_url), "name", "messages")
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "exchange.dead":
            return int(parts[1])
    return 0


class TestBrokerSecurity:
    async def test_de_cannot_publish_as_fr(self, de_url: str, de_authority: str) -> None:
        # Another country's user_id: the broker closes the channel (406 PRECONDITION_FAILED).
        refused = await _refused(de_url, user_id="imi-national-fr")
        assert "precondition_failed" in refused.lower()
        # Another country's routing key: refused by the topic permission (403 ACCESS_REFUSED).
        refused = await _refused(de_url, routing_key="fr.request.accept")
        assert "access_refused" in refused.lower()

    async def test_de_cannot_listen_to_fr_events(self, de_url: str) -> None:
        connection = await aio_pika.connect(de_url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(
                f"imi-national-de.spy-{uuid.uuid4().hex[:6]}", exclusive=True
            )
            with pytest.raises(aio_pika.exceptions.ChannelClosed):
                await queue.bind("imi.outbound", routing_key="fr.#")
        finally:
            await connection.close()


class TestOnlyTheCountrysSystem:
    async def test_a_command_from_another_broker_user_is_rejected(
        self, stack: Stack, de_authority: str
    ) -> None:
        request = sent_request(stack, de_authority)
        body = command(de_authority, request_id=request["id"], version=request["version"])
        # The services' own broker user may publish anything; it is still not DE's system.
        async with connected(stack.amqp_url, "de") as impostor:
            reply = await impostor.command("request.accept", body, user_id="guest")
        assert reply["outcome"] == "rejected"
        assert reply["reason"] == "sender-not-national-system"
        assert reply["field"] == "user_id"
        with stack.api("pt-officer") as pt:
            assert pt.get(f"/requests/{request['id']}").json()["state"] == "sent"
