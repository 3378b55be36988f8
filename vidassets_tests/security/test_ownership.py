"""Who owns a video is the API's own upload record, written when POST /v1/uploads issued the ticket, never a run's
tags: anyone who reaches Dagster can launch a run with any tags. Against `vidassets api` in its own process, a
real Dagster instance and real SeaweedFS."""

from __future__ import annotations

import json

import dagster as dg
import httpx
import pytest
import sqlalchemy as sa

from vidassets.api import webhooks
from vidassets.api.db import engine_for, uploads
from vidassets.api.outbound import parse_allow_list
from vidassets.api.settings import ApiSettings
from vidassets.definitions import defs
from vidassets.procs import LOOPBACK
from vidassets.sensors.webhooks import webhooks_on_failure
from vidassets.sources import TAG_BUCKET, TAG_KEY, TAG_SOURCE_URI, TAG_VIDEO_ID
from vidassets.storage.layout import manifest_key
from vidassets.video_ids import video_id_for
from vidassets_tests.security.api_process import VIDEO, api_process, auth

BUCKET = "sec-owners"
SECRET_WORDS = "the victim's confidential words"


@pytest.fixture(scope="module")
def api(s3_server, tmp_path_factory):
    with api_process(tmp_path_factory.mktemp("owners-api"), s3_server, BUCKET) as server:
        yield server


@dg.op
def _noop() -> None:
    pass


@dg.job(name="forged_run")
def _forged() -> None:
    _noop()


def _transcript_manifest(s3_server, video_id: str) -> None:
    manifest = {"language": "en", "segments": [{"start": 0.0, "end": 2.0, "text": SECRET_WORDS,
                                                "speaker": "SPEAKER_00", "words": []}]}
    s3_server.client().put_object(Bucket=BUCKET, Key=f"store/{manifest_key('transcript', video_id)}",
                                  Body=json.dumps(manifest).encode(), ContentType="application/json")


def test_a_forged_run_does_not_reassign_a_video(api, s3_server):
    victim, attacker = api.key("victor"), api.key("mallory")
    victim_video = api.upload(victim)["video_id"]
    api.upload(attacker)
    [attacker_key] = _keys(s3_server, "uploads/mallory/")
    _transcript_manifest(s3_server, victim_video)
    with dg.DagsterInstance.from_config(str(api.home)) as instance:
        # The newest run of the victim's video says it is the attacker's object.
        instance.create_run_for_job(_forged, status=dg.DagsterRunStatus.SUCCESS, tags={
            TAG_VIDEO_ID: victim_video, TAG_BUCKET: BUCKET, TAG_KEY: attacker_key,
            "dagster/partition": victim_video})
    for path in ("", "/transcript?format=json", "/summary"):
        stolen = httpx.get(f"{api.url}/v1/videos/{victim_video}{path}", headers=auth(attacker))
        assert stolen.status_code == 404 and SECRET_WORDS not in stolen.text, path
    mine = httpx.get(f"{api.url}/v1/videos/{victim_video}/transcript?format=json", headers=auth(victim))
    assert mine.status_code == 200 and SECRET_WORDS in mine.text
    with engine_for(api.db_url).connect() as conn:
        record = conn.execute(sa.select(uploads).where(uploads.c.video_id == victim_video)).one()
    assert record.user == "victor" and record.object_key.startswith("uploads/victor/")


def test_a_forged_run_does_not_send_a_videos_webhook_to_another_user(api, s3_server, monkeypatch):
    """The end of a pipeline run of the victim's video whose tags name the attacker's object: the event (the
    victim's video as JSON) goes to the victim's webhooks, the owner in the upload records, not the attacker's."""
    victim, attacker = api.key("violet"), api.key("marvin")
    victim_video = api.upload(victim)["video_id"]
    api.upload(attacker)
    [attacker_key] = _keys(s3_server, "uploads/marvin/")
    engine = engine_for(api.db_url)
    loopback = ApiSettings(webhook_allow_private=parse_allow_list(LOOPBACK))
    hooks = {user: webhooks.register(engine, loopback, user, f"http://{LOOPBACK}:9/{user}")["id"]
             for user in ("violet", "marvin")}
    for name, value in api.env.items():
        monkeypatch.setenv(name, value)  # the daemon's environment: the same database and bucket as the API
    monkeypatch.setenv("VIDASSETS_BROKER_URL", f"redis://{LOOPBACK}:9/0")  # no workers: the deliveries stay queued
    with dg.DagsterInstance.from_config(str(api.home)) as instance:
        run = instance.create_run_for_job(defs.resolve_job_def("video_pipeline"), tags={
            TAG_VIDEO_ID: victim_video, TAG_BUCKET: BUCKET, TAG_KEY: attacker_key,
            TAG_SOURCE_URI: f"s3://{BUCKET}/{attacker_key}", "dagster/partition": victim_video})
        instance.report_run_failed(run)
        record = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
        context = dg.build_run_status_sensor_context(
            sensor_name=webhooks_on_failure.name, dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance, dagster_run=instance.get_run_by_id(run.run_id))
        webhooks_on_failure(context)
    assert webhooks.list_deliveries(engine, "marvin") == []
    [delivery] = webhooks.list_deliveries(engine, "violet")
    assert (delivery["webhook_id"], delivery["video_id"]) == (hooks["violet"], victim_video)
    assert delivery["event_type"] == "video.failed"


def _keys(s3_server, prefix: str) -> list[str]:
    listing = s3_server.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_listings_show_only_keys_the_api_issued(api, s3_server):
    """Objects under a user's prefix that the API never issued (written with the platform's S3 credentials, or
    by an older client) are not that user's videos."""
    key = api.key("wendy")
    issued = api.upload(key)["video_id"]
    strays = ["uploads/wendy/junk.mp4", "uploads/wendy/20260101000000-0a1b2c3d/deeper/x.mp4",
              "uploads/wendy/20260101000000-0a1b2c3d/Not Safe.mp4"]
    for stray in strays:
        s3_server.client().put_object(Bucket=BUCKET, Key=stray, Body=VIDEO)
    listed = httpx.get(f"{api.url}/v1/videos", headers=auth(key)).json()["videos"]
    assert [video["video_id"] for video in listed] == [issued]
    for stray in strays:
        assert httpx.get(f"{api.url}/v1/videos/{video_id_for(BUCKET, stray)}", headers=auth(key)).status_code == 404
