"""The code location's sensors, by domain: uploads (new objects -> partitions and pipeline runs), warehouse (rows
after every pipeline run) and webhooks (events when a video's run ends, and delivery retries)."""

from vidassets.sensors.uploads import Cursor, ListedObject, s3_video_sensor, select_new
from vidassets.sensors.warehouse import video_tables_after_runs
from vidassets.sensors.webhooks import webhook_sensors

all_sensors = [s3_video_sensor, video_tables_after_runs, *webhook_sensors]

__all__ = ["Cursor", "ListedObject", "all_sensors", "s3_video_sensor", "select_new", "video_tables_after_runs",
           "webhook_sensors"]
