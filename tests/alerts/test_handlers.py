"""The projections the service keeps from events: directory authorities and users, catalogue
versions, and machine translations of its free texts, each applied once and in version order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aio_pika

from services.translation.service import published_event
from shared.contracts.directory import (
    AuthorityDeactivated,
    AuthorityStatus,
    AuthorityUpdated,
    Competence,
    UserDeactivated,
    UserSnapshot,
)
from shared.contracts.envelope import Envelope
from shared.contracts.translation import TranslationCompleted
from shared.messaging import EVENTS_EXCHANGE
from tests.alerts.conftest import CATALOGUE, Alerts, publish_envelope
from tests.alerts.scenarios import broadcast, services_alert
from tests.infra import eventually


async def wait_for_rows(alerts: Alerts, sql: str, expected: object, **params: object) -> None:
    async def matches() -> bool:
        return await alerts.fetch(sql, **params) == expected

    await eventually(matches)


class TestAuthorityProjection:
    async def test_a_newer_snapshot_replaces_competences_an_older_one_is_ignored(
        self, alerts: Alerts
    ) -> None:
        original = alerts.network.authorities["hr-national"]
        newer = original.model_copy(
            update={
                "version": 3,
                "region": "hr-21",
                "competences": (Competence(area="services", procedures=("svc_alert",)),),
            }
        )
        older = original.model_copy(update={"version": 2, "official_name": "stale"})
        await alerts.publish(AuthorityUpdated(authority=newer))
        await alerts.publish(AuthorityUpdated(authority=older))
        await wait_for_rows(
            alerts,
            "SELECT version, region, official_name, areas, procedures, keywords"
            " FROM directory_authorities WHERE id = :id",
            [(3, "HR-21", "hr-national (hr)", ["services"], ["svc_alert"], [])],
            id=original.id,
        )

    async def test_a_redelivered_event_is_applied_once(self, alerts: Alerts) -> None:
        original = alerts.network.authorities["si-national"]
        event = AuthorityUpdated(authority=original.model_copy(update={"version": 5}))
        envelope = Envelope(
            source="imi/directory", type=event.type, data=event.model_dump(mode="json")
        )
        connection = await aio_pika.connect(alerts.settings.common.amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(EVENTS_EXCHANGE)
            await publish_envelope(exchange, envelope)
            await publish_envelope(exchange, envelope)
        finally:
            await connection.close()
        await wait_for_rows(
            alerts,
            "SELECT count(*) FROM inbox WHERE message_id = :id",
            [(1,)],
            id=envelope.id,
        )
        await wait_for_rows(
            alerts,
            "SELECT version, jsonb_array_length(competences) FROM directory_authorities"
            " WHERE id = :id",
            [(5, len(original.competences))],
            id=original.id,
        )

    async def test_a_deactivated_authority_and_user_receive_nothing_more(
        self, alerts: Alerts
    ) -> None:
        catalonia = alerts.network.authorities["es-catalonia-services"]
        await alerts.publish(
            AuthorityDeactivated(
                authority=catalonia.model_copy(
                    update={"version": 2, "status": AuthorityStatus.DEACTIVATED}
                ),
                reason="merged",
            )
        )
        officer = alerts.network["es-officer"]
        await alerts.publish(
            UserDeactivated(
                user=UserSnapshot(
                    id=officer.user_id,
                    username=officer.username,
                    display_name=officer.username,
                    authority_id=officer.authority_id,
                    country="es",
                    language="es",
                    roles=officer.roles,
                    active=False,
                    version=2,
                )
            )
        )
        await wait_for_rows(
            alerts,
            "SELECT (SELECT status FROM directory_authorities WHERE id = :a),"
            " (SELECT active FROM directory_users WHERE id = :u)",
            [("deactivated", False)],
            a=catalonia.id,
            u=officer.user_id,
        )
        sent = await broadcast(alerts, ("es",))
        seen = await alerts.view("es-coordinator", sent["id"])
        await alerts.act(
            "es-coordinator", seen, "disseminate", {"procedures": ["svc_provider_information"]}
        )
        spanish = {a for a, c in (await alerts.recipients_of(sent["id"])).items() if c == "es"}
        assert alerts.authority_id("es-catalonia-services") not in spanish
        assert alerts.authority_id("es-national") in spanish
        events = await alerts.tap.wait_for("alerts.alert.disseminated", alert_id=sent["id"])
        assert events[0].data["recipient_user_ids"] == []


class TestCatalogueProjection:
    async def test_every_version_is_kept_and_an_alert_keeps_its_own(self, alerts: Alerts) -> None:
        first = (await alerts.fetch("SELECT version FROM catalogue_versions"))[0][0]
        later = published_event(CATALOGUE, datetime.now(UTC)).model_copy(
            update={"version": "test-later-version"}
        )
        await alerts.publish(later, source="imi/translation")
        await wait_for_rows(alerts, "SELECT count(*) FROM catalogue_versions", [(2,)])
        newest = await alerts.draft("de-officer", services_alert())
        assert newest["catalogue_version"] == "test-later-version"
        pinned = await alerts.draft("de-officer", {**services_alert(), "catalogue_version": first})
        assert pinned["catalogue_version"] == first
        unknown = await alerts.post(
            "de-officer", "/v1/alerts", {**services_alert(), "catalogue_version": "nope"}
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "body.catalogue_version"


class TestTranslationResults:
    async def test_a_machine_translation_of_our_text_is_shown_labelled_to_its_reader(
        self, alerts: Alerts
    ) -> None:
        sent = await broadcast(alerts, ("fr",))
        requested = await alerts.tap.wait_for(
            "translation.requested",
            reference=f"alerts:alert:{sent['id']}:content:1:text:summary",
        )
        assert "fr" in requested[0].data["target_languages"]
        completed = TranslationCompleted(
            reference=requested[0].data["reference"],
            requester="alerts",
            source_language="de",
            target_language="fr",
            translated_text="Traitements cosmétiques dangereux.",
            provider="libretranslate",
        )
        foreign = completed.model_copy(
            update={"requester": "exchange", "reference": f"alerts:alert:{uuid.uuid4()}:x"}
        )
        await alerts.publish(completed, foreign, source="imi/translation")
        await wait_for_rows(
            alerts,
            "SELECT count(*) FROM alert_translations WHERE alert_id = :id",
            [(1,)],
            id=uuid.UUID(sent["id"]),
        )
        french = await alerts.view("fr-coordinator", sent["id"], **{"Accept-Language": "fr"})
        summary = french["content"]["free_texts"][0]
        assert summary["text"].startswith("Gefährliche")
        assert summary["translation"] == {
            "language": "fr",
            "text": "Traitements cosmétiques dangereux.",
            "machine_translated": True,
            "provider": "libretranslate",
        }
        german = await alerts.view("de-officer", sent["id"])
        assert german["content"]["free_texts"][0]["translation_status"] == "same_language"
