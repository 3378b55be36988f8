"""The per-video job the sensor launches: every partitioned asset of one video, in one process.

In-process execution keeps the per-process model cache warm across steps (and across partitions when a
backfill runs many in one run); the `gpu` pool on model-heavy assets serialises GPU work between runs.
"""

import dagster as dg

video_pipeline = dg.define_asset_job(
    name="video_pipeline",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Materialize every per-video asset for one `videos` partition.",
)
