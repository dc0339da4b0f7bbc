"""National IT systems on the broker: a service's consumer of ``imi.inbound`` commands.

Each service that takes commands has a quorum queue ``<service>.inbound`` bound to
``*.<namespace>.*`` for its commands (``*.request.*``). For every message:

- no ``reply_to``: nobody could be told, so it is dead-lettered (``<service>.dead``) and logged;
- the sender must be the broker user of the routing key's country (``user_id`` is validated by
  the broker against the connection's user, so it cannot be forged): else ``rejected``;
- a ``message_id`` seen before gets the stored reply again, nothing is applied twice (the
  command's row is claimed in the transaction of its effect, so two replicas cannot both apply);
- the body is validated against the command's contract, the command is applied by the service's
  handler with the rules of the web API; a ``DomainError`` rolls the effect back and becomes a
  ``rejected`` reply with the problem's slug as ``reason`` and its field.

Replies go out through the service's transactional outbox (default exchange, routing key = the
``reply_to`` queue, the command's ``correlation_id``), so a reply is sent if and only if its
outcome was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, MetaData, Table, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope
from shared.contracts.national import (
    COMMANDS,
    CONTRACT_VERSION,
    INBOUND,
    NATIONAL_USER_PREFIX,
    OUTBOUND,
    REPLY_TYPE,
    Command,
    OutboundEvent,
    Reply,
    major,
)
from shared.db import Database
from shared.identity import Identity, Role
from shared.logging import bind_correlation_id, get_logger
from shared.messaging import DEAD_EXCHANGE, DELIVERY_LIMIT, Outbox, dead_queue
from shared.problems import DomainError

log = get_logger(__name__)


def inbound_queue(service: str) -> str:
    return f"{service}.inbound"


def commands_of(service: str) -> dict[str, type[Command]]:
    return {name: model for name, model in COMMANDS.items() if model.service == service}


def national_commands_table(metadata: MetaData) -> Table:
    """Every command taken, by message id, with the reply it got."""
    return Table(
        "national_commands",
        metadata,
        Column("message_id", Text, primary_key=True),
        Column("command", Text, nullable=False),
        Column("country", Text, nullable=False),
        Column("reply", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def create_national_commands() -> None:
    """The migration step that creates the table (call inside an Alembic revision)."""
    from alembic import op

    op.create_table(
        "national_commands",
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("reply", JSONB(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_national_commands")),
    )


@dataclass(frozen=True)
class Accepted:
    """What a handler returns when the command took effect."""

    resource_id: uuid.UUID
    version: int | None = None
    state: str | None = None


# A handler applies one command in the session's transaction, acting for the named user.
CommandHandler = Callable[[AsyncSession, str, Command], Awaitable[Accepted]]


class CommandRejected(DomainError):
    status = 422
    slug = "rejected"
    title = "The command was rejected"

    def __init__(self, reason: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.slug = reason


def _validation_field(exc: ValidationError) -> str | None:
    errors = exc.errors()
    if not errors:
        return None
    return ".".join(str(part) for part in errors[0].get("loc", ())) or None


async def declare_inbound(channel: aio_pika.abc.AbstractChannel, service: str) -> None:
    """The service's inbound queue, bound to its commands of every country."""
    await channel.declare_exchange(INBOUND, aio_pika.ExchangeType.TOPIC, durable=True)
    dead = await channel.declare_queue(
        dead_queue(service), durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead.bind(DEAD_EXCHANGE, routing_key=service)
    queue = await channel.declare_queue(
        inbound_queue(service),
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_EXCHANGE,
            "x-dead-letter-routing-key": service,
        },
    )
    # Every command of the service's namespaces (``*.request.*``), known or not, so that an
    # unknown one is answered; a key outside every namespace is unroutable (publish it with
    # ``mandatory`` to have the broker return it).
    for namespace in sorted({name.split(".", 1)[0] for name in commands_of(service)}):
        await queue.bind(INBOUND, routing_key=f"*.{namespace}.*")


