"""The vidassets code location: every asset, job, sensor and resource, assembled in one place."""

import dagster as dg

from vidassets.assets import all_assets
from vidassets.jobs import (
    nightly_compaction,
    speaker_registry_job,
    video_pipeline,
    video_tables_job,
    warehouse_compaction_job,
)
from vidassets.resources import build_resources
from vidassets.sensors import build_sensors
from vidassets.settings import load_settings

# The settings of the process that loads the code location (code server, run worker), read here, once.
settings = load_settings()

defs = dg.Definitions(
    assets=all_assets,
    jobs=[video_pipeline, video_tables_job, warehouse_compaction_job, speaker_registry_job],
    schedules=[nightly_compaction],
    sensors=build_sensors(settings.watch.sensor_interval_s),
    resources=build_resources(settings=settings),
    executor=dg.in_process_executor,
)
