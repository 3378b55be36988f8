"""The S3 sensor: every new or changed video object under the watched prefix becomes a partition and a run.

The cursor is a watermark (newest LastModified handled) plus the `key@etag` ids handled *at* that second,
so objects sharing one LastModified second are never missed and never run twice. Listing pages past 1,000
objects; deleted objects simply stop appearing. `run_key = key@etag`, so a re-upload with new content runs
again while an unchanged object never does — except under an API upload key (`<user>/<upload id>/<name>`): its
run key is the key alone, so only the first version PUT to a presigned URL runs; a presigned URL PUT again before
it expires does not start runs, the owner asks for one (reprocess).

At corpus scale (`VIDASSETS_UPLOAD_EVENTS_URL` set) the tick does not list the bucket: it drains a bounded batch of
object-created events (`vidassets.ingest`; Redis stream in the embedded default, SQS on AWS), acknowledges the
previous tick's events (committed with their runs), and spends what is left of a small time budget on one or two
pages of the reconciliation sweep, whose continuation token rides in the cursor. Objects the sweep lists become
runs only when no run has their run key, so the sweep never re-runs a handled object.
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
from dagster._core.storage.tags import RUN_KEY_TAG
from dagster._time import get_current_timestamp
from dagster_aws.s3 import S3Resource

from vidassets.ingest.events import Delivery, UploadEvent, UploadQueue
from vidassets.ingest.sweep import ListedObject, SweepState, listed, next_page
from vidassets.jobs import video_pipeline
from vidassets.partitions import videos_partitions
from vidassets.resources.env_vars import resolved
from vidassets.resources.uploads import UploadsBucket
from vidassets.settings import SENSOR_INTERVAL_S
from vidassets.sources import SourceRef, video_suffix
from vidassets.video_ids import video_id_for
from vidassets.workers.queues import priority_tags, start_order
from vidassets.workers.upload_priority import upload_priorities


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
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [listed(obj) for page in pages for obj in page.get("Contents", [])]


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


def source_ref(bucket: str, obj: ListedObject | UploadEvent) -> SourceRef:
    return SourceRef(
        video_id=video_id_for(bucket, obj.key), source_uri=f"s3://{bucket}/{obj.key}", bucket=bucket,
        key=obj.key, etag=obj.etag, size=obj.size, last_modified=obj.last_modified.isoformat(),
    )


def s3_video_tick(
    context: dg.SensorEvaluationContext, s3: S3Resource, uploads: UploadsBucket
) -> dg.SensorResult:
    """One tick of `s3_video_sensor`: from events when the uploads bucket names an event queue, else listing."""
    if events_url := resolved(uploads.events_url):
        return event_tick(context, s3, uploads, upload_queue(events_url))
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

    result = video_runs(context, s3, uploads, refs)
    context.log.info(
        f"listed {len(objects)} objects, {len(taken)} new, {len(refs)} videos "
        f"in {time.monotonic() - started:.2f}s"
    )
    return dg.SensorResult(**result, cursor=cursor.serialize())


def video_runs(
    context: dg.SensorEvaluationContext, s3: S3Resource, uploads: UploadsBucket, refs: list[SourceRef]
) -> dict[str, Any]:
    """Run requests (longest video first within a priority) and the partitions they need, for `SensorResult`."""
    # x-amz-meta-priority on the upload -> dagster/priority on the run (queue order; see vidassets/workers/queues.py)
    priorities = upload_priorities(s3.get_client(), uploads.bucket, [ref.key for ref in refs], context.log.warning)
    # Runs are created in this order and Dagster dequeues equal priorities in creation order: longest first.
    refs = sorted(refs, key=lambda ref: (*start_order(priorities[ref.key], ref.size), ref.key))
    return {
        "run_requests": [
            dg.RunRequest(
                run_key=run_key(uploads.watched_prefix(), ref),
                partition_key=ref.video_id,
                tags={**ref.tags(), **priority_tags(priorities[ref.key])},
            )
            for ref in refs
        ],
        "dynamic_partitions_requests": (
            [videos_partitions.build_add_request(sorted({ref.video_id for ref in refs}))] if refs else []
        ),
    }


# ---------------------------------------------------------------------------------------------- event ingest


EVENT_BUDGET_S = 1.0  # receiving events stops after this (non-video events of a bulk import; a slow queue)


@dataclass(frozen=True)
class EventCursor:
    """The event tick's cursor: the receipts delivered to the tick that wrote it (acknowledged by the next tick,
    once Dagster has committed their runs with this cursor) and the sweep's position."""

    delivered: tuple[str, ...] = ()
    sweep: SweepState = SweepState()

    def serialize(self) -> str:
        return json.dumps({"events": True, "delivered": list(self.delivered), "sweep": self.sweep.to_json()})

    @classmethod
    def parse(cls, raw: str | None) -> "EventCursor":
        data = json.loads(raw) if raw else {}
        if not data.get("events"):
            return cls()  # first tick, or a listing cursor: a new sweep pass covers what came before
        return cls(tuple(data.get("delivered", [])), SweepState.from_json(data.get("sweep")))


