"""Builds the repository service: FastAPI app, event consumer, outbox relay; the repositories'
definitions are loaded at start-up."""

from __future__ import annotations

from fastapi import FastAPI

from services.repository.api import router
from services.repository.handlers import build_consumer
from services.repository.models import outbox
from services.repository.service import Clock, load_definitions, utc_now
from services.repository.settings import RepositorySettings
from shared.runtime import ServiceRuntime


def create_app(settings: RepositorySettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or RepositorySettings()
    definitions_dir = settings.definitions_dir

    async def definitions(runtime: ServiceRuntime) -> None:
        await load_definitions(runtime.db, definitions_dir, clock())

    runtime = ServiceRuntime(
        settings,
        title="IMI information repositories",
        outbox=outbox,
        consumer=build_consumer(clock),
        extra_startup=[definitions],
    )
    app = runtime.fastapi([router])
    app.state.clock = clock
    return app
