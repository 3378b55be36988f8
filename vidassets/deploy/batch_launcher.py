"""`BatchRunLauncher`: every Dagster run becomes one AWS Batch job on a (GPU) job queue.

The job runs the standard run worker command, `dagster api execute_run <ExecuteRunArgs JSON>`, in the
container of a job definition you register with the worker image (docker/Dockerfile.worker). Per run it sends
`containerOverrides` with that command, the resource requirements (GPU, VCPU, MEMORY) and the environment
variables named in `env_vars`. Sizes and the queue come from launcher config, overridden per run by the tags
`batch/job_queue`, `batch/gpu`, `batch/vcpu`, `batch/memory` (MiB) that `vidassets.deploy.gpu_run_tags()` sets.

Instance config (deploy/dagster-batch.yaml):

    run_launcher:
      module: vidassets.deploy.batch_launcher
      class: BatchRunLauncher
      config:
        job_queue: {env: VIDASSETS_BATCH_JOB_QUEUE}
        job_definition: {env: VIDASSETS_BATCH_JOB_DEFINITION}

Run monitoring calls `check_run_worker_health` (from `describe_jobs`); termination calls `terminate_job`.
The job id is stored on the run as the `batch/job_id` tag. Like the ECS launcher, the job definition (not the
run) decides the image, the job role and the log group, so deploy the code location and a new job definition
revision with the same image tag together.
"""

import logging
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Self

import boto3
from dagster import Array, Field, IntSource, Noneable, StringSource
from dagster import _check as check
from dagster._core.events import EngineEventData
from dagster._core.launcher.base import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import RUN_WORKER_ID_TAG
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass
from dagster._serdes.config_class import ConfigurableClassData

from vidassets.deploy.gpu_tags import BATCH_GPU_TAG, BATCH_JOB_QUEUE_TAG, BATCH_MEMORY_TAG, BATCH_VCPU_TAG

logger = logging.getLogger(__name__)

BATCH_JOB_ID_TAG = "batch/job_id"
BATCH_JOB_NAME_TAG = "batch/job_name"
BATCH_JOB_QUEUE_USED_TAG = "batch/job_queue_arn"

# https://docs.aws.amazon.com/batch/latest/userguide/job_states.html
ACTIVE_STATUSES = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})
STATUS_TO_WORKER = {
    **{status: WorkerStatus.RUNNING for status in ACTIVE_STATUSES},
    "SUCCEEDED": WorkerStatus.SUCCESS,
    "FAILED": WorkerStatus.FAILED,
}
# Batch's statusReason when the host went away (Spot reclaim, scale-in, hardware): not the run's fault.
_HOST_LOST = re.compile(r"^Host EC2 \(instance [^)]*\) terminated")

JOB_NAME_MAX = 128
_JOB_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def batch_job_name(prefix: str, job_name: str, run_id: str) -> str:
    """`<prefix>-<job>-<run id>`: letters, digits, `-`, `_`, at most 128 characters, run id always kept."""
    head = _JOB_NAME_BAD.sub("-", f"{prefix}-{job_name}").strip("-_") or "dagster"
    head = head[: JOB_NAME_MAX - len(run_id) - 1].rstrip("-_")
    return f"{head}-{run_id}"


def worker_health(job: Mapping[str, Any] | None, run_worker_id: str | None = None) -> CheckRunHealthResult:
    """Map one `describe_jobs` entry to Dagster's view of the run worker."""
    if job is None:
        return CheckRunHealthResult(WorkerStatus.NOT_FOUND, "Batch job not found", run_worker_id=run_worker_id)
    status = job.get("status", "")
    worker = STATUS_TO_WORKER.get(status, WorkerStatus.UNKNOWN)
    if worker != WorkerStatus.FAILED:
        msg = None if worker != WorkerStatus.UNKNOWN else f"unknown Batch job status {status!r}"
        return CheckRunHealthResult(worker, msg, run_worker_id=run_worker_id)
    return CheckRunHealthResult(
        WorkerStatus.FAILED,
        describe_failure(job),
        transient=bool(_HOST_LOST.search(job.get("statusReason") or "")),
        run_worker_id=run_worker_id,
    )


