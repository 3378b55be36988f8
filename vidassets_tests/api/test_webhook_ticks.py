"""The webhook run-status sensors as the daemon evaluates them: one tick over several ended runs, some of videos
uploaded through the API and some not, handles them all and moves its cursor past them."""

from __future__ import annotations

import dagster as dg
import httpx

from vidassets.definitions import defs
from vidassets.sensors.webhooks import webhooks_on_failure
from vidassets.sources import TAG_BUCKET, TAG_KEY
from vidassets.video_ids import video_id_for
from vidassets_tests.api.conftest import API_BUCKET


def _failed_run(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str]) -> dg.DagsterRun:
    run = instance.create_run_for_job(defs.resolve_job_def(job_name), tags=tags)
    instance.report_run_failed(run)
    return run


def _tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[str | None, list]:
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        data = webhooks_on_failure.evaluate_tick(context)
    return data.cursor, data.dagster_run_reactions or []


def test_one_tick_handles_every_ended_run_and_moves_on(platform):
    key = platform.key_for("ticker")
    ticket = httpx.post(f"{platform.url}/v1/uploads", headers={"Authorization": f"Bearer {key}"},
                        json={"filename": "tick.mp4", "content_type": "video/mp4", "size": 64}).json()
    assert httpx.put(ticket["upload_url"], content=b"\0" * 64, headers=ticket["headers"]).status_code == 200
    object_key = next(k for k in platform.bucket_keys() if k.endswith("/tick.mp4") and "/ticker/" in k)
    video_id = video_id_for(API_BUCKET, object_key)
    platform.instance.add_dynamic_partitions("videos", [video_id])

    cursor, _ = _tick(platform.instance, None)  # the first tick only sets the cursor
    video_run = _failed_run(platform.instance, "video_pipeline", {
        TAG_BUCKET: API_BUCKET, TAG_KEY: object_key, "dagster/partition": video_id})
    other_run = _failed_run(platform.instance, "video_tables_job", {"dagster/partition": video_id})

    cursor, reactions = _tick(platform.instance, cursor)
    assert {r.dagster_run.run_id for r in reactions} == {video_run.run_id, other_run.run_id}
    assert all(r.error is None for r in reactions)
    _, again = _tick(platform.instance, cursor)
    assert again == [], "the cursor moved past both runs"
