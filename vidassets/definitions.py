"""The vidassets code location: every asset, job, sensor and resource, assembled in one place."""

import dagster as dg

from vidassets.assets import all_assets
from vidassets.jobs import nightly_compaction, video_pipeline, video_tables_job, warehouse_compaction_job
from vidassets.resources import build_resources
from vidassets.sensors import all_sensors

defs = dg.Definitions(
    assets=all_assets,
    jobs=[video_pipeline, video_tables_job, warehouse_compaction_job],
    schedules=[nightly_compaction],
    sensors=all_sensors,
    resources=build_resources(),
    executor=dg.in_process_executor,
)