def describe_failure(job: Mapping[str, Any]) -> str:
    lines = [f"Batch job {job.get('jobId')} ({job.get('jobName')}) FAILED: {job.get('statusReason') or '-'}"]
    for number, attempt in enumerate(job.get("attempts") or [], start=1):
        container = attempt.get("container") or {}
        lines.append(
            f"attempt {number}: exit code {container.get('exitCode', '-')}, "
            f"reason {container.get('reason') or attempt.get('statusReason') or '-'}, "
            f"log stream {container.get('logStreamName') or '-'}"
        )
    container = job.get("container") or {}
    if container.get("logStreamName"):
        lines.append(f"log stream: {container['logStreamName']}")
    return "\n".join(lines)


class BatchRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run as an AWS Batch job (see the module docstring)."""

    def __init__(
        self,
        job_queue: str,
        job_definition: str,
        inst_data: ConfigurableClassData | None = None,
        gpu: int = 0,
        vcpu: int | None = None,
        memory: int | None = None,
        env_vars: Sequence[str] | None = None,
        region_name: str | None = None,
        attempt_duration_seconds: int | None = None,
        job_name_prefix: str = "dagster",
        fail_job_on_run_failure: bool = True,
        job_tags: Mapping[str, str] | None = None,
    ):
        self._inst_data = inst_data
        self.job_queue = check.str_param(job_queue, "job_queue")
        self.job_definition = check.str_param(job_definition, "job_definition")
        self.gpu = check.int_param(gpu, "gpu")
        self.vcpu = check.opt_int_param(vcpu, "vcpu")
        self.memory = check.opt_int_param(memory, "memory")
        self.env_vars = list(check.opt_sequence_param(env_vars, "env_vars", of_type=str))
        self.attempt_duration_seconds = check.opt_int_param(attempt_duration_seconds, "attempt_duration_seconds")
        self.job_name_prefix = check.str_param(job_name_prefix, "job_name_prefix")
        self.fail_job_on_run_failure = check.bool_param(fail_job_on_run_failure, "fail_job_on_run_failure")
        self.job_tags = dict(check.opt_mapping_param(job_tags, "job_tags", key_type=str, value_type=str))
        # Credentials and endpoint from the standard chain (task role, AWS_ENDPOINT_URL[_BATCH], ...).
        self.batch = boto3.client("batch", region_name=region_name)
        super().__init__()

    # ------------------------------------------------------------------ ConfigurableClass

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "job_queue": Field(StringSource, description="Default job queue (name or ARN); tag batch/job_queue."),
            "job_definition": Field(
                StringSource, description="Job definition (name, name:revision or ARN) with the worker image."
            ),
            "gpu": Field(IntSource, is_required=False, default_value=0, description="GPUs; tag batch/gpu."),
            "vcpu": Field(IntSource, is_required=False, description="vCPUs; tag batch/vcpu. Default: job def."),
            "memory": Field(IntSource, is_required=False, description="MiB; tag batch/memory. Default: job def."),
            "env_vars": Field(
                Array(StringSource),
                is_required=False,
                description="Environment for the run worker: `NAME` (value taken from the launcher's "
                "environment) or `NAME=value`. Secrets belong in the job definition (`secrets`), not here.",
            ),
            "region_name": Field(StringSource, is_required=False),
            "attempt_duration_seconds": Field(
                IntSource, is_required=False, description="Batch kills the job after this long (job timeout)."
            ),
            "job_name_prefix": Field(StringSource, is_required=False, default_value="dagster"),
            "fail_job_on_run_failure": Field(
                bool,
                is_required=False,
                default_value=True,
                description="Exit non-zero when the run fails, so the Batch job is FAILED too.",
            ),
            "job_tags": Field(
                Noneable(dict), is_required=False, description="Extra tags on every Batch job (cost allocation)."
            ),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        return cls(inst_data=inst_data, **config_value)

    # ------------------------------------------------------------------ launching

    def _resource_requirements(self, run: DagsterRun) -> list[dict[str, str]]:
        tags = run.tags
        gpu = int(tags.get(BATCH_GPU_TAG, self.gpu))
        vcpu = tags.get(BATCH_VCPU_TAG, self.vcpu)
        memory = tags.get(BATCH_MEMORY_TAG, self.memory)
        requirements = []
        if gpu > 0:
            requirements.append({"type": "GPU", "value": str(gpu)})
        if vcpu is not None:
            requirements.append({"type": "VCPU", "value": str(int(vcpu))})
        if memory is not None:
            requirements.append({"type": "MEMORY", "value": str(int(memory))})
        return requirements

    def _environment(self, run: DagsterRun) -> list[dict[str, str]]:
        env = {"DAGSTER_RUN_JOB_NAME": run.job_name}
        for item in self.env_vars:
            name, sep, value = item.partition("=")
            if sep:
                env[name] = value
            elif name in os.environ:  # forwarded to the job as the daemon has it (a child's environment)
                env[name] = os.environ[name]
        return [{"name": name, "value": value} for name, value in env.items()]

    def run_worker_command(self, context: LaunchRunContext) -> list[str]:
        """`dagster api execute_run <args>`, built as EcsRunLauncher builds it (container context stripped, so
        the overrides stay small)."""
        run = context.dagster_run
        job_origin = check.not_none(context.job_code_origin)
        repository_origin = job_origin.repository_origin._replace(container_context={})
        args = ExecuteRunArgs(
            job_origin=job_origin._replace(repository_origin=repository_origin),
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=self.fail_job_on_run_failure or None,
        )
        return list(args.get_command_args())

    def submit_job_kwargs(self, context: LaunchRunContext) -> dict[str, Any]:
        run = context.dagster_run
        overrides: dict[str, Any] = {"command": self.run_worker_command(context), "environment": self._environment(run)}
        requirements = self._resource_requirements(run)
        if requirements:
            overrides["resourceRequirements"] = requirements
        kwargs: dict[str, Any] = {
            "jobName": batch_job_name(self.job_name_prefix, run.job_name, run.run_id),
            "jobQueue": run.tags.get(BATCH_JOB_QUEUE_TAG, self.job_queue),
            "jobDefinition": self.job_definition,
            "containerOverrides": overrides,
            "tags": {**self.job_tags, "dagster/run_id": run.run_id, "dagster/job_name": run.job_name},
            "propagateTags": True,
        }
        if self.attempt_duration_seconds:
            kwargs["timeout"] = {"attemptDurationSeconds": self.attempt_duration_seconds}
        return kwargs

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        kwargs = self.submit_job_kwargs(context)
        response = self.batch.submit_job(**kwargs)
        job_id = response["jobId"]
        self._instance.add_run_tags(
            run.run_id,
            {
                BATCH_JOB_ID_TAG: job_id,
                BATCH_JOB_NAME_TAG: response.get("jobName", kwargs["jobName"]),
                BATCH_JOB_QUEUE_USED_TAG: kwargs["jobQueue"],
                RUN_WORKER_ID_TAG: uuid.uuid4().hex[:6],
            },
        )
        requirements = kwargs["containerOverrides"].get("resourceRequirements", [])
        self._instance.report_engine_event(
            message="Launching run in AWS Batch job",
            dagster_run=run,
            engine_event_data=EngineEventData(
                {
                    "Batch job id": job_id,
                    "Batch job queue": kwargs["jobQueue"],
                    "Batch job definition": self.job_definition,
                    "Resources": ", ".join(f"{r['type']}={r['value']}" for r in requirements) or "job definition",
                    "Run ID": run.run_id,
                }
            ),
            cls=self.__class__,
        )

    # ------------------------------------------------------------------ monitoring and termination

    def _describe_job(self, job_id: str) -> Mapping[str, Any] | None:
        jobs = self.batch.describe_jobs(jobs=[job_id]).get("jobs") or []
        return jobs[0] if jobs else None

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        run_worker_id = run.tags.get(RUN_WORKER_ID_TAG)
        job_id = run.tags.get(BATCH_JOB_ID_TAG)
        if not job_id:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no batch/job_id tag", run_worker_id=run_worker_id)
        result = worker_health(self._describe_job(job_id), run_worker_id)
        if result.status == WorkerStatus.FAILED:
            logger.warning("Run monitoring detected a failed Batch job: %s", result.msg)
        return result

    def get_run_worker_debug_info(self, run: DagsterRun, include_container_logs: bool | None = True) -> str | None:
        job_id = run.tags.get(BATCH_JOB_ID_TAG)
        if not job_id:
            return None
        job = self._describe_job(job_id)
        if job is None:
            return f"Batch job {job_id} not found"
        return f"Batch job {job_id}: {job.get('status')} ({job.get('statusReason') or '-'})\n" + describe_failure(job)

    def terminate(self, run_id: str) -> bool:
        """Ask Batch to stop the run's job (`terminate_job` cancels queued jobs and stops running ones; it is a
        no-op for finished jobs). Returns False when the run is finished or was never submitted."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        job_id = run.tags.get(BATCH_JOB_ID_TAG)
        if not job_id:
            return False
        self.batch.terminate_job(jobId=job_id, reason=f"Dagster run {run_id} terminated")
        self._instance.report_engine_event(
            message=f"Sent terminate_job for Batch job {job_id}", dagster_run=run, cls=self.__class__
        )
        return True
