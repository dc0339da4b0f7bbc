"""axe-core in the page: no serious or critical WCAG 2.1 A/AA violation on the main pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.stack import DEMO_PASSWORD, Stack

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = {
    "pt-officer": [
        "/",
        "/directory?q=professor&country=de",
        "/requests?box=outgoing",
        "/requests?box=incoming",
        "/requests/new?procedure=pq_establishment",
        "/alerts",
        "/alerts/new?kind=svc_alert",
        "/alerts/new?kind=pq_alert",
        "/repositories",
        "/statistics",
    ],
    "de-coordinator": ["/admin", "/alerts?box=coordination"],
}


def serious_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=axe_source)
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }""",
        WCAG,
    )
    return found


@pytest.fixture
def page_for(chromium: Browser, stack: Stack) -> Any:
    contexts = []

    def open_as(username: str | None) -> Page:
        # The injected engine is an inline script: only this context lets it past the CSP.
        context = chromium.new_context(base_url=stack.gateway, locale="pt-PT", bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        if username:
            page.goto("/login")
            page.get_by_test_id("username").fill(username)
            page.get_by_test_id("password").fill(DEMO_PASSWORD)
            page.get_by_test_id("sign-in").click()
            page.get_by_test_id("nav-home").wait_for()
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_the_check_finds_a_violation_where_there_is_one(page_for: Any, axe_source: str) -> None:
    page = page_for(None)
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main>'
        '<img src="/static/none.png"><input id="x"></main></body></html>'
    )
    assert {v["id"] for v in serious_violations(page, axe_source)} >= {"image-alt", "label"}


def test_the_login_page(page_for: Any, axe_source: str, artifacts: Path) -> None:
    page = page_for(None)
    page.goto("/login")
    page.screenshot(path=artifacts / "axe-login.png")
    assert serious_violations(page, axe_source) == []


@pytest.mark.parametrize("username", sorted(PAGES))
def test_the_main_pages(page_for: Any, axe_source: str, username: str) -> None:
    page = page_for(username)
    found = {}
    for path in PAGES[username]:
        answer = page.goto(path)
        assert answer is not None
        assert answer.status == 200, path
        if violations := serious_violations(page, axe_source):
            found[path] = violations
    assert found == {}


def test_a_request_page(page_for: Any, axe_source: str, stack: Stack) -> None:
    draft = stack.draft_request("pt-officer", "de-officer")
    page = page_for("pt-officer")
    page.goto(f"/requests/{draft['id']}")
    assert serious_violations(page, axe_source) == []
