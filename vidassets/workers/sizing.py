"""How many run workers a host gets and how many inference threads each: workers x threads <= cores, one
worker per GPU on a GPU host. Overrides (VIDASSETS_GPU_WORKERS, VIDASSETS_CPU_THREADS) come in as values from
`vidassets.settings`."""

from __future__ import annotations

import glob
from dataclasses import dataclass

from vidassets.model_config import available_cores


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


def visible_gpus(cuda_visible_devices: str | None) -> int:
    """NVIDIA GPUs this process may use, without importing torch: `CUDA_VISIBLE_DEVICES` (the settings' value),
    else /dev/nvidiaN."""
    visible = cuda_visible_devices
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    return len(glob.glob("/dev/nvidia[0-9]*"))


def plan_workers(
    cores: int | None = None, gpus: int | None = None, *, threads: int | None = None, workers: int | None = None,
    cuda_visible_devices: str | None = None,
) -> WorkerPlan:
    """The plan for this host; `threads` and `workers` override it (`VIDASSETS_CPU_THREADS`,
    `VIDASSETS_GPU_WORKERS`), `cuda_visible_devices` says which GPUs count when `gpus` is not given.

    GPU host: one worker per GPU, the cores shared between them for decoding and CPU-side work.
    CPU host: one inference thread per worker up to 4 cores (short videos spend much of a run outside
    inference, so two runs side by side beat one run with two threads), two threads per worker above that.
    """
    cores = available_cores() if cores is None else cores
    gpus = visible_gpus(cuda_visible_devices) if gpus is None else gpus
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
