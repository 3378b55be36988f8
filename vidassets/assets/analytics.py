"""Per-video Parquet rows for analysts: `<root>/warehouse/<table>/video_id=<id>/part-0.parquet`.

`video_tables` runs in its own run after every pipeline run of a video ends (see `sensors.py`), so it is never
skipped because the video was rejected, had no speech, or failed: it reads whichever manifests exist, and a failed
pipeline run becomes a `videos` row with status `failed` and the error.
"""

from datetime import UTC, datetime

import dagster as dg

from vidassets.analytics.costs import StepTiming, run_cost_rows
from vidassets.analytics.rows import video_tables as rows_for_video
from vidassets.analytics.schemas import SCHEMA_VERSION
from vidassets.analytics.warehouse import Warehouse
from vidassets.manifests import MANIFEST_ASSETS, FailureRecord, VideoManifests
from vidassets.partitions import videos_partitions
from vidassets.resources.storage import VideoStorage
from vidassets.run_failures import run_failure_message
from vidassets.sources import TAG_VIDEO_ID, SourceRef
from vidassets.storage.layout import WAREHOUSE, manifest_key
from vidassets.version import CODE_VERSION

PARTITION_TAG = "dagster/partition"


TABLES_JOB = "video_tables_job"
PIPELINE_JOB = "video_pipeline"
RETRY_NUMBER_TAG = "dagster/retry_number"


def latest_failure(instance: dg.DagsterInstance, video_id: str, current_run_id: str | None = None) -> str | None:
    """The error of the newest pipeline run of this partition, if it failed (runs writing the tables, including
    the current one, do not count)."""
    runs = [
        run for run in instance.get_runs(filters=dg.RunsFilter(tags={PARTITION_TAG: video_id}), limit=20)
        if run.run_id != current_run_id and run.job_name != TABLES_JOB
    ]
    if not runs or runs[0].status != dg.DagsterRunStatus.FAILURE:
        return None
    return run_failure_message(instance, runs[0].run_id)


def pipeline_step_timings(instance: dg.DagsterInstance, video_id: str, limit: int = 50) -> list[StepTiming]:
    """Every step of the partition's pipeline runs (retries and failed attempts too), from Dagster's step stats."""
    timings = []
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=PIPELINE_JOB, tags={PARTITION_TAG: video_id}), limit=limit)
    for run in runs:
        attempt = int(run.tags.get(RETRY_NUMBER_TAG, "0")) + 1
        for stat in instance.get_run_step_stats(run.run_id):
            status = stat.status.value if stat.status else "UNKNOWN"
            timings.append(StepTiming(run.run_id, attempt, stat.step_key, status, stat.start_time, stat.end_time))
    return timings


def load_manifests(storage: VideoStorage, video_id: str) -> VideoManifests:
    found: VideoManifests = {
        name: storage.store.find_json(manifest_key(name, video_id)) for name in MANIFEST_ASSETS  # type: ignore[misc]
    }
    diarized = found["diarized_transcript"]
    if diarized is None or not diarized.get("segments"):
        found["summary"] = None  # a summary left from an earlier upload with speech is not this video's
    if (found["text_moderation"] or {}).get("verdict") == "rejected":
        found["summary"] = None  # a summary left from before the spoken content was rejected
    return found


@dg.asset(
    partitions_def=videos_partitions,
    group_name="analytics",
    code_version=f"video_tables-schema{SCHEMA_VERSION}",
    deps=list(MANIFEST_ASSETS),
    kinds={"parquet"},
    description="This video's rows in the warehouse tables (videos, moderation_frames, segments, words, speakers, "
    "summaries, text_moderation); rewritten whole on every materialization.",
)
def video_tables(context: dg.AssetExecutionContext, storage: VideoStorage) -> dg.MaterializeResult:
    video_id = context.partition_key
    manifests = load_manifests(storage, video_id)
    error = latest_failure(context.instance, video_id, context.run.run_id)
    failure: FailureRecord | None = (
        {"video_id": video_id, "error": error, **_source_of(context, manifests)} if error else None
    )
    tables = rows_for_video(**manifests, failure=failure, processed_at=datetime.now(UTC), video_id=video_id)
    tables["run_costs"] = run_cost_rows(
        video_id,
        pipeline_step_timings(context.instance, video_id),
        device=(manifests["moderation"] or {}).get("device"),
        media_s=((manifests["source_video"] or {}).get("probe") or {}).get("duration_s"),
    )
    counts = Warehouse(storage.store).write_video(video_id, tables)
    status = tables["videos"].column("status")[0].as_py()
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "reason": tables["videos"].column("reason")[0].as_py() or "",
            "rows": dg.MetadataValue.json(counts),
            # compute of every pipeline run of this video (retries included), per asset: table run_costs
            "compute_s": round(sum(tables["run_costs"].column("compute_s").to_pylist()), 2),
            "device": (manifests["moderation"] or {}).get("device") or "unknown",
            "warehouse": dg.MetadataValue.path(storage.store.url(WAREHOUSE)),
            "schema_version": SCHEMA_VERSION,
            "code_version": CODE_VERSION,
        }
    )


def _source_of(context: dg.AssetExecutionContext, manifests: VideoManifests) -> FailureRecord:
    """Where a failed video came from: its source manifest, else the pipeline run's tags."""
    source = manifests.get("source_video")
    if source:
        return {"source_uri": source["source_uri"], "bucket": source["bucket"], "key": source["key"]}
    runs = context.instance.get_runs(filters=dg.RunsFilter(tags={TAG_VIDEO_ID: context.partition_key}), limit=1)
    ref = SourceRef.from_tags(runs[0].tags) if runs else None
    return {"source_uri": ref.source_uri, "bucket": ref.bucket, "key": ref.key} if ref else {}


@dg.asset(
    group_name="analytics",
    deps=[video_tables],
    kinds={"parquet"},
    description="Rewrite the warehouse's many per-video files into a few sorted files per table (atomically; "
    "per-video files stay the source of truth). Keeps corpus queries under 2 s at 10,000 videos.",
)
def warehouse_compaction(storage: VideoStorage) -> dg.MaterializeResult:
    results = Warehouse(storage.store).compact_all()
    return dg.MaterializeResult(
        metadata={
            "tables": dg.MetadataValue.json({
                name: {"videos": r.videos, "rows": r.rows, "files": len(r.files), "seconds": round(r.seconds, 2)}
                for name, r in results.items()
            }),
            "videos": max((r.videos for r in results.values()), default=0),
            "code_version": CODE_VERSION,
        }
    )
