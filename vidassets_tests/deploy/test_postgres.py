"""Dagster on a real PostgreSQL server, configured by the files we ship: instance configs, sensor ticks and
cursors, dynamic partitions, queued runs and the `gpu` pool, a real materialization stored and read back."""

import os
import shutil
from datetime import timedelta

import dagster as dg
import psycopg2
import pytest
from dagster._core.instance.config import PoolGranularity
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import freeze_time
from dagster._time import get_current_datetime
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from vidassets import samples
from vidassets.assets import source_video
from vidassets.deploy.gpu_tags import gpu_run_tags
from vidassets.resources import build_resources
from vidassets.sources import TAG_KEY
from vidassets_tests.deploy import aws_setup
from vidassets_tests.deploy.harness import REPO, create_subset_run, dequeue_runs, in_process_code_location, tick_sensors
from vidassets_tests.pipeline_helpers import run_request, upload_and_tick

LAUNCHERS = {"dagster-ecs": "EcsRunLauncher", "dagster-batch": "BatchRunLauncher", "dagster-k8s": "K8sRunLauncher"}


def _sql(postgres, database: str, query: str) -> list[tuple]:
    conn = psycopg2.connect(postgres.dsn(database))
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
def test_deploy_config_is_a_working_instance(name, deploy_instance, deploy_env, postgres, fake_kube_in_cluster):
    """Each deploy/*.yaml, as shipped, validates against Dagster's instance schema, builds every configured
    class, creates its schema in PostgreSQL and carries the queue, pool, retry and monitoring settings."""
    if name == "dagster-ecs":
        aws_setup.ecs_gpu_cluster()  # the launcher looks its task definition up when it starts
    instance = deploy_instance(name)

    assert type(instance.run_launcher).__name__ == LAUNCHERS[name]
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    pools = instance.get_concurrency_config().pool_config
    assert (pools.pool_granularity, pools.default_pool_limit) == (PoolGranularity.RUN, 8)
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    assert instance.run_retries_retry_on_asset_or_op_failure is False
    assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 1800
    assert instance.run_monitoring_max_resume_run_attempts == 0

    instance.add_dynamic_partitions("videos", ["check-0123456789ab"])
    rows = _sql(postgres, deploy_env["DAGSTER_PG_DB"], "SELECT partition FROM dynamic_partitions")
    assert rows == [("check-0123456789ab",)]


def test_compose_instance_config_works_on_postgres(deploy_env, postgres, tmp_path):
    """docker/dagster.yaml (the compose stack's instance) on a real server. Without `scheme: postgresql+psycopg2`
    it fails here: SQLAlchemy 2.1 sends plain postgresql:// URLs to psycopg 3, which is not installed."""
    shutil.copy(REPO / "docker" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert instance.run_retries_enabled
        instance.add_dynamic_partitions("videos", ["compose-0123456789ab"])
        assert instance.get_dynamic_partitions("videos") == ["compose-0123456789ab"]


def test_sensor_daemon_ticks_partitions_and_queued_runs_on_postgres(deploy_instance, deploy_env, postgres, s3_server):
    """The sensor daemon's own iteration against deploy/dagster-batch.yaml: ticks, the cursor, dynamic
    partitions and queued runs all live in PostgreSQL, so a second and third tick continue where the first
    stopped."""
    instance = deploy_instance("dagster-batch")
    client = s3_server.client()
    bucket = deploy_env["VIDASSETS_WATCH_BUCKET"]
    for key in ("uploads/a.mp4", "uploads/b.MOV", "uploads/notes.txt"):
        client.put_object(Bucket=bucket, Key=key, Body=b"not decoded by the sensor")

    with in_process_code_location(instance) as context:
        location = context.create_request_context().get_code_location("vidassets")
        repository = next(iter(location.get_repositories().values()))
        sensor = repository.get_sensor("s3_video_sensor")
        now = get_current_datetime()

        tick_sensors(context)
        (first,) = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id)
        assert first.status == TickStatus.SUCCESS and len(first.run_ids) == 2
        runs = instance.get_runs(dg.RunsFilter(job_name="video_pipeline"))
        assert sorted(run.tags[TAG_KEY] for run in runs) == ["uploads/a.mp4", "uploads/b.MOV"]
        assert {run.status for run in runs} == {DagsterRunStatus.QUEUED}
        partitions = sorted(run.tags["dagster/partition"] for run in runs)
        assert sorted(instance.get_dynamic_partitions("videos")) == partitions

        with freeze_time(now + timedelta(seconds=40)):  # past the sensor's minimum interval
            tick_sensors(context)
        client.put_object(Bucket=bucket, Key="uploads/c.mp4", Body=b"third")
        with freeze_time(now + timedelta(seconds=80)):
            tick_sensors(context)

    third, second, _ = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id)
    assert second.status == TickStatus.SKIPPED
    assert third.status == TickStatus.SUCCESS and len(third.run_ids) == 1
    assert len(instance.get_dynamic_partitions("videos")) == 3
    database = deploy_env["DAGSTER_PG_DB"]
    assert _sql(postgres, database, "SELECT count(*) FROM runs WHERE status = 'QUEUED'") == [(3,)]
    assert _sql(postgres, database, "SELECT count(*) FROM dynamic_partitions WHERE partitions_def_name = 'videos'") == [
        (3,)
    ]


