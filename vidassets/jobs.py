"""The per-video job the sensor launches: every partitioned asset of one video, in one process.

In-process execution keeps the per-process model cache warm across steps (and across partitions when a
backfill runs many in one run); the `gpu` pool on model-heavy assets serialises GPU work between runs.
"""

import dagster as dg

from vidassets.deploy.gpu_tags import gpu_run_tags

video_pipeline = dg.define_asset_job(
    name="video_pipeline",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    tags=gpu_run_tags(),  # one GPU per run on ECS/Batch/K8s ($VIDASSETS_RUN_LAUNCHER); none locally
    description="Materialize every per-video asset for one `videos` partition.",
)
