"""The serving process's heap: what startup made is frozen out of the collector's scans."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from shared.runtime import GC_THRESHOLDS, freeze_heap_after_startup


class Node:
    def __init__(self) -> None:
        self.other: Any = self  # a cycle only the collector could free


async def test_what_startup_made_is_frozen_and_young_collections_come_less_often() -> None:
    made: list[Node] = []
    stopped: list[bool] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        made.extend(Node() for _ in range(1000))
        yield
        stopped.append(True)

    app = freeze_heap_after_startup(FastAPI(lifespan=lifespan))
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        async with app.router.lifespan_context(app):
            assert len(made) == 1000  # the app's own startup ran first
            assert gc.get_freeze_count() >= 1000
            assert gc.get_threshold() == GC_THRESHOLDS
            young = {id(o) for o in gc.get_objects()}
            assert not any(id(node) in young for node in made)
        assert stopped == [True]  # and its shutdown after
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
