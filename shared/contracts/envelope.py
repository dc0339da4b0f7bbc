"""The CloudEvents 1.0 envelope on AMQP: attributes in headers, JSON data in the body."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared import json_codec

SPEC_VERSION = "1.0"
# CloudEvents AMQP protocol binding: attributes travel as application properties with this prefix.
HEADER_PREFIX = "cloudEvents:"
CONTENT_TYPE = "application/json"


def cloud_event_headers(
    *,
    id: str,
    source: str,
    type: str,
    time: datetime,
    subject: str | None,
    correlationid: str | None,
    specversion: str = SPEC_VERSION,
) -> dict[str, str]:
    """An envelope's attributes as AMQP headers (the CloudEvents AMQP binding)."""
    attrs: dict[str, str | None] = {
        "id": id,
        "source": source,
        "type": type,
        "time": time.isoformat(),
        "subject": subject,
        "specversion": specversion,
        "correlationid": correlationid,
    }
    return {HEADER_PREFIX + k: v for k, v in attrs.items() if v is not None}


class Envelope(BaseModel):
    """A CloudEvent: attributes plus ``data``; ``correlationid`` is an extension attribute."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    specversion: str = SPEC_VERSION
    correlationid: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        return cloud_event_headers(
            id=self.id,
            source=self.source,
            type=self.type,
            time=self.time,
            subject=self.subject,
            correlationid=self.correlationid,
            specversion=self.specversion,
        )

    def body(self) -> bytes:
        return json_codec.dumps(self.data, default=str)

    @classmethod
    def from_amqp(cls, headers: dict[str, Any], body: bytes) -> Envelope:
        """Read an envelope back from AMQP headers and body; raises ValueError when malformed."""
        attrs = {
            key[len(HEADER_PREFIX) :]: _text(value)
            for key, value in headers.items()
            if key.startswith(HEADER_PREFIX)
        }
        data = json.loads(body) if body else {}
        if not isinstance(data, dict):
            raise ValueError("event data must be a JSON object")
        return cls(**attrs, data=data)


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value
