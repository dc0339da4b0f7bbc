"""An example national connector: a member state's register answers IMI requests by itself.

    IMI_NATIONAL_URL=amqp://imi-national-de:...@broker:5672/ \\
    IMI_NATIONAL_COUNTRY=de IMI_NATIONAL_AUTHORITY=<authority id> IMI_NATIONAL_USER=de-officer \\
    python connector.py --register register.csv --procedure pq_establishment

It needs only aio-pika and the published contracts (docs/asyncapi/national.json). It keeps a
durable queue ``imi-national-<cc>.events`` bound to ``imi.outbound`` with ``<cc>.#`` (events wait
there while it is down) and a reply queue ``imi-national-<cc>.replies``. It logs every event it
receives. For each new request of its procedure to its authority it looks the professional up
in the CSV register (columns ``registration_number``, ``diploma_authentic`` yes/no,
``issuing_body``, ``award_date``), by a registration number quoted in the request's free text,
then accepts the request and answers the questions the register can answer. A request it cannot
match is left to the officers in the web client.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aio_pika

CONTRACT = "1.0"
log = logging.getLogger("imi.national-connector")


def read_register(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["registration_number"].strip(): row for row in csv.DictReader(handle)}


def find_entry(
    content: Mapping[str, Any], register: Mapping[str, dict[str, str]]
) -> dict[str, str] | None:
    """The register entry whose number the request's free texts quote."""
    texts = " ".join(t.get("text", "") for t in content.get("free_texts", []))
    for token in re.findall(r"[A-Z0-9][A-Z0-9-]{3,}", texts.upper()):
        if token in register:
            return register[token]
    return None


def answers_from(entry: Mapping[str, str], questions: list[str]) -> list[dict[str, Any]]:
    known: dict[str, dict[str, Any]] = {
        "pq_diploma_authentic": {
            "option": "yes" if entry.get("diploma_authentic") == "yes" else "no"
        },
        "pq_diploma_issuing_body": {"option": entry.get("issuing_body") or "other"},
        "pq_diploma_award_date": {"date": entry.get("award_date")},
    }
    return [
        {"question": q, "answer": known[q]}
        for q in questions
        if q in known and all(v for v in known[q].values())
    ]


class Connector:
    def __init__(
        self,
        url: str,
        country: str,
        authority_id: str,
        username: str,
        procedure: str,
        register: Mapping[str, dict[str, str]],
    ) -> None:
        self.url = url
        self.country = country
        self.authority_id = authority_id
        self.username = username
        self.procedure = procedure
        self.register = register
        self.user = f"imi-national-{country}"
        self.answered: list[str] = []
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._replies = ""

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.url)
        channel = self._channel = await self._connection.channel()
        replies = await channel.declare_queue(f"{self.user}.replies", durable=True)
        self._replies = replies.name
        events = await channel.declare_queue(f"{self.user}.events", durable=True)
        await events.bind("imi.outbound", routing_key=f"{self.country}.#")
        await replies.consume(self._on_reply)
        await events.consume(self._on_event)
        log.info("connected as %s, listening for %s.#", self.user, self.country)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            reply = json.loads(message.body)
            log.info("reply %s: %s", message.correlation_id, reply)
            waiting = self._waiting.pop(message.correlation_id or "", None)
            if waiting is not None and not waiting.done():
                waiting.set_result(reply)

    async def command(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._channel is not None
        correlation_id = str(uuid.uuid4())
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = reply
        exchange = await self._channel.get_exchange("imi.inbound", ensure=False)
        payload = {
            "contract": CONTRACT,
            "authority_id": self.authority_id,
            "username": self.username,
            **body,
        }
        await exchange.publish(
            aio_pika.Message(
                json.dumps(payload).encode(),
                content_type="application/json",
                message_id=str(uuid.uuid4()),
                correlation_id=correlation_id,
                reply_to=self._replies,
                user_id=self.user,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=f"{self.country}.{name}",
        )
        return await asyncio.wait_for(reply, 60)

    async def _on_event(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            event = json.loads(message.body)
            log.info(
                "event %s: %s (%s)", message.routing_key, event.get("title"), event.get("state")
            )
            if (
                event.get("event") == "exchange.request.sent"
                and event.get("authority_id") == self.authority_id
                and event.get("data", {}).get("responding_authority_id") == self.authority_id
                and event.get("data", {}).get("procedure") == self.procedure
            ):
                asyncio.get_running_loop().create_task(self.answer(event))

    async def answer(self, event: Mapping[str, Any]) -> None:
        data = event["data"]
        entry = find_entry(data.get("content") or {}, self.register)
        if entry is None:
            log.info(
                "request %s: no register entry quoted; left to the officers", event["resource_id"]
            )
            return
        accepted = await self.command(
            "request.accept", {"request_id": event["resource_id"], "version": event["version"]}
        )
        if accepted.get("outcome") != "accepted":
            log.warning("request %s not accepted: %s", event["resource_id"], accepted)
            return
        answers = answers_from(entry, list(data.get("question_keys", [])))
        answered = await self.command(
            "request.answer",
            {
                "request_id": event["resource_id"],
                "version": accepted["version"],
                "answer": {"answers": answers},
            },
        )
        if answered.get("outcome") == "accepted":
            self.answered.append(str(event["resource_id"]))
            log.info("request %s answered from the register", event["resource_id"])
        else:
            log.warning("request %s: answer rejected: %s", event["resource_id"], answered)


async def run(args: argparse.Namespace) -> None:
    connector = Connector(
        os.environ["IMI_NATIONAL_URL"],
        os.environ["IMI_NATIONAL_COUNTRY"],
        os.environ["IMI_NATIONAL_AUTHORITY"],
        os.environ["IMI_NATIONAL_USER"],
        args.procedure,
        read_register(args.register),
    )
    await connector.start()
    try:
        await asyncio.Event().wait()
    finally:
        await connector.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--register", type=Path, required=True)
    parser.add_argument("--procedure", default="pq_establishment")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
