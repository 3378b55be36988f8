"""Run-status sensors that turn the end of a video's pipeline run into webhook events, and a sensor that hands due
deliveries to the workers (`vidassets.workers.webhook_tasks`: the sending, its deadline and retries happen there).

Whether a run ended the video, and with which status, is `vidassets.lifecycle`'s decision (a failed run that will
be retried did not end it: no `video.failed` before its retry). Who owns the video (the API's upload record), the
event's body (the API's JSON of the video) and the webhook tables are the HTTP API's: `vidassets.api` is imported
inside the sensor functions, so loading the code location loads no part of the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from vidassets import lifecycle

if TYPE_CHECKING:
    from vidassets.api.settings import ApiSettings

RETRY_INTERVAL_S = 10
NO_DATABASE = "no API database configured (DAGSTER_HOME or VIDASSETS_API_DB_URL): no webhooks"


def _settings() -> ApiSettings | None:
    from vidassets.api.settings import ApiSettings

    try:
        return ApiSettings.from_env()
    except RuntimeError:
        return None


def hand_out(settings: ApiSettings, users: set[str] | None = None) -> str:
    """Claim the due deliveries (of `users`, when given) and hand them to the `cpu` workers; the sensors never
    send themselves. Workers unreachable: the claims are given back and the next pass tries again."""
    from vidassets.api import webhooks
    from vidassets.api.db import engine_for
    from vidassets.settings import load_settings
    from vidassets.workers.webhook_tasks import producer, submitter

    broker_url = load_settings().workers.broker_url
    if not broker_url:
        return "no broker configured (VIDASSETS_BROKER_URL): deliveries stay pending"
    try:
        handed = webhooks.dispatch_due(engine_for(settings.db_url), settings, submitter(producer(broker_url)),
                                       users=users)
    except Exception as error:  # noqa: BLE001 - the database keeps them pending; the next pass tries again
        return f"the broker is unreachable ({type(error).__name__}): deliveries stay pending"
    return f"{handed} deliveries handed to the workers"


def notify_run_end(context: dg.RunStatusSensorContext, settings: ApiSettings | None = None) -> str:
    """Queue `video.completed|rejected|failed` for the owner's webhooks and hand them to the workers; says what it
    did. The owner is the API's upload record of the video, never the run's tags (anyone who reaches Dagster can
    launch a run with any tags)."""
    from vidassets.api import webhooks
    from vidassets.api.db import engine_for
    from vidassets.api.status import VideoRef, describe, head
    from vidassets.api.uploads import upload_record
    from vidassets.storage import Store
    from vidassets.storage.s3 import s3_client

    settings = settings or _settings()
    if settings is None:
        return NO_DATABASE
    instance = context.instance
    record = lifecycle.ended_run(instance, context.dagster_run.run_id)  # with the retry decision in its tags
    if record is None:
        return f"run {context.dagster_run.run_id} was deleted"
    run = record.dagster_run
    partition = lifecycle.partition_of(run)
    if not lifecycle.is_pipeline_run(run) or partition is None:
        return f"run {run.run_id} is not a per-video pipeline run"
    engine = engine_for(settings.db_url)
    upload = upload_record(engine, partition)
    if upload is None:
        return f"video {partition} was not uploaded through the API; no webhooks"
    ref = VideoRef(partition, upload.bucket, upload.object_key, upload.user)
    store = Store.for_root(settings.storage_root, settings.s3)
    video = describe(instance, store, ref, head(s3_client(settings.s3), ref), run_record=record)
    if video["status"] not in lifecycle.TERMINAL:
        return f"run {run.run_id} ended but the video is {video['status']}"
    added = webhooks.enqueue(engine, upload.user, f"{run.run_id}.{run.status.value.lower()}",
                             webhooks.EVENT_TYPES[video["status"]], partition, video,
                             max_pending=settings.webhook_max_pending)
    handed = hand_out(settings, {upload.user})
    return f"video {partition} {video['status']}: {added} webhook deliveries queued; {handed}"


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
    description="Hand due webhook deliveries to the cpu workers: ones not handed out yet (broker down) and ones "
                "whose task was lost (lease over).",
)
def webhook_retries(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    settings = _settings()
    if settings is None:
        return dg.SkipReason(NO_DATABASE)
    return dg.SkipReason(f"webhooks: {hand_out(settings)}")


webhook_sensors = [webhooks_on_success, webhooks_on_failure, webhooks_on_canceled, webhook_retries]
