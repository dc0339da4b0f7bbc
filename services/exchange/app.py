"""Builds the exchange service: FastAPI app, event consumer, outbox relay."""

from fastapi import FastAPI

from services.exchange.handlers import consumer
from services.exchange.models import outbox
from services.exchange.settings import ExchangeSettings
from shared.runtime import ServiceRuntime


def create_app(settings: ExchangeSettings | None = None) -> FastAPI:
    settings = settings or ExchangeSettings()
    runtime = ServiceRuntime(
        settings, title="IMI information requests", outbox=outbox, consumer=consumer
    )
    return runtime.fastapi()
