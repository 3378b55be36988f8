"""Warehouse rows for real processed videos: approved with speech, rejected, and failed — queried with DuckDB."""

import dagster as dg

from vidassets.analytics.query import run_query
from vidassets.assets import all_assets
from vidassets_tests.pipeline_helpers import run_request, upload_and_tick


def _tables(request, instance, resources) -> dg.ExecuteInProcessResult:
    return dg.materialize(all_assets, selection=["video_tables"], partition_key=request.partition_key,
                          instance=instance, resources=resources)


def test_three_real_videos_in_the_warehouse(s3_server, bucket, instance, resources, speaking_video, photo_video):
    requests = upload_and_tick(s3_server, bucket, instance, resources, {
        "uploads/call.mp4": speaking_video.read_bytes(),
        "uploads/photos.mp4": photo_video.read_bytes(),
        "uploads/broken.mp4": b"definitely not a video",
    })
    by_key = {r.tags["vidassets/key"]: r for r in requests}
    reject_faces = dg.RunConfig(ops={"moderation": {"config": {
        "reject_labels": {"FACE_FEMALE": 0.3}, "reject_ratio": 0.0, "min_flagged_frames": 1}}})
    assert run_request(by_key["uploads/call.mp4"], instance, resources).success
    assert run_request(by_key["uploads/photos.mp4"], instance, resources, run_config=reject_faces).success
    assert not run_request(by_key["uploads/broken.mp4"], instance, resources).success
    for request in requests:
        assert _tables(request, instance, resources).success

    root = resources["storage"].store
    videos = run_query(root, "select key, status, reason, speakers, word_count from videos order by key")
    rows = {r.key: r for r in videos.itertuples()}
    assert rows["uploads/call.mp4"].status == "approved" and rows["uploads/call.mp4"].speakers == 2
    assert rows["uploads/photos.mp4"].status == "rejected" and "FACE_FEMALE" in rows["uploads/photos.mp4"].reason
    assert rows["uploads/broken.mp4"].status == "failed"
    assert "uploads/broken.mp4" in rows["uploads/broken.mp4"].reason and "not a decodable video" in (
        rows["uploads/broken.mp4"].reason
    )

    joined = run_query(root, """
        select v.key, s.speaker, s.talk_time_s, count(w.word) as words
        from videos v join speakers s using (video_id) join words w on w.video_id = v.video_id and w.speaker = s.speaker
        group by all order by s.speaker""")
    assert list(joined.key.unique()) == ["uploads/call.mp4"]
    assert sorted(joined.speaker) == ["SPEAKER_00", "SPEAKER_01"]
    assert joined.words.sum() == rows["uploads/call.mp4"].word_count
    labels = run_query(root, "select label, count(*) n from moderation_frames where flagged group by label")
    assert set(labels.label) == {"FACE_FEMALE"}
    hits = run_query(root, "select video_id, speaker, start_s from words where lower(word) like 'jersey%'")
    assert len(hits) >= 1 and hits.start_s.between(5, 30).all()

    # Re-materializing a video replaces its rows: still exactly one copy.
    call = by_key["uploads/call.mp4"]
    assert _tables(call, instance, resources).success
    counts = run_query(root, f"select count(*) n from segments where video_id = '{call.partition_key}'")
    diarized = resources["storage"].store.get_json(f"assets/diarized_transcript/{call.partition_key}/manifest.json")
    assert counts.n[0] == len(diarized["segments"]) > 0
    assert run_query(root, "select count(*) n from videos").n[0] == 3

    # The compaction asset folds the per-video files into sorted files; answers stay the same.
    before = run_query(root, "select speaker, talk_time_s from speakers order by speaker")
    compacted = dg.materialize(all_assets, selection=["warehouse_compaction"], instance=instance, resources=resources)
    assert compacted.success
    assert list(resources["storage"].store.keys("warehouse/_compacted")), "compacted files written"
    assert run_query(root, "select speaker, talk_time_s from speakers order by speaker").equals(before)
