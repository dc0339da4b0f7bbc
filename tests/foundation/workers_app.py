"""A service of one route, served by ``shared.runtime.serve``:
``python -m tests.foundation.workers_app <port> <workers> [background | failing]``.

With ``failing`` its startup raises.

With ``background`` it is a ServiceRuntime whose one periodic job writes the pid of the process
it runs in to the file named by ``WORKERS_APP_MARK``, and the job runs in a background process
of its own."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from shared.db import Database
from shared.runtime import PeriodicJob, ServiceRuntime, serve
from shared.settings import ServiceSettings


def _write_pid() -> None:
    Path(os.environ["WORKERS_APP_MARK"]).write_text(str(os.getpid()))


async def mark(_: Database) -> None:
    await asyncio.to_thread(_write_pid)


def create_app(settings: ServiceSettings) -> FastAPI:
    if settings.background_process:
        app = ServiceRuntime(
            settings, title="workers", jobs=[PeriodicJob("mark", 0.2, mark)]
        ).fastapi()
    elif "failing" in sys.argv[3:]:

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            raise RuntimeError("the database does not answer")
            yield

        app = FastAPI(lifespan=lifespan)
    else:
        app = FastAPI()

    @app.get("/pid")
    async def pid() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app


if __name__ == "__main__":
    serve(
        create_app,
        ServiceSettings(
            service="workers",
            port=int(sys.argv[1]),
            workers=int(sys.argv[2]),
            background_process=sys.argv[3:] == ["background"],
        ),
    )