def test_gpu_pool_admits_one_run_per_slot(deploy_instance, deploy_env):
    """`concurrency.pools` at run granularity: with the `gpu` pool at 1 slot, the queue launches one GPU run and
    holds the other until the first finishes (no GPU container waits idle for a slot)."""
    aws_setup.batch_environment()
    instance = deploy_instance("dagster-batch")
    instance.event_log_storage.set_concurrency_slots("gpu", 1)
    with in_process_code_location(instance) as context:
        first, second = (
            create_subset_run(context, ["moderation"], f"clip{i}-0123456789ab", gpu_run_tags("batch")) for i in (1, 2)
        )
        for run in (first, second):
            instance.submit_run(run.run_id, context.create_request_context())
        dequeue_runs(context)
        statuses = [instance.get_run_by_id(run.run_id).status for run in (first, second)]
        assert statuses == [DagsterRunStatus.STARTING, DagsterRunStatus.QUEUED]

        instance.report_run_failed(instance.get_run_by_id(first.run_id), "spot reclaim (simulated)")
        dequeue_runs(context)
        assert instance.get_run_by_id(second.run_id).status == DagsterRunStatus.STARTING


def test_materialization_is_stored_and_read_back(deploy_instance, deploy_env, postgres, s3_server, tmp_path):
    """A real `source_video` materialization of a real video on deploy/dagster-batch.yaml's storage, read back
    by a second instance (new connections) and straight from PostgreSQL's tables."""
    instance = deploy_instance("dagster-batch")
    resources = build_resources()
    video = samples.silent_video(tmp_path / "clip.mp4", seconds=2.0)
    (request,) = upload_and_tick(
        s3_server, deploy_env["VIDASSETS_WATCH_BUCKET"], instance, resources, {"uploads/clip.mp4": video.read_bytes()}
    )
    result = run_request(request, instance, resources, selection=[source_video])
    assert result.success

    with dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as reader:
        run = reader.get_run_by_id(result.run_id)
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == request.partition_key
        event = reader.get_latest_materialization_event(dg.AssetKey("source_video"))
        assert event.run_id == result.run_id
        metadata = event.asset_materialization.metadata
        assert metadata["duration_s"].value == pytest.approx(2.0, abs=0.1)
        assert reader.get_materialized_partitions(dg.AssetKey("source_video")) == {request.partition_key}
    rows = _sql(postgres, deploy_env["DAGSTER_PG_DB"], f"SELECT status FROM runs WHERE run_id = '{result.run_id}'")
    assert rows == [("SUCCESS",)]

