"""Dagster run-status sensors that turn the end of a video's pipeline run into webhook events, and a sensor that
retries deliveries that failed. The logic lives in `webhooks.py` and `status.py`."""

from __future__ import annotations

import dagster as dg

from vidassets.api import webhooks
from vidassets.api.db import engine_for
from vidassets.api.objects import owner_of
from vidassets.api.settings import ApiSettings
from vidassets.api.status import TERMINAL, VideoRef, describe, head, is_pipeline_run, links
from vidassets.sources import TAG_BUCKET, TAG_KEY
from vidassets.storage import Store
from vidassets.storage.s3 import s3_client

RETRY_INTERVAL_S = 10
NO_DATABASE = "no API database configured (DAGSTER_HOME or VIDASSETS_API_DB_URL): no webhooks"


def _settings() -> ApiSettings | None:
    try:
        return ApiSettings.from_env()
    except RuntimeError:
        return None


def _source_tags(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[str, str] | None:
    """bucket/key of the run's object: its own tags, else (a run launched from the UI) the newest sensor run's."""
    if run.tags.get(TAG_BUCKET) and run.tags.get(TAG_KEY):
        return run.tags[TAG_BUCKET], run.tags[TAG_KEY]
    partition = run.tags.get("dagster/partition")
    if partition:
        for other in instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition}), limit=20):
            if other.tags.get(TAG_BUCKET) and other.tags.get(TAG_KEY):
                return other.tags[TAG_BUCKET], other.tags[TAG_KEY]
    return None


def notify_run_end(context: dg.RunStatusSensorContext, settings: ApiSettings | None = None) -> str:
    """Queue `video.completed|rejected|failed` for the owner's webhooks, then send what is due; says what it did."""
    settings = settings or _settings()
    if settings is None:
        return NO_DATABASE
    run = context.dagster_run
    partition = run.tags.get("dagster/partition")
    source = _source_tags(context.instance, run)
    if not is_pipeline_run(run) or partition is None or source is None:
        return f"run {run.run_id} is not a per-video pipeline run of an uploaded object"
    user = owner_of(settings, *source)
    if user is None:
        return f"s3://{source[0]}/{source[1]} was not uploaded through the API; no webhooks"
    ref = VideoRef(partition, source[0], source[1], user)
    record = context.instance.get_run_record_by_id(run.run_id)
    store = Store.for_root(settings.storage_root, settings.s3)
    video = describe(context.instance, store, ref, head(s3_client(settings.s3), ref), run_record=record)
    if video["status"] not in TERMINAL:
        return f"run {run.run_id} ended but the video is {video['status']}"
    video["links"] = links(partition)
    engine = engine_for(settings.db_url)
    added = webhooks.enqueue(engine, user, f"{run.run_id}.{run.status.value.lower()}",
                             webhooks.EVENT_TYPES[video["status"]], partition, video,
                             max_pending=settings.webhook_max_pending)
    report = webhooks.deliver_due(engine, settings, log=context.log.info)
    return f"video {partition} {video['status']}: {added} webhook deliveries queued; {report}"


def _run_end_sensor(status: dg.DagsterRunStatus, name: str) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name=name,
        run_status=status,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Webhook events for video pipeline runs that end in {status.value}.",
    )
    def _sensor(context: dg.RunStatusSensorContext) -> None:
        # Log, never return a SkipReason: a tick that handles several ended runs may not mix a SkipReason with
        # the others' reactions (Dagster fails such a tick and its cursor stays put, so no webhook is sent again).
        context.log.info(notify_run_end(context))

    return _sensor


webhooks_on_success = _run_end_sensor(dg.DagsterRunStatus.SUCCESS, "webhooks_on_success")
webhooks_on_failure = _run_end_sensor(dg.DagsterRunStatus.FAILURE, "webhooks_on_failure")
webhooks_on_canceled = _run_end_sensor(dg.DagsterRunStatus.CANCELED, "webhooks_on_canceled")


@dg.sensor(
    minimum_interval_seconds=RETRY_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retry webhook deliveries that failed, with exponential backoff.",
)
def webhook_retries(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    settings = _settings()
    if settings is None:
        return dg.SkipReason(NO_DATABASE)
    report = webhooks.deliver_due(engine_for(settings.db_url), settings, log=context.log.info)
    return dg.SkipReason(f"webhooks: {report}")


webhook_sensors = [webhooks_on_success, webhooks_on_failure, webhooks_on_canceled, webhook_retries]
