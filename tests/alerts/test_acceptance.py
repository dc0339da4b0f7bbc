"""The acceptance scenario, with the translation service running beside the alerts service on
the same broker: a Services Directive alert broadcast to all 30 countries, disseminated in two of
them, acknowledged and commented, rectified and closed, and seen by each recipient in its own
language (catalogue names from the alerts service, questions through the translation service's
rendering, free texts machine-translated through events and shown labelled)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from services.alerts.domain import EEA_COUNTRIES
from services.translation.app import create_app as create_translation_app
from services.translation.settings import TranslationSettings
from shared.contracts.translation import LANGUAGES
from tests.alerts.conftest import CATALOGUE, Alerts, start_alerts
from tests.alerts.scenarios import services_alert
from tests.infra import Servers, eventually, migrated_settings, running
from tests.translation.fake_provider import fake_libretranslate

SUMMARY = "Gefährliche Kosmetikbehandlungen mit ungeprüften Geräten."
RECTIFIED = "Berichtigt: nur Behandlungen mit Lasergeräten sind betroffen."


@dataclass
class Network:
    alerts: Alerts
    translation: httpx.AsyncClient

    async def render(self, username: str, request: dict[str, Any]) -> dict[str, Any]:
        response = await self.translation.post(
            "/v1/render", json=request, headers=self.alerts.headers(username)
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture(scope="module")
async def network(servers: Servers) -> AsyncIterator[Network]:
    """Alerts and translation on one vhost: the catalogue and the translations arrive as the
    translation service publishes them."""
    amqp_url = servers.new_vhost("alerts-acceptance")
    async with (
        fake_libretranslate() as provider,
        start_alerts(servers, "acceptance", amqp_url=amqp_url, with_catalogue=False) as alerts,
    ):
        settings = await migrated_settings(
            servers,
            TranslationSettings,
            amqp_url,
            database_url=make_url(servers.pg_url)
            .set(database=f"imi_test_{servers.run_id}_alerts_acceptance_translation")
            .render_as_string(hide_password=False),
            provider_url=provider.url,
            worker_interval=0.05,
            retry_base_seconds=0.05,
            provider_timeout=2.0,
        )
        async with running(create_translation_app(settings)) as translation:

            async def catalogue_arrived() -> bool:
                return bool(await alerts.fetch("SELECT version FROM catalogue_versions"))

            await eventually(catalogue_arrived, timeout=30)
            yield Network(alerts, translation)


def recipients_of_all() -> list[str]:
    """Every user the scenario's alert reaches once disseminated in France and Poland."""
    return [f"{c}-coordinator" for c in EEA_COUNTRIES] + ["fr-officer", "pl-officer", "commission"]


class TestBroadcastToAllCountries:
    async def test_broadcast_dissemination_acknowledgement_rectification_closure_in_every_language(
        self, network: Network
    ) -> None:
        alerts = network.alerts
        draft = await alerts.draft("de-officer", services_alert(summary=SUMMARY))
        await alerts.act("de-officer", draft, "submit")
        submitted = await alerts.view("de-coordinator", draft["id"])
        approved = await alerts.act("de-coordinator", submitted, "approve")
        sent = await alerts.act("de-coordinator", approved, "broadcast", {"countries": "all"})
        assert sent["tracking"]["recipients"] == 31  # 30 coordinators and the Commission
        events = await alerts.tap.wait_for("alerts.alert.broadcast", 31, alert_id=draft["id"])
        assert len(events) == 31

        # Dissemination in two countries, each by its own coordinator.
        for country in ("fr", "pl"):
            seen = await alerts.view(f"{country}-coordinator", draft["id"])
            await alerts.act(
                f"{country}-coordinator",
                seen,
                "disseminate",
                {"procedures": ["svc_provider_information"]},
            )
        await alerts.tap.wait_for("alerts.alert.disseminated", 2, alert_id=draft["id"])

        # Acknowledgements and comments, each in the writer's language.
        for username in ("fr-officer", "pl-officer", "it-coordinator", "commission"):
            await alerts.act(username, sent, "acknowledge")
        await alerts.act("fr-officer", sent, "comment", {"text": "Aucun cas connu en France."})
        await alerts.act("pl-officer", sent, "comment", {"text": "W Polsce brak takich usług."})

        # The sender rectifies, then closes.
        current = await alerts.view("de-officer", draft["id"])
        rectified = await alerts.act(
            "de-officer",
            current,
            "rectify",
            {"content": services_alert(summary=RECTIFIED)["content"], "reason": "Präzisiert"},
        )
        assert rectified["previous_contents"][0]["free_texts"][0]["text"] == SUMMARY
        closed = await alerts.act("de-officer", rectified, "close", {"reason": "Gefahr vorüber"})
        assert closed["state"] == "closed"
        tracking = closed["tracking"]
        assert tracking["recipients"] == 33
        assert tracking["acknowledged"] == 4
        assert tracking["commented"] == 2
        disseminated = {c["country"] for c in tracking["by_country"] if c["disseminated"]}
        assert disseminated == {"fr", "pl"}
        await alerts.tap.wait_for("alerts.alert.closed", alert_id=draft["id"])

        # Each recipient reads it in its own language.
        for username in recipients_of_all():
            await self.assert_read_in_own_language(network, username, draft["id"])

    async def assert_read_in_own_language(
        self, network: Network, username: str, alert_id: str
    ) -> None:
        alerts = network.alerts
        language = alerts.network[username].language
        assert language in LANGUAGES
        view = await alerts.view(username, alert_id)
        assert view["reader_language"] == language
        assert view["state"] == "closed"
        assert view["procedure"]["name"] == CATALOGUE.text(language, "procedure.svc_alert.name")
        assert view["area"]["name"] == CATALOGUE.text(language, "area.services.name")
        rendered = await network.render(username, view["render"])
        assert rendered["language"] == language
        first = rendered["items"][0]
        assert first["text"] == CATALOGUE.text(language, "question.svc_alert_risk_type.text")
        assert first["answer"]["text"] == CATALOGUE.text(
            language, "option.svc_alert_risk_type.health.text"
        )
        if language == "de":
            return

        async def summary_translated() -> bool:
            summary = (await alerts.view(username, alert_id))["content"]["free_texts"][0]
            translation = summary["translation"]
            # The fake provider marks its output with the provider's tag of the language.
            return translation is not None and RECTIFIED in translation["text"]

        await eventually(summary_translated, timeout=20)
        summary = (await alerts.view(username, alert_id))["content"]["free_texts"][0]
        assert summary["text"] == RECTIFIED  # the original is always kept
        assert summary["translation"]["machine_translated"] is True
        assert summary["translation"]["language"] == language
        assert summary["translation"]["text"] != RECTIFIED
        comments = (await alerts.view(username, alert_id))["comments"]
        for comment in comments:
            if comment["language"] != language:

                async def comment_translated(comment_id: str = comment["id"]) -> bool:
                    found = (await alerts.view(username, alert_id))["comments"]
                    match = next(c for c in found if c["id"] == comment_id)
                    return match["translation"] is not None

                await eventually(comment_translated, timeout=20)

    async def test_the_catalogue_names_differ_by_language(self, network: Network) -> None:
        names = {
            language: CATALOGUE.text(language, "procedure.svc_alert.name")
            for language in ("de", "pl", "nl", "en")
        }
        assert len(set(names.values())) == 4
