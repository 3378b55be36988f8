"""`speaker_registry_after_tables`: one registry run after warehouse runs succeed, never two at once."""

import dagster as dg
from dagster._core.events import DagsterEvent

from vidassets.definitions import defs
from vidassets.lifecycle import REGISTRY_JOB, TABLES_JOB
from vidassets.sensors.registry import speaker_registry_after_tables


def _tick(instance, cursor):
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        return speaker_registry_after_tables(context)


def _ended(instance, job: str, status: dg.DagsterEventType = dg.DagsterEventType.RUN_SUCCESS) -> dg.DagsterRun:
    run = instance.create_run_for_job(defs.resolve_job_def(job), tags={"dagster/partition": "talk-0123456789ab"}
                                      if job == TABLES_JOB else {})
    instance.report_dagster_event(DagsterEvent(event_type_value=status.value, job_name=job), run_id=run.run_id)
    return run


def test_one_registry_run_after_warehouse_runs_and_none_while_one_is_in_flight(instance):
    first = _tick(instance, None)
    assert not first.run_requests and first.cursor is not None, "the first tick only marks where it starts"
    assert isinstance(_tick(instance, first.cursor), dg.SkipReason)  # nothing ended
    for _ in range(3):
        _ended(instance, TABLES_JOB)
    tick = _tick(instance, first.cursor)
    assert len(tick.run_requests) == 1, "three warehouse runs, one registry run"
    assert isinstance(_tick(instance, tick.cursor), dg.SkipReason), "each ended run is handled once"

    queued = instance.create_run_for_job(defs.resolve_job_def(REGISTRY_JOB))  # NOT_STARTED: in flight
    _ended(instance, TABLES_JOB)
    waiting = _tick(instance, tick.cursor)
    assert isinstance(waiting, dg.SkipReason) and "queued or running" in waiting.skip_message
    instance.report_run_failed(queued)  # the registry run ended: the waiting warehouse run is served now
    after = _tick(instance, tick.cursor)
    assert len(after.run_requests) == 1


def test_other_runs_ending_request_nothing(instance):
    first = _tick(instance, None)
    _ended(instance, "warehouse_compaction_job")
    tick = _tick(instance, first.cursor)
    assert tick.run_requests == [] and tick.cursor != first.cursor
