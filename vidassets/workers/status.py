"""What the run queues hold, which workers serve them and what they run, for operators (`vidassets workers`).

Reads the broker (Redis: queue lengths per priority) and asks the workers over it (Celery inspect); with
DAGSTER_HOME set, also counts runs in flight per queue in the Dagster instance.
"""

from __future__ import annotations

from typing import Any

from vidassets.settings import load_settings
from vidassets.workers.broker import queue_keys
from vidassets.workers.queues import QUEUE_TAG, QUEUES


def queue_depths(url: str) -> dict[str, dict[str, int]]:
    """Messages waiting per queue, by Redis priority (only non-empty priorities)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3)
    depths: dict[str, dict[str, int]] = {}
    for queue in QUEUES:
        keys = queue_keys(queue)
        with client.pipeline() as pipe:
            for key in keys:
                pipe.llen(key)
            counts = pipe.execute()
        depths[queue] = {key: int(count) for key, count in zip(keys, counts, strict=True) if count}
    return depths


def worker_report(timeout: float = 1.5) -> dict[str, dict[str, Any]]:
    """Per worker node: its queues and the runs (Dagster run ids) it is executing now."""
    from vidassets.workers.celery_app import app

    inspect = app.control.inspect(timeout=timeout)
    active = inspect.active() or {}
    queues = inspect.active_queues() or {}
    report = {}
    for node in sorted(set(active) | set(queues)):
        runs = []
        for task in active.get(node, []):
            packed = (task.get("kwargs") or {}).get("execute_job_args_packed") or {}
            # ExecuteRunArgs is stored with its legacy field name (dagster serdes)
            runs.append(str(packed.get("pipeline_run_id") or packed.get("run_id") or task.get("id")))
        report[node] = {"queues": [q["name"] for q in queues.get(node, [])], "running": runs}
    return report


def runs_in_flight() -> dict[str, dict[str, int]] | None:
    """Runs per queue tag and status (QUEUED in Dagster, STARTING in the broker, STARTED on a worker)."""
    if not load_settings().dagster_home:
        return None
    import dagster as dg

    statuses = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    counts: dict[str, dict[str, int]] = {}
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records(filters=dg.RunsFilter(statuses=statuses)):
            run = record.dagster_run
            queue = run.tags.get(QUEUE_TAG, "-")
            counts.setdefault(queue, {}).setdefault(run.status.value, 0)
            counts[queue][run.status.value] += 1
    return counts


def publish_queue_depths(namespace: str, depths: dict[str, dict[str, int]]) -> None:
    """CloudWatch metric `QueueDepth` (dimension Queue) per queue: what the GPU worker service scales on."""
    import boto3

    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": "QueueDepth", "Dimensions": [{"Name": "Queue", "Value": queue}],
             "Value": float(sum(by_key.values())), "Unit": "Count"}
            for queue, by_key in depths.items()
        ],
    )
