"""The embedded default's run queue authenticates: a process that reaches Redis's port without the data folder's
password can neither read the queued runs nor inject one, and the password is not on the command line."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import redis

from vidassets.procs import LOOPBACK
from vidassets.workers.redis_server import CONFIG_FILE, PASSWORD_FILE, RedisServer


def test_redis_refuses_clients_without_the_password_and_keeps_it_across_restarts(tmp_path: Path):
    with RedisServer(tmp_path / "redis") as server:
        assert server.client().ping()
        server.client().lpush("gpu", "queued-run")
        anonymous = redis.Redis(host=LOOPBACK, port=server.port, socket_timeout=5)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.lrange("gpu", 0, -1)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.lpush("gpu", "injected-run")
        wrong = redis.Redis(host=LOOPBACK, port=server.port, password="guess", socket_timeout=5)
        with pytest.raises(redis.exceptions.AuthenticationError):
            wrong.ping()
        assert redis.Redis.from_url(server.url).lrange("gpu", 0, -1) == [b"queued-run"]
        assert server.password is not None and server.password not in server.address
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode(errors="replace")
        assert server.password not in cmdline, "the password must not be visible in the process list"
        for name in (PASSWORD_FILE, CONFIG_FILE):
            assert stat.S_IMODE((server.data_dir / name).stat().st_mode) == 0o600, name
        password = server.password
        server.restart()
        assert server.password == password and server.client().lrange("gpu", 0, -1) == [b"queued-run"]
