"""Events the gateway service consumes (thin: parse, call one service function)."""

from __future__ import annotations

from typing import Any

from services.gateway.live import TEXTS, hub, notice
from services.gateway.models import inbox
from shared.contracts import EVENT_TYPES
from shared.contracts.alerts import ALERT_EVENTS, NOTIFICATION_EVENTS, FanOutFields
from shared.contracts.envelope import Envelope
from shared.contracts.exchange import RequestEvent
from shared.messaging import EventConsumer

consumer = EventConsumer("gateway", inbox)


async def on_request(session: Any, event: RequestEvent, envelope: Envelope) -> None:
    hub.publish(event.visible_authority_ids, notice(event.type, "request", event.request_id))


async def on_fan_out(session: Any, event: FanOutFields, envelope: Envelope) -> None:
    hub.publish(event.recipient_authority_ids, notice(event.type, "alert", event.alert_id))


for _type in sorted(TEXTS):
    if _type.startswith("exchange."):
        consumer.on(EVENT_TYPES[_type])(on_request)  # type: ignore[arg-type]
for _model in (*ALERT_EVENTS.values(), *NOTIFICATION_EVENTS.values()):
    if issubclass(_model, FanOutFields) and _model.type in TEXTS:
        consumer.on(_model)(on_fan_out)
