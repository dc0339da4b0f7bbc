"""Professional-qualifications alerts: the decision date and its 3-day deadline, direct sending
to every other EEA country by profession, personal data with the access log, blocking and
deletion on a moved clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.alerts.domain import EEA_COUNTRIES, add_months
from tests.alerts.conftest import CATALOGUE, Alerts, MovableClock
from tests.alerts.scenarios import pq_alert

PURPOSE = {"purpose": "checking an application for recognition"}


async def sent_pq(alerts: Alerts, sender: str = "at-officer", **kwargs: Any) -> dict[str, Any]:
    draft = await alerts.draft(sender, pq_alert(**kwargs))
    return await alerts.act(sender, draft, "broadcast")


async def personal_data(alerts: Alerts, username: str, alert_id: str, **query: str) -> Any:
    return await alerts.client.get(
        f"/v1/alerts/{alert_id}/personal-data", params=query, headers=alerts.headers(username)
    )


class TestDraftPqAlert:
    async def test_without_the_decision_date_the_answer_is_422_naming_it(
        self, alerts: Alerts
    ) -> None:
        body = pq_alert()
        body["content"]["items"] = [
            i for i in body["content"]["items"] if i["question"] != "pq_alert_decision_date"
        ]
        before = await alerts.fetch("SELECT count(*) FROM alerts")
        response = await alerts.post("at-officer", "/v1/alerts", body)
        assert response.status_code == 422
        problem = response.json()
        assert problem["errors"][0]["field"] == "body.content.items"
        assert "pq_alert_decision_date" in problem["detail"]
        assert problem["question"] == "pq_alert_decision_date"
        assert await alerts.fetch("SELECT count(*) FROM alerts") == before

    async def test_the_profession_and_the_professional_are_required(self, alerts: Alerts) -> None:
        for change, field in (
            ({"profession": None}, "body.profession"),
            ({"profession": "estate_agency"}, "body.profession"),
            ({"professional": None}, "body.professional"),
            ({"professional": {"full_name": " "}}, "body.professional.full_name"),
        ):
            response = await alerts.post("at-officer", "/v1/alerts", {**pq_alert(), **change})
            assert response.status_code == 422, change
            assert response.json()["errors"][0]["field"] == field

    async def test_the_deadline_is_three_days_after_the_decision_and_shown(
        self, alerts: Alerts
    ) -> None:
        decided = datetime.now(UTC).date() - timedelta(days=1)
        draft = await alerts.draft("at-officer", pq_alert(decided), **{"Accept-Language": "de"})
        assert draft["kind"] == "pq_alert"
        assert draft["allowed_actions"] == ["edit", "broadcast"]
        assert draft["deadlines"] == {
            "send_by": (decided + timedelta(days=3)).isoformat(),
            "overdue": False,
            "overdue_flagged_at": None,
            "sent_late": False,
            "days_left": 2,
        }
        german_term = CATALOGUE.keywords["de"]["nurse"][0]
        assert draft["profession"] == {"key": "nurse", "name": german_term}
        assert draft["deciding_authority"] == "at-national (at)"
        # The identity and the personal answers stay out of the alert's view.
        assert "Mustermann" not in str(draft)
        assert "pq_alert_decision_date" in draft["content"]["personal_data_questions"]
        assert draft["personal_data"]["professional"] is True


class TestOverdue:
    async def test_an_unsent_alert_is_flagged_once_after_its_last_day(
        self, alerts: Alerts, clock: MovableClock
    ) -> None:
        decided = datetime.now(UTC).date() - timedelta(days=1)
        draft = await alerts.draft("at-officer", pq_alert(decided))
        jobs = alerts.app.state.alerts_jobs
        await jobs.flag_overdue(alerts.app.state.runtime.db)
        assert (await alerts.view("at-officer", draft["id"]))["deadlines"]["overdue"] is False
        clock.advance(days=3)
        view = await alerts.view("at-officer", draft["id"])
        assert view["deadlines"]["overdue"] is True
        assert view["deadlines"]["days_left"] == -1
        listed = await alerts.get("at-officer", "/v1/alerts?box=outgoing&overdue=true")
        assert draft["id"] in [i["id"] for i in listed.json()["items"]]
        assert await jobs.flag_overdue(alerts.app.state.runtime.db) >= 1
        assert await jobs.flag_overdue(alerts.app.state.runtime.db) == 0
        events = await alerts.tap.wait_for("alerts.alert.overdue", alert_id=draft["id"])
        assert len(events) == 1
        assert events[0].data["send_by"] == (decided + timedelta(days=3)).isoformat()
        flagged = await alerts.view("at-officer", draft["id"])
        assert flagged["deadlines"]["overdue_flagged_at"] is not None
        assert flagged["history"][-1]["action"] == "overdue"
        sent = await alerts.act("at-officer", flagged, "broadcast")
        assert sent["deadlines"]["sent_late"] is True
        assert sent["deadlines"]["overdue"] is False
        listed = await alerts.get("at-officer", "/v1/alerts?box=outgoing&overdue=true")
        assert draft["id"] not in [i["id"] for i in listed.json()["items"]]


class TestSendPqAlert:
    async def test_it_goes_directly_to_every_other_country_by_profession(
        self, alerts: Alerts
    ) -> None:
        sent = await sent_pq(alerts, "at-officer")
        assert sent["state"] == "broadcast"
        recipients = await alerts.recipients_of(sent["id"])
        assert set(recipients.values()) == (set(EEA_COUNTRIES) - {"at"}) | {"eu"}
        german = {a for a, c in recipients.items() if c == "de"}
        assert german == {
            alerts.authority_id("de-national"),
            alerts.authority_id("de-berlin-nursing"),
            alerts.authority_id("de-coordination"),
        }
        # Nobody in Malta names nurses: every authority competent for the area receives.
        maltese = {a for a, c in recipients.items() if c == "mt"}
        assert maltese == {
            alerts.authority_id("mt-national"),
            alerts.authority_id("mt-teaching"),
            alerts.authority_id("mt-coordination"),
        }
        events = await alerts.tap.wait_for("alerts.alert.broadcast", 30, alert_id=sent["id"])
        assert len({e.data["country"] for e in events}) == 30
        assert sum(len(e.data["recipient_authority_ids"]) for e in events) == len(recipients)
        assert all("Mustermann" not in str(e.data) for e in events)

    async def test_where_an_authority_names_the_profession_only_those_receive(
        self, alerts: Alerts
    ) -> None:
        sent = await sent_pq(alerts, "at-officer", profession="teacher")
        maltese = {a for a, c in (await alerts.recipients_of(sent["id"])).items() if c == "mt"}
        assert maltese == {
            alerts.authority_id("mt-teaching"),
            alerts.authority_id("mt-coordination"),
        }

    async def test_only_the_senders_handler_sends_and_no_countries_are_chosen(
        self, alerts: Alerts
    ) -> None:
        draft = await alerts.draft("at-officer", pq_alert())
        await alerts.act("at-coordinator", draft, "broadcast", expect=404)
        refused = await alerts.act(
            "at-officer", draft, "broadcast", {"countries": ["de"]}, expect=422
        )
        assert refused["errors"][0]["field"] == "body.countries"
        await alerts.act("at-officer", draft, "submit", expect=409)
        assert await alerts.recipients_of(draft["id"]) == {}

    async def test_recipients_acknowledge_and_the_sender_updates_and_closes(
        self, alerts: Alerts
    ) -> None:
        sent = await sent_pq(alerts, "at-officer")
        seen = await alerts.view("de-berlin", sent["id"])
        assert seen["allowed_actions"] == ["acknowledge", "comment"]
        await alerts.act("de-berlin", seen, "acknowledge")
        updated = await alerts.act(
            "at-officer",
            sent,
            "update",
            {"items": [{"question": "pq_alert_appeal_lodged", "answer": {"option": "yes"}}]},
        )
        assert updated["updates"][0]["personal_data_questions"] == ["pq_alert_appeal_lodged"]
        closed = await alerts.act(
            "at-officer", updated, "close", {"reason": "Die Untersagung wurde aufgehoben."}
        )
        assert closed["state"] == "closed"
        assert closed["tracking"]["acknowledged"] == 1


class TestPersonalData:
    async def test_every_read_is_recorded_with_who_when_and_why(self, alerts: Alerts) -> None:
        sent = await sent_pq(alerts, "at-officer")
        missing = await personal_data(alerts, "de-officer", sent["id"])
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "query.purpose"
        read = await personal_data(alerts, "de-officer", sent["id"], **PURPOSE)
        assert read.status_code == 200, read.text
        assert read.json()["professional"]["full_name"] == "Erika Mustermann"
        assert read.json()["professional"]["registration_number"] == "NRW-PFL-4711"
        questions = {i["question"] for i in read.json()["items"]}
        assert {"pq_alert_decision_date", "pq_alert_scope"} <= questions
        assert (await personal_data(alerts, "it-officer", sent["id"], **PURPOSE)).status_code == 200
        assert (await personal_data(alerts, "pt-reader", sent["id"], **PURPOSE)).status_code == 200
        log = await alerts.get("de-dpa", f"/v1/alerts/{sent['id']}/access-log")
        assert log.status_code == 200, log.text
        entries = log.json()["items"]
        assert [e["username"] for e in entries] == ["de-officer", "it-officer", "pt-reader"]
        assert entries[0]["purpose"] == PURPOSE["purpose"]
        assert entries[0]["authority_id"] == alerts.authority_id("de-national")
        assert entries[0]["while_blocked"] is False

    async def test_the_access_log_is_for_the_administrator_and_the_senders_supervisor(
        self, alerts: Alerts
    ) -> None:
        sent = await sent_pq(alerts, "pt-officer")
        assert (
            await alerts.get("pt-supervisor", f"/v1/alerts/{sent['id']}/access-log")
        ).status_code == 200
        assert (
            await alerts.get("de-officer", f"/v1/alerts/{sent['id']}/access-log")
        ).status_code == 404
        assert (
            await alerts.get("pt-officer", f"/v1/alerts/{sent['id']}/access-log")
        ).status_code == 404

    async def test_someone_the_alert_did_not_reach_gets_404(self, alerts: Alerts) -> None:
        draft = await alerts.draft("at-officer", pq_alert())
        response = await personal_data(alerts, "de-officer", draft["id"], **PURPOSE)
        assert response.status_code == 404


class TestRetention:
    async def test_blocked_after_18_months_then_deleted_after_3_years_with_the_shell_kept(
        self, alerts: Alerts, clock: MovableClock
    ) -> None:
        sent = await sent_pq(alerts, "at-officer")
        closed = await alerts.act(
            "at-officer", sent, "close", {"reason": "Entscheidung abgelaufen."}
        )
        ended = datetime.fromisoformat(closed["ended_at"])
        jobs, db = alerts.app.state.alerts_jobs, alerts.app.state.runtime.db

        clock.set(add_months(ended, 18) - timedelta(minutes=1))
        await jobs.apply_retention(db)
        assert (await personal_data(alerts, "de-officer", sent["id"], **PURPOSE)).status_code == 200

        clock.set(add_months(ended, 18) + timedelta(minutes=1))
        await jobs.apply_retention(db)
        blocked = await personal_data(alerts, "de-officer", sent["id"], **PURPOSE)
        assert blocked.status_code == 403
        unjustified = await personal_data(alerts, "de-dpa", sent["id"], **PURPOSE)
        assert unjustified.status_code == 422
        assert unjustified.json()["errors"][0]["field"] == "query.justification"
        justified = await personal_data(
            alerts, "de-dpa", sent["id"], justification="request of the data subject", **PURPOSE
        )
        assert justified.status_code == 200
        assert justified.json()["blocked"] is True
        log = (await alerts.get("de-dpa", f"/v1/alerts/{sent['id']}/access-log")).json()["items"]
        assert log[-1]["while_blocked"] is True
        assert log[-1]["justification"] == "request of the data subject"
        view = await alerts.view("at-officer", sent["id"])
        assert view["personal_data"]["blocked"] is True
        await alerts.tap.wait_for("alerts.alert.personal_data_blocked", alert_id=sent["id"])

        clock.set(add_months(ended, 36) + timedelta(minutes=1))
        await jobs.apply_retention(db)
        gone = await personal_data(alerts, "de-dpa", sent["id"], justification="audit", **PURPOSE)
        assert gone.status_code == 410
        rows = await alerts.fetch(
            "SELECT content, decision_date, profession, send_by FROM alerts WHERE id = :id",
            id=uuid.UUID(sent["id"]),
        )
        content, decision, profession, send_by = rows[0]
        kept = {i["question"] for i in content["items"]}
        assert kept == {"pq_alert_ground", "pq_alert_decided_by_court"}
        assert decision is None
        assert profession == "nurse"
        assert send_by is not None
        assert await alerts.fetch(
            "SELECT count(*) FROM alert_personal_data WHERE alert_id = :id",
            id=uuid.UUID(sent["id"]),
        ) == [(0,)]
        shell = await alerts.view("at-officer", sent["id"])
        assert shell["state"] == "closed"
        assert shell["personal_data"]["deleted"] is True
        assert shell["personal_data"]["professional"] is False
        deleted = await alerts.tap.wait_for(
            "alerts.alert.personal_data_deleted", alert_id=sent["id"]
        )
        assert deleted[0].data["retention_months"] == 18
