"""The periodic jobs with a moved clock: reminders, overdue marks and escalation; blocking and
deletion of personal data; and the scoreboard statistics computed over the requests' shells."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from services.exchange.domain import add_months
from services.exchange.service import DeadlineJob, RetentionJob
from shared.db import Database
from tests.exchange.conftest import RunningExchange, today_plus
from tests.exchange.test_attachments import PDF, stored_files, upload


async def run_deadlines(exchange: RunningExchange) -> int:
    job: DeadlineJob = exchange.app.state.deadline_job
    return await job.run(exchange.db)


async def run_retention(exchange: RunningExchange) -> int:
    job: RetentionJob = exchange.app.state.retention_job
    return await job.run(exchange.db)


async def history_of(exchange: RunningExchange, request_id: str) -> list[str]:
    rows = await exchange.sql(
        "SELECT action FROM request_history WHERE request_id = :id ORDER BY id", id=request_id
    )
    return [r[0] for r in rows]


async def current(exchange: RunningExchange, request_id: str, user: str = "pt_officer") -> Any:
    response = await exchange.get(user, request_id)
    assert response.status_code == 200, response.text
    return response.json()


class TestAcceptanceDeadline:
    async def test_reminded_after_five_days_overdue_after_seven_until_accepted(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        exchange.clock.advance(days=4, hours=23)
        await run_deadlines(exchange)
        assert "reminded" not in await history_of(exchange, sent["id"])
        exchange.clock.advance(hours=1)
        await run_deadlines(exchange)
        [reminder] = await exchange.tap.wait_for("exchange.request.reminded", request_id=sent["id"])
        assert reminder.data["deadline"] == "acceptance"
        assert reminder.data["acting_user_id"] is None
        exchange.clock.advance(days=2)
        await run_deadlines(exchange)
        [overdue] = await exchange.tap.wait_for("exchange.request.overdue", request_id=sent["id"])
        assert overdue.data["deadline"] == "acceptance"
        assert overdue.data["due_at"] == reminder.data["due_at"]
        view = await current(exchange, sent["id"], "de_officer")
        assert view["deadlines"]["overdue"] is True
        listed = await exchange.client.get(
            "/v1/requests",
            params={"box": "incoming", "overdue": "true", "limit": 200},
            headers=exchange.headers("de_officer"),
        )
        assert sent["id"] in [i["id"] for i in listed.json()["items"]]
        accepted = await exchange.act("de_officer", view, "accept")
        assert accepted["deadlines"]["overdue"] is False
        await run_deadlines(exchange)
        assert (await history_of(exchange, sent["id"])).count("overdue") == 1


class TestReplyDeadline:
    async def test_reminded_overdue_and_escalated_to_the_responding_countrys_coordinator(
        self, exchange: RunningExchange
    ) -> None:
        accepted = await exchange.accepted(requested_reply_date=today_plus(exchange.clock, 10))
        coordinator = exchange.network["de_coordinator"]
        exchange.clock.advance(days=7)  # three days before the reply date
        await run_deadlines(exchange)
        [reminder] = await exchange.tap.wait_for(
            "exchange.request.reminded", request_id=accepted["id"], deadline="reply"
        )
        exchange.clock.advance(days=4)  # the day after the reply date
        await run_deadlines(exchange)
        [overdue] = await exchange.tap.wait_for(
            "exchange.request.overdue", request_id=accepted["id"], deadline="reply"
        )
        [escalated] = await exchange.tap.wait_for(
            "exchange.request.escalated", request_id=accepted["id"]
        )
        assert escalated.data["reason"] == "reply_overdue"
        assert escalated.data["coordinator_user_ids"] == [str(coordinator.id)]
        assert escalated.data["coordinator_country"] == "de"
        assert str(coordinator.id) in escalated.data["participant_user_ids"]
        view = await current(exchange, accepted["id"], "de_coordinator")
        assert {"user_id": str(coordinator.id), "role": "coordinator"}.items() <= next(
            p for p in view["participants"] if p["role"] == "coordinator"
        ).items()
        assert view["deadlines"]["reply_overdue_at"] is not None
        assert view["deadlines"]["escalated_at"] is not None
        answered = await exchange.act(
            "de_officer",
            view,
            "answer",
            {"answers": [{"question": "pq_diploma_authentic", "answer": {"option": "yes"}}]},
        )
        assert answered["deadlines"]["overdue"] is False
        [event] = await exchange.tap.wait_for(
            "exchange.request.answered", request_id=accepted["id"]
        )
        assert event.data["on_time"] is False
        del reminder, overdue

    async def test_an_idle_request_is_escalated_after_two_months(
        self, exchange: RunningExchange
    ) -> None:
        accepted = await exchange.accepted(requested_reply_date=today_plus(exchange.clock, 300))
        exchange.clock.advance(days=58)
        await run_deadlines(exchange)
        assert "escalated" not in await history_of(exchange, accepted["id"])
        exchange.clock.advance(days=4)
        await run_deadlines(exchange)
        [event] = await exchange.tap.wait_for(
            "exchange.request.escalated", request_id=accepted["id"]
        )
        assert event.data["reason"] == "idle"


class TestReplicas:
    async def test_two_replicas_running_the_job_at_once_act_once(
        self, exchange: RunningExchange
    ) -> None:
        sent = [await exchange.sent() for _ in range(12)]
        exchange.clock.advance(days=5)
        other = Database(exchange.settings.sqlalchemy_url, pool_size=2)
        replica = DeadlineJob(exchange.app.state.desk)
        try:
            await asyncio.gather(
                run_deadlines(exchange), replica.run(other), run_deadlines(exchange)
            )
        finally:
            await other.dispose()
        for request in sent:
            assert (await history_of(exchange, request["id"])).count("reminded") == 1
        await asyncio.sleep(0.5)
        for request in sent:
            assert (
                len(exchange.tap.of_type("exchange.request.reminded", request_id=request["id"]))
                == 1
            )


async def closed_request(exchange: RunningExchange, **overrides: Any) -> dict[str, Any]:
    draft = await exchange.create(**overrides)
    document = (await upload(exchange, draft, PDF)).json()
    answered = await exchange.act(
        "de_officer",
        await exchange.act("de_officer", await exchange.act("pt_officer", draft, "send"), "accept"),
        "answer",
        {
            "answers": [
                {"question": draft["content"]["items"][0]["question"], "answer": {"option": "yes"}}
            ]
        },
    )
    rated = await exchange.act(
        "pt_officer", answered, "accept-answer", {"timeliness": 4, "effort": 4}
    )
    closed = await exchange.act("pt_officer", rated, "close")
    closed["document"] = document
    return closed


async def read_personal(
    exchange: RunningExchange, request_id: str, user: str, **params: str
) -> Any:
    return await exchange.client.get(
        f"/v1/requests/{request_id}/personal-data",
        params={"purpose": "retention check", **params},
        headers=exchange.headers(user),
    )


class TestRetention:
    async def test_blocked_six_months_after_closure_then_only_for_the_administrator(
        self, exchange: RunningExchange
    ) -> None:
        closed = await closed_request(exchange)
        assert (await read_personal(exchange, closed["id"], "pt_officer")).status_code == 200
        blocking = add_months(datetime.fromisoformat(closed["formal_closure_at"]), 6)
        exchange.clock.now = blocking - timedelta(minutes=1)
        await run_retention(exchange)
        assert (await read_personal(exchange, closed["id"], "pt_officer")).status_code == 200
        exchange.clock.now = blocking
        await run_retention(exchange)
        [event] = await exchange.tap.wait_for(
            "exchange.request.personal_data_blocked", request_id=closed["id"]
        )
        assert "Sousa" not in json.dumps(event.data)
        assert (await read_personal(exchange, closed["id"], "pt_officer")).status_code == 403
        document_url = f"/v1/requests/{closed['id']}/attachments/{closed['document']['id']}"
        blocked_download = await exchange.client.get(
            document_url, params={"purpose": "x"}, headers=exchange.headers("pt_officer")
        )
        assert blocked_download.status_code == 403
        missing = await read_personal(exchange, closed["id"], "pt_dpa")
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "query.justification"
        read = await read_personal(
            exchange, closed["id"], "pt_dpa", justification="Data subject access request 7/2026"
        )
        assert read.status_code == 200
        assert read.json()["blocked"] is True
        assert read.json()["data_subject"]["family_name"] == "Sousa"
        log = await exchange.client.get(
            f"/v1/requests/{closed['id']}/access-log", headers=exchange.headers("pt_dpa")
        )
        entries = log.json()["items"]
        assert [e["blocked"] for e in entries] == [False, False, True]
        assert entries[-1]["justification"] == "Data subject access request 7/2026"
        assert entries[-1]["roles"] == ["data_protection_administrator"]
        assert entries[0]["justification"] is None
        view = await current(exchange, closed["id"])
        assert view["personal_data"]["blocked"] is True
        assert view["can_read_personal_data"] is False

    async def test_a_procedure_with_eighteen_months_is_blocked_later(
        self, exchange: RunningExchange
    ) -> None:
        closed = await closed_request(
            exchange,
            procedure="pw_cross_border_enforcement",
            items=[{"question": "pw_enf_appeal_pending"}],
        )
        closure = datetime.fromisoformat(closed["formal_closure_at"])
        exchange.clock.now = add_months(closure, 18) - timedelta(minutes=1)
        await run_retention(exchange)
        assert (await read_personal(exchange, closed["id"], "pt_officer")).status_code == 200
        exchange.clock.now = add_months(closure, 18)
        await run_retention(exchange)
        assert (await read_personal(exchange, closed["id"], "pt_officer")).status_code == 403

    async def test_deleted_three_years_after_closure_the_shell_remains(
        self, exchange: RunningExchange
    ) -> None:
        closed = await closed_request(exchange)
        files_before = len(stored_files(exchange))
        exchange.clock.advance(days=365 * 3 + 1)
        await run_retention(exchange)
        await exchange.tap.wait_for(
            "exchange.request.personal_data_blocked", request_id=closed["id"]
        )
        await exchange.tap.wait_for(
            "exchange.request.personal_data_deleted", request_id=closed["id"]
        )
        gone = await read_personal(exchange, closed["id"], "pt_dpa", justification="audit")
        assert gone.status_code == 410
        rows = await exchange.sql(
            "SELECT count(*) FROM request_personal_data WHERE request_id = :id", id=closed["id"]
        )
        assert rows[0][0] == 0
        attachments = await exchange.sql(
            "SELECT count(*) FROM attachments WHERE request_id = :id", id=closed["id"]
        )
        assert attachments[0][0] == 0
        assert len(stored_files(exchange)) < files_before
        view = await current(exchange, closed["id"])
        assert view["state"] == "closed"
        assert view["personal_data"]["deleted"] is True
        assert view["content"]["free_texts"] == []
        assert view["rating"] == {"timeliness": 4, "effort": 4, "negative": False}
        assert view["history"][-1]["action"] == "personal_data_deleted"

    async def test_a_withdrawn_draft_is_cleaned_up_too(self, exchange: RunningExchange) -> None:
        draft = await exchange.create()
        await exchange.act("pt_officer", draft, "withdraw", {"reason": "drafted by mistake"})
        exchange.clock.advance(days=365 * 3 + 1)
        await run_retention(exchange)
        history = await history_of(exchange, draft["id"])
        assert history[-2:] == ["personal_data_blocked", "personal_data_deleted"]
        reasons = await exchange.sql(
            "SELECT details FROM request_history WHERE request_id = :id AND action = 'withdraw'",
            id=draft["id"],
        )
        assert "reason" not in reasons[0][0]


class TestStatistics:
    async def test_the_scoreboard_indicators(self, exchange: RunningExchange) -> None:
        start = exchange.clock.now
        body = {
            "procedure": "pw_information_request",
            "items": [{"question": "pw_declaration_submitted"}],
            "requested_reply_date": today_plus(exchange.clock, 20),
        }
        quick, slow, refused, waiting = [await exchange.sent(**body) for _ in range(4)]
        answer = {
            "answers": [{"question": "pw_declaration_submitted", "answer": {"option": "yes"}}]
        }
        exchange.clock.advance(days=1)
        await exchange.act("de_officer", refused, "reject", {"reason": "not us"})
        exchange.clock.advance(days=1)
        quick = await exchange.act("de_officer", quick, "accept")
        exchange.clock.advance(days=3)
        quick = await exchange.act("de_officer", quick, "answer", answer)  # day 5
        quick = await exchange.act(
            "pt_officer", quick, "accept-answer", {"timeliness": 5, "effort": 5}
        )
        exchange.clock.advance(days=4)
        slow = await exchange.act("de_officer", slow, "accept")  # day 9: late
        exchange.clock.advance(days=21)
        slow = await exchange.act("de_officer", slow, "answer", answer)  # day 30: late
        slow = await exchange.act(
            "pt_officer", slow, "accept-answer", {"timeliness": 1, "effort": 4}
        )
        exchange.clock.advance(days=10)
        response = await exchange.client.get(
            "/v1/statistics",
            params={
                "country": "de",
                "area": "posting_of_workers",
                "from": start.date().isoformat(),
                "to": start.date().isoformat(),
            },
            headers=exchange.headers("fr_officer"),
        )
        assert response.status_code == 200, response.text
        figures = response.json()
        [group] = figures["groups"]
        assert group["country"] == "de"
        assert group["area"] == "posting_of_workers"
        assert group["requests_sent"] == 4
        assert group["accepted_within_deadline_share"] == 0.25
        assert group["average_reply_days"] == 17.5
        assert group["answered_by_agreed_date_share"] == 0.5
        assert group["negative_rating_share"] == 0.5
        assert group["counts_by_state"]["answer_accepted"] == 2
        assert group["counts_by_state"]["rejected"] == 1
        assert group["counts_by_state"]["sent"] == 1
        assert figures["total"]["requests_sent"] == 4
        requesting = await exchange.client.get(
            "/v1/statistics",
            params={
                "side": "requesting",
                "country": "pt",
                "area": "posting_of_workers",
                "from": start.date().isoformat(),
            },
            headers=exchange.headers("fr_officer"),
        )
        assert requesting.json()["total"]["requests_sent"] == 4
        before = await exchange.client.get(
            "/v1/statistics",
            params={
                "country": "de",
                "to": (start.date() - timedelta(days=1)).isoformat(),
                "from": (start.date() - timedelta(days=1)).isoformat(),
            },
            headers=exchange.headers("fr_officer"),
        )
        assert before.json()["total"]["requests_sent"] == 0
        assert before.json()["groups"] == []
        del waiting

    async def test_bad_parameters_name_the_field(self, exchange: RunningExchange) -> None:
        for params, field in (
            ({"side": "both"}, "query.side"),
            ({"country": "deu"}, "query.country"),
            ({"from": "2026-02-01", "to": "2026-01-01"}, "query.to"),
            ({"from": "yesterday"}, "query.from"),
        ):
            response = await exchange.client.get(
                "/v1/statistics", params=params, headers=exchange.headers("fr_officer")
            )
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == field
