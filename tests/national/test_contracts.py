"""The national contracts: the published AsyncAPI document matches the code, and a change
within a major version is additive only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.contracts.national import COMMANDS, CONTRACT_VERSION, OutboundEvent, Reply, major
from shared.national import national_asyncapi_document
from shared.settings import REPO_ROOT

PUBLISHED = REPO_ROOT / "docs" / "asyncapi" / "national.json"
# The fields of contract 1.0 as first published: a 1.x contract may add optional fields, never
# remove one, rename one or make a new one required.
FIRST_PUBLISHED: dict[str, set[str]] = {
    "request.send": {"contract", "authority_id", "username", "draft"},
    "request.accept": {"contract", "authority_id", "username", "request_id", "version"},
    "request.answer": {"contract", "authority_id", "username", "request_id", "version", "answer"},
    "request.request-info": {
        "contract",
        "authority_id",
        "username",
        "request_id",
        "version",
        "info",
    },
    "request.accept-answer": {
        "contract",
        "authority_id",
        "username",
        "request_id",
        "version",
        "rating",
    },
    "alert.draft": {"contract", "authority_id", "username", "draft"},
    "alert.submit": {"contract", "authority_id", "username", "alert_id", "version"},
    "alert.acknowledge": {"contract", "authority_id", "username", "alert_id", "version"},
}
REQUIRED_AT_FIRST: dict[str, set[str]] = {
    name: fields - {"contract", "version"} if name.startswith("alert.") else fields - {"contract"}
    for name, fields in FIRST_PUBLISHED.items()
}


class TestPublishedDocument:
    def test_the_committed_document_is_the_one_the_code_generates(self) -> None:
        committed = json.loads(PUBLISHED.read_text())
        assert committed == json.loads(json.dumps(national_asyncapi_document())), (
            "regenerate: .venv/bin/python -m shared.national > docs/asyncapi/national.json"
        )

    def test_every_command_has_its_channel(self) -> None:
        channels = national_asyncapi_document()["channels"]
        for name in COMMANDS:
            assert f"{{country}}.{name}" in channels


class TestCompatibility:
    @pytest.mark.parametrize("name", sorted(FIRST_PUBLISHED))
    def test_changes_within_the_major_version_are_additive(self, name: str) -> None:
        assert major(CONTRACT_VERSION) == "1"
        schema: dict[str, Any] = COMMANDS[name].model_json_schema()
        fields = set(schema["properties"])
        assert fields >= FIRST_PUBLISHED[name], "a field of the published contract is gone"
        required = set(schema.get("required", []))
        assert required <= REQUIRED_AT_FIRST[name], "a new required field breaks old senders"

    def test_every_command_is_known(self) -> None:
        assert set(COMMANDS) >= set(FIRST_PUBLISHED)

    def test_replies_and_events_ignore_fields_they_do_not_know(self) -> None:
        newer = {"command": "request.accept", "outcome": "accepted", "added_in_1_1": True}
        assert Reply.model_validate(newer).outcome == "accepted"
        event = OutboundEvent.model_validate(
            {
                "event": "exchange.request.sent",
                "country": "de",
                "authority_id": "00000000-0000-0000-0000-000000000001",
                "language": "de",
                "resource": "request",
                "resource_id": "00000000-0000-0000-0000-000000000002",
                "occurred_at": "2026-12-02T10:00:00Z",
                "priority": "new in a later minor version",
            }
        )
        assert event.country == "de"
