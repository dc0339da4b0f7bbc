"""Events the repository service consumes (thin: parse, call one service function)."""

from services.repository.models import inbox
from shared.messaging import EventConsumer

consumer = EventConsumer("repository", inbox)
