"""Builds the repository service: FastAPI app, event consumer, outbox relay."""

from fastapi import FastAPI

from services.repository.handlers import consumer
from services.repository.models import outbox
from services.repository.settings import RepositorySettings
from shared.runtime import ServiceRuntime


def create_app(settings: RepositorySettings | None = None) -> FastAPI:
    settings = settings or RepositorySettings()
    runtime = ServiceRuntime(
        settings, title="IMI information repositories", outbox=outbox, consumer=consumer
    )
    return runtime.fastapi()
