"""Drive a Dagster instance the way the production daemon does: code location, sensor ticks, run queue.

Nothing here replaces Dagster code: the sensor and queue iterations are the daemon's own functions, run once.
"""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget, ModuleTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster._daemon.sensor import execute_sensor_iteration
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import deserialize_value
from dagster._utils.hosted_user_process import recon_job_from_origin

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CODE_LOCATION_FILE = Path(__file__).with_name("code_location.py")
WORKER_IMAGE = "vidassets-worker:test"
LOG = logging.getLogger("vidassets.deploy.tests")


@contextmanager
def in_process_code_location(instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """vidassets_tests/deploy/code_location.py loaded in this process, with a container image on its origin.

    Loaded anew each time: Dagster returns a file it imported before from `sys.modules`, and that copy's resources
    were built from an earlier test's environment (its bucket, or `dg.EnvVar`s this test leaves unset)."""
    sys.modules.pop(CODE_LOCATION_FILE.stem, None)
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable,
            python_file=str(CODE_LOCATION_FILE),
            attribute="defs",
            working_directory=str(REPO),
        ),
        container_image=WORKER_IMAGE,
        location_name="vidassets",
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget([origin])) as context:
        yield context


@contextmanager
def grpc_code_server(instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The real `vidassets.definitions` module served by a `dagster api grpc` subprocess (as in production,
    with this process's environment); the daemon's registry stops the subprocess on exit."""
    from dagster._daemon.controller import create_daemon_grpc_server_registry

    target = ModuleTarget(
        module_name="vidassets.definitions", attribute=None, working_directory=str(REPO), location_name="vidassets"
    )
    with (
        create_daemon_grpc_server_registry(instance) as registry,
        WorkspaceProcessContext(instance, target, grpc_server_registry=registry) as context,
    ):
        entries = context.create_request_context().get_code_location_entries()
        errors = [entry.load_error for entry in entries.values() if entry.load_error]
        assert not errors, errors
        yield context


def tick_sensors(context: WorkspaceProcessContext) -> None:
    """One pass of the sensor daemon: evaluate due sensors, store ticks, add partitions, submit runs."""
    list(execute_sensor_iteration(context, LOG, threadpool_executor=None, submit_threadpool_executor=None))


def dequeue_runs(context: WorkspaceProcessContext) -> None:
    """One pass of the run queue daemon: pool and run limits, then the instance's run launcher. Leaving the
    daemon's context waits for its dequeue threads, so every launch it started has finished."""
    with QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon:
        list(daemon.run_iteration(context))


def create_subset_run(
    context: WorkspaceProcessContext, asset_keys: list[str], partition_key: str, tags: Mapping[str, str]
) -> dg.DagsterRun:
    """A NOT_STARTED run of `video_pipeline` for some assets of one partition, with the remote and code
    origins the launchers need (what the UI's "Materialize selected" creates)."""
    instance = context.instance
    request = context.create_request_context()
    location = request.get_code_location("vidassets")
    repository = next(iter(location.get_repositories().values()))
    remote_job = repository.get_full_job("video_pipeline")
    job_def = recon_job_from_origin(remote_job.get_python_origin()).get_definition()
    return instance.create_run_for_job(
        job_def=job_def,
        asset_selection=frozenset(dg.AssetKey(key) for key in asset_keys),
        tags={**tags, "dagster/partition": partition_key},
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
    )


def parse_command(command: list[str]) -> ExecuteRunArgs:
    assert command[:3] == ["dagster", "api", "execute_run"], command[:3]
    return deserialize_value(command[3], ExecuteRunArgs)


def run_worker(command: list[str], environment: Mapping[str, str], timeout: float = 180.0) -> None:
    """Run a launcher's worker command the way its container would: this venv on PATH (the image's
    /app/.venv/bin), only the given environment plus PATH/HOME/locale/temp settings."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env: dict[str, Any] = {name: os.environ[name] for name in keep if name in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(environment)
    result = subprocess.run(  # noqa: S603 - argument list, no shell
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"run worker exited {result.returncode}:\n{output}"
