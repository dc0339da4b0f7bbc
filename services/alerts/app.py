"""Builds the alerts service: FastAPI app, event consumer, outbox relay."""

from fastapi import FastAPI

from services.alerts.handlers import consumer
from services.alerts.models import outbox
from services.alerts.settings import AlertsSettings
from shared.runtime import ServiceRuntime


def create_app(settings: AlertsSettings | None = None) -> FastAPI:
    settings = settings or AlertsSettings()
    runtime = ServiceRuntime(
        settings, title="IMI alerts and notifications", outbox=outbox, consumer=consumer
    )
    return runtime.fastapi()
