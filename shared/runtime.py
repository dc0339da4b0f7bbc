"""What every service process runs around its domain: database, broker, relay, jobs, HTTP edge."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import uvloop
from fastapi import APIRouter, FastAPI
from faststream.rabbit import RabbitBroker

from shared.db import Database
from shared.identity import Identity, IdentityDep, IdentityVerifier
from shared.logging import configure_logging, get_logger
from shared.messaging import (
    EventConsumer,
    Outbox,
    OutboxRelay,
    asyncapi_document,
    declare_topology,
    published_events,
    purge_published,
)
from shared.settings import ServiceSettings
from shared.web import (
    JSONBody,
    ObservabilityMiddleware,
    install_health_routes,
    install_problem_handlers,
)

log = get_logger(__name__)
# The longest any one shutdown step may take.
STOP_STEP_SECONDS = 10.0
# The collector's thresholds in a serving process. With CPython's default (a young collection
# every 700 allocations) a service under load collected its oldest generation every second or
# two, 120 to 180 ms each in the gateway: a p99 of its own for every call it was serving.
GC_THRESHOLDS = (20_000, 10, 10)
# The exit code of a process whose startup failed (uvicorn's).
STARTUP_FAILURE = 3


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``interval`` seconds by every replica; the job itself takes its rows with
    ``FOR UPDATE SKIP LOCKED`` or an advisory lock, so replicas never do the same work twice."""

    name: str
    interval: float
    run: Callable[[Database], Awaitable[Any]]


@dataclass
class ServiceRuntime:
    """One service process: its settings, database, broker and background work."""

    settings: ServiceSettings
    title: str
    outbox: Outbox | None = None
    consumer: EventConsumer | None = None
    jobs: Sequence[PeriodicJob] = ()
    start_relay: bool = True
    extra_startup: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    extra_shutdown: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    # "all": everything in this process; "web": HTTP, consumers and extra startup, the relay
    # and the jobs being in a background process; "background": the relay and the jobs only.
    role: str = "all"
    db: Database = field(init=False)
    broker: RabbitBroker = field(init=False)
    relay: OutboxRelay | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[Any]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.db = Database(self.settings.sqlalchemy_url, pool_size=self.settings.database_pool_size)
        self.broker = RabbitBroker(
            self.settings.common.amqp_url,
            app_id=f"imi-{self.settings.service}",
            logger=None,
        )
        if self.outbox is not None:
            self.relay = OutboxRelay(
                self.db,
                self.outbox,
                self.settings.common.amqp_url,
                batch_size=self.settings.relay_batch_size,
            )

    @property
    def service(self) -> str:
        return self.settings.service

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.db.ping(), 2)
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports any failure as not ready
            checks["database"] = f"failed: {type(exc).__name__}"
        try:
            ok = await asyncio.wait_for(self.broker.ping(timeout=2), 3)
            if ok and self.consumer is not None and not self.consumer.connected:
                ok = False
            checks["broker"] = "ok" if ok else "failed: no connection"
        except Exception as exc:  # readiness reports any failure as not ready
            checks["broker"] = f"failed: {type(exc).__name__}"
        return checks

    async def start(self) -> None:
        background = self.role in ("all", "background")
        if self.role != "background":
            await self._start_serving()
        elif self.outbox is not None:
            await declare_topology(self.settings.common.amqp_url, None, ())
        if self.relay is not None and self.start_relay and background:
            self._spawn(self.relay.run(), "outbox-relay")
        elif self.role == "web" and self.outbox is not None:
            self.outbox.notify_through(self.db)
        if background:
            jobs = list(self.jobs)
            if self.outbox is not None:
                jobs.append(PeriodicJob("outbox-purge", 3600, self._purge))
            for job in jobs:
                self._spawn(self._run_periodically(job), job.name)
        log.info("service started", port=self.settings.port, role=self.role)

    async def _start_serving(self) -> None:
        await declare_topology(
            self.settings.common.amqp_url,
            self.service if self.consumer is not None else None,
            self.consumer.binding_keys if self.consumer is not None else (),
        )
        await self.broker.start()
        if self.consumer is not None:
            await self.consumer.start(
                self.settings.common.amqp_url, self.db, prefetch=self.settings.consumer_prefetch
            )
        for startup in self.extra_startup:
            await startup(self)

    async def stop(self) -> None:
        """Stop everything; each step is bounded, so a peer that does not answer (a broker
        mid-reconnect, a stuck task) delays shutdown by seconds, never holds it for ever."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_STEP_SECONDS)
            if pending:
                log.warning("tasks still running at shutdown", count=len(pending))
        self._tasks.clear()
        steps: list[tuple[str, Awaitable[Any]]] = []
        if self.role != "background":
            steps += [
                (getattr(step, "__name__", "shutdown"), step(self)) for step in self.extra_shutdown
            ]
            if self.consumer is not None:
                steps.append(("consumer", self.consumer.stop()))
            steps.append(("broker", self.broker.stop()))
        steps.append(("database", self.db.dispose()))
        for name, step in steps:
            try:
                await asyncio.wait_for(step, STOP_STEP_SECONDS)
            except TimeoutError:
                log.warning("shutdown step timed out", step=name)
            except Exception:
                log.exception("shutdown step failed", step=name)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(f"{self.service}:{name}")

    async def _run_periodically(self, job: PeriodicJob) -> None:
        while True:
            try:
                await job.run(self.db)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failing job is logged and tried again next period
                log.exception("periodic job failed", job=job.name)
            await asyncio.sleep(job.interval)

    async def _purge(self, db: Database) -> None:
        assert self.outbox is not None
        await purge_published(db, self.outbox)

    def fastapi(self, routers: Sequence[APIRouter] = (), **kwargs: Any) -> FastAPI:
        """The service's FastAPI app with health, metrics, problem handlers and identity."""
        common = self.settings.common
        configure_logging(service=self.service, level=common.log_level, fmt=common.log_format)

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        kwargs.setdefault("default_response_class", JSONBody)
        app = FastAPI(title=self.title, lifespan=lifespan, **kwargs)
        app.state.runtime = self
        app.state.db = self.db
        app.state.identity_verifier = IdentityVerifier.from_settings(common)
        app.add_middleware(ObservabilityMiddleware, service=self.service)
        install_problem_handlers(app)
        install_health_routes(app, self.readiness)
        for router in routers:
            app.include_router(router)

        document = asyncapi_document(
            self.service,
            title=f"{self.title}: events",
            published=published_events(self.service),
            consumer=self.consumer,
        )

        @app.get("/v1/asyncapi.json", tags=["events"])
        async def asyncapi() -> Any:
            """The AsyncAPI 3 document of the events this service publishes and consumes."""
            return document

        @app.get("/v1/whoami", tags=["identity"])
        async def whoami(identity: IdentityDep) -> Identity:
            """The identity this service verified from the caller's token."""
            return identity

        return app


