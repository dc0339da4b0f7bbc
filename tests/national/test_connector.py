"""The example national connector answers a request from its CSV register, over the broker."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from types import ModuleType

import pytest

from shared.settings import REPO_ROOT
from tests.infra import eventually
from tests.national.system import national_user
from tests.stack import Stack

CONNECTOR_DIR = REPO_ROOT / "deploy" / "national-connector"


def load_connector() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "national_connector", CONNECTOR_DIR / "connector.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def de_url(stack: Stack) -> Iterator[str]:
    with national_user("de", stack.amqp_url) as url:
        yield url


class TestExampleConnector:
    async def test_it_answers_a_request_from_the_register(self, stack: Stack, de_url: str) -> None:
        connector_module = load_connector()
        with stack.api("de-officer") as de:
            authority = de.get("/me").json()["authority_id"]
        connector = connector_module.Connector(
            de_url,
            "de",
            authority,
            "de-officer",
            "pq_establishment",
            connector_module.read_register(CONNECTOR_DIR / "register.csv"),
        )
        await connector.start()
        try:
            with stack.api("pt-officer") as pt:
                draft = pt.post(
                    "/requests",
                    json={
                        "procedure": "pq_establishment",
                        "responding_authority_id": authority,
                        "items": [
                            {"question": "pq_diploma_authentic"},
                            {"question": "pq_diploma_award_date"},
                        ],
                        "free_texts": [
                            {"text": "Professora registada sob o número NRW-LEH-2011-0042."}
                        ],
                        "requested_reply_date": (date.today() + timedelta(days=14)).isoformat(),
                    },
                ).json()
                sent = pt.post(
                    f"/requests/{draft['id']}/send",
                    headers={"if-match": f'"{draft["version"]}"'},
                )
                assert sent.status_code == 200, sent.text

                async def answered() -> bool:
                    # The connector records the request once the answer's reply came back.
                    return draft["id"] in connector.answered

                await eventually(answered, timeout=60)
                view = pt.get(f"/requests/{draft['id']}").json()
            assert view["state"] == "answered"
            items = {i["question"]: i["answer"] for i in view["content"]["items"]}
            assert items["pq_diploma_authentic"] == {"option": "yes"}
            assert items["pq_diploma_award_date"] == {"date": "2011-07-15"}
        finally:
            await connector.stop()
