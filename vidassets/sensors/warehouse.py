"""`video_tables_after_runs`: the warehouse run of every video whose pipeline run ended since the last tick.

`video_tables` is not part of `video_pipeline` (a rejected video, one without speech or a failed run would skip it
there); this sensor requests it after every pipeline run that ended for good (`vidassets.lifecycle`: not a failed
run that Dagster's run retries will run again; its retry writes the rows when it ends).
"""

import json

import dagster as dg

from vidassets import lifecycle
from vidassets.jobs import video_tables_job
from vidassets.partitions import videos_partitions

TABLES_SENSOR_INTERVAL_S = 5
ENDED_RUN_EVENTS = {"success": dg.DagsterEventType.RUN_SUCCESS, "failure": dg.DagsterEventType.RUN_FAILURE}
ENDED_RUNS_PER_TICK = 500


def _tables_request(run: dg.DagsterRun) -> dg.RunRequest | str:
    """The warehouse run for a video's ended pipeline run, or why there is none."""
    if not lifecycle.is_pipeline_run(run):
        return f"run {run.run_id} is not a per-video pipeline run"
    if lifecycle.will_retry(run):
        # Its retry writes the rows when it ends; rows now would describe a half-processed video.
        return f"run {run.run_id} failed and will be retried"
    return dg.RunRequest(run_key=f"tables-{run.run_id}", partition_key=lifecycle.partition_of(run))


@dg.sensor(
    job=video_tables_job,
    minimum_interval_seconds=TABLES_SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a video's run succeeds or fails (not a failed run that will be retried), rewrite its "
    "warehouse rows. Every run that ended since the last tick, in one tick.",
)
def video_tables_after_runs(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    # A plain sensor over the run-status event log, not two run-status sensors: those start at most one run per
    # tick (30 s) when their function requests one, far slower than a corpus of short videos ends.
    cursors: dict[str, str | None] = json.loads(context.cursor) if context.cursor else {}
    instance = context.instance
    requests: list[dg.RunRequest] = []
    for name, event_type in ENDED_RUN_EVENTS.items():
        if name not in cursors:  # first tick: start after the newest event, as run-status sensors do
            cursors[name] = instance.fetch_run_status_changes(event_type, limit=1).cursor
            continue
        ended = instance.fetch_run_status_changes(event_type, limit=ENDED_RUNS_PER_TICK, cursor=cursors[name],
                                                  ascending=True)
        run_ids = [record.run_id for record in ended.records]
        runs = {run.run_id: run for run in instance.get_runs(filters=dg.RunsFilter(run_ids=run_ids))} if run_ids else {}
        for run_id in run_ids:
            run = runs.get(run_id)
            if run is not None and lifecycle.retry_undecided(instance, run):
                record = lifecycle.ended_run(instance, run_id)
                run = record.dagster_run if record else None
            partition = lifecycle.partition_of(run) if run is not None else None
            if partition is None or not instance.has_dynamic_partition(videos_partitions.name, partition):
                continue  # deleted, or not a run of one of our videos (another code location's)
            request = _tables_request(run)
            if isinstance(request, dg.RunRequest):
                requests.append(request)
            else:
                context.log.debug(request)
        if ended.records:
            cursors[name] = ended.cursor
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursors, sort_keys=True))
