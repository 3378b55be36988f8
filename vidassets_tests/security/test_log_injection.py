"""Tenant-controlled strings never forge log lines (issue 17): an object key with a newline in it, uploaded to the
real SeaweedFS and relayed by `vidassets upload-events` (the real filer subscription into a real Redis), is logged
with repr(): one line, the newline escaped."""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

from vidassets.ingest.events import RedisUploadQueue
from vidassets.procs import ManagedProcess
from vidassets.workers.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
FORGED = "upload event: 'victim-video.mp4' (1 bytes)"


def _wait(condition, timeout: float, process: ManagedProcess) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; relay log:\n{process.log_tail(60)}"
        time.sleep(0.1)


def test_a_key_with_a_newline_is_one_escaped_log_line(s3_server, tmp_path):
    bucket = f"sec-logs-{secrets.token_hex(3)}"
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    with RedisServer(tmp_path / "redis") as redis:
        env = {**os.environ, **s3_server.env(), "VIDASSETS_WATCH_BUCKET": bucket, "VIDASSETS_WATCH_PREFIX": "uploads/"}
        argv = [sys.executable, "-m", "vidassets.cli", "upload-events", "--filer", s3_server.filer_address(),
                "--events-url", redis.url]
        with ManagedProcess("upload-events", argv, tmp_path / "relay.log", cwd=REPO, env=env) as relay:
            _wait(lambda: "following the filer" in relay.log_tail(), 30, relay)
            time.sleep(1.0)  # the subscription is open shortly after the process says it follows
            key = f"uploads/a\n{FORGED}\r\nb.mp4"
            client.put_object(Bucket=bucket, Key=key, Body=b"x" * 10)
            _wait(lambda: RedisUploadQueue(redis.url).backlog() >= 1, 30, relay)
            _wait(lambda: "(10 bytes)" in relay.log_tail(), 10, relay)
            lines = relay.log_tail(200).splitlines()
    assert not [line for line in lines if line.startswith(FORGED)], lines
    [logged] = [line for line in lines if line.startswith("upload event: ")]
    assert logged == f"upload event: {f's3://{bucket}/{key}'!r} (10 bytes)"
    assert "\\n" in logged and "\\r" in logged
