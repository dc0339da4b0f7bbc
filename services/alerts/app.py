"""Builds the alerts service: FastAPI app, event consumer, outbox relay, deadline and retention
jobs."""

from __future__ import annotations

from fastapi import FastAPI

from services.alerts.api import router
from services.alerts.handlers import build_consumer
from services.alerts.models import outbox
from services.alerts.service import AlertJobs, AlertsContext, CatalogueCache, Clock, utc_now
from services.alerts.settings import AlertsSettings
from shared.runtime import PeriodicJob, ServiceRuntime


def create_app(settings: AlertsSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or AlertsSettings()
    context = AlertsContext(
        outbox=outbox,
        catalogues=CatalogueCache(settings.catalogue_versions_in_memory),
        clock=clock,
        job_batch_size=settings.job_batch_size,
    )
    jobs = AlertJobs(context)
    runtime = ServiceRuntime(
        settings,
        title="IMI alerts and notifications",
        outbox=outbox,
        consumer=build_consumer(clock),
        jobs=[
            PeriodicJob("alerts-overdue", settings.deadline_interval, jobs.flag_overdue),
            PeriodicJob("alerts-retention", settings.retention_interval, jobs.apply_retention),
        ],
    )
    app = runtime.fastapi([router])
    app.state.alerts_context = context
    app.state.alerts_jobs = jobs
    return app
