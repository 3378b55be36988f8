"""Follow one video's run in the Dagster instance from outside the Dagster processes, and report what it
produced, so `vidassets up` can show progress in the terminal without the UI.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster import DagsterEventType

from vidassets import lifecycle

TERMINAL = frozenset({dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED})
_PROGRESS_EVENTS = {
    DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION, DagsterEventType.STEP_FAILURE
}
# Metadata worth a word in the console as each asset lands.
_HEADLINE_KEYS = ("verdict", "reasons", "language", "word_count", "speakers", "method", "title", "skipped")
_FAILURE_EVENTS = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}


def _epoch(value: datetime | float) -> float:
    if isinstance(value, int | float):
        return float(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def runs_for_video(instance: dg.DagsterInstance, video_id: str, limit: int = 20) -> list[dg.RunRecord]:
    """The video's pipeline runs, newest first."""
    return lifecycle.pipeline_runs(instance, video_id, limit=limit)


class RunFollower:
    """Call `poll()` periodically: finds the run, prints status changes and materializations as they land."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        video_id: str,
        ui_url: str,
        *,
        created_after: float | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.instance = instance
        self.video_id = video_id
        self.ui_url = ui_url.rstrip("/")
        self.created_after = created_after
        self.say = say
        self.run_id: str | None = None
        self.status: dg.DagsterRunStatus | None = None
        self._events_cursor: str | None = None
        self._started_at: float | None = None

    def run_url(self, run_id: str | None = None) -> str:
        return f"{self.ui_url}/runs/{run_id or self.run_id}"

    def older_run(self) -> dg.RunRecord | None:
        """The newest run for the video created before `created_after` (an earlier session's run)."""
        for record in runs_for_video(self.instance, self.video_id):
            if self.created_after is None or _epoch(record.create_timestamp) < self.created_after:
                return record
        return None

    def poll(self) -> dg.DagsterRun | None:
        """The run once it has ended, else None."""
        if self.run_id is None:
            for record in runs_for_video(self.instance, self.video_id):
                if self.created_after is None or _epoch(record.create_timestamp) >= self.created_after:
                    self.run_id = record.dagster_run.run_id
                    self.say(f"run {self.run_id[:8]} for video {self.video_id}: {self.run_url()}")
                    break
            else:
                return None
        record = self.instance.get_run_record_by_id(self.run_id)
        if record is None:
            return None
        run = record.dagster_run
        self._started_at = record.start_time
        ended = run.status in TERMINAL
        if run.status != self.status and not ended:
            self.status = run.status
            self.say(f"run {self.run_id[:8]}: {run.status.value}")
        self._print_progress()  # after STARTED, before SUCCESS/FAILURE
        if run.status != self.status and ended:
            self.status = run.status
            took = f" after {record.end_time - record.start_time:.0f}s" if record.start_time and record.end_time else ""
            self.say(f"run {self.run_id[:8]}: {run.status.value}{took}")
        return run if ended else None

    def _print_progress(self) -> None:
        assert self.run_id is not None
        conn = self.instance.get_records_for_run(self.run_id, cursor=self._events_cursor, of_type=_PROGRESS_EVENTS)
        for record in conn.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None:
                continue
            elapsed = f" (+{entry.timestamp - self._started_at:.0f}s)" if self._started_at else ""
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
                metadata = event.step_materialization_data.materialization.metadata
                self.say(f"  materialized {event.asset_key.to_user_string()}{elapsed}{_headline(metadata)}")
            elif event.event_type == DagsterEventType.ASSET_OBSERVATION and event.asset_key is not None:
                metadata = event.asset_observation_data.asset_observation.metadata
                if "skipped" in metadata:
                    self.say(f"  not materialized {event.asset_key.to_user_string()}{elapsed}{_headline(metadata)}")
            elif event.event_type == DagsterEventType.STEP_FAILURE:
                self.say(f"  step {event.step_key} failed")
        self._events_cursor = conn.cursor

    # ------------------------------------------------------------- reports

    def materialized_assets(self) -> list[str]:
        """Asset keys with at least one materialization for this video's partition (any run)."""
        found = []
        for key in self.instance.get_asset_keys():
            result = self.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=[self.video_id]), limit=1
            )
            if result.records:
                found.append(key.to_user_string())
        return sorted(found)

    def failure_messages(self, max_lines: int = 12) -> list[str]:
        assert self.run_id is not None
        lines: list[str] = []
        for entry in self.instance.all_logs(self.run_id, of_type=_FAILURE_EVENTS):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.STEP_FAILURE and event.step_failure_data:
                text = _error_chain(event.step_failure_data.error) or entry.message
                lines.append(f"step {event.step_key}: " + "\n  ".join(text.strip().splitlines()[:max_lines]))
            elif event.event_type == DagsterEventType.RUN_FAILURE:
                lines.append(f"run: {(event.message or entry.message or 'failed').strip()}")
        return lines


def output_locations(client: Any, bucket: str, video_id: str, skip_prefix: str) -> list[str]:
    """`s3://bucket/<prefix ending in video_id>/ (n objects, size)` for every prefix holding this video's
    outputs; relies only on outputs being stored under a path segment equal to the video id."""
    groups: dict[str, list[int]] = defaultdict(list)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            key: str = obj["Key"]
            if key.startswith(skip_prefix):
                continue
            parts = key.split("/")
            if video_id in parts[:-1]:
                prefix = "/".join(parts[: parts.index(video_id) + 1]) + "/"
                groups[prefix].append(int(obj["Size"]))
            elif video_id in parts[-1]:
                groups[key].append(int(obj["Size"]))
    return [
        f"s3://{bucket}/{prefix}  ({len(sizes)} object{'s' if len(sizes) != 1 else ''}, {_size(sum(sizes))})"
        for prefix, sizes in sorted(groups.items())
    ]


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _error_chain(error: Any) -> str:
    """Messages of a SerializableErrorInfo and its causes, outermost first: Dagster wraps the user's
    exception ("Error occurred while executing op ...") and the useful part is the cause."""
    messages: list[str] = []
    while error is not None and len(messages) < 5:
        if error.message:
            messages.append(error.message.strip())
        error = error.cause or error.context
    return "\ncaused by: ".join(messages)


def _headline(metadata: dict) -> str:
    parts = [f"{key}={metadata[key].value}" for key in _HEADLINE_KEYS if key in metadata]
    return f": {', '.join(parts)}" if parts else ""
