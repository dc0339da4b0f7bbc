"""Notifications: a country's coordinator creates, broadcasts to chosen countries and the
Commission; recipients comment; the sender modifies and closes."""

from __future__ import annotations

from tests.alerts.conftest import Alerts
from tests.alerts.scenarios import notification


class TestCreateNotification:
    async def test_a_coordinator_creates_it_and_a_handler_may_not(self, alerts: Alerts) -> None:
        draft = await alerts.draft("pl-coordinator", notification())
        assert draft["kind"] == "notification"
        assert draft["aggregate"] == "notification"
        assert draft["allowed_actions"] == ["edit", "broadcast"]
        assert draft["deadlines"] is None
        refused = await alerts.post("pl-officer", "/v1/alerts", notification())
        assert refused.status_code == 403

    async def test_a_profession_belongs_to_pq_alerts_only(self, alerts: Alerts) -> None:
        response = await alerts.post(
            "pl-coordinator", "/v1/alerts", {**notification(), "profession": "teacher"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body.profession"


class TestNotificationFlow:
    async def test_broadcast_comment_modify_close(self, alerts: Alerts) -> None:
        draft = await alerts.draft("pl-coordinator", notification())
        sent = await alerts.act("pl-coordinator", draft, "broadcast", {"countries": ["de", "fr"]})
        assert set((await alerts.recipients_of(sent["id"])).values()) == {"de", "fr", "eu"}
        events = await alerts.tap.wait_for("alerts.notification.broadcast", 3, alert_id=sent["id"])
        assert {e.data["country"] for e in events} == {"de", "fr", "eu"}
        assert all(e.data["kind"] == "notification" for e in events)

        seen = await alerts.view("fr-coordinator", sent["id"], **{"Accept-Language": "fr"})
        assert seen["allowed_actions"] == ["comment"]
        assert seen["procedure"]["name"] != "svc_notification"
        await alerts.act("fr-coordinator", seen, "comment", {"text": "Merci, bien noté."})
        await alerts.act("commission", seen, "comment", {"text": "Noted; under assessment."})
        await alerts.act("fr-coordinator", seen, "acknowledge", expect=409)
        await alerts.act(
            "fr-coordinator",
            seen,
            "disseminate",
            {"procedures": ["svc_provider_information"]},
            expect=409,
        )

        modified = await alerts.act(
            "pl-coordinator",
            sent,
            "update",
            {"free_texts": [{"id": "change", "text": "Termin przesunięty na 1 marca 2027 r."}]},
        )
        assert modified["version"] == sent["version"] + 1
        assert [c["language"] for c in modified["comments"]] == ["fr", "en"]
        assert modified["tracking"]["commented"] == 2
        closed = await alerts.act("pl-coordinator", modified, "close")
        assert closed["state"] == "closed"
        for verb in ("commented", "updated", "closed"):
            await alerts.tap.wait_for(f"alerts.notification.{verb}", alert_id=sent["id"])

    async def test_only_the_senders_coordinators_see_and_act_on_it(self, alerts: Alerts) -> None:
        draft = await alerts.draft("pl-coordinator", notification())
        assert (await alerts.get("pl-officer", f"/v1/alerts/{draft['id']}")).status_code == 404
        sent = await alerts.act("pl-coordinator", draft, "broadcast", {"countries": ["de"]})
        await alerts.act("de-coordinator", sent, "close", expect=403)
        await alerts.act("it-coordinator", sent, "comment", {"text": "x"}, expect=404)
