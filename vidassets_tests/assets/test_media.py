"""source_video, frames and audio materialized for real videos through sensor-shaped runs."""

import io
import json

import av
import dagster as dg
from PIL import Image

from vidassets.assets import per_video_assets
from vidassets_tests.pipeline_helpers import failure_message, run_request, upload_and_tick


def _manifest(storage, asset: str, video_id: str) -> dict:
    return storage.get_json(f"assets/{asset}/{video_id}/manifest.json")


def test_speaking_video_media_assets(s3_server, bucket, instance, resources, speaking_video):
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/Team Talk.mp4": speaking_video.read_bytes()}
    )
    result = run_request(request, instance, resources)
    assert result.success, failure_message(result)
    storage, vid = resources["storage"].store, request.partition_key

    source = _manifest(storage, "source_video", vid)
    assert source["key"] == "uploads/Team Talk.mp4" and len(source["sha256"]) == 64
    probe = source["probe"]
    assert abs(probe["duration_s"] - 30.0) < 0.5
    assert (probe["video"]["width"], probe["video"]["height"]) == (640, 360)
    assert probe["audio"] is not None

    frames = _manifest(storage, "frames", vid)
    times = [f["timestamp_s"] for f in frames["frames"]]
    assert times == sorted(times) and times[-1] > 25.0, "frames must cover the whole video"
    assert 10 <= frames["count"] <= 16  # 0.5 fps over 30 s
    jpeg = storage.get_bytes(frames["frames"][3]["key"])
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"

    moderation = _manifest(storage, "moderation", vid)
    assert moderation["verdict"] == "approved" and moderation["frames_checked"] == frames["count"]

    audio = _manifest(storage, "audio", vid)
    assert audio["has_audio"] and abs(audio["duration_s"] - 30.0) < 0.5
    flac = s3_server.client().get_object(Bucket=bucket, Key=f"store/{audio['key']}")["Body"].read()
    with av.open(io.BytesIO(flac)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.rate, stream.channels) == ("flac", 16000, 1)

    materialized = {
        e.asset_key.to_user_string(): e.metadata for e in result.get_asset_materialization_events()
        for e in [e.event_specific_data.materialization]
    }
    assert {"source_video", "frames", "moderation", "audio"} <= set(materialized)
    assert materialized["frames"]["contact_sheet"].value.startswith("![contact sheet](data:image/png;base64,")
    assert materialized["moderation"]["verdict"].value == "approved"


def test_rematerializing_frames_replaces_only_that_partition(s3_server, bucket, instance, resources, speaking_video):
    requests = upload_and_tick(
        s3_server, bucket, instance, resources,
        {"uploads/one.mp4": speaking_video.read_bytes(), "uploads/two.mp4": speaking_video.read_bytes()},
    )
    for request in requests:
        assert run_request(request, instance, resources, selection=["source_video", "frames"]).success
    storage = resources["storage"].store
    one, two = (r.partition_key for r in requests)
    before_two = sorted(storage.keys(f"assets/frames/{two}"))

    # Fewer frames the second time: stale frames of `one` go, `two` is untouched.
    config = dg.RunConfig(ops={"frames": {"config": {"rate_fps": 0.2}}})
    again = run_request(requests[0], instance, resources, selection=["frames"], run_config=config)
    assert again.success, failure_message(again)
    frames_one = _manifest(storage, "frames", one)
    listed = sorted(storage.keys(f"assets/frames/{one}"))
    assert listed == sorted([f["key"] for f in frames_one["frames"]] + [f"assets/frames/{one}/manifest.json"])
    assert sorted(storage.keys(f"assets/frames/{two}")) == before_two


def test_video_without_audio_track_has_no_speech(s3_server, bucket, instance, resources, silent_video):
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/silent.mp4": silent_video.read_bytes()}
    )
    result = run_request(request, instance, resources)
    assert result.success, failure_message(result)
    audio = resources["storage"].store.get_json(f"assets/audio/{request.partition_key}/manifest.json")
    assert audio["has_audio"] is False and audio["key"] is None


def test_bad_inputs_fail_clearly_while_good_video_in_same_tick_succeeds(
    s3_server, bucket, instance, resources, speaking_video, bad_inputs
):
    files = {f"uploads/{name}": body for name, body in bad_inputs.items()}
    files["uploads/good.mp4"] = speaking_video.read_bytes()
    requests = upload_and_tick(s3_server, bucket, instance, resources, files)
    assert len(requests) == 4
    outcomes = {}
    for request in requests:
        result = run_request(request, instance, resources)
        outcomes[request.tags["vidassets/key"]] = (result.success, failure_message(result))

    assert outcomes["uploads/good.mp4"] == (True, "")
    expected_cause = {"empty.mp4": "empty", "truncated.mp4": "", "notes.mp4": ""}
    for name, cause in expected_cause.items():
        success, message = outcomes[f"uploads/{name}"]
        assert not success
        assert f"s3://{bucket}/uploads/{name}" in message, message
        assert cause in message
    # Earlier outputs stay intact: the good video's manifests are all there.
    good = next(r for r in requests if r.tags["vidassets/key"] == "uploads/good.mp4").partition_key
    for asset in ("source_video", "frames", "moderation", "audio"):
        assert json.loads(resources["storage"].store.get_bytes(f"assets/{asset}/{good}/manifest.json"))


def test_ui_rematerialization_without_tags_finds_the_object(s3_server, bucket, instance, resources, silent_video):
    """The UI launches runs with no sensor tags: source_video finds the object via the sensor's runs."""
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/clip.mp4": silent_video.read_bytes()}
    )
    assert run_request(request, instance, resources, selection=["source_video"]).success
    untagged = dg.materialize(
        per_video_assets,
        selection=["source_video"], partition_key=request.partition_key, instance=instance, resources=resources,
    )
    assert untagged.success
    manifest = resources["storage"].store.get_json(f"assets/source_video/{request.partition_key}/manifest.json")
    assert manifest["key"] == "uploads/clip.mp4"


def test_partition_without_any_sensor_run_fails_clearly(instance, resources):
    instance.add_dynamic_partitions("videos", ["orphan-0123456789ab"])
    result = dg.materialize(per_video_assets, selection=["source_video"], partition_key="orphan-0123456789ab",
                            instance=instance, resources=resources, raise_on_error=False)
    assert not result.success
    assert "orphan-0123456789ab: no run of the S3 sensor names its object" in failure_message(result)
