"""Events the exchange service consumes (thin: parse, call one service function)."""

from services.exchange.models import inbox
from shared.messaging import EventConsumer

consumer = EventConsumer("exchange", inbox)
