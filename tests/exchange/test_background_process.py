"""The service split in two, as ``IMI_EXCHANGE_BACKGROUND_PROCESS`` runs it: the serving side
commits and wakes the relay of the background side, which alone publishes and runs the jobs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.exchange.app import create_app
from shared.runtime import ServiceRuntime
from tests.exchange.conftest import (
    MovableClock,
    Network,
    RunningExchange,
    catalogue_event,
    publish_all,
    start_exchange,
    wait_projected,
)
from tests.infra import Servers, eventually, running


def task_names(runtime: ServiceRuntime) -> set[str]:
    return {task.get_name().split(":", 1)[1] for task in runtime._tasks}


@pytest.fixture(scope="module")
async def split(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningExchange, ServiceRuntime]]:
    tmp: Path = tmp_path_factory.mktemp("background")
    settings, tap = await start_exchange(servers, "background", tmp)
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    network = Network()
    web = create_app(settings, clock=clock)
    web.state.runtime.role = "web"
    background: Any = create_app(settings, clock=clock).state.runtime
    background.role = "background"
    catalogue = catalogue_event(clock.now)
    try:
        async with running(web) as client:
            await background.start()
            try:
                exchange = RunningExchange(
                    client, settings, tap, web, clock, network, servers, catalogue.version
                )
                await publish_all(settings.common.amqp_url, [*network.events(), catalogue])
                await wait_projected(exchange)
                yield exchange, background
            finally:
                await background.stop()
    finally:
        await tap.stop()


async def test_only_the_background_side_runs_the_relay_and_the_jobs(
    split: tuple[RunningExchange, ServiceRuntime],
) -> None:
    exchange, background = split
    web: ServiceRuntime = exchange.app.state.runtime
    assert task_names(web) == set()
    assert task_names(background) == {"outbox-relay", "deadlines", "retention", "outbox-purge"}
    assert web.consumer is not None
    assert web.consumer.connected
    ready = await exchange.client.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_a_request_sent_on_the_web_side_is_published_by_the_background_relay(
    split: tuple[RunningExchange, ServiceRuntime],
) -> None:
    exchange, background = split
    assert background.relay is not None
    before = background.relay.published
    started = time.monotonic()
    sent = await exchange.sent()
    events = await exchange.tap.wait_for("exchange.request.sent", request_id=sent["id"])
    assert events[0].data["state"] == "sent"
    # woken by the web side's notification, not found by the relay's 5 s poll
    assert time.monotonic() - started < 3

    async def all_published() -> bool:
        rows = await exchange.sql("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return bool(rows[0][0] == 0)

    await eventually(all_published, timeout=10)
    assert background.relay.published > before
    web_relay = exchange.app.state.runtime.relay
    assert web_relay is not None
    assert web_relay.published == 0
