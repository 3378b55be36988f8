"""`WarmWorkerRunLauncher`: dagster-celery's `CeleryRunLauncher` with vidassets' broker settings, the run's
`dagster/priority` turned into the broker priority, and a health check that says when a worker died.

Runs go to the queue in their `dagster-celery/queue` tag (`gpu` for video_pipeline, `cpu` for warehouse jobs; see
vidassets/jobs.py). Configured in dagster.yaml (embedded default) and deploy/dagster-celery.yaml (production).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Self

from celery.exceptions import WorkerLostError
from dagster import Field, Noneable, Permissive, StringSource
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, ResumeRunContext, WorkerStatus
from dagster._serdes import ConfigurableClassData
from dagster_celery.launcher import CeleryRunLauncher

from vidassets.settings import load_settings
from vidassets.workers.broker import celery_settings
from vidassets.workers.queues import CELERY_PRIORITY_TAG, CPU_QUEUE, TASK_ID_TAG, broker_priority, dagster_priority

# A worker that does not list the run's task among its active ones for this long has lost it (the whole worker
# was killed, or restarted without it). Short broker outages (a Redis restart) stay below it.
WORKER_LOST_AFTER_S = 45.0


class WarmWorkerRunLauncher(CeleryRunLauncher):
    """Launches each run as a Celery task on a long-lived worker that keeps its loaded models."""

    def __init__(
        self,
        default_queue: str = CPU_QUEUE,
        broker: str | None = None,
        backend: str | None = None,
        include: list[str] | None = None,
        config_source: dict | None = None,
        inst_data: ConfigurableClassData | None = None,
        worker_lost_after_s: float = WORKER_LOST_AFTER_S,
    ) -> None:
        self.worker_lost_after_s = worker_lost_after_s
        self._unanswered_since: dict[str, float] = {}
        workers = load_settings().workers  # the launcher is built when the instance loads: settings read then
        super().__init__(
            default_queue=default_queue,
            broker=broker or workers.broker_url,
            backend=backend or workers.result_backend,
            include=include,
            config_source={**celery_settings(), **(config_source or {})},
            inst_data=inst_data,
        )

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "broker": Field(Noneable(StringSource), is_required=False, description="Default: $VIDASSETS_BROKER_URL"),
            "backend": Field(
                Noneable(StringSource), is_required=False, description="Default: $VIDASSETS_RESULT_BACKEND"
            ),
            "include": Field([str], is_required=False),
            "default_queue": Field(StringSource, is_required=False, default_value=CPU_QUEUE),
            "config_source": Field(Noneable(Permissive()), is_required=False),
            "worker_lost_after_s": Field(float, is_required=False, default_value=WORKER_LOST_AFTER_S),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        return cls(inst_data=inst_data, **config_value)

    # ------------------------------------------------------------------ launching

    def _with_broker_priority(self, run_id: str) -> Any:
        run = self._instance.get_run_by_id(run_id)
        assert run is not None
        wanted = str(broker_priority(dagster_priority(dict(run.tags))))
        if run.tags.get(CELERY_PRIORITY_TAG) != wanted:
            self._instance.add_run_tags(run_id, {CELERY_PRIORITY_TAG: wanted})
            run = self._instance.get_run_by_id(run_id)
        return run

    def launch_run(self, context: LaunchRunContext) -> None:
        run = self._with_broker_priority(context.dagster_run.run_id)
        super().launch_run(LaunchRunContext(dagster_run=run, workspace=context.workspace))

    def resume_run(self, context: ResumeRunContext) -> None:
        run = self._with_broker_priority(context.dagster_run.run_id)
        super().resume_run(
            ResumeRunContext(
                dagster_run=run, workspace=context.workspace, resume_attempt_number=context.resume_attempt_number
            )
        )

    # ------------------------------------------------------------------ health

    def check_run_worker_health(self, run: Any) -> CheckRunHealthResult:
        task_id = run.tags.get(TASK_ID_TAG)
        if not task_id:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no Celery task id on the run yet")
        result = self.celery.AsyncResult(task_id)
        state = result.state
        if state == "SUCCESS":
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        if state == "FAILURE":
            cause = result.info
            if isinstance(cause, WorkerLostError):
                return CheckRunHealthResult(
                    WorkerStatus.FAILED,
                    f"the worker process executing this run died (killed by a signal, e.g. the OOM killer): {cause}",
                )
            return CheckRunHealthResult(WorkerStatus.FAILED, f"Celery task failed: {type(cause).__name__}: {cause}")
        if state == "STARTED":
            return self._started_health(run.run_id, task_id, result.info)
        return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"Celery task state {state}")

    def _started_health(self, run_id: str, task_id: str, info: Any) -> CheckRunHealthResult:
        hostname = info.get("hostname") if isinstance(info, dict) else None
        pid = info.get("pid") if isinstance(info, dict) else None
        if not hostname:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        if self._worker_has_task(hostname, task_id):
            self._unanswered_since.pop(run_id, None)
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        first = self._unanswered_since.setdefault(run_id, time.monotonic())
        if time.monotonic() - first < self.worker_lost_after_s:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        self._unanswered_since.pop(run_id, None)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the worker {hostname} that started this run (process {pid}) has not reported it for "
            f"{self.worker_lost_after_s:.0f}s: the worker died or was restarted",
        )

    def _worker_has_task(self, hostname: str, task_id: str) -> bool:
        try:
            replies = self.celery.control.inspect(destination=[hostname], timeout=2.0).active() or {}
        except Exception:  # noqa: BLE001 - broker unreachable: not evidence that the worker died
            return True
        return any(task.get("id") == task_id for task in replies.get(hostname, []))
