"""The S3 sensor: every new or changed video object under the watched prefix becomes a partition and a run.

The cursor is a watermark (newest LastModified handled) plus the `key@etag` ids handled *at* that second,
so objects sharing one LastModified second are never missed and never run twice. Listing pages past 1,000
objects; deleted objects simply stop appearing. `run_key = key@etag`, so a re-upload with new content runs
again while an unchanged object never does — except under an API upload key (`<user>/<upload id>/<name>`): its
run key is the key alone, so only the first version PUT to a presigned URL runs; a presigned URL PUT again before
it expires does not start runs, the owner asks for one (reprocess).
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource

from vidassets.jobs import video_pipeline
from vidassets.partitions import videos_partitions
from vidassets.resources.uploads import UploadsBucket
from vidassets.settings import SENSOR_INTERVAL_S
from vidassets.sources import SourceRef, video_suffix
from vidassets.video_ids import video_id_for
from vidassets.workers.queues import priority_tags, start_order
from vidassets.workers.upload_priority import upload_priorities


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    size: int
    last_modified: datetime

    @property
    def object_id(self) -> str:
        return f"{self.key}@{self.etag}"


@dataclass(frozen=True)
class Cursor:
    watermark: str | None = None  # ISO timestamp of the newest LastModified handled
    seen_at_watermark: frozenset[str] = frozenset()

    def serialize(self) -> str:
        return json.dumps({"watermark": self.watermark, "seen": sorted(self.seen_at_watermark)})

    @classmethod
    def parse(cls, raw: str | None) -> "Cursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(data.get("watermark"), frozenset(data.get("seen", [])))


def list_objects(client: Any, bucket: str, prefix: str) -> list[ListedObject]:
    """Every object under the prefix, all pages."""
    listed = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            listed.append(ListedObject(obj["Key"], obj["ETag"].strip('"'), obj["Size"], obj["LastModified"]))
    return listed


def select_new(objects: list[ListedObject], cursor: Cursor, limit: int) -> tuple[list[ListedObject], Cursor]:
    """The oldest `limit` objects not yet handled, and the cursor after handling them."""
    watermark = datetime.fromisoformat(cursor.watermark) if cursor.watermark else None
    pending = sorted(
        (
            obj for obj in objects
            if watermark is None
            or obj.last_modified > watermark
            or (obj.last_modified == watermark and obj.object_id not in cursor.seen_at_watermark)
        ),
        key=lambda obj: (obj.last_modified, obj.key),
    )
    taken = pending[:limit]
    if not taken:
        return [], cursor
    newest = taken[-1].last_modified
    seen = {obj.object_id for obj in taken if obj.last_modified == newest}
    if watermark == newest:
        seen |= cursor.seen_at_watermark
    return taken, Cursor(newest.isoformat(), frozenset(seen))


def run_key(prefix: str, ref: SourceRef) -> str:
    """`key@etag` (each new content runs), or `key` for an API upload key (only its first version runs)."""
    from vidassets.api.objects import upload_owner  # the key shape the API signs; not loaded with the definitions

    return ref.key if upload_owner(prefix, ref.key) is not None else f"{ref.key}@{ref.etag}"


def source_ref(bucket: str, obj: ListedObject) -> SourceRef:
    return SourceRef(
        video_id=video_id_for(bucket, obj.key), source_uri=f"s3://{bucket}/{obj.key}", bucket=bucket,
        key=obj.key, etag=obj.etag, size=obj.size, last_modified=obj.last_modified.isoformat(),
    )


def s3_video_tick(
    context: dg.SensorEvaluationContext, s3: S3Resource, uploads: UploadsBucket
) -> dg.SensorResult:
    """One tick of `s3_video_sensor`."""
    started = time.monotonic()
    objects = list_objects(s3.get_client(), uploads.bucket, uploads.watched_prefix())
    taken, cursor = select_new(objects, Cursor.parse(context.cursor), uploads.max_runs_per_tick)

    refs: list[SourceRef] = []
    for obj in taken:
        if obj.key.endswith("/"):
            continue
        if video_suffix(obj.key) is None:
            context.log.info(f"skipping s3://{uploads.bucket}/{obj.key}: not a video file extension")
            continue
        refs.append(source_ref(uploads.bucket, obj))

    # x-amz-meta-priority on the upload -> dagster/priority on the run (queue order; see vidassets/workers/queues.py)
    priorities = upload_priorities(s3.get_client(), uploads.bucket, [ref.key for ref in refs], context.log.warning)
    # Runs are created in this order and Dagster dequeues equal priorities in creation order: longest first.
    refs.sort(key=lambda ref: (*start_order(priorities[ref.key], ref.size), ref.key))
    context.log.info(
        f"listed {len(objects)} objects, {len(taken)} new, {len(refs)} videos "
        f"in {time.monotonic() - started:.2f}s"
    )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key(uploads.watched_prefix(), ref),
                partition_key=ref.video_id,
                tags={**ref.tags(), **priority_tags(priorities[ref.key])},
            )
            for ref in refs
        ],
        dynamic_partitions_requests=(
            [videos_partitions.build_add_request(sorted({ref.video_id for ref in refs}))] if refs else []
        ),
        cursor=cursor.serialize(),
    )


def build_s3_video_sensor(minimum_interval_seconds: int) -> dg.SensorDefinition:
    """The S3 sensor, ticking every `minimum_interval_seconds` (`VIDASSETS_SENSOR_INTERVAL_S`, read by
    `vidassets.definitions` when the code location loads, not when this module is imported)."""
    return dg.sensor(
        name="s3_video_sensor",
        job=video_pipeline,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="New or changed videos under the uploads prefix become `videos` partitions and pipeline runs.",
    )(s3_video_tick)


# The sensor at the default interval, for code that evaluates a tick (tests); the code location builds its own.
s3_video_sensor = build_s3_video_sensor(int(SENSOR_INTERVAL_S.default_value or 0))
