"""Contents and flows the alerts tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.alerts.conftest import Alerts


def services_alert(language: str = "de", summary: str | None = None) -> dict[str, Any]:
    """A Services Directive alert about a provider risking people's health."""
    return {
        "procedure": "svc_alert",
        "language": language,
        "content": {
            "items": [
                {"question": "svc_alert_risk_type", "answer": {"option": "health"}},
                {"question": "svc_alert_serious_damage", "answer": {"option": "yes"}},
                {"question": "svc_alert_facts_date", "answer": {"date": "2026-03-01"}},
                {
                    "question": "svc_alert_risk_description",
                    "answer": {"text": "Der Anbieter Müller GmbH setzt ungeprüfte Geräte ein."},
                },
                {"question": "svc_alert_urgency", "answer": {"option": "immediate_action"}},
            ],
            "free_texts": [
                {
                    "id": "summary",
                    "text": summary or "Gefährliche Kosmetikbehandlungen mit ungeprüften Geräten.",
                }
            ],
        },
    }


def pq_alert(decision: date | None = None, profession: str = "nurse") -> dict[str, Any]:
    """A professional-qualifications alert about a nurse whose practice was prohibited."""
    decided = decision or datetime.now(UTC).date() - timedelta(days=1)
    return {
        "procedure": "pq_alert",
        "language": "de",
        "profession": profession,
        "professional": {
            "full_name": "Erika Mustermann",
            "date_of_birth": "1979-08-12",
            "place_of_birth": "Köln",
            "nationality": "de",
            "registration_number": "NRW-PFL-4711",
            "qualification": "Staatlich anerkannte Pflegefachfrau",
        },
        "content": {
            "items": [
                {"question": "pq_alert_ground", "answer": {"option": "restriction_or_prohibition"}},
                {"question": "pq_alert_restriction_type", "answer": {"option": "full_prohibition"}},
                {"question": "pq_alert_decision_date", "answer": {"date": decided.isoformat()}},
                {"question": "pq_alert_decided_by_court", "answer": {"option": "no"}},
                {
                    "question": "pq_alert_scope",
                    "answer": {"text": "Ausübung des Berufs im gesamten Bundesgebiet untersagt."},
                },
            ],
            "free_texts": [{"id": "note", "text": "Die Entscheidung ist sofort vollziehbar."}],
        },
    }


def notification() -> dict[str, Any]:
    return {
        "procedure": "svc_notification",
        "language": "pl",
        "content": {
            "items": [
                {"question": "svc_notification_subject", "answer": {"option": "new_requirement"}},
                {
                    "question": "svc_notification_description",
                    "answer": {"text": "Nowy wymóg rejestracji dla biur nieruchomości."},
                },
                {"question": "svc_notification_entry_into_force", "answer": {"date": "2027-01-01"}},
            ],
            "free_texts": [],
        },
    }


async def approved(alerts: Alerts, sender: str = "de-officer") -> dict[str, Any]:
    """A Services Directive alert drafted, submitted and approved in the sender's country."""
    country = alerts.network[sender].country
    draft = await alerts.draft(sender, services_alert())
    await alerts.act(sender, draft, "submit")
    submitted = await alerts.view(f"{country}-coordinator", draft["id"])
    return await alerts.act(f"{country}-coordinator", submitted, "approve")


async def broadcast(
    alerts: Alerts, countries: Any = ("fr", "es", "at"), sender: str = "de-officer"
) -> dict[str, Any]:
    """A Services Directive alert broadcast to ``countries`` by the sender's coordinator."""
    ready = await approved(alerts, sender)
    country = alerts.network[sender].country
    body = {"countries": countries if isinstance(countries, str) else list(countries)}
    return await alerts.act(f"{country}-coordinator", ready, "broadcast", body)
