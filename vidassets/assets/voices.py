"""Corpus assets over the voices of every video: the speaker registry and the per-video outputs it labels.

Both are thin wrappers over `analytics/voice_registry.py` (rules: `ml/speaker_registry.py`, docs/DATA.md). They run
in `speaker_registry_job` (queue `cpu`) after each video's warehouse rows are written (sensor
`speaker_registry_after_tables`), and can be materialized or backfilled from the UI (`rebuild: true` re-assigns
every video in registry order, e.g. after a change of embedding model).
"""

from collections.abc import Callable

import dagster as dg

from vidassets.analytics import voice_registry
from vidassets.assets.analytics import video_tables
from vidassets.ml import speaker_registry as speaker_rules
from vidassets.resources.storage import VideoStorage
from vidassets.resources.uploads import UploadsBucket
from vidassets.version import CODE_VERSION


class RegistryConfig(dg.Config):
    """`rebuild`: re-assign every video in registry order (the ids stay when the voices are unchanged)."""

    rebuild: bool = False


def owner_lookup(storage: VideoStorage, uploads: UploadsBucket) -> Callable[[str], str | None]:
    """`video_id -> API user` by the API's rule for upload keys (`api.objects.upload_owner`) applied to the object
    the video's `source_video` manifest names; None for any other object."""
    from vidassets.api.objects import upload_owner  # the API module only when the asset runs

    bucket, prefix = uploads.bucket, uploads.watched_prefix()
    return voice_registry.owners_by_source(
        storage.store, lambda b, key: upload_owner(prefix, key) if b == bucket else None)


@dg.asset(
    group_name="speakers",
    deps=[video_tables],
    kinds={"parquet"},
    code_version=f"speaker_registry-v2:{speaker_rules.rules_tag()}",
    description="Every (video, local speaker) assigned to a corpus voice id: warehouse table `voice_registry`. "
    "New videos' speakers are matched to known voices (one assignment per video, never two speakers of a video "
    "in one voice; cosine threshold per model); unmatched ones found new voices.",
)
def speaker_registry(config: RegistryConfig, storage: VideoStorage, uploads: UploadsBucket) -> dg.MaterializeResult:
    update = voice_registry.update_registry(storage.store, owner_lookup(storage, uploads), rebuild=config.rebuild)
    return dg.MaterializeResult(metadata={
        "videos": update.videos,
        "speakers": update.speakers,
        "voices": update.voices,
        "changed_videos": dg.MetadataValue.json(update.changed[:200]),
        "changed": len(update.changed),
        "removed": len(update.removed),
        "thresholds": dg.MetadataValue.json(update.thresholds),
        "min_trusted_speech_s": dg.MetadataValue.json(
            {m: speaker_rules.min_trusted_speech_s(m) for m in update.thresholds}),
        "threshold_source": f"{speaker_rules.CALIBRATION} on the AMI tuning clips (benchmarks/quality_voices.py, "
        "leave-one-out in docs/QUALITY.md)",
        "merge_conflicts": dg.MetadataValue.json(update.conflicts),
        "rebuild": config.rebuild,
        "code_version": CODE_VERSION,
    })


@dg.asset(
    group_name="speakers",
    deps=[speaker_registry],
    kinds={"parquet"},
    description="Re-derives, for every video whose voice ids or names changed, the files that carry them: "
    "`transcript[.redacted].{json,srt,vtt,txt}` and the `segments`, `speakers` and `voice_registry` rows "
    "(voice_id, speaker_name). No model runs. Naming a voice (CLI, API) does the same at once.",
)
def speaker_labels(storage: VideoStorage) -> dg.MaterializeResult:
    written = voice_registry.apply_labels(storage.store)
    return dg.MaterializeResult(metadata={
        "videos_written": len(written),
        "videos": dg.MetadataValue.json(written[:200]),
        "code_version": CODE_VERSION,
    })
