"""Object-created events and the queue that holds them until the sensor has committed their runs.

The embedded default's queue is a Redis stream with one consumer group (Redis is already in the stack, with
append-only persistence). Delivery is at least once:

- `receive` returns first the entries this consumer was given before and never acknowledged (a tick that died
  before Dagster committed it), then new ones;
- the sensor acknowledges the ids of a tick on its *next* tick (they ride in the cursor Dagster stores with the
  tick's run requests), so an id is acknowledged only after its runs were committed;
- run keys are idempotent (`key@etag`), so a redelivered event never starts a second run.

Acknowledged entries are deleted from the stream, so it holds the backlog only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

STREAM = "vidassets:upload-events"
GROUP = "s3_video_sensor"
CONSUMER = "sensor"  # one consumer: Dagster evaluates a sensor one tick at a time
# SeaweedFS keeps bucket `b`'s objects under the filer folder `/buckets/b/` (weed's `-s3.bucketsPath` default).
FILER_BUCKETS_PATH = "/buckets"


@dataclass(frozen=True)
class UploadEvent:
    """An object was created or overwritten: what the sensor needs to turn it into a run."""

    key: str
    etag: str
    size: int
    last_modified: datetime

    def fields(self) -> dict[str, str]:
        return {"key": self.key, "etag": self.etag, "size": str(self.size),
                "last_modified": self.last_modified.isoformat()}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> UploadEvent:
        return cls(fields["key"], fields["etag"], int(fields["size"]), datetime.fromisoformat(fields["last_modified"]))


@dataclass(frozen=True)
class Delivery:
    """One received message: `receipt` acknowledges it; `event` is None for a message that is not an upload."""

    receipt: str
    event: UploadEvent | None


class UploadQueue(Protocol):
    def receive(self, limit: int, redeliver: bool = True) -> list[Delivery]:
        """Up to `limit` messages; with `redeliver`, first those received before and never acknowledged."""
        ...

    def ack(self, receipts: list[str]) -> None: ...


class RedisUploadQueue:
    """The Redis stream `STREAM` read by the consumer group `GROUP`."""

    def __init__(self, url: str, stream: str = STREAM, group: str = GROUP) -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
        self.stream, self.group = stream, group

    def ensure_group(self) -> None:
        """The group reads the stream from its first entry, so events published before the sensor's first tick
        are not skipped (both the relay and the sensor call this; the second call is a no-op)."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish(self, events: list[UploadEvent], position: tuple[str, str] | None = None) -> None:
        """Append events; `position` (key, value) is stored in the same transaction (the relay's resume point)."""
        with self.client.pipeline(transaction=True) as pipe:
            for event in events:
                pipe.xadd(self.stream, event.fields())
            if position is not None:
                pipe.set(*position)
            pipe.execute()

    def receive(self, limit: int, redeliver: bool = True) -> list[Delivery]:
        """Up to `limit` entries: this consumer's unacknowledged ones first (`redeliver`: a tick's first call;
        later calls of the same tick would see the tick's own), then new ones."""
        self.ensure_group()
        deliveries: list[Delivery] = []
        for start in ("0", ">") if redeliver else (">",):
            if len(deliveries) >= limit:
                break
            answer = self.client.xreadgroup(self.group, CONSUMER, {self.stream: start}, count=limit - len(deliveries))
            for _stream, entries in answer or []:
                deliveries += [_delivery(entry_id, fields) for entry_id, fields in entries]
        return deliveries

    def ack(self, receipts: list[str]) -> None:
        if not receipts:
            return
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, *receipts)
            pipe.xdel(self.stream, *receipts)
            pipe.execute()

    def backlog(self) -> int:
        """Entries not yet acknowledged (delivered or not)."""
        return int(self.client.xlen(self.stream))


def _delivery(entry_id: str, fields: dict[str, str] | None) -> Delivery:
    try:
        return Delivery(entry_id, UploadEvent.from_fields(fields or {}))
    except (KeyError, ValueError):
        return Delivery(entry_id, None)  # an entry someone else wrote, or one deleted while pending


def filer_event_upload(
    event: dict[str, Any], bucket: str, buckets_path: str = FILER_BUCKETS_PATH
) -> UploadEvent | None:
    """The upload a SeaweedFS filer metadata event (`weed filer.meta.tail` JSON) stands for: a file created,
    overwritten or moved into `bucket`; None for deletions, folders and other buckets."""
    notification = event.get("eventNotification") or {}
    entry = notification.get("newEntry")
    if not entry or entry.get("isDirectory"):
        return None
    folder = notification.get("newParentPath") or event.get("directory") or ""
    root = f"{buckets_path.rstrip('/')}/{bucket}/"
    path = f"{folder.rstrip('/')}/{entry.get('name', '')}"
    if not path.startswith(root) or not entry.get("name"):
        return None
    etag = _entry_etag(entry)
    if etag is None:
        return None  # not written through S3 (no S3 ETag): the sweep finds it if it matters
    attributes = entry.get("attributes") or {}
    size = int(attributes.get("fileSize") or 0)
    mtime = datetime.fromtimestamp(int(attributes.get("mtime") or 0), tz=UTC)
    return UploadEvent(path[len(root):], etag, size, mtime)


def _entry_etag(entry: dict[str, Any]) -> str | None:
    """The ETag S3 listings show for the entry (the S3 gateway keeps it in the entry's extended attributes)."""
    extended = entry.get("extended") or {}
    try:
        if stored := extended.get("Seaweed-X-Amz-ETag"):
            return base64.b64decode(stored).decode().strip('"')
        if md5 := (entry.get("attributes") or {}).get("md5"):
            return base64.b64decode(md5).hex()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return None
