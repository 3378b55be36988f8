"""How many run workers a host gets and how many inference threads each: workers x threads <= cores, one
worker per GPU on a GPU host. Env overrides: VIDASSETS_GPU_WORKERS, VIDASSETS_CPU_THREADS."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerPlan:
    cores: int
    gpus: int
    gpu_workers: int  # workers on the `gpu` queue (model work), one run at a time each
    threads: int  # inference threads per gpu-queue worker (VIDASSETS_CPU_THREADS in its environment)
    cpu_workers: int = 1  # workers on the `cpu` queue (warehouse rows, compaction): light, one thread

    def describe(self) -> str:
        where = f"{self.gpus} GPU(s)" if self.gpus else "no GPU"
        return (
            f"{self.gpu_workers} gpu-queue worker(s) x {self.threads} inference thread(s) on {self.cores} cores "
            f"({where}), {self.cpu_workers} cpu-queue worker(s)"
        )


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def visible_gpus() -> int:
    """NVIDIA GPUs this process may use, without importing torch: CUDA_VISIBLE_DEVICES, else /dev/nvidiaN."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    return len(glob.glob("/dev/nvidia[0-9]*"))


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise ValueError(f"{name}={value} must be at least 1")
    return value


def plan_workers(cores: int | None = None, gpus: int | None = None) -> WorkerPlan:
    """The default plan for this host.

    GPU host: one worker per GPU, the cores shared between them for decoding and CPU-side work.
    CPU host: one inference thread per worker up to 4 cores (short videos spend much of a run outside
    inference, so two runs side by side beat one run with two threads), two threads per worker above that.
    """
    cores = available_cores() if cores is None else cores
    gpus = visible_gpus() if gpus is None else gpus
    threads = _env_int("VIDASSETS_CPU_THREADS")
    workers = _env_int("VIDASSETS_GPU_WORKERS")
    if gpus > 0:
        workers = workers or gpus
        threads = threads or max(1, cores // workers)
    else:
        threads = threads or (1 if cores <= 4 else 2)
        workers = workers or max(1, cores // threads)
    if workers * threads > cores and gpus == 0:
        raise ValueError(
            f"{workers} workers x {threads} threads exceed the {cores} cores; lower VIDASSETS_GPU_WORKERS "
            "or VIDASSETS_CPU_THREADS"
        )
    return WorkerPlan(cores=cores, gpus=gpus, gpu_workers=workers, threads=threads)
