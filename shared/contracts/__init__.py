"""Event and command contracts: one module per producing service, every model a pydantic class.

An event's ``type`` is its routing key on ``imi.events`` (``<service>.<aggregate>.<verb-past>``).
Contracts change additively within a major version: new optional fields only; a removal or a
change of meaning is a new major version with a new type name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

EVENT_TYPES: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of every event: what happened, in the past tense."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: ClassVar[str] = ""
    major_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type:
            existing = EVENT_TYPES.get(event_type)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise TypeError(f"event type {event_type!r} already defined by {existing!r}")
            EVENT_TYPES[event_type] = cls


class Command(BaseModel):
    """Base of every command: what a sender asks to be done, in the imperative."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str] = ""
    major_version: ClassVar[int] = 1
