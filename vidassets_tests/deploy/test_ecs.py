"""The real EcsRunLauncher, configured by deploy/dagster-ecs.yaml, against moto's ECS in server mode."""

import json

import boto3
import pytest
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster_aws.ecs import EcsRunLauncher
from dagster_aws.ecs.tasks import get_task_kwargs_from_current_task

from vidassets import samples
from vidassets.deploy.gpu_tags import GpuRunSpec, ecs_tags
from vidassets_tests.deploy import aws_setup
from vidassets_tests.deploy.aws_setup import record_calls
from vidassets_tests.deploy.harness import dequeue_runs, grpc_code_server, parse_command, tick_sensors


def _no_current_task(config: dict) -> None:
    # In ECS the daemon copies subnets and security groups from its own task (ECS task metadata endpoint);
    # there is no such task here, so this one setting is turned off. Everything else is the file as shipped.
    config["run_launcher"]["config"]["use_current_ecs_task_config"] = False


def test_sensor_run_of_video_pipeline_becomes_a_gpu_ecs_task(
    deploy_instance, deploy_env, s3_server, monkeypatch, tmp_path
):
    """An upload, one sensor tick in the real code location (`vidassets.definitions` in a gRPC code server with
    VIDASSETS_RUN_LAUNCHER=ecs), one pass of the run queue: RunTask carries the GPU container overrides, the
    task-level size and the GPU capacity provider strategy, and moto's task echoes them."""
    cluster = aws_setup.ecs_gpu_cluster()
    monkeypatch.setenv("VIDASSETS_RUN_LAUNCHER", "ecs")
    monkeypatch.setenv("DAGSTER_CURRENT_IMAGE", aws_setup.WORKER_IMAGE)
    instance = deploy_instance("dagster-ecs", patch=_no_current_task)
    launcher = instance.run_launcher
    assert isinstance(launcher, EcsRunLauncher)
    run_tasks = record_calls(launcher.ecs, "ecs.RunTask")

    video = samples.silent_video(tmp_path / "lecture.mp4", seconds=2.0)
    s3_server.client().put_object(
        Bucket=deploy_env["VIDASSETS_WATCH_BUCKET"], Key="uploads/lecture.mp4", Body=video.read_bytes()
    )
    with grpc_code_server(instance) as context:
        tick_sensors(context)
        (run,) = instance.get_runs(RunsFilter(job_name="video_pipeline"))
        assert run.status == DagsterRunStatus.QUEUED
        dequeue_runs(context)

    # The job carries the GPU tags because the code location runs with VIDASSETS_RUN_LAUNCHER=ecs.
    expected = ecs_tags(GpuRunSpec())
    assert {key: run.tags[key] for key in expected} == expected
    (sent,) = run_tasks
    assert sent["cluster"] == cluster
    assert sent["taskDefinition"].endswith(f":task-definition/{aws_setup.ECS_TASK_DEFINITION}:1")
    assert sent["capacityProviderStrategy"] == [
        {"capacityProvider": aws_setup.ECS_GPU_CAPACITY_PROVIDER, "weight": 1, "base": 0}
    ]
    assert "launchType" not in sent
    (container,) = sent["overrides"]["containerOverrides"]
    assert container["name"] == "run"
    assert container["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert (container["cpu"], container["memory"]) == (3072, 12288)
    assert (sent["overrides"]["cpu"], sent["overrides"]["memory"]) == ("3072", "12288")
    args = parse_command(container["command"])
    assert args.run_id == run.run_id and args.job_origin.job_name == "video_pipeline"
    assert deploy_env["DAGSTER_PG_PASSWORD"] not in json.dumps(sent)
    ecs_task_tags = {tag["key"]: tag["value"] for tag in sent["tags"]}
    assert ecs_task_tags["dagster/run_id"] == run.run_id
    assert ecs_task_tags["dagster/partition"] == run.tags["dagster/partition"]  # propagate_tags allow_list
    assert ecs_task_tags["vidassets/gpu"] == "1"

    # What ECS (moto) recorded for the task, and the task's ARN on the run.
    run = instance.get_run_by_id(run.run_id)
    assert run.status == DagsterRunStatus.STARTING
    (task,) = boto3.client("ecs").describe_tasks(cluster=cluster, tasks=[run.tags["ecs/task_arn"]])["tasks"]
    assert task["overrides"]["containerOverrides"][0]["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert task["overrides"]["containerOverrides"][0]["command"] == container["command"]
    assert task["capacityProviderName"] == aws_setup.ECS_GPU_CAPACITY_PROVIDER
    assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING

    # Terminating the run stops the task.
    stops = record_calls(launcher.ecs, "ecs.StopTask")
    assert launcher.terminate(run.run_id) is True
    assert stops == [{"task": run.tags["ecs/task_arn"], "cluster": run.tags["ecs/cluster"]}]
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELING


def test_dagster_aws_cannot_copy_a_daemon_task_placed_by_a_capacity_provider():
    """Why docs/DEPLOY.md says to start the ECS daemon with launchType FARGATE: with `use_current_ecs_task_config`
    dagster-aws copies the daemon task's launch settings and fails on a capacity provider strategy. When this test
    starts failing, dagster-aws fixed it and the note can go."""
    daemon_task = {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}], "attachments": []}
    with pytest.raises(KeyError, match="launchType"):
        get_task_kwargs_from_current_task(ec2=None, cluster="vidassets", task=daemon_task)
    fargate_task = {"launchType": "FARGATE", "attachments": []}
    kwargs = get_task_kwargs_from_current_task(ec2=None, cluster="vidassets", task=fargate_task)
    assert kwargs["launchType"] == "FARGATE" and kwargs["cluster"] == "vidassets"
