"""The raw aio-pika ceiling on this machine: persistent, confirmed publish + acked consume.

.venv/bin/python bench/broker_baseline.py [--messages N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import broker_baseline, report, scratch_vhost  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    messages = 2_000 if args.quick else args.messages
    async with scratch_vhost("baseline") as amqp_url:
        await broker_baseline(amqp_url, min(messages, 1_000))  # warm-up
        rates = [await broker_baseline(amqp_url, messages) for _ in range(3)]
    report(
        "broker baseline (aio-pika, persistent + confirmed publish, acked consume, one process)",
        [
            ("messages per run", f"{messages}"),
            ("runs (msg/s)", ", ".join(f"{r:,.0f}" for r in rates)),
            ("best", f"{max(rates):,.0f} msg/s"),
        ],
    )


if __name__ == "__main__":
    uvloop.install()  # as the services run (uvicorn --loop uvloop)
    asyncio.run(main())
