"""The web client through the gateway, without a browser: sign-in, forms, pages, live updates."""

from __future__ import annotations

import json
import re
import threading
from datetime import date, timedelta
from typing import Any

import httpx

from tests.gateway.web.browser_less import csrf_of, post_form, sign_in, web_client
from tests.stack import Stack


def authority_of(stack: Stack, username: str) -> str:
    with stack.api(username) as api:
        return str(api.get("/me").json()["authority_id"])


class TestSignIn:
    def test_the_session_cookie_is_http_only_and_same_site(self, stack: Stack) -> None:
        client = web_client(stack)
        page = client.get("/login")
        done = client.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "username": "pt-officer", "password": "demo"},
        )
        assert done.status_code == 303
        cookie = next(
            v for k, v in done.headers.multi_items() if k == "set-cookie" and "imi_session" in v
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert client.get("/").status_code == 200

    def test_a_wrong_password_shows_the_form_again(self, stack: Stack) -> None:
        client = web_client(stack)
        page = client.get("/login")
        done = client.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "username": "pt-officer", "password": "nope"},
        )
        assert done.status_code == 401
        assert 'data-testid="error"' in done.text
        assert "imi_session" not in done.headers.get("set-cookie", "")

    def test_a_login_without_its_csrf_token_is_refused(self, stack: Stack) -> None:
        client = web_client(stack)
        client.get("/login")
        done = client.post("/login", data={"username": "pt-officer", "password": "demo"})
        assert done.status_code == 403
        assert client.get("/").status_code == 303  # still not signed in

    def test_a_page_without_a_session_redirects_to_sign_in(self, stack: Stack) -> None:
        client = web_client(stack)
        response = client.get("/requests?box=outgoing")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/requests")
        client.cookies.set("imi_session", "no-such-session")
        expired = client.get("/requests")
        assert expired.status_code == 303
        assert "expired=1" in expired.headers["location"]

    def test_a_form_without_the_csrf_token_does_nothing(self, stack: Stack) -> None:
        client = sign_in(stack, "pt-officer")
        done = client.post("/logout", data={})
        assert done.status_code == 403
        assert client.get("/").status_code == 200  # the session is still there


class TestLanguage:
    def test_the_browser_language_is_the_default_and_the_picker_wins(self, stack: Stack) -> None:
        client = sign_in(stack, "pt-officer", language="de-DE,de;q=0.9")
        page = client.get("/")
        assert page.headers["content-language"] == "de"
        token = csrf_of(page.text)
        client.post("/language", data={"csrf_token": token, "language": "el", "back": "/"})
        assert client.get("/").headers["content-language"] == "el"
        assert '<html lang="el">' in client.get("/").text
        client.post("/language", data={"csrf_token": token, "language": "klingon", "back": "/"})
        assert client.get("/").headers["content-language"] == "el"  # an unknown one is ignored

    def test_the_picker_without_its_csrf_token_changes_nothing(self, stack: Stack) -> None:
        client = sign_in(stack, "pt-officer", language="pt")
        refused = client.post("/language", data={"language": "el", "back": "/"})
        assert refused.status_code == 403
        assert client.get("/").headers["content-language"] == "pt"

    def test_signed_out_the_picker_takes_the_pre_session_token(self, stack: Stack) -> None:
        client = web_client(stack)
        page = client.get("/login")
        done = client.post(
            "/language", data={"csrf_token": csrf_of(page.text), "language": "fi", "back": "/login"}
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/login"
        assert client.get("/login").headers["content-language"] == "fi"


class TestDirectory:
    def test_a_search_in_greek_shows_the_competence_in_greek(self, stack: Stack) -> None:
        client = sign_in(stack, "gr-officer", language="el")
        page = client.get("/directory", params={"q": "εκπαιδευτικός", "country": "de"})
        assert page.status_code == 200
        assert 'data-testid="directory-result"' in page.text
        matched = re.findall(r'data-testid="matched-competence">(.*?)</p>', page.text, re.S)
        assert matched
        assert re.search(r"[\u0370-\u03ff]", " ".join(matched))


class TestDiplomaScenario:
    def test_portugal_asks_germany_answers_through_the_pages(self, stack: Stack) -> None:
        germany = authority_of(stack, "de-officer")
        pt = sign_in(stack, "pt-officer", language="pt")
        new = pt.get(
            "/requests/new", params={"procedure": "pq_establishment", "responding": germany}
        )
        assert new.status_code == 200
        assert 'data-testid="question-pq_diploma_authentic"' in new.text
        created = pt.post(
            "/requests",
            data={
                "csrf_token": csrf_of(new.text),
                "procedure": "pq_establishment",
                "responding_authority_id": germany,
                "question": ["pq_diploma_authentic", "pq_diploma_award_date"],
                "free_text": "Pedimos a confirmação do diploma de professora.",
                "requested_reply_date": (date.today() + timedelta(days=14)).isoformat(),
                "then": "send",
            },
        )
        assert created.status_code == 303, created.text
        request_url = created.headers["location"]
        request_id = request_url.rsplit("/", 1)[1]

        de = sign_in(stack, "de-officer", language="de")
        home = de.get("/")
        assert 'data-testid="count-to-accept"' in home.text
        incoming = de.get("/requests?box=incoming")
        assert f'data-request-id="{request_id}"' in incoming.text
        accepted = post_form(
            de, request_url, f"{request_url}/accept", version=_version(de, request_url)
        )
        assert accepted.status_code == 303, accepted.text
        answered = post_form(
            de,
            request_url,
            f"{request_url}/answer",
            version=_version(de, request_url),
            **{
                "answer:pq_diploma_authentic": "option:yes",
                "answer:pq_diploma_award_date": "2011-07-15",
                "free_text": "Das Diplom ist echt.",
            },
        )
        assert answered.status_code == 303, answered.text

        page = pt.get(request_url)
        assert 'data-action="accept-answer"' in page.text
        assert "2011-07-15" in page.text
        closed = post_form(
            pt,
            request_url,
            f"{request_url}/accept-answer",
            version=_version(pt, request_url),
            timeliness="5",
            effort="4",
        )
        assert closed.status_code == 303, closed.text
        assert 'data-action="accept-answer"' not in pt.get(request_url).text

        # A French officer is told there is no such request.
        fr = sign_in(stack, "fr-officer")
        assert fr.get(request_url).status_code == 404


def _version(client: httpx.Client, url: str) -> str:
    page = client.get(url).text
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found is not None, page[-3000:]
    return found.group(1)


class TestLiveUpdates:
    def test_a_new_request_reaches_the_responding_authority_stream(self, stack: Stack) -> None:
        de = sign_in(stack, "de-officer")
        received: list[dict[str, Any]] = []
        ready = threading.Event()

        def listen() -> None:
            with de.stream("GET", "/api/v1/events/stream", timeout=httpx.Timeout(40)) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                event = None
                for line in stream.iter_lines():
                    ready.set()
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "imi":
                        received.append(json.loads(line.removeprefix("data: ")))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert ready.wait(20)
        draft = stack.draft_request("pt-officer", "de-officer")
        with stack.api("pt-officer") as pt:
            pt.post(f"/requests/{draft['id']}/send", headers={"if-match": f'"{draft["version"]}"'})
        listener.join(30)
        assert received, "no live notice arrived"
        assert received[0]["type"] == "exchange.request.sent"
        assert received[0]["url"] == f"/requests/{draft['id']}"
