"""``python -m shared.deadletters list|replay SERVICE [MESSAGE_ID ...]``: inspect and replay."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.messaging import list_dead_letters, replay_dead_letters
from shared.settings import CommonSettings


async def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.deadletters")
    parser.add_argument("action", choices=["list", "replay"])
    parser.add_argument("service")
    parser.add_argument("message_ids", nargs="*")
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args(argv)
    amqp_url = CommonSettings().amqp_url
    if args.action == "list":
        letters = await list_dead_letters(amqp_url, args.service, args.limit)
        for letter in letters:
            body = letter.body[:200].decode("utf-8", "replace")
            sys.stdout.write(
                f"{letter.message_id}\t{letter.routing_key}\t{letter.reason}\t{body}\n"
            )
        sys.stdout.write(f"{len(letters)} dead letter(s) in {args.service}.dead\n")
    else:
        count = await replay_dead_letters(amqp_url, args.service, args.message_ids or None)
        sys.stdout.write(f"replayed {count} message(s) to {args.service}.events\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run(sys.argv[1:])))
