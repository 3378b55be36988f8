"""Resource fields a deployment sets hold `dg.EnvVar` (see `build_resources`): Dagster resolves them when it launches
a run or a tick; code that uses a resource directly (the CLI, tests) resolves them here, as Dagster would."""

from typing import Any

import dagster as dg


def resolved(value: Any) -> Any:
    return value.get_value() if isinstance(value, dg.EnvVar) else value
