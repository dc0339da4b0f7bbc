"""The project's JSON: what the standard library wrote, byte for byte where it wrote compact
JSON, and nothing that encoded before refused now."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared import json_codec
from shared.contracts.envelope import Envelope


@pytest.mark.parametrize(
    "value",
    [
        {"name": "Senatsverwaltung für Bildung", "langs": ["de", "el"], "n": 3, "x": 1.5},
        {"nested": {"list": [None, True, False, {"Ελλάδα": "Αθήνα"}]}},
        [],
        "plain",
    ],
)
def test_compact_json_as_the_standard_library_writes_it(value: object) -> None:
    standard = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert json_codec.dumps(value) == standard
    assert json.loads(json_codec.dumps(value)) == value


def test_an_integer_beyond_64_bits_still_encodes() -> None:
    big = {"register_number": 10**30}
    assert json.loads(json_codec.dumps(big)) == big
    assert json_codec.dumps_text(big) == '{"register_number":' + str(10**30) + "}"


def test_keys_that_are_not_strings_become_strings_as_before() -> None:
    assert json.loads(json_codec.dumps({1: "a"})) == json.loads(json.dumps({1: "a"}))


def test_what_json_has_no_type_for_goes_through_default() -> None:
    at = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    envelope = Envelope(source="imi/test", type="t", data={"id": uuid.UUID(int=1), "at": at})
    assert json.loads(envelope.body()) == {"id": str(uuid.UUID(int=1)), "at": at.isoformat()}
    with pytest.raises(TypeError):
        json_codec.dumps({"s": {1, 2}})
