"""Command lines and environments of run workers (used by `vidassets up`, the tests and docs/DEPLOY.md)."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

from vidassets.workers.queues import CPU_QUEUE, GPU_QUEUE
from vidassets.workers.sizing import WorkerPlan

APP = "vidassets.workers.celery_app"


@dataclass(frozen=True)
class WorkerSpec:
    """One Celery worker: a parent that talks to the broker and one pool child that executes runs."""

    name: str  # gpu1, cpu1: also its log file name and the node name prefix
    queue: str
    threads: int
    max_runs_per_child: int  # 0: never recycle on count (VIDASSETS_WORKER_MAX_RUNS)
    gpu_index: int | None = None
    max_rss_mb: int = 0  # recycle the child after a run that leaves it above this resident size; 0: off

    @property
    def node(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def argv(self, python: str = sys.executable) -> list[str]:
        argv = [
            python, "-m", "celery", "-A", APP, "worker",
            "--queues", self.queue,
            "--hostname", self.node,
            "--pool", "prefork",
            "--concurrency", "1",
            "--prefetch-multiplier", "1",
            "-O", "fair",
            "--without-gossip", "--without-mingle",
            "--loglevel", "INFO",
        ]
        if self.max_runs_per_child:
            argv += ["--max-tasks-per-child", str(self.max_runs_per_child)]
        if self.max_rss_mb:
            argv += ["--max-memory-per-child", str(self.max_rss_mb * 1024)]  # Celery counts KiB
        return argv

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` plus the thread and device settings of this worker (read by ModelConfig and the BLAS libs)."""
        env = dict(base)
        threads = str(self.threads)
        env.update(
            VIDASSETS_CPU_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
            OPENBLAS_NUM_THREADS=threads, PYTHONUNBUFFERED="1",
        )
        if self.gpu_index is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(self.gpu_index)
        if self.queue == GPU_QUEUE:
            env.setdefault("VIDASSETS_WORKER_PRELOAD", "1")  # models loaded before the first run (preload.py)
        return env


def worker_specs(plan: WorkerPlan, max_runs_per_child: int, max_rss_mb: int) -> list[WorkerSpec]:
    """The gpu-queue workers of `plan` (pinned to one GPU each on a GPU host) and its cpu-queue workers.

    Recycling: `VIDASSETS_WORKER_MAX_RUNS`, `VIDASSETS_WORKER_MAX_RSS_MB` (`Settings.workers`).
    """
    runs, rss = max_runs_per_child, max_rss_mb
    specs = [
        WorkerSpec(
            f"gpu{i + 1}", GPU_QUEUE, plan.threads, gpu_index=i if plan.gpus else None,
            max_runs_per_child=runs, max_rss_mb=rss,
        )
        for i in range(plan.gpu_workers)
    ]
    specs += [
        WorkerSpec(f"cpu{i + 1}", CPU_QUEUE, 1, max_runs_per_child=runs, max_rss_mb=rss)
        for i in range(plan.cpu_workers)
    ]
    return specs


def exec_worker(*, queue: str, name: str | None, threads: int | None, max_runs_per_child: int,
                max_rss_mb: int) -> None:
    """Replace this process with one Celery run worker for `queue` (signals reach Celery). Threads default to the
    plan for this host: all its cores for one gpu-queue worker per container, 1 for a cpu-queue worker."""
    from vidassets.model_config import available_cores

    threads = threads or (available_cores() if queue == GPU_QUEUE else 1)
    spec = WorkerSpec(name or queue, queue, threads, max_runs_per_child=max_runs_per_child, max_rss_mb=max_rss_mb)
    env = spec.env(dict(os.environ))
    argv = spec.argv()
    os.execvpe(argv[0], argv, env)  # noqa: S606 - argument list, replaces this process (signals reach Celery)
