"""The alerts, repositories, administration and statistics pages, clicked through with HTML
forms against the whole network."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.stack import Stack

CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
DEMO_PASSWORD = "demo"


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF field on {page.url}"
    return found.group(1)


@contextmanager
def browser(stack: Stack, username: str) -> Iterator[httpx.Client]:
    """A cookie-keeping client signed in through the web form."""
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        login = client.get("/login")
        assert login.status_code == 200
        signed_in = client.post(
            "/login",
            data={
                "username": username,
                "password": DEMO_PASSWORD,
                "csrf_token": csrf_of(login),
            },
        )
        assert signed_in.status_code in (200, 303), signed_in.text
        yield client


def submit(
    client: httpx.Client, page_url: str, action: str, fields: dict[str, str]
) -> httpx.Response:
    """Post the form of ``page_url`` whose action is ``action``, with the page's CSRF token."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    assert f'action="{action}"' in page.text, f"no form {action} on {page_url}"
    form = page.text[page.text.index(f'action="{action}"') :]
    version = re.search(r'name="version" value="(\d+)"', form[: form.index("</form>")])
    data = {"csrf_token": csrf_of(page), **fields}
    if version:
        data["version"] = version.group(1)
    return client.post(action, data=data)


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.2)


class TestAlertThroughForms:
    def test_drafted_approved_broadcast_disseminated_acknowledged_and_tracked(
        self, stack: Stack
    ) -> None:
        summary = f"Unsafe cosmetic devices {uuid.uuid4().hex[:6]}"
        with browser(stack, "fr-officer") as officer:
            created = submit(
                officer,
                "/alerts/new?kind=svc_alert",
                "/alerts/new",
                {
                    "procedure": "svc_alert",
                    "item.svc_alert_risk_type.option": "health",
                    "item.svc_alert_serious_damage.option": "yes",
                    "item.svc_alert_facts_date.date": "2026-03-01",
                    "item.svc_alert_risk_description.text": "Untested devices in use.",
                    "item.svc_alert_urgency.option": "immediate_action",
                    "summary": summary,
                },
            )
            assert created.status_code == 303, created.text
            page = created.headers["location"]
            alert_id = page.rsplit("/", 1)[1]
            assert submit(officer, page, f"{page}/submit", {}).status_code == 303

        with browser(stack, "fr-coordinator") as coordinator:
            approval = coordinator.get(page)
            assert 'data-action="approve"' in approval.text
            assert submit(coordinator, page, f"{page}/approve", {}).status_code == 303
            sent = submit(
                coordinator, page, f"{page}/broadcast", {"scope": "chosen", "countries": "de"}
            )
            assert sent.status_code == 303, sent.text

        with browser(stack, "de-coordinator") as receiver:
            wait_until(lambda: 'data-action="disseminate"' in receiver.get(page).text)
            spread = submit(
                receiver,
                page,
                f"{page}/disseminate",
                {"procedures": "svc_provider_information", "regions": ""},
            )
            assert spread.status_code == 303, spread.text

        with browser(stack, "de-officer") as recipient:
            wait_until(lambda: 'data-action="acknowledge"' in recipient.get(page).text)
            incoming = recipient.get("/alerts?box=incoming")
            assert alert_id in incoming.text
            assert submit(recipient, page, f"{page}/acknowledge", {}).status_code == 303
            assert 'data-action="acknowledge"' not in recipient.get(page).text

        with browser(stack, "fr-officer") as sender:
            tracked = sender.get(page)
            assert tracked.status_code == 200
            assert 'data-testid="tracking-table"' in tracked.text
            assert 'data-country="de" data-acknowledged="yes"' in tracked.text

    def test_someone_elses_alert_is_a_404_page(self, stack: Stack) -> None:
        with browser(stack, "pt-officer") as client:
            missing = client.get(f"/alerts/{uuid.uuid4()}")
            assert missing.status_code == 404
            assert 'data-testid="error"' in missing.text

    def test_missing_csrf_is_refused_and_nothing_is_drafted(self, stack: Stack) -> None:
        with stack.api("it-officer") as api:

            def drafts() -> int:
                listed = api.get("/alerts", params={"box": "outgoing", "limit": 200})
                return len(listed.json()["items"])

            before = drafts()
            with browser(stack, "it-officer") as client:
                refused = client.post(
                    "/alerts/new", data={"procedure": "svc_alert", "summary": "no token"}
                )
                assert refused.status_code == 403
                wrong = client.post(
                    "/alerts/new",
                    data={"procedure": "svc_alert", "summary": "bad", "csrf_token": "forged"},
                )
                assert wrong.status_code == 403
            assert drafts() == before


