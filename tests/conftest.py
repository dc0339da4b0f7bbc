"""Session fixtures: the real servers, reached through IMI_PG_URL and IMI_AMQP_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import pytest

from tests.infra import (
    Servers,
    amqp_answers,
    docker_engine_answers,
    environment_servers,
    pg_answers,
)
from tests.stack import Stack, stack_fixture


def _start_containers(stack: ExitStack) -> tuple[str, str]:
    """Only when the configured servers do not answer and a Docker engine does."""
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    pg = stack.enter_context(PostgresContainer("postgres:15", driver=None))
    mq = stack.enter_context(RabbitMqContainer("rabbitmq:3.10-management"))
    pg_url = pg.get_connection_url().rsplit("/", 1)[0]
    params = mq.get_connection_params()
    amqp_url = f"amqp://guest:guest@{params.host}:{params.port}/"
    return pg_url, amqp_url


@pytest.fixture(scope="session")
def _server_urls() -> Iterator[tuple[str, str]]:
    import asyncio

    pg_url, amqp_url = environment_servers()
    ok = asyncio.run(pg_answers(pg_url)) and asyncio.run(amqp_answers(amqp_url))
    if ok:
        yield pg_url, amqp_url
        return
    if not docker_engine_answers():
        pytest.exit(
            f"PostgreSQL ({pg_url}) or RabbitMQ ({amqp_url}) does not answer and no Docker engine "
            "is available; start them (see README) or set IMI_PG_URL / IMI_AMQP_URL",
            returncode=3,
        )
    with ExitStack() as stack:
        yield _start_containers(stack)


@pytest.fixture(scope="session")
async def servers(_server_urls: tuple[str, str]) -> AsyncIterator[Servers]:
    pg_url, amqp_url = _server_urls
    found = Servers(pg_url=pg_url, amqp_root_url=amqp_url)
    try:
        yield found
    finally:
        await found.cleanup()


@pytest.fixture(scope="session")
def amqp_url(servers: Servers) -> str:
    """The session's own vhost: runs never see each other's messages."""
    return servers.new_vhost()


@pytest.fixture(scope="session")
def stack(servers: Servers) -> Iterator[Stack]:
    """The whole network (every service and the gateway) on free ports, demo network seeded."""
    yield from stack_fixture(servers)
