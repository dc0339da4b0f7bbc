"""A service served by several worker processes on one port: each answers, a SIGTERM stops
them all cleanly, and a worker that dies takes the service down for the orchestrator to
restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.settings import REPO_ROOT
from tests.infra import Servers, free_port


def worker_pids(parent: int) -> set[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return {int(p) for p in children.read_text().split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.foundation.workers_app", str(port), "2"],
        cwd=REPO_ROOT,
        env={**os.environ, "IMI_LOG_LEVEL": "WARNING"},
    )
    url = f"http://127.0.0.1:{port}/pid"
    try:
        deadline = time.monotonic() + 30
        while len(worker_pids(process.pid)) < 2 or not _answers(url):
            assert process.poll() is None, "the service exited while starting"
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_each_worker_takes_connections_and_a_sigterm_stops_them_all(
    served: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, url = served
    workers = worker_pids(process.pid)
    assert len(workers) == 2
    answered = set()
    for _ in range(40):  # a new connection each time: the kernel spreads them over the workers
        with httpx.Client() as client:
            answered.add(client.get(url).json()["pid"])
    assert answered == workers
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not any(alive(pid) for pid in workers)


def test_a_worker_that_dies_stops_the_service(
    served: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, _ = served
    first, second = sorted(worker_pids(process.pid))
    os.kill(first, signal.SIGKILL)
    assert process.wait(timeout=30) != 0
    time.sleep(0.2)
    assert not alive(second)


def test_a_port_already_taken_is_refused(served: tuple[subprocess.Popen[bytes], str]) -> None:
    _, url = served
    port = url.split(":")[2].split("/")[0]
    other = subprocess.run(
        [sys.executable, "-m", "tests.foundation.workers_app", port, "2"],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert other.returncode != 0
    assert b"Address already in use" in other.stderr


def test_no_worker_outlives_a_supervisor_killed_outright(
    served: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, _ = served
    workers = worker_pids(process.pid)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its supervisor"
        time.sleep(0.1)


def test_a_background_process_runs_the_jobs_beside_the_workers(
    servers: Servers, tmp_path: Path
) -> None:
    port = free_port()
    marked = tmp_path / "mark"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.foundation.workers_app", str(port), "1", "background"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "IMI_ENV": "test",
            "IMI_LOG_LEVEL": "WARNING",
            "IMI_AMQP_URL": servers.new_vhost("workers"),
            "IMI_IDENTITY_PUBLIC_KEY": servers.public_pem.decode(),
            "WORKERS_APP_MARK": str(marked),
        },
    )
    url = f"http://127.0.0.1:{port}/pid"
    try:
        deadline = time.monotonic() + 30
        while not (marked.exists() and marked.read_text() and _answers(url)):
            assert process.poll() is None, "the service exited while starting"
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)
        children = worker_pids(process.pid)
        assert len(children) == 2
        web = httpx.get(url).json()["pid"]
        job = int(marked.read_text())
        assert {web, job} == children  # the job ran in the other process
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not any(alive(pid) for pid in children)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_service_whose_startup_fails_exits_non_zero(workers: str) -> None:
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.foundation.workers_app",
            str(free_port()),
            workers,
            "failing",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "IMI_LOG_LEVEL": "WARNING"},
        capture_output=True,
        timeout=60,
    )
    assert failed.returncode != 0
