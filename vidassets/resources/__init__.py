"""Resources, built from the settings in one place so the code location, CLI and tests agree."""

from __future__ import annotations

import dagster as dg

from vidassets import settings as variables
from vidassets.model_config import ModelConfig, current_model_config
from vidassets.resources.io_manager import ManifestIOManager
from vidassets.resources.models import ModelLoader
from vidassets.resources.s3 import SharedS3Resource
from vidassets.resources.storage import VideoStorage
from vidassets.resources.uploads import UploadsBucket
from vidassets.settings import Settings, load_settings


def _from(settings: Settings, value: object, *sources: variables.Variable) -> object:
    """`dg.EnvVar` of the variable that sets a field, so the UI shows it and Dagster resolves it when it launches
    a run; the settings' value (its default) when none is set."""
    for variable in sources:
        if settings.values.get(variable.name):
            return dg.EnvVar(variable.name)
    return value


def build_resources(
    storage_root: str | None = None, model_config: ModelConfig | None = None, settings: Settings | None = None
) -> dict[str, object]:
    """Resources for the code location, from `settings` (default: the environment, read now). S3 credentials
    come from the standard AWS chain (`AWS_ACCESS_KEY_ID`, roles…), never from config shown in the UI; model
    choice from `current_model_config()` (the object the assets' code versions name) unless one is given."""
    settings = settings or load_settings()
    store, watch, models = settings.storage, settings.watch, settings.models
    storage = VideoStorage(
        root=storage_root or _from(settings, store.root, variables.STORAGE_ROOT),
        scratch_dir=_from(settings, store.scratch, variables.SCRATCH),
        ffmpeg=_from(settings, store.ffmpeg, variables.FFMPEG),
        s3_endpoint=_from(settings, store.s3.endpoint, variables.AWS_ENDPOINT_URL_S3, variables.AWS_ENDPOINT_URL),
        s3_region=_from(settings, store.s3.region, variables.AWS_REGION, variables.AWS_DEFAULT_REGION),
        s3_max_attempts=store.s3.max_attempts,
    )
    return {
        "s3": SharedS3Resource(
            region_name=_from(settings, store.s3.region, variables.AWS_REGION, variables.AWS_DEFAULT_REGION),
        ),
        "storage": storage,
        "io_manager": ManifestIOManager(storage=storage),
        "models": ModelLoader(model_config or current_model_config(), hf_token=models.hf_token,
                              cache_dir=models.cache_dir, hub_offline=models.hub_offline),
        "uploads": UploadsBucket(
            bucket=_from(settings, watch.bucket, variables.WATCH_BUCKET),
            prefix=_from(settings, watch.prefix, variables.WATCH_PREFIX),
            events_url=_from(settings, watch.events_url, variables.UPLOAD_EVENTS_URL),
        ),
    }

