"""Event ingest on real parts: SeaweedFS's filer events relayed by `vidassets upload-events` into a real Redis
stream, drained by the S3 sensor (at least once, idempotent run keys), and the paged reconciliation sweep."""

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time
from dagster._time import get_current_datetime

from vidassets.ingest import sweep as sweep_module
from vidassets.ingest.events import STREAM, RedisUploadQueue
from vidassets.procs import ManagedProcess, find_executable
from vidassets.resources.uploads import UploadsBucket
from vidassets.sensors import EventCursor, s3_video_sensor
from vidassets.sources import TAG_KEY
from vidassets.workers.redis_server import RedisServer
from vidassets_tests.deploy.harness import in_process_code_location, tick_sensors

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def relay(s3_server, bucket, redis_server, tmp_path) -> Iterator[ManagedProcess]:
    """`vidassets upload-events` as `vidassets up` runs it."""
    env = {**os.environ, **s3_server.env(), "VIDASSETS_WATCH_BUCKET": bucket, "VIDASSETS_WATCH_PREFIX": "uploads/"}
    argv = [sys.executable, "-m", "vidassets.cli", "upload-events", "--filer", s3_server.filer_address(),
            "--events-url", redis_server.url]
    process = ManagedProcess("upload-events", argv, tmp_path / "relay.log", cwd=REPO, env=env).start()
    _wait(lambda: "following the filer" in process.log_tail(), 30, process)
    time.sleep(1.0)  # the subscription is open shortly after the process says it follows
    yield process
    process.stop()


