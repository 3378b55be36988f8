"""The embedded default instance (repo dagster.yaml as `vidassets up` writes it): warm workers, retries, monitoring."""

from pathlib import Path

import dagster as dg
import yaml

from vidassets.deploy.celery_launcher import WarmWorkerRunLauncher
from vidassets.devstack.run import write_instance_config
from vidassets.workers.sizing import WorkerPlan

REPO = Path(__file__).resolve().parents[2]


def test_up_writes_the_repo_instance_with_limits_from_the_worker_plan(tmp_path):
    plan = WorkerPlan(cores=2, gpus=0, gpu_workers=2, threads=1)
    write_instance_config(REPO / "dagster.yaml", tmp_path / "dagster.yaml", plan)
    limits = yaml.safe_load((tmp_path / "dagster.yaml").read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {(limit["value"], limit["limit"]) for limit in limits} >= {("gpu", 3)}
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:  # builds without a broker running
        assert isinstance(instance.run_launcher, WarmWorkerRunLauncher)
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert instance.run_monitoring_enabled and instance.run_monitoring_poll_interval_seconds <= 30
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
