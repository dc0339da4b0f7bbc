"""Builds the directory service: FastAPI app, event consumer, outbox relay."""

from fastapi import FastAPI

from services.directory.handlers import consumer
from services.directory.models import outbox
from services.directory.settings import DirectorySettings
from shared.runtime import ServiceRuntime


def create_app(settings: DirectorySettings | None = None) -> FastAPI:
    settings = settings or DirectorySettings()
    runtime = ServiceRuntime(
        settings, title="IMI directory of competent authorities", outbox=outbox, consumer=consumer
    )
    return runtime.fastapi()
