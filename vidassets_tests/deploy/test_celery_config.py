"""deploy/dagster-celery.yaml (warm workers in production) as a real instance on PostgreSQL, and the Kubernetes
worker manifests against the queue layout the launcher and workers use."""

from pathlib import Path

import yaml
from dagster_postgres import PostgresRunStorage

from vidassets.deploy.celery_launcher import WarmWorkerRunLauncher
from vidassets.workers.broker import queue_keys
from vidassets.workers.queues import PRIORITY_LEVELS, broker_priority

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_celery_config_is_a_working_instance(deploy_instance, monkeypatch):
    monkeypatch.setenv("VIDASSETS_BROKER_URL", "rediss://broker.example:6379/0")
    monkeypatch.setenv("VIDASSETS_RESULT_BACKEND", "db+postgresql+psycopg2://u@db.example/dagster")
    instance = deploy_instance("dagster-celery")
    launcher = instance.run_launcher
    assert isinstance(launcher, WarmWorkerRunLauncher)
    assert launcher.broker == "rediss://broker.example:6379/0"
    assert launcher.celery.conf.task_acks_late and launcher.celery.conf.worker_prefetch_multiplier == 1
    assert isinstance(instance.run_storage, PostgresRunStorage)
    limits = {limit["value"]: limit["limit"] for limit in instance.get_concurrency_config().run_queue_config
              .tag_concurrency_limits}
    assert set(limits) == {"gpu", "cpu"}
    assert instance.run_retries_enabled and instance.run_monitoring_enabled
    assert instance.run_monitoring_max_resume_run_attempts == 0


def test_keda_triggers_watch_the_lists_named_priorities_use():
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "workers.yaml").read_text()))
    gpu = next(d for d in docs if d["kind"] == "ScaledObject" and d["metadata"]["name"] == "vidassets-gpu-worker")
    watched = {trigger["metadata"]["listName"] for trigger in gpu["spec"]["triggers"]}
    keys = queue_keys("gpu")
    assert watched == {keys[broker_priority(level)] for level in PRIORITY_LEVELS.values()}
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "vidassets-gpu-worker")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:4] == ["vidassets", "worker", "--queue", "gpu"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
