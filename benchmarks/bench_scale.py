"""Sensor cost against the bucket's size: the listing tick (old hot path) vs the event tick (issue 18).

Real SeaweedFS (`weed mini`), real Redis, the relay (`vidassets upload-events`) and a real Dagster instance. For each
N, N small objects are uploaded under the watched prefix (all already handled: steady state, nothing new), then:

- listing: the old tick's `list_objects` + `select_new` (every page, every tick);
- event tick: `s3_video_sensor` with `VIDASSETS_UPLOAD_EVENTS_URL` set: empty queue + the sweep's pages within
  its time budget (a pass in progress: the worst steady-state case), wall and CPU seconds of this process;
- upload -> queued: one video uploaded, time until the next event tick returns its run request.

    uv run --frozen python benchmarks/bench_scale.py --sizes 1000,10000 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg

from vidassets.devstack.seaweed import SeaweedS3
from vidassets.ingest.events import RedisUploadQueue
from vidassets.procs import ManagedProcess
from vidassets.resources import build_resources
from vidassets.sensors import Cursor, s3_video_sensor, select_new
from vidassets.sensors.uploads import EventCursor, list_objects
from vidassets.settings import load_settings
from vidassets.workers.redis_server import RedisServer

BUCKET = "bench-scale"
PREFIX = "uploads/"
REPO = Path(__file__).resolve().parents[1]


def upload(client, keys: list[str]) -> None:
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=BUCKET, Key=key, Body=b"s"), keys))


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def tick(instance, resources, cursor):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return s3_video_sensor(context)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, SeaweedS3(Path(tmp) / "s3", s3_port=None, buckets=[BUCKET]) as s3, \
            RedisServer(Path(tmp) / "redis") as redis_server, dg.instance_for_test() as instance:
        env = {**os.environ, **s3.env(), "VIDASSETS_WATCH_BUCKET": BUCKET, "VIDASSETS_WATCH_PREFIX": PREFIX,
               "VIDASSETS_UPLOAD_EVENTS_URL": redis_server.url}
        os.environ.update({k: v for k, v in env.items() if k.startswith(("AWS_", "VIDASSETS_"))})
        relay = ManagedProcess("upload-events", [sys.executable, "-m", "vidassets.cli", "upload-events",
                                                 "--filer", s3.filer_address()], Path(tmp) / "relay.log",
                               cwd=REPO, env=env).start()
        queue = RedisUploadQueue(redis_server.url)
        client = s3.client()
        resources = build_resources(storage_root=f"s3://{BUCKET}/store", settings=load_settings())
        uploaded = 0
        cursor: str | None = None
        try:
            time.sleep(2.0)
            for n in sizes:
                # sidecar files (not videos): the relay drops them, the listing still pages over them
                upload(client, [f"{PREFIX}bulk/{i:07d}.json" for i in range(uploaded, n)])
                uploaded = n
                time.sleep(1.0)
                objects, list_s, list_cpu = timed(lambda: list_objects(client, BUCKET, PREFIX))
                listing_cursor = select_new(objects, Cursor(), 10**9)[1]
                _, select_s, _ = timed(lambda c=listing_cursor, o=objects: select_new(o, c, 2000))
                queue.ack([d.receipt for d in queue.receive(10**6)])  # steady state: nothing pending
                # the worst steady-state event tick: a sweep pass in progress (pages within the budget)
                cursor = EventCursor(sweep=EventCursor.parse(cursor).sweep).serialize() if cursor else None
                results = [timed(lambda c=cursor: tick(instance, resources, c)) for _ in range(3)]
                cursor = results[-1][0].cursor
                event_s = sorted(r[1] for r in results)[1]
                event_cpu = sorted(r[2] for r in results)[1]
                # upload -> run request
                key = f"{PREFIX}new/video-{n}.mp4"
                started = time.perf_counter()
                client.put_object(Bucket=BUCKET, Key=key, Body=b"v" * 1000)
                while True:
                    result = tick(instance, resources, cursor)
                    cursor = result.cursor
                    if any(r.tags.get("vidassets/key") == key for r in result.run_requests):
                        break
                    if time.perf_counter() - started > 60:
                        raise RuntimeError("no run request for the new upload within 60 s")
                    time.sleep(0.2)
                latency = time.perf_counter() - started
                row = {"objects": n, "listing_s": round(list_s, 3), "listing_cpu_s": round(list_cpu, 3),
                       "listing_tick_s": round(list_s + select_s, 3), "event_tick_s": round(event_s, 3),
                       "event_tick_cpu_s": round(event_cpu, 3), "upload_to_run_request_s": round(latency, 2)}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            relay.stop()
    print("\n| objects | listing (old) | listing CPU | event tick | event tick CPU | upload -> run request |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['objects']:,} | {r['listing_s']:.2f} s | {r['listing_cpu_s']:.2f} s | {r['event_tick_s']:.2f} s "
              f"| {r['event_tick_cpu_s']:.2f} s | {r['upload_to_run_request_s']:.2f} s |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
