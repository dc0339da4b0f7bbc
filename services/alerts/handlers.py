"""Events the alerts service consumes (thin: parse, call one service function)."""

from services.alerts.models import inbox
from shared.messaging import EventConsumer

consumer = EventConsumer("alerts", inbox)
