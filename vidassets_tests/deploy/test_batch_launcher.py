"""BatchRunLauncher against moto's AWS Batch (server mode), and a real run launched through it end to end."""

import json

import boto3
import dagster as dg
import pytest
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.dagster_run import DagsterRunStatus

from vidassets import samples
from vidassets.deploy.batch_launcher import (
    BATCH_JOB_ID_TAG,
    BatchRunLauncher,
    batch_job_name,
    worker_health,
)
from vidassets.deploy.gpu_tags import gpu_run_tags
from vidassets.resources import build_resources
from vidassets_tests.deploy import aws_setup
from vidassets_tests.deploy.aws_setup import record_calls
from vidassets_tests.deploy.harness import (
    create_subset_run,
    dequeue_runs,
    in_process_code_location,
    parse_command,
    run_worker,
)
from vidassets_tests.pipeline_helpers import upload_and_tick


def _launcher_overrides() -> dict:
    return {
        "run_launcher": {
            "module": "vidassets.deploy.batch_launcher",
            "class": "BatchRunLauncher",
            "config": {
                "job_queue": {"env": "VIDASSETS_BATCH_JOB_QUEUE"},
                "job_definition": {"env": "VIDASSETS_BATCH_JOB_DEFINITION"},
                "vcpu": 1,
                "memory": 2048,
                "env_vars": ["VIDASSETS_STORAGE_ROOT", "VIDASSETS_EXTRA=set-by-config"],
                "job_tags": {"team": "vidassets"},
            },
        }
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("SUBMITTED", WorkerStatus.RUNNING),
        ("PENDING", WorkerStatus.RUNNING),
        ("RUNNABLE", WorkerStatus.RUNNING),
        ("STARTING", WorkerStatus.RUNNING),
        ("RUNNING", WorkerStatus.RUNNING),
        ("SUCCEEDED", WorkerStatus.SUCCESS),
        ("FAILED", WorkerStatus.FAILED),
        ("SOMETHING_NEW", WorkerStatus.UNKNOWN),
    ],
)
def test_batch_status_maps_to_worker_status(status, expected):
    assert worker_health({"jobId": "j", "status": status}).status == expected


def test_failed_job_message_and_spot_reclaim_are_reported():
    spot = worker_health(
        {
            "jobId": "j-1",
            "jobName": "dagster-video_pipeline-r",
            "status": "FAILED",
            "statusReason": "Host EC2 (instance i-0abc) terminated.",
            "attempts": [{"container": {"exitCode": 137, "reason": "Task stopped", "logStreamName": "run/x/1"}}],
        },
        run_worker_id="w1",
    )
    assert spot.status == WorkerStatus.FAILED and spot.transient and spot.run_worker_id == "w1"
    assert "Host EC2 (instance i-0abc) terminated." in spot.msg
    assert "exit code 137" in spot.msg and "run/x/1" in spot.msg
    crash = worker_health({"jobId": "j-2", "status": "FAILED", "statusReason": "Essential container in task exited"})
    assert crash.status == WorkerStatus.FAILED and not crash.transient
    assert worker_health(None).status == WorkerStatus.NOT_FOUND


def test_job_names_are_valid_batch_names():
    run_id = "0f4e3c1a-1111-2222-3333-444455556666"
    assert batch_job_name("dagster", "video_pipeline", run_id) == f"dagster-video_pipeline-{run_id}"
    long_name = batch_job_name("dagster", "weird job/ name." * 20, run_id)
    assert len(long_name) <= 128 and long_name.endswith(run_id)
    assert set(long_name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def test_submit_describe_terminate_against_moto_batch(deploy_env):
    """Compute environments, queues and the job definition in moto; a GPU run and a CPU run launched through
    an instance configured with BatchRunLauncher; what was sent, what Batch reports, and termination."""
    queues = aws_setup.batch_environment()
    with dg.instance_for_test(overrides=_launcher_overrides()) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, BatchRunLauncher)
        submitted = record_calls(launcher.batch, "batch.SubmitJob")
        terminated = record_calls(launcher.batch, "batch.TerminateJob")
        with in_process_code_location(instance) as context:
            gpu_run = create_subset_run(context, ["source_video"], "clip-0123456789ab", gpu_run_tags("batch"))
            cpu_run = create_subset_run(context, ["source_video"], "clip-0123456789ab", {})
            for run in (gpu_run, cpu_run):
                instance.launch_run(run.run_id, context.create_request_context())

        assert len(submitted) == 2
        gpu, cpu = submitted
        # GPU run: queue and sizes from its tags (the job's tags on the `batch` deployment).
        assert gpu["jobQueue"] == aws_setup.BATCH_GPU_QUEUE
        assert gpu["jobDefinition"] == aws_setup.BATCH_JOB_DEFINITION
        assert gpu["containerOverrides"]["resourceRequirements"] == [
            {"type": "GPU", "value": "1"},
            {"type": "VCPU", "value": "3"},
            {"type": "MEMORY", "value": "12288"},
        ]
        args = parse_command(gpu["containerOverrides"]["command"])
        assert args.run_id == gpu_run.run_id
        assert args.job_origin.job_name == "video_pipeline"
        assert args.set_exit_code_on_failure is True
        environment = {e["name"]: e["value"] for e in gpu["containerOverrides"]["environment"]}
        assert environment == {
            "DAGSTER_RUN_JOB_NAME": "video_pipeline",
            "VIDASSETS_STORAGE_ROOT": deploy_env["VIDASSETS_STORAGE_ROOT"],
            "VIDASSETS_EXTRA": "set-by-config",
        }
        assert gpu["tags"] == {
            "team": "vidassets", "dagster/run_id": gpu_run.run_id, "dagster/job_name": "video_pipeline"
        }
        assert gpu["propagateTags"] is True
        assert gpu["jobName"] == f"dagster-video_pipeline-{gpu_run.run_id}"
        # CPU run: the launcher's defaults, no GPU.
        assert cpu["jobQueue"] == aws_setup.BATCH_CPU_QUEUE
        assert cpu["containerOverrides"]["resourceRequirements"] == [
            {"type": "VCPU", "value": "1"},
            {"type": "MEMORY", "value": "2048"},
        ]

        # What Batch recorded: the job on the GPU queue, with our command; the job id is on the run.
        gpu_run = instance.get_run_by_id(gpu_run.run_id)
        job_id = gpu_run.tags[BATCH_JOB_ID_TAG]
        (job,) = boto3.client("batch").describe_jobs(jobs=[job_id])["jobs"]
        assert job["jobQueue"] == queues[aws_setup.BATCH_GPU_QUEUE]
        assert job["container"]["command"] == gpu["containerOverrides"]["command"]
        assert job["jobName"] == gpu["jobName"]
        # moto's Docker-less Batch finishes jobs at once: run monitoring would see the worker succeed.
        assert launcher.supports_check_run_worker_health
        assert launcher.check_run_worker_health(gpu_run).status == WorkerStatus.SUCCESS
        events = instance.all_logs(gpu_run.run_id)
        assert any("Launching run in AWS Batch job" in (e.message or "") for e in events)

        # Termination goes to Batch as terminate_job for the run's job.
        assert launcher.terminate(gpu_run.run_id) is True
        assert terminated == [{"jobId": job_id, "reason": f"Dagster run {gpu_run.run_id} terminated"}]
        assert instance.get_run_by_id(gpu_run.run_id).status == DagsterRunStatus.CANCELING
        (job,) = boto3.client("batch").describe_jobs(jobs=[job_id])["jobs"]
        assert job["statusReason"] == f"Dagster run {gpu_run.run_id} terminated"


