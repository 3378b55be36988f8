"""The code location's sensors, by domain: uploads (new objects -> partitions and pipeline runs), warehouse (rows
after every pipeline run) and webhooks (events when a video's run ends, and delivery retries)."""

import dagster as dg

from vidassets.sensors.registry import speaker_registry_after_tables
from vidassets.sensors.uploads import (
    Cursor,
    EventCursor,
    ListedObject,
    build_s3_video_sensor,
    s3_video_sensor,
    select_new,
)
from vidassets.sensors.warehouse import video_tables_after_runs
from vidassets.sensors.webhooks import webhook_sensors


def build_sensors(sensor_interval_s: int) -> list[dg.SensorDefinition]:
    """Every sensor of the code location; the upload sensor ticks every `sensor_interval_s`
    (`VIDASSETS_SENSOR_INTERVAL_S`, read when the code location loads)."""
    return [build_s3_video_sensor(sensor_interval_s), video_tables_after_runs, speaker_registry_after_tables,
            *webhook_sensors]


__all__ = ["Cursor", "EventCursor", "ListedObject", "build_s3_video_sensor", "build_sensors", "s3_video_sensor",
           "select_new", "video_tables_after_runs", "webhook_sensors"]