class CommandConsumer:
    """Takes a service's commands from ``imi.inbound``; one reply per command, applied once."""

    def __init__(self, service: str, table: Table, outbox: Outbox, handler: CommandHandler) -> None:
        self.service = service
        self.table = table
        self.outbox = outbox
        self.handler = handler
        self.commands = commands_of(service)
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self, amqp_url: str, db: Database, *, prefetch: int = 20) -> None:
        self._connection = await aio_pika.connect_robust(amqp_url)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        await declare_inbound(channel, self.service)
        queue = await channel.get_queue(inbound_queue(self.service), ensure=True)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await self._on_message(db, message)

        await queue.consume(on_message)

    async def stop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # A robust connection that is reconnecting may not answer a close: bounded.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 10)

    async def _on_message(
        self, db: Database, message: aio_pika.abc.AbstractIncomingMessage
    ) -> None:
        bind_correlation_id(message.correlation_id or str(uuid.uuid4()))
        if not message.reply_to:
            log.warning(
                "command without reply_to dead-lettered",
                routing_key=message.routing_key,
                message_id=message.message_id,
            )
            await message.reject(requeue=False)
            return
        try:
            await self._take(db, message)
        except Exception:
            log.exception("command failed; redelivered", routing_key=message.routing_key)
            await message.nack(requeue=True)
        else:
            await message.ack()

    async def _take(self, db: Database, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        country, _, name = (message.routing_key or "").partition(".")
        message_id = message.message_id
        if not message_id:
            reply = _rejected(name, "malformed", "a command needs a message_id", "message_id")
            await self._reply_once(db, message, None, country, name, reply)
            return
        try:
            async with db.transaction() as session:
                earlier = await self._claim(session, message_id, name, country)
                if earlier is not None:
                    log.info("duplicate command answered again", message_id=message_id)
                    await self._send_reply(session, message, Reply.model_validate(earlier))
                    return
                command = self._check(message, country, name)
                accepted = await self.handler(session, country, command)
                reply = Reply(
                    command=name,
                    outcome="accepted",
                    resource_id=accepted.resource_id,
                    version=accepted.version,
                    state=accepted.state,
                )
                await self._record(session, message_id, reply)
                await self._send_reply(session, message, reply)
        except DomainError as exc:
            # The effect rolled back with the claim; the rejection is recorded on its own.
            reply = _rejected(name, exc.slug, exc.detail, exc.field)
            await self._reply_once(db, message, message_id, country, name, reply)
        log.info("command taken", command=name, country=country, outcome=reply.outcome)

    def _check(
        self, message: aio_pika.abc.AbstractIncomingMessage, country: str, name: str
    ) -> Command:
        expected_user = f"{NATIONAL_USER_PREFIX}{country}"
        if message.user_id != expected_user:
            raise CommandRejected(
                "sender-not-national-system",
                f"commands for {country!r} are taken only from the broker user {expected_user}",
                field="user_id",
            )
        model = self.commands.get(name)
        if model is None:
            raise CommandRejected(
                "unknown-command",
                f"no command {name!r}; known: {', '.join(sorted(self.commands))}",
                field="routing_key",
            )
        try:
            raw = json.loads(message.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandRejected(
                "malformed", f"the body is not JSON: {exc}", field="body"
            ) from exc
        if isinstance(raw, dict) and major(str(raw.get("contract", CONTRACT_VERSION))) != major(
            CONTRACT_VERSION
        ):
            raise CommandRejected(
                "unsupported-contract",
                f"contract {raw.get('contract')!r}: this system speaks {CONTRACT_VERSION}",
                field="contract",
            )
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            raise CommandRejected("malformed", first, field=_validation_field(exc)) from exc

    async def _claim(
        self,
        session: AsyncSession,
        message_id: str,
        name: str,
        country: str,
    ) -> dict[str, Any] | None:
        """Claim the message id; the earlier reply when it was taken before. The claim waits
        for a concurrent one to commit (unique key), so a duplicate never applies twice."""
        inserted = await session.execute(
            pg_insert(self.table)
            .values(message_id=message_id, command=name[:200], country=country[:20])
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(self.table.c.message_id)
        )
        if inserted.first() is not None:
            return None
        statement = (
            select(self.table.c.reply)
            .where(self.table.c.message_id == message_id)
            .with_for_update()
        )
        reply: dict[str, Any] | None = await session.scalar(statement)
        return reply

    async def _record(self, session: AsyncSession, message_id: str, reply: Reply) -> None:
        await session.execute(
            self.table.update()
            .where(self.table.c.message_id == message_id)
            .values(reply=reply.model_dump(mode="json"))
        )

    async def _reply_once(
        self,
        db: Database,
        message: aio_pika.abc.AbstractIncomingMessage,
        message_id: str | None,
        country: str,
        name: str,
        reply: Reply,
    ) -> None:
        async with db.transaction() as session:
            if message_id is not None:
                earlier = await self._claim(session, message_id, name, country)
                if earlier is not None:  # a concurrent duplicate was answered meanwhile
                    reply = Reply.model_validate(earlier)
                else:
                    await self._record(session, message_id, reply)
            await self._send_reply(session, message, reply)

    async def _send_reply(
        self,
        session: AsyncSession,
        message: aio_pika.abc.AbstractIncomingMessage,
        reply: Reply,
    ) -> None:
        envelope = Envelope(
            source=f"imi/{self.service}",
            type=REPLY_TYPE,
            subject=str(reply.resource_id) if reply.resource_id else None,
            correlationid=message.correlation_id,
            data=reply.model_dump(mode="json"),
        )
        properties = {"correlation_id": message.correlation_id, "type": REPLY_TYPE}
        await self.outbox.add_envelopes(
            session, [(envelope, "", str(message.reply_to), properties)]
        )


@dataclass(frozen=True)
class KnownUser:
    """A user of a service's directory projection, as a command names it."""

    id: uuid.UUID
    username: str
    authority_id: uuid.UUID
    country: str
    roles: list[dict[str, Any]]
    language: str


def acting_identity(
    country: str,
    authority: tuple[str, str | None] | None,
    user: KnownUser | None,
) -> Identity:
    """The identity a command acts with: its authority (country, region) must belong to the
    publishing ``country`` and its user be an active user of that authority."""
    if authority is None:
        raise CommandRejected(
            "foreign-authority", "no such authority in the directory", field="authority_id"
        )
    if authority[0] != country:
        raise CommandRejected(
            "foreign-authority",
            f"the authority belongs to {authority[0]!r}, not to the publishing {country!r}",
            field="authority_id",
        )
    if user is None:
        raise CommandRejected(
            "unknown-user", "no active user of that name at the authority", field="username"
        )
    return Identity(
        user_id=user.id,
        username=user.username,
        authority_id=user.authority_id,
        country=user.country,
        region=authority[1],
        roles=tuple(Role(**role) for role in user.roles),
        language=user.language,
    )


def _rejected(name: str, reason: str, detail: str, field: str | None) -> Reply:
    return Reply(command=name, outcome="rejected", reason=reason, detail=detail, field=field)


async def purge_commands(session: AsyncSession, table: Table, before: datetime) -> int:
    result = await session.execute(sa.delete(table).where(table.c.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


# --- the AsyncAPI document of the national channels --------------------------------------------


def _body_function(model: type[Any]) -> Callable[..., Awaitable[None]]:
    async def command_body(body: Any) -> None:  # never called: its annotation is the schema
        return None

    command_body.__annotations__ = {"body": model, "return": None}
    command_body.__name__ = model.__name__
    return command_body


def national_asyncapi_document() -> Any:
    """The AsyncAPI 3 document of ``imi.inbound`` and ``imi.outbound``, from the contracts:
    what a national system publishes (the commands, routing key ``<country>.<command>``), the
    reply it gets on its ``reply_to`` queue and the events addressed to its authorities."""
    from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
    from faststream.specification import AsyncAPI

    broker = RabbitBroker("amqp://rabbitmq:5672/", logger=None)
    inbound = RabbitExchange(INBOUND, type=ExchangeType.TOPIC, declare=False)
    outbound = RabbitExchange(OUTBOUND, type=ExchangeType.TOPIC, declare=False)
    for name, model in sorted(COMMANDS.items()):
        broker.subscriber(
            RabbitQueue(
                inbound_queue(model.service),
                queue_type=QueueType.QUORUM,
                declare=False,
                routing_key=f"{{country}}.{name}",
            ),
            inbound,
            title=f"{{country}}.{name}",
            description=(model.__doc__ or name).strip().splitlines()[0],
        )(_body_function(model))
    broker.publisher(
        "{reply_to}",
        schema=Reply,
        title="reply",
        description="The one reply to a command, on the queue the command named in reply_to, "
        "with its correlation_id.",
    )
    broker.publisher(
        exchange=outbound,
        routing_key="{country}.{authority_id}.{event}",
        schema=OutboundEvent,
        title="{country}.{authority_id}.{event}",
        description="What an officer of the authority would see appear, in its language.",
    )
    spec = AsyncAPI(
        broker,
        title="IMI national systems: imi.inbound and imi.outbound",
        version=CONTRACT_VERSION,
        schema_version="3.0.0",
    )
    return spec.to_specification().to_jsonable()


if __name__ == "__main__":  # python -m shared.national > docs/asyncapi/national.json
    import sys

    sys.stdout.write(json.dumps(national_asyncapi_document(), indent=2, sort_keys=True) + "\n")
