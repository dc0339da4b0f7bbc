"""The web client in a real browser: officers and coordinators click through it in their languages.

Each test signs its users in through the login form, in a browser context whose language is the
user's (the browser's Accept-Language), and leaves screenshots of the pages it went through.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, BrowserContext, Page, expect

from services.gateway.web import messages
from tests.stack import DEMO_PASSWORD, Stack

LOCALES = {"pt": "pt-PT", "de": "de-DE", "el": "el-GR", "fr": "fr-FR", "en": "en-GB"}


def text_in(language: str, english: str) -> str:
    """What the reader of ``language`` sees for ``english`` (the catalogue, not a copy of it)."""
    if language == "en":
        return english
    with messages.po_path(language).open("rb") as handle:
        message = read_po(handle).get(english)
    assert message is not None, english
    return str(message.string)


class User:
    def __init__(self, context: BrowserContext, page: Page, shots: Path, name: str) -> None:
        self.context = context
        self.page = page
        self.shots = shots
        self.name = name
        self.step = 0

    def shot(self, label: str) -> None:
        self.step += 1
        self.page.screenshot(path=self.shots / f"{self.name}-{self.step:02d}-{label}.png")

    def until(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        """Reload the page until ``check`` holds (work done by another user, via the broker)."""
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"{self.name}: condition not met on {self.page.url}"
            time.sleep(0.3)
            self.page.reload()


@pytest.fixture
def sign_in(
    chromium: Browser, stack: Stack, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str, str], User]]:
    contexts: list[BrowserContext] = []
    shots = artifacts / request.node.name
    shots.mkdir(parents=True, exist_ok=True)

    def open_as(username: str, language: str) -> User:
        context = chromium.new_context(
            base_url=stack.gateway,
            locale=LOCALES[language],
            viewport={"width": 1280, "height": 900},
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto("/login")
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.get_by_test_id("username").fill(username)
        page.get_by_test_id("password").fill(DEMO_PASSWORD)
        page.get_by_test_id("sign-in").click()
        expect(page.get_by_test_id("nav-home")).to_be_visible()
        return User(context, page, shots, username)

    yield open_as
    for context in contexts:
        context.close()


def authority_of(stack: Stack, username: str) -> str:
    with stack.api(username) as api:
        return str(api.get("/me").json()["authority_id"])


class TestDiplomaScenario:
    def test_a_portuguese_officer_asks_and_a_german_officer_answers(
        self, stack: Stack, sign_in: Callable[[str, str], User]
    ) -> None:
        germany = authority_of(stack, "de-officer")
        pt = sign_in("pt-officer", "pt")
        pt.shot("home")
        # The directory: who in Germany is competent for teachers, asked in Portuguese.
        pt.page.get_by_test_id("nav-directory").click()
        pt.page.get_by_test_id("directory-q").fill("professor")
        pt.page.get_by_test_id("directory-country").select_option("de")
        pt.page.get_by_test_id("directory-search").click()
        result = pt.page.locator(f'[data-testid="directory-result"][data-authority-id="{germany}"]')
        expect(result).to_be_visible()
        expect(result.get_by_test_id("matched-competence").first).to_be_visible()
        pt.shot("directory")
        result.get_by_role("link", name=text_in("pt", "Send a request to this authority")).click()
        # The request: a procedure, two questions of its set, a message in Portuguese.
        pt.page.get_by_test_id("request-procedure").select_option("pq_establishment")
        pt.page.get_by_test_id("request-pick-procedure").click()
        expect(pt.page.get_by_test_id("request-responding")).to_have_value(germany)
        pt.page.get_by_test_id("question-pq_diploma_authentic").check()
        pt.page.get_by_test_id("question-pq_diploma_award_date").check()
        pt.page.get_by_test_id("request-free-text").fill(
            "Pedimos a confirmação do diploma de professora de Ana Martins."
        )
        pt.shot("new-request")
        pt.page.get_by_test_id("request-send").click()
        expect(pt.page.get_by_test_id("request-state")).to_have_text(
            text_in("pt", "Waiting for acceptance")
        )
        request_path = re.sub(r"^https?://[^/]+", "", pt.page.url)
        request_id = request_path.rsplit("/", 1)[1]
        pt.shot("sent")

        # The German officer finds it among the incoming requests, reads it in German.
        de = sign_in("de-officer", "de")
        de.page.get_by_test_id("nav-requests").click()
        de.page.get_by_test_id("requests-box-incoming").click()
        row = de.page.locator(f'[data-testid="request-row"][data-request-id="{request_id}"]')
        expect(row).to_be_visible()
        de.shot("incoming")
        row.get_by_role("link").first.click()
        expect(de.page.locator('[data-question="pq_diploma_authentic"]')).to_be_visible()
        expect(de.page.get_by_test_id("request-reply-by")).to_have_text(
            re.compile(r"\d{4}-\d{2}-\d{2}")
        )
        expect(de.page.get_by_test_id("free-text")).to_contain_text("Pedimos a confirmação")
        de.shot("request")
        de.page.get_by_test_id("action-accept").click()
        expect(de.page.get_by_test_id("request-state")).to_have_text(text_in("de", "Accepted"))
        de.page.get_by_test_id("answer-pq_diploma_authentic").select_option("option:yes")
        de.page.get_by_test_id("answer-pq_diploma_award_date").fill("2011-07-15")
        de.page.locator("#answer-text").fill("Das Diplom ist echt.")
        de.shot("answer")
        de.page.get_by_test_id("action-answer").click()
        expect(de.page.get_by_test_id("request-state")).to_have_text(text_in("de", "Answered"))
        de.shot("answered")

        # Back in Lisbon: the answer is there; accepting it closes the exchange.
        pt.page.goto(request_path)
        expect(pt.page.get_by_test_id("answer").first).to_be_visible()
        expect(pt.page.get_by_test_id("request-questions")).to_contain_text("2011-07-15")
        pt.shot("answer-received")
        pt.page.get_by_test_id("action-accept-answer").click()
        expect(pt.page.get_by_test_id("action-accept-answer")).to_have_count(0)
        pt.shot("closed")

        # Nobody else sees it: a French officer gets the not-found page.
        fr = sign_in("fr-officer", "fr")
        answer = fr.page.goto(request_path)
        assert answer is not None
        assert answer.status == 404
        fr.shot("not-found")


class TestAlertScenario:
    def test_an_alert_is_approved_broadcast_and_disseminated_by_coordinators(
        self, sign_in: Callable[[str, str], User]
    ) -> None:
        summary = f"Unsafe cosmetic devices {uuid.uuid4().hex[:6]}"
        officer = sign_in("fr-officer", "fr")
        officer.page.goto("/alerts/new?kind=svc_alert")
        officer.page.get_by_test_id("question-svc_alert_risk_type").select_option("health")
        officer.page.get_by_test_id("question-svc_alert_serious_damage").select_option("yes")
        officer.page.get_by_test_id("question-svc_alert_facts_date").fill("2026-03-01")
        officer.page.get_by_test_id("question-svc_alert_urgency").select_option("immediate_action")
        officer.page.get_by_test_id("alert-summary").fill(summary)
        officer.shot("draft")
        officer.page.get_by_test_id("alert-create").click()
        officer.page.get_by_test_id("action-submit").click()
        expect(officer.page.get_by_test_id("action-submit")).to_have_count(0)
        alert_path = re.sub(r"^https?://[^/]+", "", officer.page.url)
        officer.shot("submitted")

        coordinator = sign_in("fr-coordinator", "fr")
        coordinator.page.goto(alert_path)
        coordinator.shot("to-approve")
        coordinator.page.get_by_test_id("action-approve").click()
        coordinator.page.locator("#scope-chosen").check()
        coordinator.page.get_by_test_id("broadcast-countries").fill("de")
        coordinator.shot("broadcast")
        coordinator.page.get_by_test_id("action-broadcast").click()
        expect(coordinator.page.get_by_test_id("action-broadcast")).to_have_count(0)

        receiver = sign_in("de-coordinator", "de")
        receiver.page.goto(alert_path)
        receiver.until(lambda: receiver.page.get_by_test_id("action-disseminate").count() > 0)
        receiver.page.get_by_test_id("disseminate-procedures").fill("svc_provider_information")
        receiver.shot("disseminate")
        receiver.page.get_by_test_id("action-disseminate").click()
        receiver.page.wait_for_load_state()
        expect(receiver.page.get_by_test_id("error")).to_have_count(0)
        receiver.shot("disseminated")

        recipient = sign_in("de-officer", "de")
        recipient.page.goto(alert_path)
        recipient.until(lambda: recipient.page.get_by_test_id("action-acknowledge").count() > 0)
        expect(recipient.page.locator("main")).to_contain_text(summary)
        recipient.shot("received")
        recipient.page.get_by_test_id("action-acknowledge").click()
        expect(recipient.page.get_by_test_id("action-acknowledge")).to_have_count(0)

        officer.page.goto(alert_path)
        tracking = officer.page.get_by_test_id("tracking-table")
        expect(
            tracking.locator('[data-country="de"][data-acknowledged="yes"]').first
        ).to_be_visible()
        officer.shot("tracked")


class TestDirectoryInGreek:
    def test_a_greek_officer_finds_the_german_authority_for_teachers(
        self, sign_in: Callable[[str, str], User]
    ) -> None:
        gr = sign_in("gr-officer", "el")
        gr.page.get_by_test_id("nav-directory").click()
        expect(gr.page.locator("h1")).to_have_text(text_in("el", "Find the competent authority"))
        gr.page.get_by_test_id("directory-q").fill("εκπαιδευτικός")
        gr.page.get_by_test_id("directory-country").select_option("de")
        gr.page.get_by_test_id("directory-search").click()
        matched = gr.page.get_by_test_id("matched-competence").first
        expect(matched).to_be_visible()
        assert re.search(r"[\u0370-\u03ff]", matched.inner_text())
        gr.shot("directory")
