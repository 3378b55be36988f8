"""The screen_text asset through a sensor-shaped run: OCR blocks, time spans, PII, hints and warehouse rows."""

import dagster as dg

from vidassets import samples
from vidassets.analytics.rows import video_tables
from vidassets.analytics.warehouse import Warehouse
from vidassets_tests.pipeline_helpers import failure_message, run_request, upload_and_tick

SLIDE = [("Quarterly Revenue Review", 80, 60, 48), ("Call 415-867-5309 for details", 80, 140, 28)]
CAPTION = [("Anna Smith, Head of Sales", 60, 600, 32)]


def test_screen_text_blocks_spans_redaction_and_hints(s3_server, bucket, instance, resources, tmp_path):
    """Four shots: the same slide over two backgrounds (one span), a lower third, plain footage (no text)."""
    pictures = [
        samples.draw_text(samples.picture_frame("bigbuckbunny", 1.0), SLIDE),
        samples.draw_text(samples.picture_frame("bikes", 3.0), SLIDE),
        samples.draw_text(samples.picture_frame("bigbuckbunny", 4.0), CAPTION, style="lower_third"),
        samples.picture_frame("bikes", 6.0),
    ]
    video = samples.still_video(tmp_path / "slides.mp4", pictures, seconds_each=2.0)
    (request,) = upload_and_tick(s3_server, bucket, instance, resources, {"uploads/slides.mp4": video.read_bytes()})
    result = run_request(request, instance, resources, selection=["source_video", "shots", "screen_text", "faces"])
    assert result.success, failure_message(result)
    store, vid = resources["storage"].store, request.partition_key
    shots = store.get_json(f"assets/shots/{vid}/manifest.json")
    assert shots["count"] == 4, [s["start_s"] for s in shots["shots"]]

    manifest = store.get_json(f"assets/screen_text/{vid}/manifest.json")
    assert manifest["model"].startswith("rapidocr-ppocrv4 det sha256:")
    texts = [(b["text"], b["shot_index"], b["shots"]) for b in manifest["blocks"]]
    assert texts == [("Quarterly Revenue Review", 0, 2), ("Call 415-867-5309 for details", 0, 2),
                     ("Anna Smith, Head of Sales", 2, 1)], texts
    title, phone, caption = manifest["blocks"]
    assert abs(title["start"] - 0.0) < 0.15 and abs(title["end"] - 4.0) < 0.15, title
    assert phone["text_redacted"] == "Call [PHONE] for details" and title["text_redacted"] == title["text"]
    assert manifest["pii_redactions"] == {"PHONE_NUMBER": 1}
    assert title["box"][0] < 0.1 and title["box"][1] < 0.12 and caption["box"][1] > 0.8
    assert [s["read"] for s in manifest["shots"]] == ["ocr", "ocr", "ocr", "no_text"]
    assert [s["title_block"] for s in manifest["shots"]] == [0, 0, None, None]
    assert abs(manifest["time_share_with_text"] - 0.75) < 0.05

    faces = store.get_json(f"assets/faces/{vid}/manifest.json")
    assert [s["hint"] for s in faces["shots"]][:2] == ["slides", "slides"]
    assert faces["shots"][3]["hint"] != "slides" and faces["shots"][3]["text_area"] == 0.0

    tables = video_tables(source_video=store.get_json(f"assets/source_video/{vid}/manifest.json"), shots=shots,
                          screen_text=manifest, faces=faces)
    rows = tables["screen_text"].to_pylist()
    assert [r["block_index"] for r in rows] == [0, 1, 2] and rows[1]["text_redacted"] == "Call [PHONE] for details"
    assert tables["shots"].column("hint").to_pylist()[:2] == ["slides", "slides"]
    Warehouse(store).write_video(vid, tables)
    found = Warehouse(store).connect().execute(
        "SELECT t.start_s, s.hint FROM screen_text t JOIN shots s USING (video_id, shot_index) "
        "WHERE t.text_redacted ILIKE '%revenue%'").fetchall()
    assert len(found) == 1 and found[0][1] == "slides"

    (event,) = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "screen_text"]
    assert event.metadata["time_share_with_text"].value == manifest["time_share_with_text"]
    assert "[PHONE]" in event.metadata["text"].value and "415-867" not in event.metadata["text"].value
    assert isinstance(event.metadata["text"], dg.TextMetadataValue)  # the uploader's text never renders as markdown


def test_duplicate_keyframes_are_read_once(s3_server, bucket, instance, resources, tmp_path):
    """The same slide after a cut-away: the second keyframe reuses the first reading (dhash), not the model."""
    slide = samples.draw_text(samples.picture_frame("bigbuckbunny", 1.0), SLIDE)
    video = samples.still_video(tmp_path / "again.mp4", [slide, samples.picture_frame("bikes", 6.0), slide])
    (request,) = upload_and_tick(s3_server, bucket, instance, resources, {"uploads/again.mp4": video.read_bytes()})
    result = run_request(request, instance, resources, selection=["source_video", "shots", "screen_text"])
    assert result.success, failure_message(result)
    manifest = resources["storage"].store.get_json(f"assets/screen_text/{request.partition_key}/manifest.json")
    assert [s["read"] for s in manifest["shots"]] == ["ocr", "no_text", "duplicate"]
    assert manifest["keyframes_read"] == 1
    # shown twice with a cut-away between: two spans of the same text
    assert [b["shot_index"] for b in manifest["blocks"] if b["text"] == "Quarterly Revenue Review"] == [0, 2]
