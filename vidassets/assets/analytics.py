"""Per-video Parquet rows for analysts: `<root>/warehouse/<table>/video_id=<id>/part-0.parquet`.

`video_tables` runs in its own run after every pipeline run of a video ends (see `sensors/warehouse.py`), so it is never
skipped because the video was rejected, had no speech, or failed: it reads whichever manifests exist, and a failed
pipeline run becomes a `videos` row with status `failed` and the error.
"""

from datetime import UTC, datetime

import dagster as dg

from vidassets import lifecycle
from vidassets.analytics import voice_registry
from vidassets.analytics.costs import StepTiming, run_cost_rows
from vidassets.analytics.rows import video_tables as rows_for_video
from vidassets.analytics.schemas import SCHEMA_VERSION
from vidassets.analytics.warehouse import Warehouse
from vidassets.manifests import MANIFEST_ASSETS, FailureRecord, VideoManifests
from vidassets.ml.sentence_embeddings import MODEL_NAME as EMBEDDING_MODEL
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.search.texts import EMBEDDINGS_TABLE, embedding_rows
from vidassets.storage.layout import WAREHOUSE
from vidassets.verdict import load_manifests
from vidassets.version import CODE_VERSION


def pipeline_step_timings(instance: dg.DagsterInstance, video_id: str, limit: int = 50) -> list[StepTiming]:
    """Every step of the partition's pipeline runs (`vidassets.lifecycle`: the sensor's, their retries and failed
    attempts, reprocessing and asset runs launched from the UI), from Dagster's step stats."""
    timings = []
    for record in lifecycle.pipeline_runs(instance, video_id, limit=limit):
        run = record.dagster_run
        for stat in instance.get_run_step_stats(run.run_id):
            status = stat.status.value if stat.status else "UNKNOWN"
            timings.append(StepTiming(run.run_id, lifecycle.attempt(run), stat.step_key, status, stat.start_time,
                                      stat.end_time))
    return timings


@dg.asset(
    partitions_def=videos_partitions,
    group_name="analytics",
    code_version=f"video_tables-schema{SCHEMA_VERSION}-{EMBEDDING_MODEL}",
    deps=list(MANIFEST_ASSETS),
    kinds={"parquet"},
    description="This video's rows in the warehouse tables (videos, moderation_frames, segments, words, speakers, "
    "summaries, text_moderation, run_costs, shots, faces, text_embeddings: MiniLM vectors of the redacted texts for "
    "semantic search); rewritten whole on every materialization.",
)
def video_tables(
    context: dg.AssetExecutionContext, storage: VideoStorage, models: dg.ResourceParam[ModelLoader]
) -> dg.MaterializeResult:
    video_id = context.partition_key
    manifests = load_manifests(storage.store, video_id)
    error = lifecycle.final_failure(context.instance, video_id)
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
    labels = voice_registry.video_labels(storage.store, video_id)  # kept when the rows are rewritten
    for name in ("segments", "speakers"):
        tables[name] = voice_registry.label_table(tables[name], labels)
    tables[EMBEDDINGS_TABLE] = embedding_rows(video_id, tables, models.sentence_encoder)
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
    """Where a failed video came from: its source manifest, else the object its runs name."""
    source = manifests.get("source_video")
    if source:
        return {"source_uri": source["source_uri"], "bucket": source["bucket"], "key": source["key"]}
    ref = lifecycle.source_of(context.instance, context.partition_key)
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
                name: {"videos": r.videos, "rows": r.rows, "files": len(r.files), "seconds": round(r.seconds, 2),
                       "incremental": r.incremental, "changed_videos": r.changed}
                for name, r in results.items()
            }),
            "videos": max((r.videos for r in results.values()), default=0),
            "code_version": CODE_VERSION,
        }
    )
