"""Builds the alerts service: FastAPI app, event consumer, outbox relay, deadline and retention
jobs."""

from __future__ import annotations

from fastapi import FastAPI

from services.alerts.api import router
from services.alerts.handlers import build_consumer
from services.alerts.models import national_commands, outbox
from services.alerts.national import AlertCommands
from services.alerts.service import AlertJobs, AlertsContext, CatalogueCache, Clock, utc_now
from services.alerts.settings import AlertsSettings
from shared.national import CommandConsumer
from shared.runtime import PeriodicJob, ServiceRuntime


def create_app(settings: AlertsSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or AlertsSettings()
    context = AlertsContext(
        outbox=outbox,
        catalogues=CatalogueCache(settings.catalogue_versions_in_memory),
        clock=clock,
        job_batch_size=settings.job_batch_size,
        national_countries=settings.national_countries,
    )
    jobs = AlertJobs(context)
    # Commands of national IT systems (imi.inbound), answered on their reply-to queues.
    commands = CommandConsumer("alerts", national_commands, outbox, AlertCommands(context))

    async def take_commands(runtime: ServiceRuntime) -> None:
        await commands.start(settings.common.amqp_url, runtime.db)

    async def stop_commands(_: ServiceRuntime) -> None:
        await commands.stop()

    runtime = ServiceRuntime(
        settings,
        title="IMI alerts and notifications",
        outbox=outbox,
        consumer=build_consumer(clock),
        jobs=[
            PeriodicJob("alerts-overdue", settings.deadline_interval, jobs.flag_overdue),
            PeriodicJob("alerts-retention", settings.retention_interval, jobs.apply_retention),
        ],
        extra_startup=[take_commands],
        extra_shutdown=[stop_commands],
    )
    app = runtime.fastapi([router])
    app.state.alerts_context = context
    app.state.alerts_jobs = jobs
    return app
