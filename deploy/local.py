"""`make run`: the whole IMI network on one machine, for a newcomer.

Checks PostgreSQL and RabbitMQ (starts local ones that are installed but stopped), creates and
migrates every service's database, seeds the demo network when empty, starts every service and
the gateway as supervised processes, and prints the web address. One Ctrl-C stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import aio_pika
import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.db import upgrade  # noqa: E402
from shared.identity import ensure_dev_keypair  # noqa: E402
from shared.messaging import declare_topology  # noqa: E402
from shared.settings import CommonSettings, ServiceSettings  # noqa: E402

# Start order: the gateway last, so that it finds the services it forwards to.
SERVICES = ["directory", "translation", "exchange", "alerts", "repository", "gateway"]
READY_TIMEOUT = 90.0


def say(message: str) -> None:
    print(f"imi: {message}", flush=True)


def service_settings(service: str) -> ServiceSettings:
    module = import_module(f"services.{service}.settings")
    cls = next(
        value
        for name, value in vars(module).items()
        if name.endswith("Settings") and isinstance(value, type) and value is not ServiceSettings
    )
    settings: ServiceSettings = cls()
    return settings


async def pg_answers(url: str) -> bool:
    dsn = make_url(url).set(drivername="postgresql", database="postgres")
    try:
        conn = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def amqp_answers(url: str) -> bool:
    try:
        conn = await aio_pika.connect(url, timeout=3)
    except (OSError, aio_pika.exceptions.AMQPError, TimeoutError):
        return False
    await conn.close()
    return True


async def wait_until(check: object, url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check(url):  # type: ignore[operator]
            return True
        await asyncio.sleep(1)
    return False


def is_local(url: str) -> bool:
    host = make_url(url.replace("amqp://", "postgresql://", 1)).host or "localhost"
    return host in {"127.0.0.1", "localhost", "::1"}


async def ensure_postgres(common: CommonSettings) -> None:
    if await pg_answers(common.pg_url):
        return
    clusters = sorted(glob.glob("/etc/postgresql/*"))
    if is_local(common.pg_url) and clusters and shutil.which("pg_ctlcluster"):
        version = Path(clusters[-1]).name
        say(f"PostgreSQL does not answer; starting the local cluster {version}/main")
        await asyncio.to_thread(
            subprocess.run,
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
        )
        if await wait_until(pg_answers, common.pg_url, 30):
            return
    sys.exit(
        f"imi: PostgreSQL does not answer at {common.pg_url}.\n"
        "     Install it (Debian/Ubuntu: apt-get install postgresql) and start it, or point\n"
        "     IMI_PG_URL at a server where the user may create databases."
    )


async def ensure_rabbitmq(common: CommonSettings) -> None:
    if await amqp_answers(common.amqp_url):
        return
    if is_local(common.amqp_url) and shutil.which("rabbitmq-server"):
        say("RabbitMQ does not answer; starting the local broker")
        await asyncio.to_thread(subprocess.run, ["rabbitmq-server", "-detached"], check=False)
        if await wait_until(amqp_answers, common.amqp_url, 60):
            return
    sys.exit(
        f"imi: RabbitMQ does not answer at {common.amqp_url}.\n"
        "     Install it (Debian/Ubuntu: apt-get install rabbitmq-server) and start it, or point\n"
        "     IMI_AMQP_URL at a broker."
    )


async def prepare(settings: dict[str, ServiceSettings]) -> None:
    common = next(iter(settings.values())).common
    await ensure_postgres(common)
    await ensure_rabbitmq(common)
    if common.env == "dev":
        ensure_dev_keypair(common)
    # Every consuming queue exists before any service publishes, so the first events (the demo
    # seed's) reach their consumers instead of the unrouted queue.
    for name in settings:
        consumer = import_module(f"services.{name}.handlers").consumer
        await declare_topology(common.amqp_url, name, consumer.binding_keys)
    for name, service in settings.items():  # Alembic's context is global: one at a time
        await upgrade(name, service.sqlalchemy_url)
    say("databases migrated: " + ", ".join(s.database_name for s in settings.values()))


def seed_demo(settings: dict[str, ServiceSettings]) -> None:
    """Each service that ships demo data seeds it when its database is empty."""
    for service in SERVICES:
        if (ROOT / "services" / service / "seed.py").exists():
            subprocess.run(
                [sys.executable, "-m", f"services.{service}.seed", "--demo-if-empty"],
                cwd=ROOT,
                check=True,
            )


@dataclass
class Supervised:
    service: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}"],
            cwd=ROOT,
            env={**os.environ, **self.env},
        )
        self.started_at = time.monotonic()


async def wait_ready(children: list[Supervised]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    pending = {c.service: c for c in children}
    async with httpx.AsyncClient(timeout=2) as client:
        while pending and time.monotonic() < deadline:
            for name, child in list(pending.items()):
                if child.process is not None and child.process.poll() is not None:
                    say(f"{name} exited with code {child.process.returncode} while starting")
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"http://127.0.0.1:{child.port}/readyz")
                    if response.status_code == 200:
                        del pending[name]
            await asyncio.sleep(0.3)
    if pending:
        say("not ready in time: " + ", ".join(pending))
    return not pending


async def supervise(children: list[Supervised], stop: asyncio.Event) -> None:
    """Restart a crashed service with back-off until asked to stop."""
    while not stop.is_set():
        for child in children:
            process = child.process
            if process is not None and process.poll() is not None and not stop.is_set():
                delay = (
                    min(2**child.restarts, 30) if time.monotonic() - child.started_at < 60 else 1
                )
                say(f"{child.service} exited with code {process.returncode}; restart in {delay} s")
                child.restarts += 1
                await asyncio.sleep(delay)
                if not stop.is_set():
                    child.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1)


def terminate(children: list[Supervised]) -> None:
    for child in children:
        if child.process is not None and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


async def main() -> int:
    started = time.monotonic()
    settings = {name: service_settings(name) for name in SERVICES}
    await prepare(settings)
    seed_demo(settings)
    children = [Supervised(name, s.port) for name, s in settings.items()]
    # The gateway forwards to the ports the services were given, unless told otherwise.
    children[-1].env = {
        f"IMI_GATEWAY_{name.upper()}_URL": f"http://127.0.0.1:{s.port}"
        for name, s in settings.items()
        if name != "gateway" and f"IMI_GATEWAY_{name.upper()}_URL" not in os.environ
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for child in children:
            child.start()
        if not await wait_ready(children):
            return 1
        gateway = settings["gateway"]
        say(f"all {len(children)} processes ready in {time.monotonic() - started:.1f} s")
        say(f"IMI is ready at http://{gateway.host}:{gateway.port}/")
        say(
            "demo sign-ins: <cc>-coordinator and <cc>-officer for every EEA country "
            "(e.g. pt-officer, de-officer), and commission; password "
            + ("from IMI_DEMO_PASSWORD" if os.environ.get("IMI_DEMO_PASSWORD") else "'demo'")
        )
        say("press Ctrl-C to stop everything")
        await supervise(children, stop)
        return 0
    finally:
        say("stopping")
        await asyncio.to_thread(terminate, children)
        say("stopped")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
