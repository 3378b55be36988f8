"""The API as production runs it, for attack tests: `vidassets api` (uvicorn, access log with redaction) in its own
process on a free loopback port, over the session's real SeaweedFS (own bucket), a real Dagster instance folder
and the API's sqlite database beside it. The test process shares that database and instance to create keys and
runs, and reads the server's resident memory from /proc."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from vidassets.api.auth import create_key
from vidassets.api.db import engine_for
from vidassets.procs import LOOPBACK, find_executable, free_ports, stop_group

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000  # bytes only; these tests never process them
READY_TIMEOUT_S = 120


@dataclass
class ApiProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    home: Path
    bucket: str
    env: dict[str, str]

    @property
    def db_path(self) -> Path:
        return self.home / "vidassets_api.sqlite"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def key(self, user: str, max_priority: int | None = None) -> str:
        return create_key(engine_for(self.db_url), user, max_priority)[0]

    def rss_kib(self) -> int:
        """VmRSS of the API process, from /proc/<pid>/status."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS for pid {self.proc.pid}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def upload(self, key: str, filename: str = "talk.mp4", data: bytes = VIDEO, **body: Any) -> dict[str, Any]:
        """An upload ticket from the API, with `data` PUT to its URL."""
        response = httpx.post(f"{self.url}/v1/uploads", headers=auth(key), json={
            "filename": filename, "content_type": "video/mp4", "size": len(data), **body})
        assert response.status_code == 201, response.text
        ticket = response.json()
        put = httpx.put(ticket["upload_url"], content=data, headers=ticket["headers"])
        assert put.status_code == 200, put.text
        return ticket


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def dagster_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    return path


@contextmanager
def api_process(
    workdir: Path, s3_server: Any, bucket: str, extra_env: dict[str, str] | None = None, home: Path | None = None,
) -> Iterator[ApiProcess]:
    """`vidassets api` on a free port until the block ends (its process group is stopped)."""
    workdir.mkdir(parents=True, exist_ok=True)
    home = home or dagster_home(workdir / "dagster_home")
    try:
        s3_server.client().create_bucket(Bucket=bucket)
    except s3_server.client().exceptions.BucketAlreadyOwnedByYou:
        pass
    port = free_ports(1, LOOPBACK)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDASSETS_", "AWS_"))}
    env.update(s3_server.env())
    env.update({
        "DAGSTER_HOME": str(home),
        "VIDASSETS_WATCH_BUCKET": bucket,
        "VIDASSETS_WATCH_PREFIX": "uploads/",
        "VIDASSETS_STORAGE_ROOT": f"s3://{bucket}/store",
        "VIDASSETS_SCRATCH": str(workdir / "scratch"),
        **(extra_env or {}),
    })
    log_path = workdir / f"api-{port}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - argument list
            [find_executable("vidassets"), "api", "--host", LOOPBACK, "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = ApiProcess(f"http://{LOOPBACK}:{port}", proc, log_path, home, bucket, env)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"vidassets api exited:\n{server.log()[-3000:]}"
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"vidassets api did not answer:\n{server.log()[-3000:]}"
            time.sleep(0.3)
        yield server
    finally:
        stop_group(proc.pid, 10, proc=proc)
