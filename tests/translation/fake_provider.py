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

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.loopback import LoopbackServer


def translated(text: str, target: str) -> str:
    """What the fake answers: recognisably a translation of ``text`` into ``target``."""
    return f"[{target}] {text}"


class FakeLibreTranslate(LoopbackServer):
    def __init__(self, slow_seconds: float = 3.0) -> None:
        super().__init__()
        self.slow_seconds = slow_seconds
        self.mode: str | None = None
        self.calls: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.app.post("/translate")(self._translate)

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


@contextlib.asynccontextmanager
async def fake_libretranslate(slow_seconds: float = 3.0) -> AsyncIterator[FakeLibreTranslate]:
    server = FakeLibreTranslate(slow_seconds)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