def upload_queue(url: str) -> UploadQueue:
    """The queue `VIDASSETS_UPLOAD_EVENTS_URL` names: `redis://…` (a stream), or an SQS queue URL."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from vidassets.ingest.events import RedisUploadQueue

        return RedisUploadQueue(url)
    from vidassets.ingest.sqs import SqsUploadQueue

    return SqsUploadQueue(url)


def is_watched_video(prefix: str, key: str) -> bool:
    return key.startswith(prefix) and not key.endswith("/") and video_suffix(key) is not None


def handled_run_keys(instance: dg.DagsterInstance, run_keys: list[str]) -> set[str]:
    """The run keys among `run_keys` that some run already has (one query per page of the sweep)."""
    if not run_keys:
        return set()
    runs = instance.get_runs(dg.RunsFilter(tags={RUN_KEY_TAG: run_keys}))
    return {run.tags[RUN_KEY_TAG] for run in runs if RUN_KEY_TAG in run.tags}


def event_tick(
    context: dg.SensorEvaluationContext, s3: S3Resource, uploads: UploadsBucket, queue: UploadQueue
) -> dg.SensorResult:
    """Acknowledge the previous tick's events, take a bounded batch of new ones, sweep a page or two."""
    started = time.monotonic()
    cursor = EventCursor.parse(context.cursor)
    queue.ack(list(cursor.delivered))
    prefix, limit = uploads.watched_prefix(), uploads.max_runs_per_tick
    refs: dict[str, SourceRef] = {}  # by run key: an object sent twice is one run
    deliveries: list[Delivery] = []  # those that became runs: acknowledged by the next tick
    received = 0
    # Events that are not videos start no run, so they are acknowledged at once and never count against the batch.
    while len(deliveries) < limit and time.monotonic() - started < EVENT_BUDGET_S:
        batch = queue.receive(limit - len(deliveries), redeliver=received == 0)
        if not batch:
            break
        received += len(batch)
        ignored = []
        for delivery in batch:
            event = delivery.event
            if event is not None and is_watched_video(prefix, event.key):
                ref = source_ref(uploads.bucket, event)
                refs.setdefault(run_key(prefix, ref), ref)
                deliveries.append(delivery)
            else:
                ignored.append(delivery.receipt)
        queue.ack(ignored)
    received_s = time.monotonic() - started

    sweep, swept, missed = cursor.sweep, 0, 0
    now = get_current_timestamp()  # Dagster's clock: the daemon's tick time (and what tests freeze)
    while time.monotonic() - started < uploads.sweep_budget_s and len(refs) < limit:
        page = next_page(s3.get_client(), uploads.bucket, prefix, sweep, uploads.sweep_interval_s, now)
        if page is None:
            break
        candidates = {}
        for obj in page.objects:
            if is_watched_video(prefix, obj.key):
                ref = source_ref(uploads.bucket, obj)
                candidates.setdefault(run_key(prefix, ref), ref)
        new = {k: ref for k, ref in candidates.items() if k not in refs}
        new = {k: ref for k, ref in new.items() if k not in handled_run_keys(context.instance, list(new))}
        swept += len(page.objects)
        room = limit - len(refs)
        missed += min(room, len(new))
        refs.update(dict(list(new.items())[:room]))
        if len(new) > room:
            break  # the rest of this page next tick (what this tick took has a run by then)
        sweep = page.state_after

    result = video_runs(context, s3, uploads, list(refs.values()))
    context.log.info(
        f"{received} events ({len(deliveries)} videos) in {received_s:.2f}s, "
        f"sweep listed {swept} objects (pass {sweep.passes + 1}"
        f"{', waiting' if sweep.token is None and sweep.next_pass_at > now else ''}) and found {missed} "
        f"without a run; {len(refs)} runs in {time.monotonic() - started:.2f}s"
    )
    cursor = EventCursor(tuple(delivery.receipt for delivery in deliveries), sweep)
    return dg.SensorResult(**result, cursor=cursor.serialize())


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
