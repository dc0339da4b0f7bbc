"""Request models of the repository service's internal HTTP API.

A record's fields are checked against its repository's definition in the domain, not here:
the schema is data, so these models only give the body its outer shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any] = Field(
        description="field name -> value; a translatable field as {language: text}"
    )


class RecordPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any] = Field(
        description="only the fields that change; null removes an optional field"
    )


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)
