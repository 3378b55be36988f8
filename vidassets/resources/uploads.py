"""Where uploads land: the bucket and prefix the sensor watches."""

import os

import dagster as dg


class UploadsBucket(dg.ConfigurableResource):
    bucket: str = "vidassets"
    prefix: str = "uploads/"
    max_runs_per_tick: int = 2000

    @staticmethod
    def sensor_interval_s() -> int:
        """Seconds between sensor ticks (`VIDASSETS_SENSOR_INTERVAL_S`, default 30)."""
        return int(os.environ.get("VIDASSETS_SENSOR_INTERVAL_S", "30"))