class TestRepositoryPages:
    def test_record_written_by_form_is_found_by_search(self, stack: Stack) -> None:
        name = f"Registre des bateaux {uuid.uuid4().hex[:6]}"
        with browser(stack, "fr-coordinator") as writer:
            created = submit(
                writer,
                "/repositories/registers/new",
                "/repositories/registers/new",
                {
                    "field.register_name": name,
                    "field.country": "fr",
                    "field.keeping_authority": "Ministère de la Mer",
                    "field.records": "bateaux de plaisance",
                },
            )
            assert created.status_code == 303, created.text
            record_page = created.headers["location"]
        with browser(stack, "de-officer") as reader:
            found = reader.get("/repositories/registers", params={"q": name, "country": "fr"})
            assert found.status_code == 200
            assert name in found.text
            assert record_page in found.text
            record = reader.get(record_page)
            assert record.status_code == 200
            assert 'data-testid="record-history"' in record.text
            none = reader.get("/repositories/registers", params={"q": name, "country": "de"})
            assert none.status_code == 200
            assert record_page not in none.text  # the query is echoed in its field, not found


class TestAdministration:
    def test_coordinator_registers_and_validates_an_authority_in_their_country(
        self, stack: Stack
    ) -> None:
        name = f"Agence régionale {uuid.uuid4().hex[:6]}"
        with browser(stack, "fr-coordinator") as coordinator:
            created = submit(
                coordinator,
                "/admin",
                "/admin/authorities",
                {
                    "official_name": name,
                    "name_language": "fr",
                    "country": "fr",
                    "level": "national",
                },
            )
            assert created.status_code == 303, created.text
            page = created.headers["location"]
            validated = submit(coordinator, page, f"{page}/validate", {})
            assert validated.status_code == 303, validated.text
            status = coordinator.get(page).text
            assert name in status
            assert "pending" not in re.search(r'data-testid="authority-status">([^<]*)<', status)[1]

    def test_outside_their_country_the_refusal_is_shown(self, stack: Stack) -> None:
        name = f"Behörde {uuid.uuid4().hex[:6]}"
        with browser(stack, "fr-coordinator") as coordinator:
            refused = submit(
                coordinator,
                "/admin",
                "/admin/authorities",
                {
                    "official_name": name,
                    "name_language": "de",
                    "country": "de",
                    "level": "national",
                },
            )
            assert 400 <= refused.status_code < 500
            assert 'data-testid="error"' in refused.text
        with stack.api("de-coordinator") as api:
            found = api.get("/authorities", params={"q": name, "country": "de"}).json()
            assert name not in [a["official_name"] for a in found["items"]]


class TestStatisticsPage:
    def test_renders_charts_with_the_filter_applied(self, stack: Stack) -> None:
        with browser(stack, "fr-coordinator") as client:
            page = client.get(
                "/statistics", params={"country": "de", "from": "2026-01-01", "to": "2026-12-31"}
            )
            assert page.status_code == 200, page.text
            assert '<svg xmlns="http://www.w3.org/2000/svg"' in page.text
            assert 'role="img"' in page.text
            assert 'value="de"' in page.text
            assert 'value="2026-01-01"' in page.text
            assert '<table class="chart-data">' in page.text

    @pytest.mark.parametrize(("field", "value"), [("country", "france"), ("from", "yesterday")])
    def test_bad_filter_names_the_field(self, stack: Stack, field: str, value: str) -> None:
        with browser(stack, "fr-coordinator") as client:
            page = client.get("/statistics", params={field: value})
            assert page.status_code == 422
            assert f'id="{field}-error"' in page.text
