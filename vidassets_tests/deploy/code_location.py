"""The vidassets code location as the deployment tests load it, in-process and in run worker subprocesses.

Everything from `vidassets.definitions` (assets, jobs, sensors, executor) with the resources built from the
environment when this file is loaded: `vidassets.definitions` builds them once per process, at its first import,
which another test may already have done with other settings.
"""

import dagster as dg

from vidassets import definitions
from vidassets.resources import build_resources

defs = dg.Definitions(
    assets=definitions.defs.assets,
    asset_checks=definitions.defs.asset_checks,
    jobs=definitions.defs.jobs,
    sensors=definitions.defs.sensors,
    schedules=definitions.defs.schedules,
    resources=build_resources(),
    executor=definitions.defs.executor,
)
