"""Services Directive alerts through the internal API, with real PostgreSQL and RabbitMQ:
draft, submit, approve or reject, broadcast, disseminate, acknowledge, comment, update,
rectify, withdraw, close, and each role rule."""

from __future__ import annotations

import uuid
from typing import Any

from services.alerts.domain import EEA_COUNTRIES
from shared.contracts.directory import UserSnapshot, UserUpdated
from shared.identity import Role
from tests.alerts.conftest import Alerts
from tests.alerts.scenarios import approved, broadcast, services_alert
from tests.infra import eventually


async def count(alerts: Alerts, sql: str, **params: Any) -> int:
    return int((await alerts.fetch(sql, **params))[0][0])


class TestDraftAlert:
    async def test_a_handler_drafts_and_gets_201_with_etag_location_and_allowed_actions(
        self, alerts: Alerts
    ) -> None:
        response = await alerts.post("de-officer", "/v1/alerts", services_alert())
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/v1/alerts/{body['id']}"
        assert body["kind"] == "services_alert"
        assert body["state"] == "draft"
        assert body["allowed_actions"] == ["edit", "submit"]
        assert body["sender"]["country"] == "de"
        assert body["sender"]["name"] == "de-national (de)"
        # The risk description is personal data: withheld from the content, listed as such.
        shown = [i["question"] for i in body["content"]["items"]]
        assert "svc_alert_risk_description" not in shown
        assert body["content"]["personal_data_questions"] == ["svc_alert_risk_description"]
        assert body["content"]["free_texts"][0]["language"] == "de"

    async def test_a_request_procedure_is_refused_naming_the_field(self, alerts: Alerts) -> None:
        body = {**services_alert(), "procedure": "svc_provider_information", "content": {}}
        response = await alerts.post("de-officer", "/v1/alerts", body)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "body.procedure"

    async def test_a_user_without_an_alert_handler_role_for_the_area_gets_403(
        self, alerts: Alerts
    ) -> None:
        for username in ("pt-reader", "pl-posting", "de-coordinator"):
            response = await alerts.post(username, "/v1/alerts", services_alert())
            assert response.status_code == 403, (username, response.text)

    async def test_a_bad_answer_names_its_field_and_stores_nothing(self, alerts: Alerts) -> None:
        before = await count(alerts, "SELECT count(*) FROM alerts")
        body = services_alert()
        body["content"]["items"][0]["answer"] = {"option": "boredom"}
        response = await alerts.post("de-officer", "/v1/alerts", body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body.content.items[0].answer.option"
        body = services_alert()
        body["content"]["free_texts"][0]["language"] = "klingon"
        response = await alerts.post("de-officer", "/v1/alerts", body)
        assert response.json()["errors"][0]["field"] == "body.content.free_texts[0].language"
        assert await count(alerts, "SELECT count(*) FROM alerts") == before

    async def test_the_same_idempotency_key_answers_the_same_alert_once(
        self, alerts: Alerts
    ) -> None:
        key = {"Idempotency-Key": f"draft-{uuid.uuid4()}"}
        first = await alerts.post("de-officer", "/v1/alerts", services_alert(), **key)
        again = await alerts.post("de-officer", "/v1/alerts", services_alert(), **key)
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert (
            await count(
                alerts,
                "SELECT count(*) FROM alerts WHERE id = :id",
                id=uuid.UUID(first.json()["id"]),
            )
            == 1
        )
        other = await alerts.post("de-officer", "/v1/alerts", services_alert("fr"), **key)
        assert other.status_code == 409
        # Another caller's key is its own.
        theirs = await alerts.post("fr-officer", "/v1/alerts", services_alert("fr"), **key)
        assert theirs.status_code == 201
        assert theirs.json()["id"] != first.json()["id"]

    async def test_without_a_token_the_answer_is_401(self, alerts: Alerts) -> None:
        response = await alerts.client.post("/v1/alerts", json=services_alert())
        assert response.status_code == 401


class TestEditDraft:
    async def test_a_patch_without_if_match_is_428_and_a_stale_one_412(
        self, alerts: Alerts
    ) -> None:
        draft = await alerts.draft("de-officer", services_alert())
        path = f"/v1/alerts/{draft['id']}"
        missing = await alerts.patch("de-officer", path, {"language": "en"})
        assert missing.status_code == 428
        stale = await alerts.patch("de-officer", path, {"language": "en"}, **{"If-Match": '"7"'})
        assert stale.status_code == 412

    async def test_a_patch_replaces_the_content_and_moves_the_version(self, alerts: Alerts) -> None:
        draft = await alerts.draft("de-officer", services_alert())
        changed = services_alert(summary="Neue Zusammenfassung.")["content"]
        response = await alerts.patch(
            "de-officer", f"/v1/alerts/{draft['id']}", {"content": changed}, **{"If-Match": '"1"'}
        )
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'
        assert response.json()["content"]["free_texts"][0]["text"] == "Neue Zusammenfassung."
        assert [h["action"] for h in response.json()["history"]] == ["drafted", "edited"]

    async def test_a_submitted_alert_can_no_longer_be_edited(self, alerts: Alerts) -> None:
        draft = await alerts.draft("de-officer", services_alert())
        submitted = await alerts.act("de-officer", draft, "submit")
        response = await alerts.patch(
            "de-officer",
            f"/v1/alerts/{draft['id']}",
            {"language": "en"},
            **{"If-Match": f'"{submitted["version"]}"'},
        )
        assert response.status_code == 409
        assert response.json()["allowed_actions"] == ["withdraw"]


class TestSubmitApproveReject:
    async def test_submission_reaches_the_coordination_box_and_tells_the_coordinators(
        self, alerts: Alerts
    ) -> None:
        draft = await alerts.draft("de-officer", services_alert())
        submitted = await alerts.act("de-officer", draft, "submit")
        assert submitted["state"] == "submitted"
        box = await alerts.get("de-coordinator", "/v1/alerts?box=coordination&state=submitted")
        waiting = {i["id"]: i["waiting_for"] for i in box.json()["items"]}
        assert waiting[draft["id"]] == "approval"
        events = await alerts.tap.wait_for("alerts.alert.submitted", alert_id=draft["id"])
        assert (
            str(alerts.network["de-coordinator"].user_id) in events[0].data["coordinator_user_ids"]
        )
        assert events[0].data["version"] == 2
        assert events[0].data["sender_country"] == "de"

    async def test_the_sender_cannot_approve_and_another_countrys_coordinator_cannot_see(
        self, alerts: Alerts
    ) -> None:
        draft = await alerts.draft("de-officer", services_alert())
        submitted = await alerts.act("de-officer", draft, "submit")
        await alerts.act("de-officer", submitted, "approve", expect=403)
        await alerts.act("fr-coordinator", submitted, "approve", expect=404)
        stale = {**submitted, "version": 1}
        await alerts.act("de-coordinator", stale, "approve", expect=412)

    async def test_a_rejection_needs_a_reason_and_the_sender_resubmits_after_editing(
        self, alerts: Alerts
    ) -> None:
        draft = await alerts.draft("de-officer", services_alert())
        submitted = await alerts.act("de-officer", draft, "submit")
        refused = await alerts.act("de-coordinator", submitted, "reject", {}, expect=422)
        assert refused["errors"][0]["field"] == "body.reason"
        rejected = await alerts.act(
            "de-coordinator", submitted, "reject", {"reason": "Die Gefahr ist nicht belegt."}
        )
        assert rejected["state"] == "rejected"
        seen = await alerts.view("de-officer", draft["id"])
        assert seen["reason"] == "Die Gefahr ist nicht belegt."
        assert seen["allowed_actions"] == ["edit", "submit"]
        response = await alerts.patch(
            "de-officer",
            f"/v1/alerts/{draft['id']}",
            {"content": services_alert(summary="Belege beigefügt.")["content"]},
            **{"If-Match": f'"{seen["version"]}"'},
        )
        assert response.status_code == 200, response.text
        again = await alerts.act("de-officer", response.json(), "submit")
        assert again["state"] == "submitted"
        events = await alerts.tap.wait_for("alerts.alert.rejected", alert_id=draft["id"])
        assert events[0].data["reason"] == "Die Gefahr ist nicht belegt."


class TestBroadcast:
    async def test_only_an_alert_coordinator_of_the_senders_country_broadcasts(
        self, alerts: Alerts
    ) -> None:
        ready = await approved(alerts)
        await alerts.act("de-officer", ready, "broadcast", {"countries": ["fr"]}, expect=403)
        await alerts.act("fr-coordinator", ready, "broadcast", {"countries": ["fr"]}, expect=404)
        assert await alerts.recipients_of(ready["id"]) == {}

    async def test_the_chosen_countries_coordinators_and_the_commission_receive_in_batches(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr", "es", "at"))
        assert sent["state"] == "broadcast"
        assert sent["countries"] == ["fr", "es", "at"]
        recipients = await alerts.recipients_of(sent["id"])
        assert recipients == {
            alerts.authority_id("fr-coordination"): "fr",
            alerts.authority_id("es-coordination"): "es",
            alerts.authority_id("at-coordination"): "at",
            alerts.authority_id("commission"): "eu",
        }
        events = await alerts.tap.wait_for("alerts.alert.broadcast", 4, alert_id=sent["id"])
        by_country = {e.data["country"]: e.data for e in events}
        assert set(by_country) == {"fr", "es", "at", "eu"}
        assert by_country["fr"]["recipient_authority_ids"] == [
            alerts.authority_id("fr-coordination")
        ]
        assert by_country["fr"]["recipient_user_ids"] == [
            str(alerts.network["fr-coordinator"].user_id)
        ]
        assert by_country["eu"]["recipient_user_ids"] == [str(alerts.network["commission"].user_id)]
        assert {e.data["batches"] for e in events} == {4}
        assert sorted(by_country["at"]["recipient_countries"]) == ["at", "es", "eu", "fr"]
        assert all("Müller" not in str(e.data) for e in events)  # no personal data in events
        incoming = await alerts.get("fr-coordinator", "/v1/alerts?box=incoming")
        assert sent["id"] in [i["id"] for i in incoming.json()["items"]]
        assert (await alerts.get("it-officer", f"/v1/alerts/{sent['id']}")).status_code == 404

    async def test_a_country_without_an_alert_coordinator_is_named_and_nothing_is_sent(
        self, alerts: Alerts
    ) -> None:
        member = alerts.network["lu-coordinator"]
        await alerts.publish(
            UserUpdated(
                user=UserSnapshot(
                    id=member.user_id,
                    username=member.username,
                    display_name=member.username,
                    authority_id=member.authority_id,
                    country="lu",
                    language="fr",
                    roles=(Role(name="national_coordinator"),),
                    version=2,
                )
            )
        )

        async def updated() -> bool:
            rows = await alerts.fetch(
                "SELECT version FROM directory_users WHERE id = :id", id=member.user_id
            )
            return bool(rows[0][0] == 2)

        await eventually(updated)
        ready = await approved(alerts)
        refused = await alerts.act(
            "de-coordinator", ready, "broadcast", {"countries": ["fr", "lu"]}, expect=422
        )
        assert refused["errors"][0]["field"] == "body.countries[1]"
        assert await alerts.recipients_of(ready["id"]) == {}
        assert (await alerts.view("de-coordinator", ready["id"]))["state"] == "approved"
        everyone = await alerts.act("de-coordinator", ready, "broadcast", {"countries": "all"})
        countries = set((await alerts.recipients_of(ready["id"])).values())
        assert countries == (set(EEA_COUNTRIES) - {"lu"}) | {"eu"}
        assert everyone["all_countries"] is True

    async def test_bad_countries_are_refused_naming_the_field(self, alerts: Alerts) -> None:
        ready = await approved(alerts)
        for body, field in (
            ({"countries": ["fr", "us"]}, "body.countries[1]"),
            ({"countries": []}, "body.countries"),
            ({}, "body.countries"),
        ):
            refused = await alerts.act("de-coordinator", ready, "broadcast", body, expect=422)
            assert refused["errors"][0]["field"] == field


class TestDisseminate:
    async def test_a_receiving_coordinator_disseminates_by_procedure_to_its_active_authorities(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("de",), sender="es-officer")
        seen = await alerts.view("de-coordinator", sent["id"])
        assert "disseminate" in seen["allowed_actions"]
        box = await alerts.get("de-coordinator", "/v1/alerts?box=coordination")
        assert {i["id"]: i["waiting_for"] for i in box.json()["items"]}[sent["id"]] == (
            "dissemination"
        )
        done = await alerts.act(
            "de-coordinator", seen, "disseminate", {"procedures": ["svc_provider_information"]}
        )
        assert done["version"] == seen["version"]  # the alert itself did not change
        reached = {a for a, c in (await alerts.recipients_of(sent["id"])).items() if c == "de"}
        assert reached == {
            alerts.authority_id("de-coordination"),
            alerts.authority_id("de-national"),
            alerts.authority_id("de-bavaria-services"),
        }
        events = await alerts.tap.wait_for("alerts.alert.disseminated", alert_id=sent["id"])
        assert events[0].data["country"] == "de"
        assert sorted(events[0].data["recipient_authority_ids"]) == sorted(
            [alerts.authority_id("de-national"), alerts.authority_id("de-bavaria-services")]
        )
        assert sorted(events[0].data["recipient_user_ids"]) == sorted(
            [str(alerts.network["de-officer"].user_id), str(alerts.network["de-bavaria"].user_id)]
        )
        assert events[0].data["procedures"] == ["svc_provider_information"]
        box = await alerts.get("de-coordinator", "/v1/alerts?box=coordination")
        assert sent["id"] not in [i["id"] for i in box.json()["items"]]

    async def test_by_region_only_the_authorities_of_that_region_receive(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("es",))
        seen = await alerts.view("es-coordinator", sent["id"])
        await alerts.act("es-coordinator", seen, "disseminate", {"regions": ["es-ct"]})
        reached = {a for a, c in (await alerts.recipients_of(sent["id"])).items() if c == "es"}
        assert reached == {
            alerts.authority_id("es-coordination"),
            alerts.authority_id("es-catalonia-services"),
        }

    async def test_dissemination_outside_ones_country_is_refused_and_nothing_recorded(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr", "es"))
        seen = await alerts.view("fr-coordinator", sent["id"])
        other = await alerts.act(
            "fr-coordinator",
            seen,
            "disseminate",
            {"country": "es", "procedures": ["svc_provider_information"]},
            expect=403,
        )
        assert other["errors"][0]["field"] == "body.country"
        region = await alerts.act(
            "fr-coordinator", seen, "disseminate", {"regions": ["FR-IDF", "ES-CT"]}, expect=422
        )
        assert region["errors"][0]["field"] == "body.regions[1]"
        foreign = await alerts.act(
            "fr-coordinator",
            seen,
            "disseminate",
            {"authority_ids": [alerts.authority_id("es-national")]},
            expect=422,
        )
        assert foreign["errors"][0]["field"] == "body.authority_ids[0]"
        assert set((await alerts.recipients_of(sent["id"])).values()) == {"fr", "es", "eu"}
        assert (
            await count(
                alerts,
                "SELECT count(*) FROM alert_disseminations WHERE alert_id = :id",
                id=uuid.UUID(sent["id"]),
            )
            == 0
        )

    async def test_a_dissemination_reaching_no_new_authority_is_422(self, alerts: Alerts) -> None:
        sent = await broadcast(alerts, ("fr",))
        seen = await alerts.view("fr-coordinator", sent["id"])
        body = {"procedures": ["svc_provider_information"]}
        await alerts.act("fr-coordinator", seen, "disseminate", body)
        again = await alerts.act("fr-coordinator", seen, "disseminate", body, expect=422)
        assert "reaches no authority" in again["detail"]

    async def test_only_a_coordinator_of_a_receiving_country_disseminates(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr",))
        body = {"procedures": ["svc_provider_information"]}
        await alerts.act("it-coordinator", sent, "disseminate", body, expect=404)
        await alerts.act("de-officer", sent, "disseminate", body, expect=403)
        response = await alerts.post("fr-coordinator", f"/v1/alerts/{sent['id']}/disseminate", body)
        assert response.status_code == 428


class TestAcknowledgeAndComment:
    async def test_a_recipient_acknowledges_once_and_the_sender_sees_it(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr", "at"))
        seen = await alerts.view("fr-coordinator", sent["id"])
        done = await alerts.act("fr-coordinator", seen, "acknowledge")
        assert done["my_entry"]["acknowledged_at"] is not None
        assert "acknowledge" not in done["allowed_actions"]
        await alerts.act("fr-coordinator", seen, "acknowledge", expect=409)
        tracking = (await alerts.view("de-officer", sent["id"]))["tracking"]
        assert tracking["acknowledged"] == 1
        assert tracking["not_acknowledged"] == 2
        events = await alerts.tap.wait_for("alerts.alert.acknowledged", alert_id=sent["id"])
        assert events[0].data["recipient_authority_id"] == alerts.authority_id("fr-coordination")
        assert events[0].data["recipient_country"] == "fr"

    async def test_acknowledging_an_alert_one_did_not_receive_is_refused(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr",))
        refused = await alerts.act("de-officer", sent, "acknowledge", expect=403)
        assert "did not receive" in refused["detail"]
        await alerts.act("it-coordinator", sent, "acknowledge", expect=404)
        await alerts.act("pt-officer", sent, "acknowledge", expect=404)

    async def test_a_comment_keeps_its_language_and_is_told_to_the_sender(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr",))
        empty = await alerts.act("fr-coordinator", sent, "comment", {"text": "  "}, expect=422)
        assert empty["errors"][0]["field"] == "body.text"
        await alerts.act("fr-coordinator", sent, "comment", {"text": "Aucun cas en France."})
        seen = await alerts.view("de-officer", sent["id"])
        assert seen["comments"][0]["text"] == "Aucun cas en France."
        assert seen["comments"][0]["language"] == "fr"
        assert seen["comments"][0]["authority"]["country"] == "fr"
        assert seen["tracking"]["commented"] == 1
        events = await alerts.tap.wait_for("alerts.alert.commented", alert_id=sent["id"])
        assert events[0].data["language"] == "fr"
        assert "Aucun cas" not in str(events[0].data)
        requested = await alerts.tap.wait_for(
            "translation.requested",
            reference=f"alerts:alert:{sent['id']}:comment:{seen['comments'][0]['id']}",
        )
        assert "de" in requested[0].data["target_languages"]
        assert requested[0].data["source_language"] == "fr"


class TestTracking:
    async def test_the_sender_lists_who_has_not_acknowledged_page_by_page(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr", "es", "at", "it", "pt"))
        await alerts.act("es-coordinator", sent, "acknowledge")
        path = f"/v1/alerts/{sent['id']}/recipients?status=not_acknowledged&limit=2"
        seen: list[str] = []
        cursor = None
        while True:
            response = await alerts.get(
                "de-officer", path + (f"&cursor={cursor}" if cursor else "")
            )
            assert response.status_code == 200, response.text
            seen += [i["country"] for i in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == ["at", "eu", "fr", "it", "pt"]
        acknowledged = await alerts.get(
            "de-coordinator", f"/v1/alerts/{sent['id']}/recipients?status=acknowledged"
        )
        assert [i["country"] for i in acknowledged.json()["items"]] == ["es"]

    async def test_a_receiving_coordinator_sees_only_its_own_countrys_recipients(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr", "es"))
        own = await alerts.get("fr-coordinator", f"/v1/alerts/{sent['id']}/recipients")
        assert [i["country"] for i in own.json()["items"]] == ["fr"]
        other = await alerts.get("fr-coordinator", f"/v1/alerts/{sent['id']}/recipients?country=es")
        assert other.status_code == 403
        view = await alerts.view("fr-coordinator", sent["id"])
        assert view["tracking"]["scope"] == "fr"
        assert view["tracking"]["recipients"] == 1

    async def test_a_recipient_handler_does_not_see_the_recipient_list(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr",))
        seen = await alerts.view("fr-coordinator", sent["id"])
        await alerts.act(
            "fr-coordinator", seen, "disseminate", {"procedures": ["svc_provider_information"]}
        )
        view = await alerts.view("fr-officer", sent["id"])
        assert view["tracking"] is None
        response = await alerts.get("fr-officer", f"/v1/alerts/{sent['id']}/recipients")
        assert response.status_code == 404

    async def test_the_first_read_is_kept(self, alerts: Alerts) -> None:
        sent = await broadcast(alerts, ("fr",))
        first = (await alerts.view("fr-coordinator", sent["id"]))["my_entry"]["read_at"]
        again = (await alerts.view("fr-coordinator", sent["id"]))["my_entry"]["read_at"]
        assert first is not None
        assert again == first
        unread = await alerts.get(
            "de-officer", f"/v1/alerts/{sent['id']}/recipients?status=not_read"
        )
        assert [i["country"] for i in unread.json()["items"]] == ["eu"]


class TestSenderActions:
    async def test_an_update_adds_information_and_moves_the_version(self, alerts: Alerts) -> None:
        sent = await broadcast(alerts, ("fr",))
        empty = await alerts.act("de-officer", sent, "update", {}, expect=422)
        assert empty["errors"][0]["field"] == "body.items"
        updated = await alerts.act(
            "de-officer",
            sent,
            "update",
            {
                "items": [
                    {"question": "svc_alert_provider_active_elsewhere", "answer": {"option": "yes"}}
                ],
                "free_texts": [{"id": "more", "text": "Auch in Österreich tätig."}],
            },
        )
        assert updated["version"] == sent["version"] + 1
        assert updated["updates"][0]["free_texts"][0]["text"] == "Auch in Österreich tätig."
        assert updated["updates"][0]["free_texts"][0]["language"] == "de"
        await alerts.tap.wait_for("alerts.alert.updated", alert_id=sent["id"])
        await alerts.act("fr-coordinator", updated, "update", {"free_texts": []}, expect=403)

    async def test_a_rectification_replaces_the_content_and_keeps_the_previous(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr",))
        content = services_alert(summary="Berichtigt: nur ein Standort betroffen.")["content"]
        rectified = await alerts.act(
            "de-officer", sent, "rectify", {"content": content, "reason": "Falscher Standort"}
        )
        assert rectified["content_version"] == 2
        assert rectified["content"]["free_texts"][0]["text"].startswith("Berichtigt")
        previous = rectified["previous_contents"][0]
        assert previous["content_version"] == 1
        assert previous["reason"] == "Falscher Standort"
        assert previous["free_texts"][0]["text"].startswith("Gefährliche")
        events = await alerts.tap.wait_for("alerts.alert.rectified", alert_id=sent["id"])
        assert events[0].data["content_version"] == 2

    async def test_a_withdrawal_needs_the_reason_and_ends_the_alert(self, alerts: Alerts) -> None:
        sent = await broadcast(alerts, ("fr",))
        missing = await alerts.act("de-officer", sent, "withdraw", {}, expect=422)
        assert missing["errors"][0]["field"] == "body.reason"
        withdrawn = await alerts.act(
            "de-officer", sent, "withdraw", {"reason": "Der Verdacht war unbegründet."}
        )
        assert withdrawn["state"] == "withdrawn"
        assert withdrawn["allowed_actions"] == []
        await alerts.act("fr-coordinator", withdrawn, "acknowledge", expect=409)
        events = await alerts.tap.wait_for("alerts.alert.withdrawn", alert_id=sent["id"])
        assert events[0].data["reason"] == "Der Verdacht war unbegründet."
        assert events[0].data["recipient_countries"] == ["eu", "fr"]

    async def test_only_the_sender_closes_and_nothing_follows_a_closure(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr",))
        await alerts.act("fr-coordinator", sent, "close", expect=403)
        closed = await alerts.act("de-officer", sent, "close", {"reason": "Gefahr vorüber."})
        assert closed["state"] == "closed"
        assert closed["ended_at"] is not None
        refused = await alerts.act(
            "de-officer", closed, "update", {"free_texts": [{"id": "x", "text": "y"}]}, expect=409
        )
        assert refused["allowed_actions"] == []


class TestLists:
    async def test_boxes_are_paged_newest_first_and_filtered(self, alerts: Alerts) -> None:
        drafts = [await alerts.draft("cz-officer", services_alert("cs")) for _ in range(3)]
        page = await alerts.get("cz-officer", "/v1/alerts?box=outgoing&limit=2")
        assert [i["id"] for i in page.json()["items"]] == [drafts[2]["id"], drafts[1]["id"]]
        cursor = page.json()["next_cursor"]
        rest = await alerts.get("cz-officer", f"/v1/alerts?box=outgoing&limit=2&cursor={cursor}")
        assert [i["id"] for i in rest.json()["items"]] == [drafts[0]["id"]]
        assert rest.json()["next_cursor"] is None
        none = await alerts.get("cz-officer", "/v1/alerts?box=outgoing&state=broadcast")
        assert none.json()["items"] == []
        # Drafts are the sending authority's own: the country's coordinator does not see them.
        theirs = (await alerts.get("cz-coordinator", "/v1/alerts?box=all")).json()["items"]
        assert not {d["id"] for d in drafts} & {i["id"] for i in theirs}
        assert (await alerts.get("cz-officer", "/v1/alerts?box=coordination")).status_code == 403
        bad = await alerts.get("cz-officer", "/v1/alerts?cursor=garbage")
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "query.cursor"

    async def test_list_names_are_in_the_readers_language(self, alerts: Alerts) -> None:
        await alerts.draft("sk-officer", services_alert("sk"))
        response = await alerts.get(
            "sk-officer", "/v1/alerts?box=outgoing", **{"Accept-Language": "de"}
        )
        item = response.json()["items"][0]
        assert item["procedure"]["name"].startswith("Vorwarnung")
        assert item["area"]["name"] == "Dienstleistungen"
