"""`make run` brings the whole network up on this machine and one interrupt stops all of it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from shared.settings import REPO_ROOT
from tests.infra import Servers, free_port

SERVICES = ["gateway", "directory", "exchange", "alerts", "translation", "repository"]


@pytest.fixture
def run_environment(servers: Servers, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMI_")}
    env.update(
        IMI_ENV="dev",
        IMI_PG_URL=servers.pg_url,
        IMI_AMQP_URL=servers.new_vhost("makerun"),
        IMI_DATABASE_PREFIX=f"imi_test_{servers.run_id}_run",
        IMI_STATE_DIR=str(tmp_path / "state"),
        IMI_LOG_LEVEL="WARNING",
    )
    for service in SERVICES:
        env[f"IMI_{service.upper()}_PORT"] = str(free_port())
    servers.databases.extend(f"imi_test_{servers.run_id}_run_{s}" for s in SERVICES)
    return env


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


class TestMakeRun:
    def test_all_six_processes_become_ready_and_one_interrupt_stops_them(
        self, run_environment: dict[str, str]
    ) -> None:
        # The suite itself ran `make install`; a second installation must not happen.
        assert subprocess.run(["make", "-q", "install"], cwd=REPO_ROOT).returncode == 0
        process = subprocess.Popen(
            ["make", "run"],
            cwd=REPO_ROOT,
            env=run_environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(process, lines), daemon=True).start()
        output: list[str] = []
        try:
            deadline = time.monotonic() + 60
            # A silent, stuck start-up fails at the deadline instead of blocking on a read.
            while (left := deadline - time.monotonic()) > 0:
                try:
                    line = lines.get(timeout=left)
                except queue.Empty:
                    break
                if line is None:
                    break
                output.append(line)
                if "IMI is ready at" in line:
                    break
            assert any("IMI is ready at" in line for line in output), "".join(output[-30:])
            assert not any("pip install" in line for line in output), "installed again"
            for service in SERVICES:
                port = run_environment[f"IMI_{service.upper()}_PORT"]
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                assert response.status_code == 200, (service, response.text)
            gateway_port = run_environment["IMI_GATEWAY_PORT"]
            assert f"http://127.0.0.1:{gateway_port}/" in "".join(output)
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                pytest.fail("make run did not stop within 30 s of one interrupt")
        for service in SERVICES:
            port = run_environment[f"IMI_{service.upper()}_PORT"]
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
