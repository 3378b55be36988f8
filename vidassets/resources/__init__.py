"""Resources, built from the environment in one place so the code location, CLI and tests agree."""

import os

from dagster_aws.s3 import S3Resource

from vidassets.model_config import ModelConfig, current_model_config
from vidassets.resources.io_manager import ManifestIOManager
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.resources.uploads import UploadsBucket
from vidassets.storage.layout import root_from_env


def build_resources(storage_root: str | None = None, model_config: ModelConfig | None = None) -> dict[str, object]:
    """Resources for the code location. S3 endpoint and credentials come from the standard AWS environment
    (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, roles…), never from config shown in the UI; model choice from
    `current_model_config()` (the object the assets' code versions name) unless one is given."""
    storage = VideoStorage(root=storage_root or root_from_env(), scratch_dir=os.environ.get("VIDASSETS_SCRATCH"))
    return {
        "s3": S3Resource(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")),
        "storage": storage,
        "io_manager": ManifestIOManager(storage=storage),
        "models": ModelLoader(model_config or current_model_config(), hf_token=os.environ.get("HF_TOKEN") or None),
        "uploads": UploadsBucket(
            bucket=os.environ.get("VIDASSETS_WATCH_BUCKET", "vidassets"),
            prefix=os.environ.get("VIDASSETS_WATCH_PREFIX", "uploads/"),
        ),
    }
