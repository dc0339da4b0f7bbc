"""A service of one route, served by ``shared.runtime.serve`` with the workers given on the
command line: ``python -m tests.foundation.workers_app <port> <workers>``."""

from __future__ import annotations

import os
import sys

from fastapi import FastAPI

from shared.runtime import serve
from shared.settings import ServiceSettings


def create_app(_: ServiceSettings) -> FastAPI:
    app = FastAPI()

    @app.get("/pid")
    async def pid() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app


if __name__ == "__main__":
    serve(
        create_app,
        ServiceSettings(service="workers", port=int(sys.argv[1]), workers=int(sys.argv[2])),
    )
