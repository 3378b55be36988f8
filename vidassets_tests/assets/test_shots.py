"""The shots asset through a sensor-shaped run: manifest, keyframe JPEGs in S3, warehouse rows."""

import io

from PIL import Image

from vidassets import samples
from vidassets.analytics.rows import video_tables
from vidassets.analytics.warehouse import Warehouse
from vidassets_tests.pipeline_helpers import failure_message, run_request, upload_and_tick

PARTS = [("bigbuckbunny", 0.5, 3.5), ("bikes", 5.6, 7.4), ("bigbuckbunny", 1.0, 3.0)]


def test_shots_asset_stores_shots_keyframes_and_rows(s3_server, bucket, instance, resources, tmp_path):
    video = tmp_path / "montage.mp4"
    cuts = samples.montage_video(video, PARTS)
    (request,) = upload_and_tick(s3_server, bucket, instance, resources, {"uploads/montage.mp4": video.read_bytes()})
    result = run_request(request, instance, resources, selection=["source_video", "shots"])
    assert result.success, failure_message(result)
    store, vid = resources["storage"].store, request.partition_key

    manifest = store.get_json(f"assets/shots/{vid}/manifest.json")
    assert manifest["count"] == 3 and manifest["method"] == "pyscenedetect-content"
    assert manifest["model"].startswith("scenedetect 0.7")
    starts = [s["start_s"] for s in manifest["shots"][1:]]
    assert all(abs(a - b) <= 0.08 for a, b in zip(starts, cuts, strict=True)), (starts, cuts)
    for shot in manifest["shots"]:
        image = Image.open(io.BytesIO(store.get_bytes(shot["keyframe_key"])))
        assert image.format == "JPEG" and image.size == (shot["width"], shot["height"])

    source = store.get_json(f"assets/source_video/{vid}/manifest.json")
    table = video_tables(source_video=source, shots=manifest)["shots"]
    assert table.column("shot_index").to_pylist() == [0, 1, 2]
    assert table.column("transition").to_pylist() == ["start", "cut", "cut"]
    assert set(table.column("method").to_pylist()) == {"pyscenedetect-content"}

    (event,) = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "shots"]
    assert event.metadata["shot_strip"].value.startswith("![shot strip](data:image/png;base64,")


def test_faces_on_a_photo_slideshow(s3_server, bucket, instance, resources, tmp_path):
    """One shot per photo; the astronaut's keyframe has her face, the coffee cup none; rows in table faces."""
    video = samples.photo_video(tmp_path / "photos.mp4", ("astronaut", "coffee"), seconds_each=2.0)
    (request,) = upload_and_tick(s3_server, bucket, instance, resources, {"uploads/photos.mp4": video.read_bytes()})
    result = run_request(request, instance, resources, selection=["source_video", "shots", "screen_text", "faces"])
    assert result.success, failure_message(result)
    store, vid = resources["storage"].store, request.partition_key
    faces = store.get_json(f"assets/faces/{vid}/manifest.json")
    assert faces["keyframes"] == 2 and faces["model"].startswith("centerface-sha256:")
    astronaut, coffee = faces["shots"]
    assert len(astronaut["faces"]) == 1 and astronaut["faces"][0]["score"] > 0.8
    assert astronaut["hint"] == "talking_head" and coffee["faces"] == [] and coffee["hint"] == "other"
    assert abs(faces["time_share_with_faces"] - 0.5) < 0.05
    tables = video_tables(source_video=store.get_json(f"assets/source_video/{vid}/manifest.json"),
                          shots=store.get_json(f"assets/shots/{vid}/manifest.json"), faces=faces)
    table = tables["faces"]
    assert table.column("face_count").to_pylist() == [1, 0]
    assert table.column("box").to_pylist()[1] is None and table.column("hint").to_pylist() == ["talking_head", "other"]
    written = Warehouse(store).write_video(vid, tables)
    assert (written["shots"], written["faces"]) == (2, 2)
    rows = Warehouse(store).connect().execute(
        "SELECT s.shot_index, f.hint FROM shots s JOIN faces f USING (video_id, shot_index) ORDER BY 1").fetchall()
    assert rows == [(0, "talking_head"), (1, "other")]