def _wait(condition, timeout: float, process: ManagedProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; relay log:\n{process.log_tail() if process else ''}")
        time.sleep(0.1)


def _event_resources(resources, redis_server, **changes) -> dict[str, object]:
    current = resources["uploads"]
    uploads = UploadsBucket(bucket=current.bucket, prefix=current.prefix, events_url=redis_server.url, **changes)
    return {**resources, "uploads": uploads}


def _tick(instance, resources, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return s3_video_sensor(context)


def test_relay_publishes_video_uploads_only(s3_server, bucket, redis_server, relay):
    client = s3_server.client()
    for key in ("uploads/a/talk.mp4", "uploads/a/talk.srt", "uploads/notes.txt", "elsewhere/b.mp4",
                "uploads/b/clip.MOV"):
        client.put_object(Bucket=bucket, Key=key, Body=b"x" * 100)
    queue = RedisUploadQueue(redis_server.url)
    _wait(lambda: queue.backlog() >= 2, 20, relay)
    time.sleep(0.5)
    deliveries = queue.receive(100)
    assert sorted(d.event.key for d in deliveries) == ["uploads/a/talk.mp4", "uploads/b/clip.MOV"]
    listed = {o["Key"]: o["ETag"].strip('"') for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    for delivery in deliveries:  # the event's etag is the listing's: the same run key either way
        assert delivery.event.etag == listed[delivery.event.key]
        assert delivery.event.size == 100


def test_sensor_drains_events_at_least_once_and_never_twice(
    s3_server, bucket, resources, instance, redis_server, relay
):
    client = s3_server.client()
    resources = _event_resources(resources, redis_server, sweep_budget_s=0.0)  # events only
    keys = [f"uploads/v{i}.mp4" for i in range(5)]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"v" * 10)
    queue = RedisUploadQueue(redis_server.url)
    _wait(lambda: queue.backlog() >= 5, 20, relay)

    first = _tick(instance, resources)
    assert sorted(r.tags[TAG_KEY] for r in first.run_requests) == keys
    # The daemon dies before committing the tick: the next evaluation sees the old cursor and gets the same events.
    again = _tick(instance, resources)
    assert sorted(r.run_key for r in again.run_requests) == sorted(r.run_key for r in first.run_requests)
    # The queue restarts (append-only file): nothing is lost, nothing acknowledged early.
    redis_server.restart()
    committed = _tick(instance, resources, cursor=again.cursor)  # acks `again`'s events, nothing new
    assert committed.run_requests == []
    assert queue.backlog() == 0

    client.put_object(Bucket=bucket, Key="uploads/late.mp4", Body=b"late")
    _wait(lambda: queue.backlog() >= 1, 20, relay)
    late = _tick(instance, resources, cursor=committed.cursor)
    assert [r.tags[TAG_KEY] for r in late.run_requests] == ["uploads/late.mp4"]


def test_a_batch_is_bounded_and_a_tick_does_not_list_the_bucket(s3_server, bucket, resources, instance, redis_server):
    queue = RedisUploadQueue(redis_server.url)
    from vidassets.ingest.events import UploadEvent

    now = get_current_datetime()
    queue.ensure_group()
    # Sidecar files ahead of the videos (an SQS queue without suffix rules; the Redis relay drops them itself).
    queue.publish([UploadEvent(f"uploads/e{i}.json", f"side{i}", 1, now) for i in range(40)])
    queue.publish([UploadEvent(f"uploads/e{i}.mp4", f"etag{i}", i, now) for i in range(30)])
    resources = _event_resources(resources, redis_server, max_runs_per_tick=12, sweep_budget_s=0.0)
    cursor, seen = None, []
    for _ in range(3):
        result = _tick(instance, resources, cursor)
        assert len(result.run_requests) == min(12, 30 - len(seen))  # non-videos never take a run's place
        assert len(EventCursor.parse(result.cursor).delivered) == len(result.run_requests)
        seen += [r.tags[TAG_KEY] for r in result.run_requests]
        cursor = result.cursor
    assert sorted(seen) == sorted(f"uploads/e{i}.mp4" for i in range(30))
    _tick(instance, resources, cursor)
    assert redis_server.client().xlen(STREAM) == 0


def test_sweep_finds_what_events_missed_and_never_reruns(s3_server, bucket, resources, redis_server, monkeypatch,
                                                        tmp_path):
    """Objects uploaded before events were on (no relay here) are found by the sweep, a page per tick with the
    continuation token in the cursor; the next pass finds them all handled and starts no run."""
    client = s3_server.client()
    monkeypatch.setattr(sweep_module, "PAGE_SIZE", 16)  # pages of 16: several pages, few runs to create
    keys = [f"uploads/old/{i:04d}.mp4" for i in range(60)] + ["uploads/old/readme.txt"]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=b"o"), keys))
    monkeypatch.setenv("VIDASSETS_UPLOAD_EVENTS_URL", redis_server.url)

    one_event_log = {"event_log_storage": {"module": "dagster._core.storage.event_log",  # see DAEMON_INSTANCE
                                           "class": "ConsolidatedSqliteEventLogStorage",
                                           "config": {"base_dir": str(tmp_path / "history")}}}
    with dg.instance_for_test(overrides=one_event_log) as instance, in_process_code_location(instance) as context:
        location = context.create_request_context().get_code_location("vidassets")
        sensor = next(iter(location.get_repositories().values())).get_sensor("s3_video_sensor")
        now = get_current_datetime()
        ticks, tokens = 0, []
        while len(instance.get_runs(dg.RunsFilter(job_name="video_pipeline"))) < 60 and ticks < 12:
            with freeze_time(now + timedelta(seconds=40 * ticks)):
                tick_sensors(context)
            state = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
            tokens.append(EventCursor.parse(state.instigator_data.cursor).sweep.token)
            ticks += 1
        runs = instance.get_runs(dg.RunsFilter(job_name="video_pipeline"))
        assert sorted(r.tags[TAG_KEY] for r in runs) == keys[:-1]
        if ticks > 1:  # a tick that ran out of budget mid-pass kept the continuation token for the next one
            assert tokens[0] is not None, tokens

        # Past the pass interval: a second full pass lists everything again and starts nothing.
        for step in range(8):
            with freeze_time(now + timedelta(seconds=40 * ticks + 700 + 40 * step)):
                tick_sensors(context)
        state = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
        assert EventCursor.parse(state.instigator_data.cursor).sweep.passes >= 2
        assert len(instance.get_runs(dg.RunsFilter(job_name="video_pipeline"))) == 60


# The figure is 1,000 (`VIDASSETS_TEST_KILLED_UPLOADS=1000`, ~3 min on 2 cores); the suite's default keeps the
# test near a minute: the daemon creates a few runs a second here, and the test waits for every one.
KILLED_UPLOADS = int(os.environ.get("VIDASSETS_TEST_KILLED_UPLOADS", "120"))
DAEMON_INSTANCE = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 0  # runs stay queued: the test counts what the sensor created
telemetry:
  enabled: false
