"""The whole network for tests that cross services: `deploy/local.py` on free ports.

One stack per test session (started on first use): every service, its own database prefix and
vhost, the demo network seeded (``<cc>-officer``, ``<cc>-coordinator``, ``commission``; password
``demo``). Tests through the gateway, the browser tests and the national-system tests share it;
each test creates its own requests and alerts, so tests do not depend on one another's data.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from shared.settings import REPO_ROOT
from tests.infra import Servers, free_port

SERVICES = ["gateway", "directory", "exchange", "alerts", "translation", "repository"]
DEMO_PASSWORD = "demo"
START_TIMEOUT = 150.0


@dataclass
class Stack:
    env: dict[str, str]
    amqp_url: str
    output: list[str] = field(default_factory=list)

    def port(self, service: str) -> int:
        return int(self.env[f"IMI_{service.upper()}_PORT"])

    def url(self, service: str = "gateway") -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        response = httpx.post(
            f"{self.gateway}/api/v1/auth/token",
            data={"username": username, "password": password},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def api(
        self, username: str, *, language: str | None = None, password: str = DEMO_PASSWORD
    ) -> httpx.Client:
        """An API client signed in as ``username`` (bearer token), base URL /api/v1."""
        headers = {"authorization": f"Bearer {self.token(username, password)}"}
        if language:
            headers["accept-language"] = language
        return httpx.Client(base_url=f"{self.gateway}/api/v1", headers=headers, timeout=30)

    def draft_request(self, requester: str, responder: str) -> dict[str, Any]:
        """A draft diploma request of ``requester``'s authority to ``responder``'s, by the API."""
        with self.api(responder) as api:
            responding = api.get("/me").json()["authority_id"]
        with self.api(requester) as api:
            draft = api.post(
                "/requests",
                json={
                    "procedure": "pq_establishment",
                    "responding_authority_id": responding,
                    "items": [{"question": "pq_diploma_authentic"}],
                    "requested_reply_date": (date.today() + timedelta(days=14)).isoformat(),
                },
            )
        assert draft.status_code == 201, draft.text
        found: dict[str, Any] = draft.json()
        return found


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def stack_environment(servers: Servers, label: str = "stack") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMI_")}
    env.update(
        IMI_ENV="dev",
        IMI_PG_URL=servers.pg_url,
        IMI_AMQP_URL=servers.new_vhost(label),
        IMI_DATABASE_PREFIX=f"imi_test_{servers.run_id}_{label}",
        IMI_STATE_DIR=tempfile.mkdtemp(prefix=f"imi-{label}-"),
        IMI_LOG_LEVEL="WARNING",
        IMI_DEMO_PASSWORD=DEMO_PASSWORD,
        # Every country's national system is told of alerts (tests/national).
        IMI_ALERTS_NATIONAL_SYSTEMS="*",
        # The whole suite signs in from one address; the limits have their own tests.
        IMI_GATEWAY_SIGNIN_RATE_PER_MINUTE="100000",
        IMI_GATEWAY_SIGNIN_BURST="100000",
        IMI_GATEWAY_API_RATE_PER_SECOND="100000",
        IMI_GATEWAY_API_BURST="100000",
    )
    for service in SERVICES:
        env[f"IMI_{service.upper()}_PORT"] = str(free_port())
    servers.databases.extend(f"imi_test_{servers.run_id}_{label}_{s}" for s in SERVICES)
    return env


@dataclass
class RunningStack:
    stack: Stack
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_stack(servers: Servers, label: str = "stack") -> RunningStack:
    env = stack_environment(servers, label)
    process = subprocess.Popen(
        [sys.executable, "deploy/local.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process, lines), daemon=True).start()
    stack = Stack(env=env, amqp_url=env["IMI_AMQP_URL"])
    running = RunningStack(stack, process)
    deadline = time.monotonic() + START_TIMEOUT
    ready = False
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        stack.output.append(line)
        if "IMI is ready at" in line:
            ready = True
            break
    if not ready:
        running.stop()
        raise RuntimeError("the stack did not start:\n" + "".join(stack.output[-40:]))
    # Keep draining the output so the services never block on a full pipe.
    threading.Thread(target=_drain, args=(lines, stack.output), daemon=True).start()
    return running


def _drain(lines: queue.Queue[str | None], output: list[str]) -> None:
    while (line := lines.get()) is not None:
        output.append(line)
        del output[:-500]


def stack_fixture(servers: Servers) -> Iterator[Stack]:
    running = start_stack(servers)
    try:
        yield running.stack
    finally:
        running.stop()
