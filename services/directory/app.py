"""Builds the directory service: FastAPI app, event consumer, outbox relay, periodic jobs."""

from __future__ import annotations

from fastapi import FastAPI

from services.directory.api import router
from services.directory.credentials import Passwords
from services.directory.handlers import build_consumer
from services.directory.models import outbox
from services.directory.service import CatalogueCache, Clock, purge_idempotency, utc_now
from services.directory.settings import DirectorySettings
from shared.db import Database
from shared.runtime import PeriodicJob, ServiceRuntime


def create_app(settings: DirectorySettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or DirectorySettings()

    async def purge(db: Database) -> None:
        await purge_idempotency(db, settings.idempotency_hours, clock())

    runtime = ServiceRuntime(
        settings,
        title="IMI directory of competent authorities",
        outbox=outbox,
        consumer=build_consumer(),
        jobs=[PeriodicJob("idempotency-purge", 3600, purge)],
    )
    app = runtime.fastapi([router])
    app.state.catalogue = CatalogueCache(settings.catalogue_ttl)
    app.state.passwords = Passwords.from_settings(settings)
    app.state.clock = clock
    return app
