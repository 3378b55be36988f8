"""`threaded_executor`: the steps of one run in one warm process, independent steps at the same time in threads.

Dagster's in-process executor runs one step at a time, so a video's picture branch (shots, on-screen text, faces:
video decode on the CPU) waited for its speech branch (Whisper and the diarizer: the GPU when there is one, or
both cores' matrix kernels) or the other way round. Both branches spend their time in native code that releases
the GIL (FFmpeg, CTranslate2, torch, ONNX Runtime, OpenCV), so threads overlap them without leaving the process
that holds the loaded models: the run can end when its longer branch ends instead of after the sum. The
multiprocess executor would overlap them too, but every step process would load its models again. The default is
two at once (see DEFAULT_MAX_CONCURRENT for what was measured).

Everything Dagster's own in-process loop does is kept (step order and retries from `ActiveExecution`, pools and
tag limits, skips after a failure, hooks, one compute-log capture per run); only the step bodies move to threads.
`max_concurrent: 1` runs Dagster's in-process executor itself. A step running in a thread cannot be interrupted by
a signal (Python delivers them to the main thread only): with more than one, on termination no new step starts,
the running ones finish, then the run stops as interrupted; with one, the running step is interrupted at once.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, cast

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import (
    PlanExecutionContext,
    PlanOrchestrationContext,
    StepExecutionContext,
)
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.base import Executor
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.executor.init import InitExecutorContext

# The picture branch beside the speech branch. On 2 idle CPU cores the 10-minute bench video took 53.3 s instead of
# 62.1 s one step at a time, and 53.4 s instead of 60.5 s with the order swapped (benchmarks/bench_pipeline.py
# --compare 1); the corpus through the sensor was no slower (1.01x against 0.98x one warm process). On a machine
# other jobs kept busy it was slower (0.87x against 0.96x): `max_concurrent: 1` for hosts without a spare core, and
# for a cancel that stops the running step at once. On a GPU host the speech steps leave the CPU to the decode.
DEFAULT_MAX_CONCURRENT = 2
POLL_S = 0.5  # how often the loop looks at pools, retries and interrupts while steps run


@dataclass
class _Running:
    context: StepExecutionContext
    events: list[DagsterEvent] = field(default_factory=list)


_DONE = object()  # a step thread's last message


def _run_step(step_context: StepExecutionContext, outbox: queue.Queue) -> None:
    """One step's events, in a thread, handed to the orchestrating loop in order; its end marked by `_DONE`."""
    key = step_context.step.key
    try:
        for event in dagster_event_sequence_for_step(step_context):
            outbox.put((key, event))
    except BaseException:  # noqa: BLE001 - re-raised in the orchestrating thread
        outbox.put((key, sys.exc_info()[1]))
    finally:
        outbox.put((key, _DONE))


def threaded_plan_iterator(
    job_context: PlanExecutionContext, execution_plan: ExecutionPlan, max_concurrent: int
) -> Iterator[DagsterEvent]:
    """Dagster's `inner_plan_execution_iterator` with up to `max_concurrent` step bodies running at once."""
    compute_log_manager = job_context.instance.compute_log_manager
    step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    outbox: queue.Queue = queue.Queue()
    running: dict[str, _Running] = {}
    with ExitStack() as stack:
        concurrency = stack.enter_context(InstanceConcurrencyContext(job_context.instance, job_context.dagster_run))
        active = stack.enter_context(execution_plan.start(
            retry_mode=job_context.retry_mode, max_concurrent=max_concurrent,
            instance_concurrency_context=concurrency, step_dependency_config=job_context.step_dependency_config,
        ))  # fmt: skip
        log_key = compute_log_manager.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
        log_context = stack.enter_context(compute_log_manager.capture_logs(log_key))
        yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
        interrupted = False
        while running or (not interrupted and not active.is_complete):
            if not interrupted and active.check_for_interrupts():
                interrupted = True
                active.mark_interrupted()
                yield DagsterEvent.engine_event(
                    job_context, f"Interrupted: no new step starts; waiting for {sorted(running)} to finish",
                    EngineEventData.interrupted(list(running)),
                )  # fmt: skip
            if not interrupted:
                for step in active.get_steps_to_execute(limit=max_concurrent - len(running)):
                    context = job_context.for_step(step, active.get_known_state())
                    missing = [key for key in context.required_resource_keys if not hasattr(context.resources, key)]
                    if missing:
                        raise dg.DagsterInvariantViolationError(f"step {step.key} lacks resources {missing}")
                    running[step.key] = _Running(context)
                    threading.Thread(target=_run_step, args=(context, outbox), name=f"step:{step.key}",
                                     daemon=True).start()
                yield from active.concurrency_event_iterator(job_context)
            if not running:
                if not interrupted and not active.is_complete:
                    active.sleep_til_ready()
                continue
            try:
                key, item = outbox.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, DagsterEvent):
                running[key].events.append(item)
                yield item
                active.handle_event(item)
            elif isinstance(item, BaseException):
                raise item
            else:  # the step's thread ended
                done = running.pop(key)
                active.verify_complete(job_context, key)
                for event in active.plan_events_iterator(job_context):
                    done.events.append(event)
                    yield event
                yield from _trigger_hook(done.context, done.events)
        if interrupted:
            raise DagsterExecutionInterruptedError("the run was interrupted")


class ThreadedExecutor(Executor):
    def __init__(self, retries: RetryMode, max_concurrent: int) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, not {max_concurrent}")
        self._retries = retries
        self.max_concurrent = max_concurrent

    @property
    def retries(self) -> RetryMode:
        return self._retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return StepDependencyConfig.default()

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        if self.max_concurrent == 1:
            # Dagster's own loop: steps in the main thread, so a termination signal interrupts the running step
            yield from InProcessExecutor(self._retries, self.step_dependency_config).execute(plan_context,
                                                                                            execution_plan)
            return
        steps = execution_plan.step_keys_to_execute
        yield DagsterEvent.engine_event(
            plan_context, f"Executing steps in process (pid: {os.getpid()}), up to {self.max_concurrent} at once",
            event_specific_data=EngineEventData.in_process(os.getpid(), steps),
        )  # fmt: skip

        def iterator(job_context: PlanExecutionContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
            return threaded_plan_iterator(job_context, execution_plan, self.max_concurrent)

        yield from iter(ExecuteRunWithPlanIterable(
            execution_plan=plan_context.execution_plan,
            iterator=iterator,
            execution_context_manager=PlanExecutionContextManager(
                job=plan_context.job, retry_mode=plan_context.retry_mode,
                execution_plan=plan_context.execution_plan, run_config=plan_context.run_config,
                dagster_run=plan_context.dagster_run, instance=plan_context.instance,
                raise_on_error=plan_context.raise_on_error, output_capture=plan_context.output_capture,
                step_dependency_config=self.step_dependency_config,
            ),
        ))  # fmt: skip


@dg.executor(
    name="threaded",
    config_schema={
        "retries": get_retries_config(),
        "max_concurrent": dg.Field(int, default_value=DEFAULT_MAX_CONCURRENT, is_required=False,
                                   description="Steps of the run running at once (1: one at a time)."),
    },
)
def threaded_executor(init_context: InitExecutorContext) -> ThreadedExecutor:
    """Steps of a run in this process (warm models), independent ones at the same time in threads."""
    config = init_context.executor_config
    retries = cast(dict[str, Any], config["retries"])
    return ThreadedExecutor(RetryMode.from_config(retries) or RetryMode.DISABLED,
                            int(cast(int, config["max_concurrent"])))
