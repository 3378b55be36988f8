"""Real servers for the webhook attack tests (`test_webhook_*.py`): the API under uvicorn twice over one database
and the session's SeaweedFS, once with the settings an operator ships (`strict`: no private destination) and once
with loopback allowed on the test receiver's port only (`pinned`); loopback receivers that record, redirect or drip.
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import httpx
import pytest
import sqlalchemy as sa

from vidassets.api import webhooks
from vidassets.api.app import create_app
from vidassets.api.auth import create_key
from vidassets.api.db import engine_for
from vidassets.api.db import webhooks as webhooks_table
from vidassets.api.outbound import parse_allow_list
from vidassets.api.settings import WEBHOOK_ALLOW_PRIVATE_ENV, ApiSettings
from vidassets.procs import LOOPBACK
from vidassets_tests.api.harness import ApiServer

_events = itertools.count()


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


@dataclass
class Listener:
    """An HTTP server on `host` that records every POST and answers `status` (with `location`, for redirects)."""

    host: str = LOOPBACK
    port: int = 0
    status: int = 200
    location: str | None = None
    received: list[Request] = field(default_factory=list)

    def __enter__(self) -> Listener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                listener.received.append(Request(dict(self.headers.items()), body, time.monotonic()))
                self.send_response(listener.status)
                if listener.location:
                    self.send_header("Location", listener.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{self.host}:{self.port}/hooks/vidassets"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class DripServer:
    """Reads a request, then answers one byte every `interval_s` (a valid response, never finished in time)."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.connections = 0
        self._stop = threading.Event()

    def __enter__(self) -> DripServer:
        self.sock = socket.create_server((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}/slow"
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            response = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * 200 + b"\r\nContent-Length: 0\r\n\r\n"
            for byte in response:
                if self._stop.wait(self.interval_s):
                    return
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    return  # the sender gave up

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()


@dataclass
class HookStack:
    s3_server: object
    bucket: str
    engine: sa.Engine
    strict: ApiSettings  # what an operator ships: public destinations only
    pinned: ApiSettings  # loopback allowed on the receiver's port only
    strict_api: ApiServer
    pinned_api: ApiServer
    receiver: Listener

    def pinned_for(self, port: int) -> ApiSettings:
        """The shipped settings with loopback allowed on `port` only."""
        return dataclasses.replace(self.strict, webhook_allow_private=parse_allow_list(f"{LOOPBACK}:{port}"))

    def key_for(self, user: str) -> str:
        return create_key(self.engine, user)[0]

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key_for(user)}"}

    def register(self, api: ApiServer, headers: dict[str, str], url: str) -> httpx.Response:
        return httpx.post(f"{api.url}/v1/webhooks", json={"url": url}, headers=headers)

    def hooks_of(self, headers: dict[str, str]) -> list[dict]:
        return httpx.get(f"{self.strict_api.url}/v1/webhooks", headers=headers).json()["webhooks"]

    def legacy_hook(self, user: str, url: str) -> str:
        """A webhook row as a database from before the checks holds it (registration accepted any URL)."""
        hook_id = secrets.token_hex(8)
        with self.engine.begin() as conn:
            conn.execute(webhooks_table.insert().values(id=hook_id, user=user, url=url, secret="whsec_legacy",
                                                        created_at=time.time()))
        return hook_id

    def event(self, user: str, settings: ApiSettings | None = None) -> str:
        """One `video.completed` event queued for each of the user's webhooks; returns its id."""
        event_id = f"run-{next(_events)}-{secrets.token_hex(3)}.success"
        webhooks.enqueue(self.engine, user, event_id, "video.completed", "v-0123456789ab", {"video_id": "v"},
                         max_pending=(settings or self.strict).webhook_max_pending)
        return event_id

    def deliveries(self, user: str) -> dict[str, dict]:
        """The user's delivery log by webhook id (the newest delivery of each)."""
        log = webhooks.list_deliveries(self.engine, user, limit=500)
        return {entry["webhook_id"]: entry for entry in reversed(log)}


@pytest.fixture(scope="module")
def hook_stack(s3_server, tmp_path_factory) -> Iterator[HookStack]:
    home = tmp_path_factory.mktemp("hooks_home")
    bucket = f"sec-hooks-{secrets.token_hex(3)}"
    s3_server.client().create_bucket(Bucket=bucket)
    with pytest.MonkeyPatch.context() as env, Listener() as receiver:
        for name, value in s3_server.env().items():
            env.setenv(name, value)
        env.setenv("DAGSTER_HOME", str(home))
        env.setenv("VIDASSETS_WATCH_BUCKET", bucket)
        env.setenv("VIDASSETS_STORAGE_ROOT", f"s3://{bucket}/store")
        env.delenv("VIDASSETS_API_DB_URL", raising=False)
        for name in (WEBHOOK_ALLOW_PRIVATE_ENV, "VIDASSETS_WEBHOOK_MAX_PER_USER", "VIDASSETS_WEBHOOK_MAX_PENDING",
                     "VIDASSETS_WEBHOOK_TIMEOUT_S"):
            env.delenv(name, raising=False)
        strict = ApiSettings.from_env()
        pinned = dataclasses.replace(strict, webhook_allow_private=parse_allow_list(f"{LOOPBACK}:{receiver.port}"))
        with dg.instance_for_test() as instance, ApiServer(create_app(strict, instance)) as strict_api, \
                ApiServer(create_app(pinned, instance)) as pinned_api:
            yield HookStack(s3_server, bucket, engine_for(strict.db_url), strict, pinned, strict_api, pinned_api,
                            receiver)
