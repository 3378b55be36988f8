"""Model choice, device and a per-process cache: a run that handles many partitions loads each model once."""

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import dagster as dg

if TYPE_CHECKING:
    from vidassets.ml.nudenet_detector import NudeNetDetector

T = TypeVar("T")

_CACHE: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def cached_model(key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """Load once per process per `key` (model kind, path, device, compute type)."""
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load()
        return _CACHE[key]


def loaded_model_keys() -> list[tuple[Any, ...]]:
    return list(_CACHE)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class ModelStore(dg.ConfigurableResource):
    """Owns which models run, where (`cuda` when present, else `cpu`) and with how many CPU threads."""

    device: str = "auto"
    cpu_threads: int = 0
    nudenet_model_path: str | None = None

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if cuda_available() else "cpu"
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"ModelStore.device must be auto, cpu or cuda, not {self.device!r}")
        return self.device

    def threads(self) -> int:
        """CPU threads for inference: the cores this process may use (WhisperX's default of 4 thrashes 2 cores)."""
        if self.cpu_threads > 0:
            return self.cpu_threads
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def nudenet(self) -> "NudeNetDetector":
        from vidassets.ml.nudenet_detector import NudeNetDetector

        device = self.resolved_device()
        return cached_model(
            ("nudenet", self.nudenet_model_path, device, self.threads()),
            lambda: NudeNetDetector.load(self.nudenet_model_path, device=device, threads=self.threads()),
        )
