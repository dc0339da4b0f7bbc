"""Tables of the alerts service's own database."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata
from shared.messaging import Inbox, Outbox, messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
outbox = Outbox(messaging.outbox, service="alerts")
inbox = Inbox(messaging.inbox)
