"""Builds the exchange service: FastAPI app, event consumer, outbox relay, deadline and
retention jobs."""

from __future__ import annotations

from fastapi import FastAPI

from services.exchange.api import router
from services.exchange.handlers import build_consumer
from services.exchange.models import national_commands, outbox
from services.exchange.national import RequestCommands
from services.exchange.service import Clock, DeadlineJob, ExchangeDesk, RetentionJob, utc_now
from services.exchange.settings import ExchangeSettings
from services.exchange.storage import AttachmentStorage, FilesystemStorage
from shared.national import CommandConsumer
from shared.runtime import PeriodicJob, ServiceRuntime


def create_app(
    settings: ExchangeSettings | None = None,
    *,
    clock: Clock = utc_now,
    storage: AttachmentStorage | None = None,
) -> FastAPI:
    settings = settings or ExchangeSettings()
    desk = ExchangeDesk.build(
        settings, outbox, storage or FilesystemStorage(settings.attachments_path), clock
    )
    deadlines = DeadlineJob(desk)
    retention = RetentionJob(desk)
    # Commands of national IT systems (imi.inbound), answered on their reply-to queues.
    commands = CommandConsumer("exchange", national_commands, outbox, RequestCommands(desk))

    async def take_commands(runtime: ServiceRuntime) -> None:
        await commands.start(settings.common.amqp_url, runtime.db)

    async def stop_commands(_: ServiceRuntime) -> None:
        await commands.stop()

    runtime = ServiceRuntime(
        settings,
        title="IMI information requests",
        outbox=outbox,
        consumer=build_consumer(),
        jobs=[
            PeriodicJob("deadlines", settings.deadline_job_interval, deadlines.run),
            PeriodicJob("retention", settings.retention_job_interval, retention.run),
        ],
        extra_startup=[take_commands],
        extra_shutdown=[stop_commands],
    )
    app = runtime.fastapi([router])
    app.state.desk = desk
    app.state.deadline_job = deadlines
    app.state.retention_job = retention
    return app