def test_batch_deployment_runs_a_real_materialization_on_postgres(deploy_instance, deploy_env, s3_server, tmp_path):
    """deploy/dagster-batch.yaml as shipped (PostgreSQL storage, queued runs, S3 compute logs, BatchRunLauncher):
    a sensor request for a real video becomes a queued GPU run of `source_video`; the queue daemon launches it on
    Batch; the command Batch received, run as the job's container would run it, materializes the asset."""
    aws_setup.batch_environment()
    instance = deploy_instance("dagster-batch")
    assert isinstance(instance.run_launcher, BatchRunLauncher)
    submitted = record_calls(instance.run_launcher.batch, "batch.SubmitJob")

    video = samples.silent_video(tmp_path / "talk.mp4", seconds=2.0)
    (request,) = upload_and_tick(
        s3_server, deploy_env["VIDASSETS_WATCH_BUCKET"], instance, build_resources(),
        {"uploads/talk.mp4": video.read_bytes()},
    )
    with in_process_code_location(instance) as context:
        run = create_subset_run(
            context, ["source_video"], request.partition_key, {**request.tags, **gpu_run_tags("batch")}
        )
        instance.submit_run(run.run_id, context.create_request_context())
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.QUEUED
        dequeue_runs(context)

    (sent,) = submitted
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTING
    assert sent["jobQueue"] == aws_setup.BATCH_GPU_QUEUE
    assert {"type": "GPU", "value": "1"} in sent["containerOverrides"]["resourceRequirements"]
    command = sent["containerOverrides"]["command"]
    assert parse_command(command).run_id == run.run_id
    # The instance travels as configuration with {env: ...} references: no password in the job request.
    assert deploy_env["DAGSTER_PG_PASSWORD"] not in json.dumps(sent)
    forwarded = {e["name"]: e["value"] for e in sent["containerOverrides"]["environment"]}
    assert {k: forwarded[k] for k in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_DB")} == {
        k: deploy_env[k] for k in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_DB")
    }

    # The job's container: the job definition's environment and secret, then the overrides Batch received.
    job_definition_env = {
        name: deploy_env[name]
        for name in (
            "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
            "VIDASSETS_STORAGE_ROOT", "VIDASSETS_WATCH_BUCKET", "VIDASSETS_WATCH_PREFIX", "VIDASSETS_SCRATCH",
            "DAGSTER_PG_PASSWORD",
        )
    }
    run_worker(command, {**job_definition_env, **forwarded})

    finished = instance.get_run_by_id(run.run_id)
    assert finished.status == DagsterRunStatus.SUCCESS
    event = instance.get_latest_materialization_event(dg.AssetKey("source_video"))
    assert event is not None and event.run_id == run.run_id
    assert event.asset_materialization.partition == request.partition_key
    logs = s3_server.client().list_objects_v2(Bucket=deploy_env["VIDASSETS_LOG_BUCKET"], Prefix="dagster/compute-logs/")
    assert logs.get("KeyCount", 0) > 0, "the run worker's compute logs were not uploaded to S3"
    assert instance.run_launcher.check_run_worker_health(finished).status == WorkerStatus.SUCCESS
