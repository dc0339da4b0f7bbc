"""The whole network answers through the gateway: the fixture the cross-service tests share."""

from __future__ import annotations

from tests.stack import Stack


class TestStack:
    def test_a_demo_officer_signs_in_and_reads_who_they_are(self, stack: Stack) -> None:
        with stack.api("pt-officer") as api:
            me = api.get("/me")
        assert me.status_code == 200, me.text
        assert me.json()["country"] == "pt"
        assert me.json()["username"] == "pt-officer"