def freeze_heap_after_startup(app: FastAPI) -> FastAPI:
    """Once the app has started, everything made so far (modules, catalogues, templates,
    pools) lives as long as the process: moved out of the collector's reach (``gc.freeze``), it
    is not scanned again by every full collection; and young collections come less often
    (``GC_THRESHOLDS``). For a serving process only: a test process starts many apps and would
    keep the garbage of each."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with started(app) as state:
            _freeze_heap()
            yield state

    app.router.lifespan_context = lifespan
    return app


def _freeze_heap() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _uvicorn_config(app: FastAPI, settings: ServiceSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )


def serve(app_factory: Callable[[Any], FastAPI], settings: ServiceSettings) -> None:
    """Run the service (``python -m services.<name>``): one uvicorn process, or with
    ``workers`` above one or a ``background_process``, a supervised set (``serve_workers``)."""
    if settings.workers > 1 or settings.background_process:
        raise SystemExit(serve_workers(app_factory, settings))
    server = uvicorn.Server(
        _uvicorn_config(freeze_heap_after_startup(app_factory(settings)), settings)
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:  # as uvicorn.run: a startup that failed exits non-zero
        raise SystemExit(STARTUP_FAILURE)


def run_background(app: FastAPI) -> int:
    """The service's relay and periodic jobs without HTTP, until SIGTERM or SIGINT, at the
    niceness ``background_nice``."""
    runtime: ServiceRuntime = app.state.runtime
    runtime.role = "background"
    # the workers' calls first; the relay publishes with the CPU they leave
    os.nice(runtime.settings.background_nice)

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await runtime.start()
        _freeze_heap()
        try:
            await stopping.wait()
        finally:
            await runtime.stop()

    uvloop.run(main())
    return 0


def _exit_with(supervisor: int) -> None:
    """Have the kernel send this worker SIGTERM when its supervisor dies, however it dies
    (Linux ``PR_SET_PDEATHSIG``): no worker outlives a supervisor killed with SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != supervisor:  # it died before the request took effect
        raise SystemExit(1)


def serve_workers(app_factory: Callable[[Any], FastAPI], settings: ServiceSettings) -> int:
    """``settings.workers`` serving processes on one port, and with ``background_process`` one
    more that runs the relay and the periodic jobs (``run_background``) while the workers serve,
    consume and wake it after their commits. Each worker binds its own socket with
    ``SO_REUSEPORT``, so the kernel spreads new connections evenly over them; each process
    builds its own app, with its own database pool, as replicas do (the relay and the jobs
    claim their rows with ``SKIP LOCKED``, the consumers share the service's queue). This
    process only supervises: SIGTERM or SIGINT is passed on and waited for; a process that dies
    on its own stops the others, and the exit code tells the orchestrator to start the service
    again. Returns the exit code."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # The port must be free: a socket of another process with SO_REUSEPORT would otherwise
    # share it with the workers unseen.
    with socket.socket(family) as probe:
        probe.bind((settings.host, settings.port))

    def worker() -> int:
        app = app_factory(settings)
        if settings.background_process:
            app.state.runtime.role = "web"
        sock = socket.socket(family)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((settings.host, settings.port))
        server = uvicorn.Server(_uvicorn_config(freeze_heap_after_startup(app), settings))
        server.run(sockets=[sock])
        return 0 if server.started else STARTUP_FAILURE

    supervisor = os.getpid()
    children: list[int] = []
    roles = ["web"] * settings.workers + (["background"] if settings.background_process else [])
    for role in roles:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _exit_with(supervisor)
                code = worker() if role == "web" else run_background(app_factory(settings))
            except BaseException:  # a worker reports its failure in its exit code
                log.exception("worker failed")
            finally:
                os._exit(code)
        children.append(pid)
    stopping = False

    def stop(signum: int, _: Any) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children:
            continue
        children.remove(pid)
        exit_code = os.waitstatus_to_exitcode(status)
        if not stopping:
            log.error("worker exited; stopping the others", pid=pid, exit_code=exit_code)
            code = exit_code or 1
            stop(signal.SIGTERM, None)
    return code
