"""Tables of the repository service's own database."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata
from shared.messaging import Inbox, Outbox, messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
outbox = Outbox(messaging.outbox, service="repository")
inbox = Inbox(messaging.inbox)
