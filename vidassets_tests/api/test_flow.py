"""The whole story through the API with the real pipeline (tiny Whisper): upload through a presigned PUT (by
`vidassets upload`), sensor, run, status while processing, transcript in four formats, summary, listing, a failed
upload, and signed webhooks delivered after a failing receiver, exactly once."""

from __future__ import annotations

import contextlib
import io
import json
import time

import httpx
import pytest

from vidassets.api import webhooks
from vidassets.cli.api import status_main
from vidassets_tests.api.processing import retry_tick, run_end_sensor


def test_upload_status_transcript_flow(platform, processed):
    assert processed.uploaded_status["status"] == "uploaded"
    assert "[" in processed.upload_output and "100%" in processed.upload_output  # the progress bar
    steps = {s["current_step"] for s in processed.seen if s["status"] == "processing"}
    assert {"transcript", "diarized_transcript"} & steps, processed.seen[-3:]

    video = httpx.get(f"{platform.url}/v1/videos/{processed.talk_id}", headers=processed.headers).json()
    assert video["status"] == "completed", video
    assert video["language"] == "en" and video["speakers"] >= 1 and 11 < video["duration_s"] < 13
    assert video["run"]["run_id"] == processed.run_ids["talk"] and video["run"]["status"] == "SUCCESS"
    assert video["filename"] == "talk.mp4"

    def get(fmt: str) -> httpx.Response:
        return httpx.get(f"{platform.url}/v1/videos/{processed.talk_id}/transcript", params={"format": fmt},
                         headers=processed.headers)

    srt = get("srt")
    assert srt.status_code == 200 and srt.text.startswith("1\n00:00:") and "[SPEAKER_00]:" in srt.text
    vtt = get("vtt")
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT\n\n00:00:")
    words = json.loads(get("json").text)["word_segments"]
    assert words and all("start" in w for w in words)
    assert "hello" in get("txt").text.lower()
    assert get("pdf").status_code == 422

    summary = httpx.get(f"{platform.url}/v1/videos/{processed.talk_id}/summary", headers=processed.headers)
    assert summary.status_code == 200 and summary.json()["summary"] and summary.json()["method"]

    listing = httpx.get(f"{platform.url}/v1/videos", params={"limit": 1}, headers=processed.headers).json()
    assert len(listing["videos"]) == 1 and listing["next_cursor"]
    page2 = httpx.get(f"{platform.url}/v1/videos", params={"limit": 1, "cursor": listing["next_cursor"]},
                      headers=processed.headers).json()
    assert {listing["videos"][0]["video_id"], page2["videos"][0]["video_id"]} == {
        processed.talk_id, processed.broken_id}
    failed = httpx.get(f"{platform.url}/v1/videos", params={"status": "failed"}, headers=processed.headers).json()
    assert [v["video_id"] for v in failed["videos"]] == [processed.broken_id]

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(out):
        env.setenv("VIDASSETS_API_URL", platform.url)
        env.setenv("VIDASSETS_API_KEY", processed.key)
        assert status_main([processed.talk_id]) == 0
    assert f"{processed.talk_id}: completed" in out.getvalue() and "language=en" in out.getvalue()


def test_failed_upload_reports_the_cause(platform, processed):
    video = httpx.get(f"{platform.url}/v1/videos/{processed.broken_id}", headers=processed.headers).json()
    assert video["status"] == "failed" and "not a decodable video" in video["error"]
    transcript = httpx.get(f"{platform.url}/v1/videos/{processed.broken_id}/transcript", headers=processed.headers)
    assert transcript.status_code == 409 and "processing failed" in transcript.json()["detail"]


def test_reprocess_needs_the_webserver(platform, processed):
    response = httpx.post(f"{platform.url}/v1/videos/{processed.talk_id}/reprocess", headers=processed.headers)
    assert response.status_code == 503 and "VIDASSETS_DAGSTER_URL" in response.json()["detail"]


def test_webhooks_signed_retried_and_delivered_once(platform, processed):
    receiver, secret = processed.receiver, processed.hook["secret"]
    # The first POST got a 500; the delivery waits for its backoff, then the retry sensor sends it.
    assert receiver.answered[0] == 500
    time.sleep(platform.settings.webhook_backoff_s + 0.2)
    retry_tick(platform.instance)
    retry_tick(platform.instance)
    for run_id in processed.run_ids.values():
        run_end_sensor(platform.instance, run_id)  # the daemon may evaluate a run's end twice: no new delivery
    retry_tick(platform.instance)

    delivered = [r for r, code in zip(receiver.received, receiver.answered, strict=True) if code == 200]
    events = {r.event["type"]: r for r in delivered}
    assert sorted(events) == ["video.completed", "video.failed"]
    assert len(delivered) == 2 and len(receiver.received) == 3
    completed = events["video.completed"]
    assert completed.event["data"]["video_id"] == processed.talk_id
    assert completed.event["data"]["language"] == "en"
    assert "not a decodable video" in events["video.failed"].event["data"]["error"]
    for received in delivered:
        signature = received.headers[webhooks.SIGNATURE_HEADER]
        assert webhooks.verify_signature(secret, received.body, signature)
        assert not webhooks.verify_signature("whsec_wrong", received.body, signature)
        assert not webhooks.verify_signature(secret, received.body.replace(b"video", b"vide0"), signature)
        assert received.headers[webhooks.EVENT_ID_HEADER] == received.event["id"]
        assert abs(int(received.headers[webhooks.TIMESTAMP_HEADER]) - time.time()) < 120
    assert not webhooks.verify_signature(secret, completed.body, signature, now=time.time() + 3600)  # too old

    log = httpx.get(f"{platform.url}/v1/webhooks/deliveries", headers=processed.headers).json()["deliveries"]
    assert sorted((d["event_type"], d["status"]) for d in log) == [
        ("video.completed", "delivered"), ("video.failed", "delivered")]
    assert sorted(d["attempts"] for d in log) == [1, 2]
    retried = next(d for d in log if d["attempts"] == 2)
    assert retried["last_status_code"] == 200 and retried["delivered_at"]
    other = platform.key_for("eve")
    assert httpx.get(f"{platform.url}/v1/webhooks/deliveries",
                     headers={"Authorization": f"Bearer {other}"}).json() == {"deliveries": []}
