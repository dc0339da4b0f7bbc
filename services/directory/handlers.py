"""Events the directory service consumes (thin: parse, call one service function)."""

from services.directory.models import inbox
from shared.messaging import EventConsumer

consumer = EventConsumer("directory", inbox)
