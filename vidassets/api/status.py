"""A video's status from the Dagster instance (its pipeline runs, their status, the current step from the event
log) and its warehouse `videos` row / manifests. No bookkeeping table of our own, so nothing can drift.

    uploaded    the object exists; the sensor has not launched a run yet
    queued      a run exists and waits for the run queue
    processing  the run is running; `current_step` is the asset being materialized
    completed   the run succeeded and moderation approved it
    rejected    the run succeeded and moderation rejected it (`reasons`)
    failed      the run failed or was canceled (`error`)
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import sqlalchemy as sa
from dagster import DagsterEventType

from vidassets.api.objects import StoredObject, owner_of, user_prefix
from vidassets.api.settings import TABLES_JOB, ApiSettings
from vidassets.api.uploads import upload_record
from vidassets.run_failures import run_failure_message
from vidassets.sources import TAG_BUCKET, TAG_KEY, TAG_VIDEO_ID, video_suffix
from vidassets.storage import Store
from vidassets.storage.layout import manifest_key, video_file_key
from vidassets.video_ids import is_video_id, video_id_for

PARTITION_TAG = "dagster/partition"
TABLES_ASSET = dg.AssetKey("video_tables")
STATUSES = ("uploaded", "queued", "processing", "completed", "rejected", "failed")
TERMINAL = frozenset({"completed", "rejected", "failed"})
_QUEUED = {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING}
_STEP_END = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED}
_DETAIL_COLUMNS = ("duration_s", "language", "speakers", "word_count", "width", "height", "has_audio")


@dataclass(frozen=True)
class VideoRef:
    video_id: str
    bucket: str
    key: str
    user: str | None


def locate(
    instance: dg.DagsterInstance, s3: Any, settings: ApiSettings, video_id: str, user: str | None,
    engine: sa.Engine | None = None,
) -> VideoRef | None:
    """The object behind `video_id` if `user` owns it (None: any owner, for operators).

    A user's video is found in the API's upload records (`engine`), written when the ticket was issued; one
    uploaded before those records existed, by listing the user's prefix for a key of the API's shape. Run tags
    only locate videos for operators (`user=None`): a run can be launched by anyone who reaches Dagster, so its
    tags never decide who owns a video.
    """
    if not is_video_id(video_id):
        return None
    if engine is not None:
        record = upload_record(engine, video_id)
        if record is not None:
            if user is not None and record.user != user:
                return None
            return VideoRef(video_id, record.bucket, record.object_key, record.user)
    if user is None:
        for run in instance.get_runs(filters=dg.RunsFilter(tags={TAG_VIDEO_ID: video_id}), limit=1):
            bucket, key = run.tags.get(TAG_BUCKET), run.tags.get(TAG_KEY)
            if bucket and key:
                return VideoRef(video_id, bucket, key, owner_of(settings, bucket, key))
    prefix = user_prefix(settings, user) if user else settings.prefix
    for obj in list_objects(s3, settings.bucket, prefix):
        owner = owner_of(settings, obj.bucket, obj.key)
        if video_id_for(obj.bucket, obj.key) == video_id and (user is None or owner == user):
            return VideoRef(video_id, obj.bucket, obj.key, owner)
    return None


def list_objects(
    s3: Any, bucket: str, prefix: str, start_after: str | None = None, page_size: int = 1000
) -> Iterator[StoredObject]:
    """Video objects under `prefix` in key order (upload ids are time-ordered, so oldest first)."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
    if start_after:
        kwargs["StartAfter"] = start_after
    for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
        for item in page.get("Contents", []):
            if video_suffix(item["Key"]) is not None:
                yield StoredObject.from_listing(bucket, item)


def head(s3: Any, ref: VideoRef) -> StoredObject | None:
    try:
        response = s3.head_object(Bucket=ref.bucket, Key=ref.key)
    except s3.exceptions.ClientError:
        return None
    return StoredObject(ref.bucket, ref.key, int(response["ContentLength"]), response["LastModified"],
                        response["ETag"].strip('"'))


def is_pipeline_run(run: dg.DagsterRun) -> bool:
    """Any run of the partition that processes the video: the sensor's `video_pipeline`, a reprocess, or assets
    re-materialized from the UI; not the warehouse run that follows each of them."""
    if run.job_name == TABLES_JOB or PARTITION_TAG not in run.tags:
        return False
    if run.asset_selection and run.asset_selection <= {TABLES_ASSET}:
        return False
    steps = set(run.step_keys_to_execute or ())
    return not steps or not steps <= {TABLES_ASSET.to_user_string()}


