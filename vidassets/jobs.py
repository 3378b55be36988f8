"""Jobs: the per-video pipeline the S3 sensor launches, and the warehouse rows written after it.

Each run executes in one process, which keeps the per-process model cache warm (across partitions too, when a
backfill runs many in one run); the per-video pipeline runs its picture and speech branches at the same time in
threads of that process (`executors.threaded_executor`; `max_concurrent: 1` for one step at a time). The `gpu`
pool on model-heavy assets serialises GPU work between runs.
"""

import dagster as dg

from vidassets.assets import corpus_voice_assets, per_video_assets, video_tables, warehouse_compaction
from vidassets.deploy.gpu_tags import gpu_run_tags
from vidassets.executors import threaded_executor
from vidassets.lifecycle import COMPACTION_JOB, PIPELINE_JOB, REGISTRY_JOB, TABLES_JOB
from vidassets.workers.queues import CPU_QUEUE, GPU_QUEUE, QUEUE_TAG

video_pipeline = dg.define_asset_job(
    name=PIPELINE_JOB,
    selection=dg.AssetSelection.assets(*per_video_assets),
    executor_def=threaded_executor,  # shots/screen text/faces beside audio/transcript/diarization
    # The `gpu` Celery queue (warm workers); one GPU per run on ECS/Batch/K8s ($VIDASSETS_RUN_LAUNCHER).
    tags={QUEUE_TAG: GPU_QUEUE, **gpu_run_tags()},
    description="Materialize every per-video asset for one `videos` partition.",
)

video_tables_job = dg.define_asset_job(
    name=TABLES_JOB,
    selection=dg.AssetSelection.assets(video_tables),
    executor_def=dg.in_process_executor,
    tags={QUEUE_TAG: CPU_QUEUE},  # light: never waits behind model work
    description="Write one video's rows into the Parquet warehouse (after each pipeline run, success or failure).",
)

warehouse_compaction_job = dg.define_asset_job(
    name=COMPACTION_JOB,
    selection=dg.AssetSelection.assets(warehouse_compaction),
    tags={QUEUE_TAG: CPU_QUEUE},
    description="Compact the Parquet warehouse (nightly by schedule; safe while readers and writers run).",
)

speaker_registry_job = dg.define_asset_job(
    name=REGISTRY_JOB,
    selection=dg.AssetSelection.assets(*corpus_voice_assets),
    executor_def=dg.in_process_executor,
    tags={QUEUE_TAG: CPU_QUEUE},
    description="Assign new videos' speakers to corpus voices and re-label the outputs that changed.",
)

nightly_compaction = dg.ScheduleDefinition(
    name="nightly_compaction",  # the name the docs give it (Dagster's default would be the job's + `_schedule`)
    job=warehouse_compaction_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly warehouse compaction: new per-video files are folded into the sorted compacted files.",
)
