"""The API's view of a video: which object a video id stands for (and who owns it), and the JSON the API and the
webhooks send about it. The status itself — from the video's pipeline runs in the Dagster instance, its warehouse
`videos` row or its manifests — is decided by `vidassets.lifecycle`; no bookkeeping table of our own, so nothing can
drift. Statuses: see `vidassets.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from vidassets import lifecycle
from vidassets.api.objects import StoredObject, owner_of, user_prefix
from vidassets.api.settings import ApiSettings
from vidassets.api.uploads import upload_record
from vidassets.manifests import VideoManifests
from vidassets.sources import video_suffix
from vidassets.storage import Store
from vidassets.storage.layout import manifest_key
from vidassets.video_ids import is_video_id, video_id_for

STATUSES = lifecycle.VIDEO_STATUSES
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
        source = lifecycle.source_of(instance, video_id)
        if source is not None:
            return VideoRef(video_id, source.bucket, source.key, owner_of(settings, source.bucket, source.key))
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


def manifest(store: Store, asset: str, video_id: str) -> dict[str, Any] | None:
    return store.find_json(manifest_key(asset, video_id))


def _details_from_manifests(manifests: VideoManifests) -> dict[str, Any]:
    """Until the warehouse run writes this run's row (seconds after the pipeline run), the manifests say it."""
    details: dict[str, Any] = {}
    probe = (manifests.get("source_video") or {}).get("probe") or {}
    if probe.get("duration_s") is not None:
        details["duration_s"] = probe["duration_s"]
    diarized: Mapping[str, Any] = manifests.get("diarized_transcript") or manifests.get("transcript") or {}
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
    """The API's view of one video (its newest pipeline run unless `run_record` is given)."""
    state = lifecycle.video_state(instance, store, ref.video_id, run_record)
    out: dict[str, Any] = {
        "video_id": ref.video_id,
        "filename": ref.key.rsplit("/", 1)[-1],
        "status": state.status,
        "current_step": state.current_step,
        "reasons": state.reasons,
        "error": state.error,
        "uploaded_at": _iso(obj.last_modified) if obj else None,
        "size": obj.size if obj else None,
        "run": None,
        **{column: None for column in _DETAIL_COLUMNS},
        "links": links(ref.video_id),
    }
    if state.run is None:
        return out
    run = state.run
    out["run"] = {
        "run_id": run.dagster_run.run_id, "status": run.dagster_run.status.value,
        "created_at": _iso(run.create_timestamp), "started_at": _iso(run.start_time), "ended_at": _iso(run.end_time),
    }
    if state.row is not None:
        out.update({column: state.row.get(column) for column in _DETAIL_COLUMNS})
    if state.manifests is not None:
        out.update(_details_from_manifests(state.manifests))
    return out