def pipeline_runs(instance: dg.DagsterInstance, video_id: str, limit: int = 1) -> list[dg.RunRecord]:
    """The partition's pipeline runs, newest first."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={PARTITION_TAG: video_id}), limit=limit + 10)
    return [r for r in records if is_pipeline_run(r.dagster_run)][:limit]


def current_step(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The step started most recently and not yet ended (= the asset being materialized)."""
    running: dict[str, float] = {}
    types = {DagsterEventType.STEP_START, *_STEP_END}
    for record in instance.get_records_for_run(run_id, of_type=types, limit=1000).records:
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            running[event.step_key] = record.event_log_entry.timestamp
        else:
            running.pop(event.step_key, None)
    return max(running, key=running.__getitem__) if running else None


def run_error(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The user-facing cause of a failed or canceled run."""
    if run.status == dg.DagsterRunStatus.CANCELED:
        return "the run was canceled"
    return run_failure_message(instance, run.run_id)


def manifest(store: Store, asset: str, video_id: str) -> dict[str, Any] | None:
    return store.find_json(manifest_key(asset, video_id))


def warehouse_row(store: Store, video_id: str) -> dict[str, Any] | None:
    """This video's `videos` row, read from its per-video file (the warehouse's source of truth)."""
    data = store.find_bytes(video_file_key("videos", video_id))
    if data is None:
        return None
    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    return rows[0] if rows else None


def _details_from_manifests(store: Store, video_id: str) -> dict[str, Any]:
    """Until the warehouse run writes this run's row (seconds after the pipeline run), the manifests say it."""
    details: dict[str, Any] = {}
    probe = (manifest(store, "source_video", video_id) or {}).get("probe") or {}
    if probe.get("duration_s") is not None:
        details["duration_s"] = probe["duration_s"]
    diarized = manifest(store, "diarized_transcript", video_id) or manifest(store, "transcript", video_id) or {}
    if diarized.get("language"):
        details["language"] = diarized["language"]
    if isinstance(diarized.get("speakers"), list):
        details["speakers"] = len(diarized["speakers"])
    return details


def _iso(value: float | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def links(video_id: str) -> dict[str, Any]:
    base = f"/v1/videos/{video_id}"
    return {
        "self": base,
        "transcript": {fmt: f"{base}/transcript?format={fmt}" for fmt in ("json", "srt", "vtt", "txt")},
        "summary": f"{base}/summary",
        "view_token": f"{base}/view-token",
        "reprocess": f"{base}/reprocess",
    }


def describe(
    instance: dg.DagsterInstance, store: Store, ref: VideoRef, obj: StoredObject | None,
    run_record: dg.RunRecord | None = None,
) -> dict[str, Any]:
    """The API's view of one video (the newest pipeline run unless `run_record` is given)."""
    if run_record is None:
        records = pipeline_runs(instance, ref.video_id)
        run_record = records[0] if records else None
    out: dict[str, Any] = {
        "video_id": ref.video_id,
        "filename": ref.key.rsplit("/", 1)[-1],
        "status": "uploaded",
        "current_step": None,
        "reasons": [],
        "error": None,
        "uploaded_at": _iso(obj.last_modified) if obj else None,
        "size": obj.size if obj else None,
        "run": None,
        **{column: None for column in _DETAIL_COLUMNS},
        "links": links(ref.video_id),
    }
    if run_record is None:
        return out
    run = run_record.dagster_run
    out["run"] = {
        "run_id": run.run_id, "status": run.status.value, "created_at": _iso(run_record.create_timestamp),
        "started_at": _iso(run_record.start_time), "ended_at": _iso(run_record.end_time),
    }
    row = warehouse_row(store, ref.video_id)
    fresh = row is not None and run_record.end_time is not None and (
        row["processed_at"].timestamp() >= run_record.end_time
    )
    if row is not None:
        out.update({column: row.get(column) for column in _DETAIL_COLUMNS})
    if not fresh and run.status == dg.DagsterRunStatus.SUCCESS:
        out.update(_details_from_manifests(store, ref.video_id))
    if run.status in _QUEUED:
        out["status"] = "queued"
    elif run.status in (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING):
        out["status"] = "processing"
        out["current_step"] = current_step(instance, run.run_id)
    elif run.status == dg.DagsterRunStatus.SUCCESS:
        if fresh:
            verdict_rejected = row["status"] == "rejected"
            reasons = [r for r in (row.get("reason") or "").split("; ") if r] if verdict_rejected else []
        else:  # the warehouse run has not written this run's row yet: the moderation manifest decides
            moderation = manifest(store, "moderation", ref.video_id) or {}
            verdict_rejected = moderation.get("verdict") == "rejected"
            reasons = list(moderation.get("reasons") or [])
        out["status"] = "rejected" if verdict_rejected else "completed"
        out["reasons"] = reasons
    else:
        out["status"] = "failed"
        out["error"] = run_error(instance, run)
    return out
