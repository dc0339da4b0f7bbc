"""The public API through the gateway, resource by resource of the map (DESIGN.md §3).

Against the whole network (the test stack): each call goes through the gateway's sign-in,
forwarding and signed identity to the service that owns it. What the caller may not see is 404,
never 403; a transition takes If-Match; errors are problem+json naming the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.stack import DEMO_PASSWORD, Stack

PROBLEM = "application/problem+json"


def is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def fields_of(problem: dict[str, Any]) -> set[str]:
    return {str(e.get("field")) for e in problem.get("errors", [])}


def if_match(resource: dict[str, Any]) -> dict[str, str]:
    return {"if-match": f'"{resource["version"]}"'}


def act(
    api: httpx.Client, path: str, resource: dict[str, Any], body: Any = None, status: int = 200
) -> dict[str, Any]:
    response = api.post(path, json=body, headers=if_match(resource))
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()
    return found


@dataclass
class Network:
    stack: Stack
    clients: dict[str, httpx.Client]

    def __call__(self, username: str) -> httpx.Client:
        if username not in self.clients:
            self.clients[username] = self.stack.api(username)
        return self.clients[username]

    def authority(self, username: str) -> str:
        return str(self(username).get("/me").json()["authority_id"])


@pytest.fixture(scope="module")
def net(stack: Stack) -> Iterator[Network]:
    found = Network(stack, {})
    try:
        yield found
    finally:
        for client in found.clients.values():
            client.close()


@dataclass
class SecondAuthority:
    """A German authority registered, validated and activated by the German coordinator."""

    id: str
    handler: str  # user name of its request handler
    password: str


@pytest.fixture(scope="module")
def second(net: Network) -> SecondAuthority:
    coordinator = net("de-coordinator")
    suffix = uuid.uuid4().hex[:6]
    created = coordinator.post(
        "/authorities",
        json={
            "official_name": f"Landesamt für Lehrerbildung {suffix}",
            "name_language": "de",
            "country": "de",
            "level": "regional",
            "region": "DE-BY",
            "competences": [
                {
                    "area": "professional_qualifications",
                    "procedures": ["pq_establishment", "pq_temporary_services"],
                    "keywords": ["teacher"],
                }
            ],
        },
        headers={"idempotency-key": f"second-{suffix}"},
    )
    assert created.status_code == 201, created.text
    authority = created.json()
    assert authority["status"] == "registered"
    validated = act(coordinator, f"/authorities/{authority['id']}/validate", authority)
    assert validated["status"] == "validated"
    active = act(coordinator, f"/authorities/{authority['id']}/activate", validated)
    assert active["status"] == "active"
    handler, password = f"de-handler-{suffix}", f"{DEMO_PASSWORD}-{uuid.uuid4().hex}"
    user = coordinator.post(
        f"/authorities/{authority['id']}/users",
        json={
            "username": handler,
            "display_name": "Sachbearbeiterin Bayern",
            "password": password,
            "language": "de",
            "roles": [{"name": "request_handler"}, {"name": "request_allocator"}],
        },
    )
    assert user.status_code == 201, user.text
    return SecondAuthority(id=authority["id"], handler=handler, password=password)


def draft(net: Network, requester: str = "pt-officer", responder: str = "de-officer") -> Any:
    response = net(requester).post(
        "/requests",
        json={
            "procedure": "pq_establishment",
            "responding_authority_id": net.authority(responder),
            "items": [{"question": "pq_diploma_authentic"}, {"question": "pq_diploma_award_date"}],
            "free_texts": [{"text": "Pedimos a confirmação do diploma.", "language": "pt"}],
            "requested_reply_date": (date.today() + timedelta(days=14)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def sent(net: Network) -> dict[str, Any]:
    found = draft(net)
    return act(net("pt-officer"), f"/requests/{found['id']}/send", found)


class TestSignInAndMe:
    def test_a_token_for_a_password_and_me(self, stack: Stack) -> None:
        token = httpx.post(
            f"{stack.gateway}/api/v1/auth/token",
            data={"username": "pt-officer", "password": DEMO_PASSWORD},
            timeout=30,
        )
        assert token.status_code == 200
        assert token.json()["token_type"] == "bearer"
        headers = {"authorization": f"Bearer {token.json()['access_token']}"}
        me = httpx.get(f"{stack.gateway}/api/v1/me", headers=headers, timeout=30)
        assert me.status_code == 200
        assert me.json()["country"] == "pt"
        assert me.json()["language"] == "pt"
        revoked = httpx.post(f"{stack.gateway}/api/v1/auth/revoke", headers=headers, timeout=30)
        assert revoked.status_code == 204
        after = httpx.get(f"{stack.gateway}/api/v1/me", headers=headers, timeout=30)
        assert after.status_code == 401

    def test_a_wrong_password_and_a_missing_field(self, stack: Stack) -> None:
        url = f"{stack.gateway}/api/v1/auth/token"
        wrong = httpx.post(url, data={"username": "pt-officer", "password": "nope"}, timeout=30)
        is_problem(wrong, 401)
        missing = httpx.post(url, data={"username": "pt-officer"}, timeout=30)
        assert "password" in " ".join(fields_of(is_problem(missing, 422)))

    def test_no_token_no_resource(self, stack: Stack) -> None:
        for path in ("/me", "/requests", "/authorities", "/alerts", "/repositories"):
            response = httpx.get(f"{stack.gateway}/api/v1{path}", timeout=30)
            assert response.status_code == 401, path

    def test_an_unknown_resource_is_a_problem_not_a_trace(self, net: Network) -> None:
        is_problem(net("pt-officer").get("/no-such-thing"), 404)


class TestAuthorities:
    def test_a_portuguese_word_finds_the_german_authority_for_teachers(self, net: Network) -> None:
        germany = net.authority("de-officer")
        found = net("pt-officer").get(
            "/authorities", params={"q": "professor", "country": "de", "lang": "pt"}
        )
        assert found.status_code == 200, found.text
        items = found.json()["items"]
        assert germany in [a["id"] for a in items]
        matched = next(a for a in items if a["id"] == germany)["matched_competences"]
        assert matched

    def test_by_procedure_and_by_id(self, net: Network) -> None:
        germany = net.authority("de-officer")
        listed = net("pt-officer").get(
            "/authorities", params={"country": "de", "procedure": "pq_establishment"}
        )
        assert germany in [a["id"] for a in listed.json()["items"]]
        one = net("pt-officer").get(f"/authorities/{germany}")
        assert one.status_code == 200
        assert one.json()["country"] == "de"
        is_problem(net("pt-officer").get(f"/authorities/{uuid.uuid4()}"), 404)

    def test_a_coordinator_registers_patches_and_deactivates_in_its_country(
        self, net: Network, second: SecondAuthority
    ) -> None:
        coordinator = net("de-coordinator")
        current = coordinator.get(f"/authorities/{second.id}").json()
        patched = coordinator.patch(
            f"/authorities/{second.id}",
            json={"informal_titles": {"en": "Bavarian teacher training office"}},
            headers=if_match(current),
        )
        assert patched.status_code == 200, patched.text
        stale = coordinator.patch(
            f"/authorities/{second.id}", json={"phone": "+49 89 1"}, headers=if_match(current)
        )
        is_problem(stale, 412)
        users = coordinator.get(f"/authorities/{second.id}/users")
        assert users.status_code == 200
        assert second.handler in [u["username"] for u in users.json()["items"]]

    def test_another_country_s_coordinator_cannot_act_on_it(
        self, net: Network, second: SecondAuthority
    ) -> None:
        french = net("fr-coordinator")
        current = french.get(f"/authorities/{second.id}").json()
        refused = french.post(f"/authorities/{second.id}/deactivate", headers=if_match(current))
        # Authorities are public: the refusal says so (403); it is requests and alerts whose
        # existence must not leak.
        is_problem(refused, 403)
        assert net("de-coordinator").get(f"/authorities/{second.id}").json()["status"] == "active"
        registered = french.post(
            "/authorities",
            json={
                "official_name": "X",
                "name_language": "de",
                "country": "de",
                "level": "national",
            },
        )
        is_problem(registered, 403)

    def test_a_bad_authority_names_its_field(self, net: Network) -> None:
        bad = net("de-coordinator").post(
            "/authorities",
            json={
                "official_name": "X",
                "name_language": "de",
                "country": "de",
                "level": "galactic",
            },
        )
        assert "level" in " ".join(fields_of(is_problem(bad, 422)))


class TestCatalogue:
    def test_areas_and_a_procedure_in_the_reader_s_language(self, net: Network) -> None:
        areas_pt = net("pt-officer").get("/catalogue/areas").json()["items"]
        areas_de = net("de-officer").get("/catalogue/areas").json()["items"]
        name_pt = next(a["name"] for a in areas_pt if a["key"] == "professional_qualifications")
        name_de = next(a["name"] for a in areas_de if a["key"] == "professional_qualifications")
        assert name_pt != name_de
        procedure = net("de-officer").get("/catalogue/procedures/pq_establishment")
        assert procedure.status_code == 200
        questions = [q for s in procedure.json()["question_sets"] for q in s["questions"]]
        assert len(questions) >= 8
        assert procedure.json()["language"] == "de"
        is_problem(net("de-officer").get("/catalogue/procedures/no_such_procedure"), 404)


class TestRequests:
    def test_the_whole_workflow_through_the_gateway(self, net: Network) -> None:
        pt, de = net("pt-officer"), net("de-officer")
        created = draft(net)
        assert created["state"] == "draft"
        request_path = f"/requests/{created['id']}"
        outgoing = pt.get("/requests", params={"box": "outgoing", "state": "draft"}).json()
        assert created["id"] in [r["id"] for r in outgoing["items"]]
        is_problem(pt.post(f"{request_path}/send"), 428)
        request = act(pt, f"{request_path}/send", created)
        is_problem(pt.post(f"{request_path}/send", headers=if_match(created)), 412)
        incoming = de.get("/requests", params={"box": "incoming", "state": "sent"}).json()
        assert created["id"] in [r["id"] for r in incoming["items"]]
        illegal = de.post(
            f"{request_path}/accept-answer",
            json={"timeliness": 5, "effort": 5},
            headers=if_match(request),
        )
        conflict = is_problem(illegal, 409)
        assert "accept" in conflict["allowed_actions"]
        request = act(de, f"{request_path}/accept", request)
        assert request["state"] == "accepted"
        later = (date.today() + timedelta(days=30)).isoformat()
        request = act(de, f"{request_path}/propose-date", request, {"date": later})
        request = act(pt, f"{request_path}/propose-date", request, {"accept": True})
        assert request["reply_date"]["reply_by"] == later
        me = de.get("/me").json()
        request = act(de, f"{request_path}/allocate", request, {"handler_user_id": me["user_id"]})
        assert request["handler_user_id"] == me["user_id"]
        answer = {
            "answers": [
                {"question": "pq_diploma_authentic", "answer": {"option": "yes"}},
                {"question": "pq_diploma_award_date", "answer": {"date": "2011-07-15"}},
            ],
            "free_texts": [{"text": "Das Diplom ist echt.", "language": "de"}],
        }
        request = act(de, f"{request_path}/answer", request, answer)
        assert request["state"] == "answered"
        request = act(
            pt, f"{request_path}/request-info", request, {"text": "Qual é a duração da formação?"}
        )
        assert request["state"] == "information_requested"
        request = act(de, f"{request_path}/answer", request, answer)
        request = act(pt, f"{request_path}/accept-answer", request, {"timeliness": 5, "effort": 4})
        assert request["state"] == "answer_accepted"
        request = act(pt, f"{request_path}/close", request)
        assert request["state"] == "closed"
        read = de.get(request_path)
        assert read.status_code == 200
        assert read.headers["etag"] == f'"{request["version"]}"'

    def test_a_creation_with_the_same_idempotency_key_creates_once(self, net: Network) -> None:
        pt = net("pt-officer")
        body = {
            "procedure": "pq_establishment",
            "responding_authority_id": net.authority("de-officer"),
            "items": [{"question": "pq_diploma_authentic"}],
            "requested_reply_date": (date.today() + timedelta(days=14)).isoformat(),
        }
        key = {"idempotency-key": uuid.uuid4().hex}
        first = pt.post("/requests", json=body, headers=key)
        again = pt.post("/requests", json=body, headers=key)
        assert first.status_code == 201
        assert again.status_code == 200  # the same draft back, not a second one
        assert first.json()["id"] == again.json()["id"]

    def test_someone_else_s_request_is_404_not_403(self, net: Network) -> None:
        request = sent(net)
        french = net("fr-officer")
        is_problem(french.get(f"/requests/{request['id']}"), 404)
        is_problem(french.post(f"/requests/{request['id']}/accept", headers=if_match(request)), 404)
        assert request["id"] not in [
            r["id"] for r in french.get("/requests", params={"box": "incoming"}).json()["items"]
        ]

    def test_reject_with_a_reason_and_withdraw(self, net: Network) -> None:
        pt, de = net("pt-officer"), net("de-officer")
        request = sent(net)
        missing = de.post(f"/requests/{request['id']}/reject", json={}, headers=if_match(request))
        assert "reason" in " ".join(fields_of(is_problem(missing, 422)))
        rejected = act(de, f"/requests/{request['id']}/reject", request, {"reason": "Not ours."})
        assert rejected["state"] == "rejected"
        other = sent(net)
        withdrawn = act(pt, f"/requests/{other['id']}/withdraw", other, {"reason": "Sent twice."})
        assert withdrawn["state"] == "withdrawn"

    def test_forward_and_split_to_another_authority(
        self, net: Network, stack: Stack, second: SecondAuthority
    ) -> None:
        de = net("de-officer")
        waiting = sent(net)
        request = act(de, f"/requests/{waiting['id']}/accept", waiting)
        split = de.post(
            f"/requests/{request['id']}/split",
            json={"authority_id": second.id, "questions": ["pq_diploma_award_date"]},
            headers=if_match(request),
        )
        assert split.status_code == 200, split.text
        (new_request,) = split.json()["splits"]
        forwarded = act(
            de,
            f"/requests/{request['id']}/forward",
            de.get(f"/requests/{request['id']}").json(),
            {"authority_id": second.id, "reason": "Competent in Bavaria."},
        )
        assert forwarded["responding_authority"]["id"] == second.id
        with stack.api(second.handler, password=second.password) as bavaria:
            assert bavaria.get(f"/requests/{request['id']}").status_code == 200
            moved = bavaria.get(f"/requests/{new_request}")
            assert moved.status_code == 200
            assert [q["question"] for q in moved.json()["questions"]] == ["pq_diploma_award_date"]

    def test_attachments(self, net: Network) -> None:
        request = draft(net)
        pt = net("pt-officer")
        uploaded = pt.post(
            f"/requests/{request['id']}/attachments",
            files={"file": ("diploma.pdf", b"%PDF-1.4 diploma", "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        listed = pt.get(f"/requests/{request['id']}/attachments")
        assert listed.status_code == 200
        assert "diploma.pdf" in listed.text
        is_problem(net("fr-officer").get(f"/requests/{request['id']}/attachments"), 404)

    def test_a_malformed_body_is_422_not_500(self, net: Network) -> None:
        response = net("pt-officer").post(
            "/requests", content=b'{"procedure": ', headers={"content-type": "application/json"}
        )
        is_problem(response, 422)
        bad_date = net("pt-officer").post(
            "/requests",
            json={
                "procedure": "pq_establishment",
                "responding_authority_id": net.authority("de-officer"),
                "items": [{"question": "pq_diploma_authentic"}],
                "requested_reply_date": "next tuesday",
            },
        )
        assert "requested_reply_date" in " ".join(fields_of(is_problem(bad_date, 422)))


def svc_alert(net: Network, author: str = "fr-officer") -> dict[str, Any]:
    response = net(author).post(
        "/alerts",
        json={
            "procedure": "svc_alert",
            "content": {
                "items": [
                    {"question": "svc_alert_risk_type", "answer": {"option": "health"}},
                    {"question": "svc_alert_facts_date", "answer": {"date": "2026-03-01"}},
                ],
                "free_texts": [
                    {"id": "summary", "text": "Appareils non testés.", "language": "fr"}
                ],
            },
        },
    )
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


class TestAlerts:
    def test_submit_approve_broadcast_disseminate_acknowledge_and_close(self, net: Network) -> None:
        officer, coordinator = net("fr-officer"), net("fr-coordinator")
        alert = svc_alert(net)
        path = f"/alerts/{alert['id']}"
        alert = act(officer, f"{path}/submit", alert)
        alert = act(coordinator, f"{path}/approve", alert)
        alert = act(coordinator, f"{path}/broadcast", alert, {"countries": ["de"]})
        receiver = net("de-coordinator")
        seen = receiver.get(path)
        assert seen.status_code == 200, seen.text
        disseminated = receiver.post(
            f"{path}/disseminate",
            json={"procedures": ["svc_provider_information"]},
            headers=if_match(seen.json()),
        )
        assert disseminated.status_code == 200, disseminated.text
        recipient = net("de-officer")
        mine = recipient.get(path).json()
        act(recipient, f"{path}/acknowledge", mine)
        commented = recipient.post(
            f"{path}/comment",
            json={"text": "Bei uns nicht gesehen."},
            headers=if_match(recipient.get(path).json()),
        )
        assert commented.status_code == 200, commented.text
        alert = officer.get(path).json()
        alert = act(
            officer,
            f"{path}/update",
            alert,
            {"free_texts": [{"id": "more", "text": "Deux lots rappelés."}]},
        )
        alert = act(
            officer,
            f"{path}/rectify",
            alert,
            {
                "content": {
                    "items": [{"question": "svc_alert_risk_type", "answer": {"option": "health"}}]
                },
                "reason": "Date corrigée.",
            },
        )
        recipients = officer.get(f"{path}/recipients")
        assert recipients.status_code == 200
        assert "de" in recipients.text
        closed = act(officer, f"{path}/close", alert, {"reason": "Risk over."})
        assert closed["state"] == "closed"
        boxes = recipient.get("/alerts", params={"box": "incoming"}).json()
        assert alert["id"] in [a["id"] for a in boxes["items"]]

    def test_a_coordinator_rejects_and_a_sender_withdraws(self, net: Network) -> None:
        officer, coordinator = net("fr-officer"), net("fr-coordinator")
        alert = svc_alert(net)
        alert = act(officer, f"/alerts/{alert['id']}/submit", alert)
        rejected = act(coordinator, f"/alerts/{alert['id']}/reject", alert, {"reason": "Vague."})
        assert rejected["state"] == "rejected"
        other = svc_alert(net)
        other = act(officer, f"/alerts/{other['id']}/submit", other)
        other = act(coordinator, f"/alerts/{other['id']}/approve", other)
        other = act(coordinator, f"/alerts/{other['id']}/broadcast", other, {"countries": ["de"]})
        withdrawn = act(officer, f"/alerts/{other['id']}/withdraw", other, {"reason": "Unfounded."})
        assert withdrawn["state"] == "withdrawn"

    def test_an_alert_one_did_not_receive_is_404(self, net: Network) -> None:
        alert = svc_alert(net)
        is_problem(net("it-officer").get(f"/alerts/{alert['id']}"), 404)
        refused = net("it-officer").post(
            f"/alerts/{alert['id']}/acknowledge", headers=if_match(alert)
        )
        is_problem(refused, 404)

    def test_a_broadcast_by_an_officer_is_refused(self, net: Network) -> None:
        officer = net("fr-officer")
        alert = svc_alert(net)
        alert = act(officer, f"/alerts/{alert['id']}/submit", alert)
        refused = officer.post(
            f"/alerts/{alert['id']}/broadcast", json={"countries": "all"}, headers=if_match(alert)
        )
        is_problem(refused, 403)


class TestRepositories:
    def test_list_search_create_and_import(self, net: Network) -> None:
        writer = net("fr-coordinator")
        listed = writer.get("/repositories")
        assert {"registers", "euro_cash_transport"} <= {r["key"] for r in listed.json()["items"]}
        name = f"Registre national des notaires {uuid.uuid4().hex[:6]}"
        created = writer.post(
            "/repositories/registers/records",
            json={
                "fields": {
                    "register_name": {"fr": name},
                    "country": "fr",
                    "keeping_authority": "Chambre des notaires",
                    "records": {"fr": "notaires en exercice"},
                }
            },
        )
        assert created.status_code == 201, created.text
        found = net("de-officer").get(
            "/repositories/registers/records", params={"q": name, "lang": "de"}
        )
        assert found.status_code == 200
        assert created.json()["id"] in [r["id"] for r in found.json()["items"]]
        csv_text = (
            "register_name:fr,country,keeping_authority,records:fr\n"
            f"Registre des architectes {uuid.uuid4().hex[:6]},fr,Ordre des architectes,"
            "architectes\n"
        )
        imported = writer.post(
            "/repositories/registers/import",
            content=csv_text.encode(),
            headers={"content-type": "text/csv"},
        )
        assert imported.status_code == 201, imported.text
        bad = writer.post(
            "/repositories/registers/import",
            content=b"register_name:fr,country,keeping_authority\nUn registre,zz,Ordre\n",
            headers={"content-type": "text/csv"},
        )
        assert bad.status_code == 422, bad.text
        assert {(e["row"], e["field"]) for e in bad.json()["errors"]} == {(2, "country")}

    def test_outside_the_group_the_repository_is_404(
        self, net: Network, stack: Stack, second: SecondAuthority
    ) -> None:
        with stack.api(second.handler, password=second.password) as outsider:
            is_problem(outsider.get("/repositories/euro_cash_transport/records"), 404)
        member = net("de-coordinator").get("/repositories/euro_cash_transport/records")
        assert member.status_code == 200


class TestStatisticsAndEvents:
    def test_the_scoreboard_with_filters(self, net: Network) -> None:
        figures = net("pt-officer").get(
            "/statistics",
            params={"country": "de", "from": "2026-01-01", "to": date.today().isoformat()},
        )
        assert figures.status_code == 200, figures.text
        assert "requests_sent" in figures.json()["total"]
        bad = net("pt-officer").get("/statistics", params={"from": "yesterday"})
        assert "from" in " ".join(fields_of(is_problem(bad, 422)))

    def test_the_event_stream_is_server_sent_events(self, net: Network) -> None:
        with net("pt-officer").stream("GET", "/events/stream", timeout=10) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")

    def test_an_unknown_language_falls_back_to_the_user_s(self, stack: Stack) -> None:
        with stack.api("de-officer", language="tlh") as api:
            areas = api.get("/catalogue/areas")
            assert areas.status_code == 200
            assert areas.headers.get("content-language") in (None, "de")
