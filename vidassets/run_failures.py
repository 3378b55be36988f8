"""The user-facing cause of a failed run, read from Dagster's step-failure events.

A `dagster.Failure`'s description is written for users (it names the object and the cause); other errors give
their innermost message. Used by `vidassets process` and by the warehouse's `videos.reason`.
"""

from collections.abc import Iterable

import dagster as dg


def step_failure_message(events: Iterable[dg.DagsterEvent]) -> str | None:
    """The first step failure's user-facing message, or None when no step failed."""
    for event in events:
        if not event.is_step_failure or event.step_failure_data is None:
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        if data.error is not None:
            return (data.error.cause or data.error).message.strip()
    return None


def run_failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    """Why a failed run failed: its step failure, else the run's own failure event (its worker process died, it
    timed out, ...), else a generic line."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    message = step_failure_message(r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event)
    if message:
        return message
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.message:
            return event.message.strip()
    return f"run {run_id} failed"
