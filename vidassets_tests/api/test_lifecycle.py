"""A video's life as the API and its webhooks tell it, for the two cases that once went wrong: spoken content the
`reject` policy rejects (real espeak-ng speech, tiny Whisper, the real text moderation), and a run that fails and is
retried by Dagster's run retries (the instance decides `dagster/will_retry`; the retry is a real re-execution from
failure of `video_pipeline`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
import yaml

from vidassets import samples
from vidassets.analytics.query import run_query
from vidassets_tests.api.harness import WebhookReceiver
from vidassets_tests.api.processing import run_end_sensor, run_pipeline, sensor_tick, write_tables

SENTENCES = [
    "Thank you all for coming to the meeting today.",
    "You are a stupid idiot and everybody hates you.",
    "Let us look at the numbers for this quarter.",
]
REJECT_SPOKEN = dg.RunConfig(ops={"text_moderation": {"config": {"action": "reject", "reject_share": 0.1}}})


def _pipeline_job() -> dg.JobDefinition:
    """`video_pipeline` from the code location, reconstructable, so a failed run can be re-executed from failure."""
    from vidassets.definitions import defs

    return defs.resolve_job_def("video_pipeline")


def _upload(platform, headers: dict[str, str], path: Path) -> str:
    body = path.read_bytes()
    ticket = httpx.post(f"{platform.url}/v1/uploads", headers=headers,
                        json={"filename": path.name, "content_type": "video/mp4", "size": len(body)}).json()
    assert httpx.put(ticket["upload_url"], content=body, headers=ticket["headers"]).status_code == 200
    return ticket["video_id"]


def _video(platform, headers: dict[str, str], video_id: str) -> dict:
    response = httpx.get(f"{platform.url}/v1/videos/{video_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _costed_runs(platform, video_id: str) -> set[str]:
    costs = run_query(platform.settings.storage_root,
                      f"SELECT DISTINCT run_id FROM run_costs WHERE video_id = '{video_id}'")
    return set(costs.run_id)


@pytest.fixture()
def hooked(platform) -> Iterator[tuple[dict[str, str], WebhookReceiver]]:
    """A user of its own (listings and deliveries of other tests stay apart) with a webhook that answers 200."""
    headers = {"Authorization": f"Bearer {platform.key_for('lifecycle')}"}
    with WebhookReceiver() as receiver:
        hook = httpx.post(f"{platform.url}/v1/webhooks", json={"url": receiver.url}, headers=headers)
        assert hook.status_code == 201, hook.text
        yield headers, receiver
        httpx.delete(f"{platform.url}/v1/webhooks/{hook.json()['id']}", headers=headers)


def test_spoken_content_rejected_by_policy_is_rejected_before_and_after_the_warehouse_row(
    platform, hooked, tmp_path
):
    headers, receiver = hooked
    talk = samples.spoken_sentences_video(tmp_path / "insult.mp4", SENTENCES, width=320, height=180)
    video_id = _upload(platform, headers, talk)
    request = next(r for r in sensor_tick(platform.instance, platform.resources) if r.partition_key == video_id)
    result = run_pipeline(request, platform.instance, platform.resources, run_config=REJECT_SPOKEN)
    assert result.success

    # Before the warehouse run: the manifests decide, and the spoken verdict counts as much as the visual one.
    video = _video(platform, headers, video_id)
    assert video["status"] == "rejected", video
    assert video["reasons"] and video["reasons"][0].startswith("spoken content: "), video
    run_end_sensor(platform.instance, result.run_id)  # the webhook is built in exactly that window
    assert [r.event["type"] for r in receiver.received] == ["video.rejected"]
    assert receiver.received[0].event["data"]["reasons"] == video["reasons"]

    write_tables(video_id, platform.instance, platform.resources)
    after = _video(platform, headers, video_id)
    assert (after["status"], after["reasons"]) == ("rejected", video["reasons"]), "the row agrees with the manifests"
    # An asset run that is not `video_pipeline` (as the UI launches) is costed too.
    assert _costed_runs(platform, video_id) == {result.run_id}


def test_a_failed_run_that_will_be_retried_is_not_the_end_of_the_video(platform, hooked, tmp_path):
    headers, receiver = hooked
    # The same storage as the platform's instance, with run retries on (as in the repo's dagster.yaml).
    config = yaml.safe_load((platform.home / "dagster.yaml").read_text())
    config["run_retries"] = {"enabled": True, "max_retries": 2}
    (platform.home / "retries.yaml").write_text(yaml.safe_dump(config))
    instance = dg.DagsterInstance.from_config(str(platform.home), config_filename="retries.yaml")
    clip = samples.speaking_video(tmp_path / "retried.mp4", seconds=6.0, width=320, height=180)
    video_id = _upload(platform, headers, clip)
    request = next(r for r in sensor_tick(instance, platform.resources) if r.partition_key == video_id)
    bucket, key = request.tags["vidassets/bucket"], request.tags["vidassets/key"]
    s3 = platform.s3_server.client()

    # First attempt: the object is unreadable while the run executes (deleted, then put back with the same bytes).
    s3.delete_object(Bucket=bucket, Key=key)
    job = dg.reconstructable(_pipeline_job)
    tags = {**request.tags, "dagster/partition": video_id}  # what the daemon adds when it creates the run
    first = dg.execute_job(job, instance=instance, tags=tags, raise_on_error=False)
    assert not first.success
    failed = instance.get_run_by_id(first.run_id)
    assert failed.tags.get("dagster/will_retry") == "true", "Dagster's run retries will retry this run"
    run_end_sensor(instance, failed.run_id)
    assert receiver.received == [], "no video.failed for a failure that will be retried"
    waiting = _video(platform, headers, video_id)
    assert waiting["status"] == "queued" and waiting["error"] is None, waiting

    s3.put_object(Bucket=bucket, Key=key, Body=clip.read_bytes())
    # The retry as the daemon's run retries make it: the parent's tags (not its will_retry) and a retry number.
    retry_tags = {**{k: v for k, v in failed.tags.items() if k != "dagster/will_retry"}, "dagster/retry_number": "1"}
    retry = dg.execute_job(job, instance=instance, tags=retry_tags, raise_on_error=False,
                           reexecution_options=dg.ReexecutionOptions.from_failure(failed.run_id, instance))
    assert retry.success
    assert instance.get_run_by_id(retry.run_id).parent_run_id == failed.run_id
    run_end_sensor(instance, retry.run_id)
    assert [r.event["type"] for r in receiver.received] == ["video.completed"]
    assert _video(platform, headers, video_id)["status"] == "completed"
    write_tables(video_id, instance, platform.resources)
    assert _video(platform, headers, video_id)["status"] == "completed"
    assert _costed_runs(platform, video_id) == {failed.run_id, retry.run_id}, "both attempts are costed"
    instance.dispose()
