"""`threaded_executor` on a real Dagster instance: independent steps overlap, dependencies, failures, retries,
limits and interrupts keep Dagster's meaning."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from vidassets.executors import threaded_executor

BARRIER = threading.Barrier(2, timeout=20)
RUNNING = {"now": 0, "most": 0}
RUNNING_LOCK = threading.Lock()
ATTEMPTS: dict[str, int] = {}


def _count_running(seconds: float) -> None:
    with RUNNING_LOCK:
        RUNNING["now"] += 1
        RUNNING["most"] = max(RUNNING["most"], RUNNING["now"])
    time.sleep(seconds)
    with RUNNING_LOCK:
        RUNNING["now"] -= 1


@dg.op
def left() -> int:
    BARRIER.wait()  # returns only when `right` is running at the same time
    return 1


@dg.op
def right() -> int:
    BARRIER.wait()
    return 2


@dg.op
def add(a: int, b: int) -> int:
    return a + b


@dg.job(executor_def=threaded_executor)
def branches():
    add(left(), right())


@dg.op
def slow_a() -> int:
    _count_running(0.3)
    return 1


@dg.op
def slow_b() -> int:
    _count_running(0.3)
    return 2


@dg.op
def slow_c() -> int:
    _count_running(0.3)
    return 3


@dg.job(executor_def=threaded_executor)
def three_independent():
    slow_a()
    slow_b()
    slow_c()


@dg.op
def broken() -> int:
    raise ValueError("bad input: frame 3 is corrupt")


@dg.op
def healthy() -> int:
    time.sleep(0.5)  # still running when `broken` fails
    return 5


@dg.op
def after_broken(value: int) -> int:
    return value


@dg.op
def after_healthy(value: int) -> int:
    return value * 2


@dg.job(executor_def=threaded_executor)
def one_branch_fails():
    after_broken(broken())
    after_healthy(healthy())


@dg.op(retry_policy=dg.RetryPolicy(max_retries=2, delay=0.2))
def flaky() -> int:
    ATTEMPTS["flaky"] = ATTEMPTS.get("flaky", 0) + 1
    if ATTEMPTS["flaky"] == 1:
        raise RuntimeError("transient")
    return 7


@dg.job(executor_def=threaded_executor)
def retried():
    after_healthy(flaky())


@dg.op
def long_step() -> int:
    Path(os.environ["VIDASSETS_TEST_MARKER"]).write_text("started")
    time.sleep(3)
    Path(os.environ["VIDASSETS_TEST_MARKER"] + ".finished").write_text("the long step ran to its end")
    return 1


@dg.op
def never_after_interrupt(value: int) -> int:
    Path(os.environ["VIDASSETS_TEST_MARKER"]).write_text("downstream ran")
    return value


@dg.job(executor_def=threaded_executor)
def interruptible():
    never_after_interrupt(long_step())


TWO_AT_ONCE = {"execution": {"config": {"max_concurrent": 2}}}


def _events(result: dg.JobExecutionResult, kind: str) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == kind and e.step_key]


def test_independent_steps_run_at_the_same_time_and_join() -> None:
    with dg.instance_for_test() as instance:
        with dg.execute_job(dg.reconstructable(branches), instance, run_config=TWO_AT_ONCE) as result:
            assert result.success
            assert result.output_for_node("add") == 3
        assert sorted(_events(result, "STEP_SUCCESS")) == ["add", "left", "right"]
        # every step's events are in the run's event log, in order per step
        logged = [e.dagster_event.event_type_value for e in instance.all_logs(result.run_id)
                  if e.dagster_event and e.step_key == "add"]
        assert logged[0] == "STEP_START" and logged[-1] == "STEP_SUCCESS"


def test_max_concurrent_bounds_the_steps_at_once_and_the_default_is_two() -> None:
    with dg.instance_for_test() as instance:
        for limit, expected in ((2, 2), (1, 1), (None, 2)):
            RUNNING["most"] = 0
            config = {"execution": {"config": {"max_concurrent": limit}}} if limit else None
            result = dg.execute_job(dg.reconstructable(three_independent), instance, run_config=config)
            assert result.success
            assert RUNNING["most"] == expected


def test_one_branch_failing_skips_its_downstream_and_the_other_branch_finishes() -> None:
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(one_branch_fails), instance, run_config=TWO_AT_ONCE)
        assert not result.success
        assert _events(result, "STEP_FAILURE") == ["broken"]
        assert sorted(_events(result, "STEP_SUCCESS")) == ["after_healthy", "healthy"]
        assert "after_broken" not in _events(result, "STEP_START")
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert "frame 3 is corrupt" in str(failure.step_failure_data.error)


def test_a_retry_policy_still_retries() -> None:
    ATTEMPTS.clear()
    with dg.instance_for_test() as instance:
        with dg.execute_job(dg.reconstructable(retried), instance) as result:
            assert result.success
            assert result.output_for_node("after_healthy") == 14
        assert ATTEMPTS["flaky"] == 2
        assert "STEP_UP_FOR_RETRY" in [e.event_type_value for e in result.all_events]


def test_max_concurrent_below_one_is_refused() -> None:
    with dg.instance_for_test() as instance:
        with pytest.raises(dg.DagsterInvalidConfigError):
            dg.execute_job(dg.reconstructable(branches), instance,
                           run_config={"execution": {"config": {"max_concurrent": "two"}}})
        with pytest.raises(Exception, match="max_concurrent must be >= 1, not 0"):
            dg.execute_job(dg.reconstructable(branches), instance,
                           run_config={"execution": {"config": {"max_concurrent": 0}}})


INTERRUPTED_RUN = """
import json, sys
import dagster as dg
from vidassets_tests import test_executors
with dg.instance_for_test(temp_dir=sys.argv[1]) as instance:
    result = dg.execute_job(dg.reconstructable(test_executors.interruptible), instance, raise_on_error=False,
                            run_config=json.loads(sys.argv[2]))
    print("STATUS", instance.get_run_by_id(result.run_id).status.value, flush=True)
"""


def _interrupt_mid_step(tmp_path: Path, run_config: dict) -> tuple[Path, str, str]:
    """Run `interruptible` in a subprocess, SIGINT it while `long_step` runs; (marker, stdout, stderr)."""
    marker = tmp_path / "marker"
    env = {**os.environ, "VIDASSETS_TEST_MARKER": str(marker)}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", INTERRUPTED_RUN, str(tmp_path), json.dumps(run_config)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert "STATUS FAILURE" in out, out + err[-3000:]  # as Dagster's in-process executor ends an interrupted run
    assert marker.read_text() == "started", "a step started after the interrupt"
    return marker, out, err


def test_with_threads_an_interrupt_lets_the_running_step_finish_and_starts_nothing_after_it(tmp_path: Path) -> None:
    marker, _, err = _interrupt_mid_step(tmp_path, TWO_AT_ONCE)
    assert "Interrupted: no new step starts" in err, err[-3000:]
    assert Path(f"{marker}.finished").exists(), "a step in a thread cannot be stopped half-way"


def test_one_at_a_time_an_interrupt_stops_the_running_step_at_once(tmp_path: Path) -> None:
    # max_concurrent 1: a long transcription is cancelled at once, as on Dagster's in-process executor
    marker, _, err = _interrupt_mid_step(tmp_path, {"execution": {"config": {"max_concurrent": 1}}})
    assert not Path(f"{marker}.finished").exists(), "the interrupted step ran to its end"
    assert "Interrupted: no new step starts" not in err
