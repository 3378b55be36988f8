"""A video's life in the Dagster instance, decided in one place: the names its runs go by, the object a partition
stands for, which runs process it, and what its status is. The warehouse rows, the API, the webhook sensors, the
warehouse sensor, `vidassets status`, run costs and `vidassets up` all ask here.

    uploaded    the object exists; no pipeline run yet
    queued      a pipeline run waits for the run queue, or failed and Dagster's run retries will run it again
    processing  a pipeline run is executing; `current_step` is the asset being materialized
    completed   the newest pipeline run succeeded; approved, or no speech (`vidassets.verdict`)
    rejected    the newest pipeline run succeeded and the visual or the spoken verdict rejected it (`reasons`)
    failed      the newest pipeline run failed for good, or was canceled (`error`)

A *pipeline run* of a video is any run for its partition that materializes one of the per-video assets: the
sensor's `video_pipeline` runs, their retries, reprocessing through the API, and asset jobs launched from the UI;
not the warehouse run (`video_tables_job`) that follows each of them.

Imports no asset or job module (the API process loads this without loading a model).
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pyarrow.parquet as pq

from vidassets.manifests import VideoManifests
from vidassets.run_failures import run_failure_message
from vidassets.sources import TAG_VIDEO_ID, SourceRef
from vidassets.storage import Store
from vidassets.storage.layout import video_file_key
from vidassets.verdict import TERMINAL as TERMINAL
from vidassets.verdict import VIDEO_STATUSES as VIDEO_STATUSES
from vidassets.verdict import Verdict, decide, load_manifests

# The code location (workspace.yaml's location_name) and its jobs.
LOCATION_NAME = "vidassets"
PIPELINE_JOB = "video_pipeline"
TABLES_JOB = "video_tables_job"
COMPACTION_JOB = "warehouse_compaction_job"
REGISTRY_JOB = "speaker_registry_job"  # the corpus speaker registry and the outputs that carry its names
# The per-video assets `video_pipeline` materializes (vidassets.assets.per_video_assets; a test checks they agree).
PIPELINE_ASSETS = frozenset({
    "source_video", "frames", "shots", "screen_text", "faces", "moderation", "audio", "transcript",
    "diarized_transcript", "text_moderation", "summary",
})
TABLES_ASSET = "video_tables"

# Run tags. Dagster's own (dagster._core.storage.tags; a test checks the names): the partition of a run, and what
# its run retries decide — set on a failed run when the instance has `run_retries` on.
PARTITION_TAG = "dagster/partition"
WILL_RETRY_TAG = "dagster/will_retry"
RETRY_NUMBER_TAG = "dagster/retry_number"
PARENT_RUN_TAG = "dagster/parent_run_id"
REPROCESS_TAG = "vidassets/reprocess"  # a run submitted by POST /v1/videos/{id}/reprocess

_QUEUED = frozenset({dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING})
_RUNNING = frozenset({dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING})
IN_FLIGHT = _QUEUED | _RUNNING  # a run that has not ended: reprocess waits for it (one run in flight per video)
_STEP_END = frozenset({dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
                       dg.DagsterEventType.STEP_SKIPPED})


def partition_of(run: dg.DagsterRun) -> str | None:
    return run.tags.get(PARTITION_TAG)


def partition_tags(video_id: str) -> dict[str, str]:
    """The tags that make a submitted run a run of the video's partition."""
    return {PARTITION_TAG: video_id}


def is_pipeline_run(run: dg.DagsterRun) -> bool:
    """A run of one video's partition that processes it (see the module docstring); not the warehouse run."""
    if PARTITION_TAG not in run.tags:
        return False
    if run.job_name == PIPELINE_JOB:
        return True
    if run.job_name in (TABLES_JOB, COMPACTION_JOB, REGISTRY_JOB):
        return False
    if run.asset_selection:
        return any(key.to_user_string() in PIPELINE_ASSETS for key in run.asset_selection)
    if run.step_keys_to_execute:
        return any(step in PIPELINE_ASSETS for step in run.step_keys_to_execute)
    return True  # a whole asset job for the partition (no selection recorded)


def will_retry(run: dg.DagsterRun) -> bool:
    """A failed run that Dagster's run retries will run again: not the end of the video."""
    return run.status == dg.DagsterRunStatus.FAILURE and run.tags.get(WILL_RETRY_TAG) == "true"


def ended_run(instance: dg.DagsterInstance, run_id: str, wait_s: float = 2.0) -> dg.RunRecord | None:
    """The record of a run that just ended, once its retry is decided: the instance tags a failed run with
    `dagster/will_retry` right after it stores the failure event, so a sensor reacting to that event may read the
    run in between."""
    deadline = time.monotonic() + wait_s
    while True:
        record = instance.get_run_record_by_id(run_id)
        if record is None or not retry_undecided(instance, record.dagster_run) or time.monotonic() > deadline:
            return record
        time.sleep(0.1)


