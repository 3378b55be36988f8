"""Drive the real pipeline the way the daemon does, in-process: sensor tick, one run per request, the warehouse run,
and the webhook run-status sensors for each ended run. The sensors hand deliveries to the `cpu` workers; there are
none here, so `deliver_now` sends what is due in this process, by the same rules
(vidassets_tests/security/test_webhook_workers.py runs them on real workers)."""

from __future__ import annotations

import dagster as dg

from vidassets.api import webhooks
from vidassets.api.db import engine_for
from vidassets.api.settings import ApiSettings
from vidassets.assets import all_assets, per_video_assets
from vidassets.sensors import s3_video_sensor
from vidassets.sensors.webhooks import webhook_retries, webhooks_on_canceled, webhooks_on_failure, webhooks_on_success

_END_SENSORS = {
    dg.DagsterRunStatus.SUCCESS: (webhooks_on_success, dg.DagsterEventType.RUN_SUCCESS),
    dg.DagsterRunStatus.FAILURE: (webhooks_on_failure, dg.DagsterEventType.RUN_FAILURE),
    dg.DagsterRunStatus.CANCELED: (webhooks_on_canceled, dg.DagsterEventType.RUN_CANCELED),
}


def sensor_tick(instance: dg.DagsterInstance, resources: dict) -> list[dg.RunRequest]:
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        result = s3_video_sensor(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return list(result.run_requests)


def run_pipeline(request: dg.RunRequest, instance: dg.DagsterInstance, resources: dict,
                 run_config: dg.RunConfig | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(per_video_assets, partition_key=request.partition_key, tags=request.tags,
                          instance=instance, resources=resources, run_config=run_config, raise_on_error=False)


def write_tables(video_id: str, instance: dg.DagsterInstance, resources: dict) -> None:
    result = dg.materialize(all_assets, selection=["video_tables"], partition_key=video_id, instance=instance,
                            resources=resources)
    assert result.success


def run_end_sensor(instance: dg.DagsterInstance, run_id: str) -> object:
    """Evaluate the webhook run-status sensor for this run's end event, as the daemon would."""
    run = instance.get_run_by_id(run_id)
    sensor, event_type = _END_SENSORS[run.status]
    record = instance.get_records_for_run(run_id, of_type=event_type).records[0]
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=record.event_log_entry.dagster_event, dagster_instance=instance,
        dagster_run=run,
    )
    result = sensor(context)
    deliver_now()
    return result


def retry_tick(instance: dg.DagsterInstance) -> object:
    with dg.build_sensor_context(instance=instance) as context:
        result = webhook_retries(context)
    deliver_now()
    return result


def deliver_now() -> webhooks.DeliveryReport:
    """What the workers would do with the deliveries the sensors found due."""
    settings = ApiSettings.from_env()
    return webhooks.deliver_due(engine_for(settings.db_url), settings)
