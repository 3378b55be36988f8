"""`speaker_registry_after_tables`: one `speaker_registry_job` run after videos' warehouse rows were written.

The registry reads the `voices` table, so it follows `video_tables_job`. Many videos ending together give one
registry run; while one is queued or running the sensor waits (its cursor stays), so registry runs never overlap
and the next one sees every video that ended meanwhile.
"""

import dagster as dg

from vidassets import lifecycle
from vidassets.jobs import speaker_registry_job

REGISTRY_SENSOR_INTERVAL_S = 10


@dg.sensor(
    job=speaker_registry_job,
    minimum_interval_seconds=REGISTRY_SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After video_tables_job runs succeed, one speaker_registry_job run (never two at once).",
)
def speaker_registry_after_tables(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    instance = context.instance
    if context.cursor is None:  # first tick: start after the newest event
        latest = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_SUCCESS, limit=1).cursor
        return dg.SensorResult(cursor=latest)
    in_flight = instance.get_run_records(
        filters=dg.RunsFilter(job_name=lifecycle.REGISTRY_JOB, statuses=list(lifecycle.IN_FLIGHT)), limit=1)
    if in_flight:
        return dg.SkipReason("a speaker_registry_job run is queued or running")
    ended = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_SUCCESS, limit=500, cursor=context.cursor,
                                              ascending=True)
    if not ended.records:
        return dg.SkipReason("no warehouse run ended")
    run_ids = [record.run_id for record in ended.records]
    runs = instance.get_runs(filters=dg.RunsFilter(run_ids=run_ids, job_name=lifecycle.TABLES_JOB))
    requests = [dg.RunRequest(run_key=f"registry-{ended.cursor}")] if runs else []
    return dg.SensorResult(run_requests=requests, cursor=ended.cursor)
