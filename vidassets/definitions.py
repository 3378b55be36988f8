"""The vidassets code location: every asset, job, sensor and resource, assembled in one place."""

import dagster as dg

from vidassets.assets import per_video_assets
from vidassets.jobs import video_pipeline
from vidassets.resources import build_resources
from vidassets.sensors import s3_video_sensor

defs = dg.Definitions(
    assets=per_video_assets,
    jobs=[video_pipeline],
    sensors=[s3_video_sensor],
    resources=build_resources(),
    executor=dg.in_process_executor,
)
