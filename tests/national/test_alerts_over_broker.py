"""A national system drafts, submits and acknowledges alerts over the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.alerts.scenarios import services_alert
from tests.infra import eventually
from tests.national.system import NationalSystem, connected, national_user
from tests.stack import Stack


@pytest.fixture(scope="module")
def de_url(stack: Stack) -> Iterator[str]:
    with national_user("de", stack.amqp_url) as url:
        yield url


@pytest.fixture
async def de_system(de_url: str) -> AsyncIterator[NationalSystem]:
    async with connected(de_url, "de") as system:
        yield system


def me(stack: Stack, username: str) -> dict[str, Any]:
    with stack.api(username) as api:
        return dict(api.get("/me").json())


def act(api: httpx.Client, alert: dict[str, Any], action: str, body: Any = None) -> dict[str, Any]:
    response = api.post(
        f"/alerts/{alert['id']}/{action}",
        json=body,
        headers={"if-match": f'"{alert["version"]}"'},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestAlertsOverTheBroker:
    async def test_de_system_drafts_and_submits_to_its_coordinator(
        self, stack: Stack, de_system: NationalSystem
    ) -> None:
        officer = me(stack, "de-officer")
        base = {"authority_id": officer["authority_id"], "username": "de-officer"}
        drafted = await de_system.command("alert.draft", {**base, "draft": services_alert()})
        assert drafted["outcome"] == "accepted", drafted
        assert drafted["state"] == "draft"
        submitted = await de_system.command(
            "alert.submit",
            {**base, "alert_id": drafted["resource_id"], "version": drafted["version"]},
        )
        assert submitted["outcome"] == "accepted", submitted
        assert submitted["state"] == "submitted"
        with stack.api("de-coordinator") as coordinator:
            box = coordinator.get("/alerts", params={"box": "coordination"}).json()
        assert drafted["resource_id"] in {i["id"] for i in box["items"]}

    async def test_a_draft_that_breaks_the_rules_is_rejected_naming_the_field(
        self, stack: Stack, de_system: NationalSystem
    ) -> None:
        officer = me(stack, "de-officer")
        body = {**services_alert(), "procedure": "svc_provider_information", "content": {}}
        reply = await de_system.command(
            "alert.draft",
            {"authority_id": officer["authority_id"], "username": "de-officer", "draft": body},
        )
        assert reply["outcome"] == "rejected"
        assert reply["reason"] == "invalid-input"
        assert reply["field"] == "body.procedure"

    async def test_de_system_acknowledges_an_alert_disseminated_to_its_authority(
        self, stack: Stack, de_system: NationalSystem
    ) -> None:
        with stack.api("fr-officer") as fr, stack.api("fr-coordinator") as frc:
            created = fr.post("/alerts", json=services_alert(language="fr"))
            assert created.status_code == 201, created.text
            submitted = act(fr, created.json(), "submit")
            approved = act(frc, frc.get(f"/alerts/{submitted['id']}").json(), "approve")
            act(frc, approved, "broadcast", {"countries": ["de"]})
        with stack.api("de-coordinator") as dec:
            seen = dec.get(f"/alerts/{approved['id']}").json()
            act(dec, seen, "disseminate", {"procedures": ["svc_provider_information"]})
        officer = me(stack, "de-officer")

        async def told() -> bool:
            return any(
                body["resource_id"] == approved["id"]
                and body["authority_id"] == officer["authority_id"]
                for _, body in de_system.events
            )

        await eventually(told, timeout=30)
        key, event = next(
            (k, b)
            for k, b in de_system.events
            if b["resource_id"] == approved["id"] and b["authority_id"] == officer["authority_id"]
        )
        assert key.startswith(f"de.{officer['authority_id']}.alerts.")
        assert event["resource"] == "alert"
        assert event["language"] == "de"
        assert event["title"]
        assert "recipient_user_ids" not in event["data"]
        reply = await de_system.command(
            "alert.acknowledge",
            {
                "authority_id": officer["authority_id"],
                "username": "de-officer",
                "alert_id": approved["id"],
            },
        )
        assert reply["outcome"] == "accepted", reply
        with stack.api("fr-officer") as fr:
            recipients = fr.get(f"/alerts/{approved['id']}/recipients").json()["items"]
        mine = [r for r in recipients if r["authority_id"] == officer["authority_id"]]
        assert mine
        assert mine[0]["acknowledged_at"] is not None
