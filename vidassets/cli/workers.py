"""`vidassets worker|workers`: one warm run worker in the foreground, and what the queues and workers are doing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from vidassets.settings import load_settings
from vidassets.workers.command import exec_worker
from vidassets.workers.queues import CPU_QUEUE, GPU_QUEUE


def worker_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets worker --queue gpu|cpu`: one Celery run worker in the foreground (the container command).

    Threads default to the plan for this host (all its cores for one gpu-queue worker per container).
    """
    description = (worker_main.__doc__ or "").split("\n\n")[0]
    workers = load_settings().workers
    parser = argparse.ArgumentParser(prog="vidassets worker", description=description)
    parser.add_argument("--queue", choices=(GPU_QUEUE, CPU_QUEUE), default=GPU_QUEUE)
    parser.add_argument("--name", help="node name prefix (default: the queue name)")
    parser.add_argument("--threads", type=int, default=workers.cpu_threads,
                        help="inference threads (default: $VIDASSETS_CPU_THREADS, else all cores for gpu, 1 for cpu)")
    parser.add_argument("--max-runs-per-child", type=int,
                        default=workers.max_runs_per_child,
                        help="recycle the run process after this many runs (0: never)")
    parser.add_argument("--max-rss-mb", type=int, default=workers.max_rss_mb,
                        help="recycle the run process after a run that leaves it above this resident size (0: off)")
    args = parser.parse_args(argv)
    exec_worker(queue=args.queue, name=args.name, threads=args.threads,
                max_runs_per_child=args.max_runs_per_child, max_rss_mb=args.max_rss_mb)
    return 0  # not reached: the worker replaced this process


def workers_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets workers [--broker URL] [--json] [--cloudwatch NAMESPACE]`; 1 when the broker cannot be read."""
    from vidassets.workers.status import publish_queue_depths, queue_depths, runs_in_flight, worker_report

    parser = argparse.ArgumentParser(
        prog="vidassets workers", description="Run queues, workers and runs in flight (warm-worker deployments)."
    )
    parser.add_argument("--broker", help="broker URL (default: $VIDASSETS_BROKER_URL or redis://127.0.0.1:6379/0)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--cloudwatch", metavar="NAMESPACE",
                        help="also publish QueueDepth per queue to CloudWatch (the scaling signal on AWS)")
    args = parser.parse_args(argv)
    url = args.broker or load_settings().workers.broker_url
    if args.broker:
        # worker_report's Celery app (vidassets.workers.celery_app, imported below) reads its broker from the
        # settings when it is imported: hand it the one given here
        os.environ["VIDASSETS_BROKER_URL"] = args.broker
    try:
        depths = queue_depths(url)
    except Exception as exc:  # noqa: BLE001 - any connection problem is reported as such
        print(f"error: cannot read the broker at {url.split('@')[-1]}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.cloudwatch:
        publish_queue_depths(args.cloudwatch, depths)
    if args.json:
        print(json.dumps({
            "queues": {queue: sum(by_key.values()) for queue, by_key in depths.items()},
            "workers": worker_report(), "runs_in_flight": runs_in_flight(),
        }))
        return 0
    print("queues (waiting in the broker):")
    for queue, by_key in depths.items():
        detail = ", ".join(f"{key}={n}" for key, n in by_key.items())
        print(f"  {queue}: {sum(by_key.values())}" + (f"  ({detail})" if detail else ""))
    workers = worker_report()
    print(f"workers ({len(workers)} answering):")
    for node, info in workers.items():
        running = ", ".join(run[:8] for run in info["running"]) or "idle"
        print(f"  {node}  queues={','.join(info['queues'])}  running: {running}")
    flight = runs_in_flight()
    if flight is not None:
        print("runs in flight (Dagster):")
        for queue, by_status in sorted(flight.items()):
            print(f"  {queue}: " + ", ".join(f"{status}={n}" for status, n in sorted(by_status.items())))
    return 0
