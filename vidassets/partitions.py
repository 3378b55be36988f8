"""The `videos` dynamic partitions: one partition per uploaded video, keyed by `video_ids.video_id_for`."""

import dagster as dg

videos_partitions = dg.DynamicPartitionsDefinition(name="videos")
