"""The gateway serves the AsyncAPI documents: each service's events and the national channels."""

from __future__ import annotations

import json

import httpx

from shared.settings import REPO_ROOT
from tests.stack import Stack


class TestAsyncApi:
    def test_the_index_lists_every_document(self, stack: Stack) -> None:
        index = httpx.get(f"{stack.gateway}/asyncapi", timeout=30)
        assert index.status_code == 200
        for name in ("national", "directory", "exchange", "alerts", "translation", "repository"):
            assert f'href="/asyncapi/{name}.json"' in index.text

    def test_the_national_document_is_the_published_one(self, stack: Stack) -> None:
        served = httpx.get(f"{stack.gateway}/asyncapi/national.json", timeout=30)
        assert served.status_code == 200
        published = json.loads((REPO_ROOT / "docs" / "asyncapi" / "national.json").read_text())
        assert served.json() == published
        assert served.json()["asyncapi"] == "3.0.0"

    def test_a_service_document_names_its_events(self, stack: Stack) -> None:
        served = httpx.get(f"{stack.gateway}/asyncapi/exchange.json", timeout=30)
        assert served.status_code == 200
        assert "exchange.request.sent" in json.dumps(served.json())
        missing = httpx.get(f"{stack.gateway}/asyncapi/nothing.json", timeout=30)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