# One event-log file (Dagster's test storage): the default sqlite storage creates a database per run, ~0.1-0.5 s a
# run on 2 cores, which would make this test about run creation rather than about the queue and the daemon.
event_log_storage:
  module: dagster._core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir: {home}/history
"""


def _daemon(home: Path, env: dict[str, str], generation: int) -> ManagedProcess:
    argv = [find_executable("dagster-daemon"), "run", "-w", str(home / "workspace.yaml")]
    return ManagedProcess(f"dagster-daemon-{generation}", argv, home / f"daemon-{generation}.log", cwd=REPO,
                          env=env, stop_signal=signal.SIGKILL).start()


def _pipeline_runs_by_key(instance: dg.DagsterInstance) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in instance.get_runs(dg.RunsFilter(job_name="video_pipeline")):
        counts[run.tags[TAG_KEY]] = counts.get(run.tags[TAG_KEY], 0) + 1
    return counts


def test_killed_daemon_and_restarted_queue_miss_nothing_and_run_nothing_twice(
    s3_server, bucket, redis_server, relay, tmp_path
):
    """`KILLED_UPLOADS` uploads arrive while the real sensor daemon is killed (SIGKILL, its code server with it)
    whenever it is submitting runs, three times, and the Redis stream restarts once: each upload gets one run."""
    home = tmp_path / "dagster-home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAEMON_INSTANCE.format(home=home))
    (home / "workspace.yaml").write_text(
        f"load_from:\n  - python_module:\n      module_name: vidassets.definitions\n"
        f"      location_name: vidassets\n      working_directory: {REPO}\n")
    env = {**os.environ, **s3_server.env(), "DAGSTER_HOME": str(home), "VIDASSETS_WATCH_BUCKET": bucket,
           "VIDASSETS_WATCH_PREFIX": "uploads/", "VIDASSETS_STORAGE_ROOT": f"s3://{bucket}/store",
           "VIDASSETS_SCRATCH": str(tmp_path / "scratch"), "VIDASSETS_UPLOAD_EVENTS_URL": redis_server.url,
           "VIDASSETS_SENSOR_INTERVAL_S": "1"}
    client = s3_server.client()
    keys = [f"uploads/batch/{i:04d}.mp4" for i in range(KILLED_UPLOADS)]

    def upload_all() -> None:
        with ThreadPoolExecutor(8) as pool:
            for start in range(0, len(keys), 25):  # ~50 uploads at a time, spread over the kills
                list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=key.encode()),
                              keys[start:start + 25]))
                time.sleep(0.4)

    uploader = threading.Thread(target=upload_all)
    started = time.monotonic()
    uploader.start()
    kills, generation = 0, 0
    daemon = _daemon(home, env, generation)
    queue = RedisUploadQueue(redis_server.url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        count = lambda: instance.get_runs_count(dg.RunsFilter(job_name="video_pipeline"))  # noqa: E731
        try:
            deadline = time.monotonic() + 420
            while True:
                assert time.monotonic() < deadline, f"runs: {count()}\n{daemon.log_tail(40)}"
                assert daemon.running, daemon.log_tail(40)
                before = count()
                time.sleep(0.2)
                now = count()
                if kills < 3 and now > before:  # runs are being submitted: kill it mid-tick
                    daemon.stop()
                    kills += 1
                    if kills == 2:
                        redis_server.restart()
                    generation += 1
                    daemon = _daemon(home, env, generation)
                    print(f"kill {kills} at {time.monotonic() - started:.1f}s, {now} runs", flush=True)
                elif not uploader.is_alive() and now >= KILLED_UPLOADS and queue.backlog() == 0:
                    break
            time.sleep(3)  # a few more ticks: a late duplicate would show now
            counts = _pipeline_runs_by_key(instance)
        finally:
            uploader.join()
            daemon.stop()
    print(f'{KILLED_UPLOADS} uploads: {time.monotonic() - started:.1f}s')
    assert kills == 3
    assert sorted(counts) == keys, f"missed: {sorted(set(keys) - set(counts))[:10]}"
    assert {key: n for key, n in counts.items() if n > 1} == {}
