"""The vidassets code location as the deployment tests load it, in-process and in run worker subprocesses.

The same assets, job and sensor as `vidassets.definitions`; the resources are built from the environment when
this file is loaded. (`vidassets.definitions` builds them once per process at its first import, which another
test may already have done with another bucket.)
"""

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
