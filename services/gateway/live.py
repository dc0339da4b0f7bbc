"""Live updates: what reaches a signed-in user's authority, pushed as server-sent events.

The gateway consumes the request and alert events (handlers.py) and hands each to the hub,
which queues it for every open stream of the authorities it concerns. A stream is
``GET /api/v1/events/stream`` (bearer token or session cookie); each message is an event
``imi`` with JSON data ``{type, resource, id, text, url}``, and a comment line every 15 s keeps
proxies from closing it. One gateway process serves the streams of its own connections.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from services.gateway.deps import CallerDep

KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 100
TEXTS = {
    "exchange.request.sent": "New request",
    "exchange.request.answered": "New answer",
    "exchange.request.accepted": "Request accepted",
    "exchange.request.information_requested": "More information requested",
    "exchange.request.forwarded": "Request forwarded",
    "alerts.alert.broadcast": "New alert",
    "alerts.alert.disseminated": "New alert",
    "alerts.notification.broadcast": "New notification",
}


class LiveHub:
    def __init__(self) -> None:
        self._streams: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def open(self, authority_id: uuid.UUID) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._streams[authority_id].add(queue)
        return queue

    def close(self, authority_id: uuid.UUID, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._streams[authority_id].discard(queue)
        if not self._streams[authority_id]:
            del self._streams[authority_id]

    def publish(self, authority_ids: Iterable[uuid.UUID], message: dict[str, Any]) -> int:
        told = 0
        for authority_id in set(authority_ids):
            for queue in self._streams.get(authority_id, ()):
                if not queue.full():  # a stalled reader loses notices, never blocks the others
                    queue.put_nowait(message)
                    told += 1
        return told


hub = LiveHub()
router = APIRouter()


def notice(event_type: str, resource: str, resource_id: uuid.UUID) -> dict[str, Any]:
    return {
        "type": event_type,
        "resource": resource,
        "id": str(resource_id),
        "text": TEXTS.get(event_type, event_type),
        "url": f"/{resource}s/{resource_id}",
    }


async def _frames(request: Request, authority_id: uuid.UUID) -> AsyncIterator[bytes]:
    queue = hub.open(authority_id)
    try:
        yield b": connected\n\n"
        while not await request.is_disconnected():
            try:
                message = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield f"event: imi\ndata: {json.dumps(message)}\n\n".encode()
    finally:
        hub.close(authority_id, queue)


@router.get("/api/v1/events/stream", tags=["events"])
async def event_stream(request: Request, caller: CallerDep) -> StreamingResponse:
    """Server-sent events for the signed-in user: new requests, answers and alerts."""
    _, identity = caller
    if identity.authority_id is None:
        authority_id = uuid.UUID(int=0)
    else:
        authority_id = identity.authority_id
    return StreamingResponse(
        _frames(request, authority_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
