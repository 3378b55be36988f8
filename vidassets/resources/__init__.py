"""Resources, built from the environment in one place so the code location, CLI and tests agree."""

import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from vidassets.resources.io_manager import ManifestIOManager
from vidassets.resources.models import ModelStore
from vidassets.resources.storage import VideoStorage
from vidassets.resources.uploads import UploadsBucket


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def model_store_from_env() -> ModelStore:
    """Model choice from `VIDASSETS_*` variables; the HF token stays an EnvVar, so it is never displayed."""
    return ModelStore(
        device=os.environ.get("VIDASSETS_DEVICE", "auto"),
        cpu_threads=int(os.environ.get("VIDASSETS_CPU_THREADS", "0")),
        whisper_model=os.environ.get("VIDASSETS_WHISPER_MODEL", "base"),
        compute_type=os.environ.get("VIDASSETS_COMPUTE_TYPE", "auto"),
        batch_size=int(os.environ.get("VIDASSETS_BATCH_SIZE", "8")),
        language=os.environ.get("VIDASSETS_LANGUAGE") or None,
        vad_method=os.environ.get("VIDASSETS_VAD", "auto"),
        align_model=os.environ.get("VIDASSETS_ALIGN_MODEL") or None,
        diarization_model=os.environ.get("VIDASSETS_DIARIZATION_MODEL") or None,
        offline_diarizer=os.environ.get("VIDASSETS_DIARIZER") or "segmentation",
        hf_token=dg.EnvVar("HF_TOKEN") if os.environ.get("HF_TOKEN") else None,
        min_speakers=_optional_int("VIDASSETS_MIN_SPEAKERS"),
        max_speakers=_optional_int("VIDASSETS_MAX_SPEAKERS"),
        llm_model=os.environ.get("VIDASSETS_LLM_MODEL") or None,
    )


def build_resources(storage_root: str | None = None) -> dict[str, object]:
    """Resources for the code location. S3 endpoint and credentials come from the standard AWS
    environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, roles…), never from config shown in the UI."""
    s3 = S3Resource(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    storage = VideoStorage(
        root=storage_root or os.environ.get("VIDASSETS_STORAGE_ROOT", "s3://vidassets"),
        s3=s3,
        scratch_dir=os.environ.get("VIDASSETS_SCRATCH"),
    )
    return {
        "s3": s3,
        "storage": storage,
        "io_manager": ManifestIOManager(storage=storage),
        "models": model_store_from_env(),
        "uploads": UploadsBucket(
            bucket=os.environ.get("VIDASSETS_WATCH_BUCKET", "vidassets"),
            prefix=os.environ.get("VIDASSETS_WATCH_PREFIX", "uploads/"),
        ),
    }
