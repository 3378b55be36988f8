"""Moderation with the real NudeNet v3 detector on real photos, and the gate in front of speech work."""

import dagster as dg

from vidassets_tests.pipeline_helpers import failure_message, run_request, upload_and_tick


def test_benign_real_photos_are_approved(s3_server, bucket, instance, resources, photo_video):
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/photos.mp4": photo_video.read_bytes()}
    )
    result = run_request(request, instance, resources)
    assert result.success, failure_message(result)
    verdict = resources["storage"].store.get_json(f"assets/moderation/{request.partition_key}/manifest.json")
    assert verdict["verdict"] == "approved" and verdict["reasons"] == []
    assert verdict["model"].startswith("nudenet-320n")
    # The detector really ran: the astronaut's face is found.
    assert verdict["label_counts"].get("FACE_FEMALE", 0) >= 1


def test_rejection_gate_uses_real_detections(s3_server, bucket, instance, resources, photo_video):
    """Configure a label NudeNet really reports on a real photo as rejecting: the verdict must follow the
    detector, the verdict is kept, and audio (and so all speech work) is not materialized."""
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/photos.mp4": photo_video.read_bytes()}
    )
    config = dg.RunConfig(ops={"moderation": {"config": {
        "reject_labels": {"FACE_FEMALE": 0.3}, "reject_ratio": 0.0, "min_flagged_frames": 1,
    }}})
    result = run_request(request, instance, resources, run_config=config)
    assert result.success, failure_message(result)
    storage = resources["storage"].store
    verdict = storage.get_json(f"assets/moderation/{request.partition_key}/manifest.json")
    assert verdict["verdict"] == "rejected"
    assert any("FACE_FEMALE" in reason for reason in verdict["reasons"])
    assert verdict["frames_flagged"] >= 1
    assert verdict["flagged_timestamps_s"], "flagged frames are recorded with their times"
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "audio" not in materialized and "moderation" in materialized
    assert not storage.exists(f"assets/audio/{request.partition_key}/manifest.json")
    observations = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert observations and "moderation rejected" in str(
        observations[0].asset_observation_data.asset_observation.metadata["skipped"].value
    )


def test_unknown_label_in_policy_is_a_clear_error(s3_server, bucket, instance, resources, photo_video):
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/photos.mp4": photo_video.read_bytes()}
    )
    config = dg.RunConfig(ops={"moderation": {"config": {"reject_labels": {"EXPOSED_GENITALIA": 0.5}}}})
    result = run_request(request, instance, resources, run_config=config)
    assert not result.success
    assert "unknown NudeNet v3 labels" in failure_message(result) and "EXPOSED_GENITALIA" in failure_message(result)
