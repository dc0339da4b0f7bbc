"""Events the gateway service consumes (thin: parse, call one service function)."""

from services.gateway.models import inbox
from shared.messaging import EventConsumer

consumer = EventConsumer("gateway", inbox)
