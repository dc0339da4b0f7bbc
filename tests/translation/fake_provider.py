"""A small LibreTranslate-compatible server for the tests, on loopback, counting its calls.

The text decides how it behaves, so tests sharing it never interfere: a text containing
``[slow]`` is answered after the client's timeout, ``[garbage]`` gets a body that is not JSON,
``[empty]`` gets JSON without a translation, ``[error]`` gets HTTP 500; anything else works.
``mode`` forces one behaviour for every text.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.infra import eventually, free_port


def translated(text: str, target: str) -> str:
    """What the fake answers: recognisably a translation of ``text`` into ``target``."""
    return f"[{target}] {text}"


class FakeLibreTranslate:
    def __init__(self, slow_seconds: float = 3.0) -> None:
        self.port = free_port()
        self.slow_seconds = slow_seconds
        self.mode: str | None = None
        self.calls: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/translate")(self._translate)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls_for(self, text: str) -> int:
        return self.calls[text]

    async def _translate(self, request: Request) -> Response:
        body = await request.json()
        self.bodies.append(body)
        text = str(body.get("q", ""))
        self.calls[text] += 1
        mode = self.mode or next(
            (m for m in ("slow", "garbage", "empty", "error") if f"[{m}]" in text), "works"
        )
        if mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        if mode == "garbage":
            return PlainTextResponse("<html>Service temporarily overloaded</html>")
        if mode == "empty":
            return JSONResponse({"detectedLanguage": {"language": "pt"}})
        if mode == "error":
            return JSONResponse({"error": "internal"}, status_code=500)
        return JSONResponse({"translatedText": translated(text, body["target"])})

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.ensure_future(self._server.serve())
        server = self._server

        async def started() -> bool:
            return server.started

        await eventually(started, timeout=10, interval=0.01)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)


@contextlib.asynccontextmanager
async def fake_libretranslate(slow_seconds: float = 3.0) -> AsyncIterator[FakeLibreTranslate]:
    server = FakeLibreTranslate(slow_seconds)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
