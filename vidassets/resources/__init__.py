"""Resources, built from the environment in one place so the code location, CLI and tests agree."""

import os

from dagster_aws.s3 import S3Resource

from vidassets.resources.io_manager import ManifestIOManager
from vidassets.resources.models import ModelStore
from vidassets.resources.storage import VideoStorage
from vidassets.resources.uploads import UploadsBucket


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
        "models": ModelStore(
            device=os.environ.get("VIDASSETS_DEVICE", "auto"),
            cpu_threads=int(os.environ.get("VIDASSETS_CPU_THREADS", "0")),
        ),
        "uploads": UploadsBucket(
            bucket=os.environ.get("VIDASSETS_WATCH_BUCKET", "vidassets"),
            prefix=os.environ.get("VIDASSETS_WATCH_PREFIX", "uploads/"),
        ),
    }