def retry_undecided(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """A failed run whose retry the instance has not decided yet (see `ended_run`)."""
    return (run.status == dg.DagsterRunStatus.FAILURE and instance.run_retries_enabled
            and WILL_RETRY_TAG not in run.tags)


def attempt(run: dg.DagsterRun) -> int:
    """1 for a first run, 2 for its first retry, ..."""
    return int(run.tags.get(RETRY_NUMBER_TAG, "0")) + 1


def pipeline_runs(instance: dg.DagsterInstance, video_id: str, limit: int = 1) -> list[dg.RunRecord]:
    """The partition's pipeline runs (retries and failed attempts included), newest first, at most `limit`."""
    found: list[dg.RunRecord] = []
    cursor: str | None = None
    page = max(2 * limit, 20)  # a warehouse run follows every pipeline run
    while len(found) < limit:
        records = instance.get_run_records(filters=dg.RunsFilter(tags=partition_tags(video_id)), limit=page,
                                           cursor=cursor)
        found += [r for r in records if is_pipeline_run(r.dagster_run)]
        if len(records) < page:
            break
        cursor = records[-1].dagster_run.run_id
    return found[:limit]


def tables_runs(instance: dg.DagsterInstance, video_id: str, limit: int = 1) -> list[dg.DagsterRun]:
    """The partition's warehouse runs, newest first."""
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=TABLES_JOB, tags=partition_tags(video_id)),
                                  limit=limit))


def source_of(instance: dg.DagsterInstance, video_id: str,
              tags: Mapping[str, str] | None = None) -> SourceRef | None:
    """The object the partition stands for: `tags` (a run's own, when they name it), else the newest run that
    names it — the sensor's, a retry's or a reprocess' (runs launched from the UI carry no source tags)."""
    ref = SourceRef.from_tags(dict(tags)) if tags else None
    if ref is not None and ref.video_id == video_id:
        return ref
    for run in instance.get_runs(filters=dg.RunsFilter(tags={TAG_VIDEO_ID: video_id}), limit=20):
        ref = SourceRef.from_tags(dict(run.tags))
        if ref is not None and ref.video_id == video_id:
            return ref
    return None


def current_step(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The step started most recently and not yet ended (= the asset being materialized)."""
    running: dict[str, float] = {}
    types = {dg.DagsterEventType.STEP_START, *_STEP_END}
    for record in instance.get_records_for_run(run_id, of_type=types, limit=1000).records:
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            running[event.step_key] = record.event_log_entry.timestamp
        else:
            running.pop(event.step_key, None)
    return max(running, key=running.__getitem__) if running else None


def run_error(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The user-facing cause of a failed or canceled run."""
    if run.status == dg.DagsterRunStatus.CANCELED:
        return "the run was canceled"
    return run_failure_message(instance, run.run_id)


def final_failure(instance: dg.DagsterInstance, video_id: str) -> str | None:
    """The error of the newest pipeline run, when it failed for good (a failure that will be retried is not)."""
    runs = pipeline_runs(instance, video_id)
    if not runs or runs[0].dagster_run.status != dg.DagsterRunStatus.FAILURE or will_retry(runs[0].dagster_run):
        return None
    return run_failure_message(instance, runs[0].dagster_run.run_id)


def warehouse_row(store: Store, video_id: str) -> dict[str, Any] | None:
    """This video's `videos` row, read from its per-video file (the warehouse's source of truth)."""
    data = store.find_bytes(video_file_key("videos", video_id))
    if data is None:
        return None
    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    return rows[0] if rows else None


@dataclass(frozen=True)
class VideoState:
    status: str  # one of VIDEO_STATUSES
    run: dg.RunRecord | None = None  # the pipeline run it was decided from
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    current_step: str | None = None
    row: dict[str, Any] | None = None  # the warehouse `videos` row, possibly of an older run
    row_is_current: bool = False  # the row was written after `run` ended
    manifests: VideoManifests | None = None  # read when the row does not describe `run` yet

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL


def video_state(instance: dg.DagsterInstance, store: Store, video_id: str,
                run: dg.RunRecord | None = None) -> VideoState:
    """The video's status and why, from its newest pipeline run (or `run`): a succeeded run's verdict comes from
    the warehouse row written after it, else (until the warehouse run writes it) from the manifests, by the same
    rule (`vidassets.verdict.decide`)."""
    if run is None:
        newest = pipeline_runs(instance, video_id)
        run = newest[0] if newest else None
    if run is None:
        return VideoState("uploaded")
    dagster_run = run.dagster_run
    row = warehouse_row(store, video_id)
    current = row is not None and run.end_time is not None and row["processed_at"].timestamp() >= run.end_time
    state = {"run": run, "row": row, "row_is_current": current}
    if dagster_run.status in _QUEUED or will_retry(dagster_run):
        return VideoState("queued", **state)
    if dagster_run.status in _RUNNING:
        return VideoState("processing", current_step=current_step(instance, dagster_run.run_id), **state)
    if dagster_run.status != dg.DagsterRunStatus.SUCCESS:
        return VideoState("failed", error=run_error(instance, dagster_run), **state)
    if current:
        verdict = Verdict.from_row(row)  # type: ignore[arg-type]
        return VideoState(verdict.video_status, reasons=verdict.reasons, **state)
    manifests = load_manifests(store, video_id)
    verdict = decide(manifests)
    return VideoState(verdict.video_status, reasons=verdict.reasons, manifests=manifests, **state)
