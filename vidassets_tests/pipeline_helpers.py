"""Run the real per-video assets the way the sensor's runs do: upload, tick, one run per request."""

import dagster as dg

from vidassets.assets import per_video_assets
from vidassets.cli.process import failure_message  # noqa: F401  (re-exported for the tests)
from vidassets.sensors import s3_video_sensor


def upload_and_tick(s3_server, bucket, instance, resources, files: dict[str, bytes]) -> list[dg.RunRequest]:
    client = s3_server.client()
    for key, body in files.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        result = s3_video_sensor(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return list(result.run_requests)


def run_request(
    request: dg.RunRequest, instance, resources, selection=None, run_config=None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        per_video_assets,
        selection=selection,
        partition_key=request.partition_key,
        tags=request.tags,
        instance=instance,
        resources=resources,
        run_config=run_config,
        raise_on_error=False,
    )


