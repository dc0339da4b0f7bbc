"""A lean HTTP/1.1 keep-alive client for load benches: one connection per simulated client.

httpx spends far more CPU per call than the server under measurement does; on a 2-core machine
the load generator would be what is measured. This speaks just what the benches need (JSON and
form bodies, Content-Length or chunked answers) over asyncio streams, on uvloop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        raw_json: bytes | None = None,
        form: dict[str, str] | None = None,
    ) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = b""
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        if json_body is not None or raw_json is not None:
            body = raw_json if raw_json is not None else orjson.dumps(json_body)
            lines.append("content-type: application/json")
        elif form is not None:
            body = urlencode(form).encode()
            lines.append("content-type: application/x-www-form-urlencoded")
        if body or method in {"POST", "PUT", "PATCH"}:
            lines.append(f"content-length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        reused = self.writer is not None
        try:
            return await self._send(payload)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not reused:
                raise
            # The server closed the idle keep-alive connection before reading this request:
            # what any HTTP client does, once, on a fresh connection.
            await self.close()
            return await self._send(payload)

    async def _send(self, payload: bytes) -> Answer:
        reader, writer = await self._open()
        writer.write(payload)
        await writer.drain()
        return await self._answer(reader)

    async def _answer(self, reader: asyncio.StreamReader) -> Answer:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, headers, body)
