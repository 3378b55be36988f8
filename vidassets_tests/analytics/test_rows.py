"""Manifests -> rows: pure, schema-exact, and right for approved, rejected, failed and speechless videos."""

import copy
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from vidassets.analytics.rows import video_tables
from vidassets.analytics.schemas import SCHEMA_VERSION, SCHEMAS, TABLES
from vidassets.ml.pii_redaction import redact_segments
from vidassets_tests.analytics import manifests as m
from vidassets_tests.analytics.conftest import PROCESSED_AT


def _counts(tables):
    """Rows per table from the manifests (run_costs come from the Dagster instance: see test_costs.py)."""
    return {name: t.num_rows for name, t in tables.items() if name != "run_costs"}


def test_every_table_is_returned_with_its_exact_schema(corpus_tables):
    for tables in corpus_tables.values():
        assert tuple(tables) == TABLES
        for name, table in tables.items():
            assert table.schema.equals(SCHEMAS[name], check_metadata=True), name
            if table.num_rows:
                assert set(table.column("schema_version").to_pylist()) == {SCHEMA_VERSION}


def test_approved_two_speaker_video(corpus_tables):
    tables = corpus_tables[m.APPROVED]
    assert _counts(tables) == {"videos": 1, "moderation_frames": 5, "segments": 5, "words": 43, "speakers": 2,
                               "voices": 2, "summaries": 1, "text_moderation": 5, "shots": 0, "faces": 0,
                               "screen_text": 0,
                               "text_embeddings": 0,
                               "voice_registry": 0}  # embedded by the video_tables asset
    (video,) = tables["videos"].to_pylist()
    assert video == {
        "video_id": m.APPROVED, "source_uri": "s3://vidassets/uploads/team talk.mp4", "bucket": "vidassets",
        "key": "uploads/team talk.mp4", "status": "approved", "reason": None, "duration_s": 15.0, "width": 1280,
        "height": 720, "fps": 29.97, "has_audio": True, "language": "en", "language_probability": 0.987,
        "speakers": 2, "word_count": 43, "whisper_model": "whisper base (int8, cpu)",
        "align_model": "faster-whisper-cross-attention", "diarizer_model": "resemblyzer-spectral",
        "moderation_model": "nudenet-v3-320n", "summary_model": "all-MiniLM-L6-v2", "code_version": m.CODE_VERSION,
        "speech_verdict": "approved", "speech_flagged_share": 0.0,
        "speech_moderation_model": "alt-profanity-check 1.9.1", "pii_redactions": 0,
        "processed_at": datetime(2025, 5, 1, 10, 5, tzinfo=UTC), "schema_version": SCHEMA_VERSION,
    }
    speakers = tables["speakers"].to_pylist()
    assert [(s["speaker"], s["talk_time_s"], s["word_count"], s["turns"]) for s in speakers] == [
        ("SPEAKER_00", 8.2, 28, 2), ("SPEAKER_01", 4.9, 15, 1)]
    assert speakers[0]["words_per_minute"] == pytest.approx(28 / (8.2 / 60), abs=0.1)
    voices = tables["voices"].to_pylist()
    assert voices == [
        {"video_id": m.APPROVED, "speaker": "SPEAKER_00", "embedding": pytest.approx([0.6, 0.8, 0.0, 0.0]),
         "talk_time_s": 8.2, "speech_s": 7.9, "windows": 5, "model": "resemblyzer", "too_short": True,
         "schema_version": SCHEMA_VERSION},
        {"video_id": m.APPROVED, "speaker": "SPEAKER_01", "embedding": None, "talk_time_s": 4.9, "speech_s": 0.0,
         "windows": None, "model": "resemblyzer", "too_short": True, "schema_version": SCHEMA_VERSION},
    ]
    assert tables["voices"].schema.field("embedding").type == pa.list_(pa.float32())
    segments = tables["segments"].to_pylist()
    assert [s["segment_index"] for s in segments] == list(range(5))
    assert segments[2] == {"video_id": m.APPROVED, "segment_index": 2, "start_s": 7.0, "end_s": 8.8,
                           "speaker": "SPEAKER_01", "voice_id": None, "speaker_name": None,  # set by the registry
                           "text": "Thanks, I have the numbers ready.",
                           "text_redacted": "Thanks, I have the numbers ready.", "word_count": 6,
                           "schema_version": SCHEMA_VERSION}
    words = tables["words"].to_pylist()
    assert words[0] == {"video_id": m.APPROVED, "segment_index": 0, "word_index": 0, "word": "Welcome",
                        "start_s": 0.5, "end_s": 0.9, "score": 0.98, "speaker": "SPEAKER_00",
                        "pii_entity": None, "schema_version": SCHEMA_VERSION}
    assert sum(s["word_count"] for s in segments) == len(words) == video["word_count"]
    (summary,) = tables["summaries"].to_pylist()
    assert summary["title"] == "Quarterly planning review"
    assert summary["topics"] == ["budget", "hiring plan", "planning"]
    frames = tables["moderation_frames"].to_pylist()
    empty = [f for f in frames if f["label"] is None]
    assert [(f["frame_index"], f["timestamp_s"], f["score"], f["box"]) for f in empty] == [(2, 4.0, None, None)]
    assert not any(f["flagged"] or f["frame_flagged"] for f in frames)
    assert frames[0]["box"] == [410, 120, 96, 110]


def test_rejected_video_has_moderation_rows_and_no_speech_rows(corpus_tables):
    tables = corpus_tables[m.REJECTED]
    assert _counts(tables) == {"videos": 1, "moderation_frames": 4, "segments": 0, "words": 0, "speakers": 0,
                               "voices": 0, "summaries": 0, "text_moderation": 0, "shots": 0, "faces": 0,
                               "screen_text": 0,
                               "text_embeddings": 0,
                               "voice_registry": 0}  # embedded by the video_tables asset
    (video,) = tables["videos"].to_pylist()
    assert video["status"] == "rejected"
    assert video["reason"] == ("2 of 3 sampled frames flagged (limit 1); "
                               "FEMALE_BREAST_EXPOSED: 2 frame detection(s) at or above 0.60")
    assert video["speakers"] is None and video["word_count"] is None and video["duration_s"] == 6.0
    rows = tables["moderation_frames"].to_pylist()
    flagged = [(r["frame_index"], r["label"], r["score"]) for r in rows if r["flagged"]]
    assert flagged == [(0, "FEMALE_BREAST_EXPOSED", 0.82), (1, "FEMALE_BREAST_EXPOSED", 0.77)]
    assert {r["frame_index"] for r in rows if r["frame_flagged"]} == {0, 1}
    assert [r["flagged"] for r in rows if r["frame_index"] == 2] == [False]  # 0.45 < 0.6


def test_rejected_video_ignores_stale_speech_manifests():
    parts = m.rejected_manifests()
    approved = m.approved_manifests()
    for name in ("transcript", "diarized_transcript", "summary", "text_moderation"):
        parts[name] = {**approved[name], "video_id": m.REJECTED}
    tables = video_tables(**parts)
    assert {n for n, t in tables.items() if t.num_rows} == {"videos", "moderation_frames"}
    assert tables["videos"].column("speech_verdict").to_pylist() == [None]


def test_failed_video_is_one_row_with_the_error(corpus_tables):
    tables = corpus_tables[m.FAILED]
    assert _counts(tables) == {"videos": 1, "moderation_frames": 0, "segments": 0, "words": 0, "speakers": 0,
                               "voices": 0, "summaries": 0, "text_moderation": 0, "shots": 0, "faces": 0,
                               "screen_text": 0,
                               "text_embeddings": 0,
                               "voice_registry": 0}  # embedded by the video_tables asset
    (video,) = tables["videos"].to_pylist()
    assert video["status"] == "failed"
    assert video["reason"] == "s3://vidassets/uploads/broken upload.mp4: not a video: moov atom not found"
    assert (video["source_uri"], video["bucket"], video["key"]) == (
        "s3://vidassets/uploads/broken upload.mp4", "vidassets", "uploads/broken upload.mp4")
    assert video["duration_s"] is None and video["processed_at"] == datetime(2025, 5, 1, 10, 5, tzinfo=UTC)


def test_failure_after_some_steps_keeps_source_facts_only():
    parts = m.approved_manifests()
    failure = {"video_id": m.APPROVED, "source_uri": parts["source_video"]["source_uri"],
               "error": "diarized_transcript: CUDA out of memory"}
    tables = video_tables(**parts, failure=failure)
    assert {n for n, t in tables.items() if t.num_rows} == {"videos"}
    (video,) = tables["videos"].to_pylist()
    assert (video["status"], video["reason"], video["duration_s"], video["width"]) == (
        "failed", "diarized_transcript: CUDA out of memory", 15.0, 1280)


def test_a_manifest_with_an_error_key_counts_as_the_failure_record():
    record = m.failed_manifests()["failure"]
    (video,) = video_tables(source_video=record).get("videos").to_pylist()
    assert video["status"] == "failed" and video["reason"].endswith("moov atom not found")


def test_no_speech_statuses():
    approved = m.approved_manifests()
    silent = copy.deepcopy(approved)
    silent["transcript"].update(segments=[], word_count=0, language=None, language_probability=None)
    silent["diarized_transcript"].update(segments=[], turns=[], speakers=[], language=None)
    del silent["summary"]
    tables = video_tables(**silent)
    (video,) = tables["videos"].to_pylist()
    assert (video["status"], video["reason"], video["speakers"], video["word_count"]) == (
        "no_speech", "no speech detected", 0, 0)
    assert tables["segments"].num_rows == tables["speakers"].num_rows == 0

    no_track = copy.deepcopy(silent)
    no_track["source_video"]["probe"]["audio"] = None
    del no_track["diarized_transcript"]
    (video,) = video_tables(**no_track)["videos"].to_pylist()
    assert (video["status"], video["reason"], video["has_audio"], video["speakers"]) == (
        "no_speech", "no audio track", False, 0)


def test_transcript_without_diarization_or_summary():
    parts = m.approved_manifests()
    del parts["diarized_transcript"], parts["summary"]
    tables = video_tables(**parts)
    (video,) = tables["videos"].to_pylist()
    assert (video["status"], video["reason"], video["speakers"], video["word_count"]) == (
        "approved", "no diarized transcript; no summary", None, 43)
    assert set(tables["segments"].column("speaker").to_pylist()) == {None}
    assert tables["words"].num_rows == 43 and tables["speakers"].num_rows == 0


def test_pure_deterministic_and_inputs_untouched():
    parts = m.approved_manifests()
    before = copy.deepcopy(parts)
    first = video_tables(**parts, processed_at=PROCESSED_AT)
    second = video_tables(**parts, processed_at=datetime(2025, 5, 1, 10, 5))  # naive = UTC
    assert parts == before
    assert all(first[name].equals(second[name]) for name in TABLES)
    assert video_tables(**parts)["videos"].column("processed_at").to_pylist() == [None]


def test_video_id_checks():
    parts = m.approved_manifests()
    parts["summary"] = {**parts["summary"], "video_id": m.REJECTED}
    with pytest.raises(ValueError, match="disagree"):
        video_tables(**parts)
    with pytest.raises(ValueError, match="unsafe video id"):
        video_tables(failure={"video_id": "../../etc", "error": "x"})
    with pytest.raises(ValueError, match="disagree"):
        video_tables()


def test_odd_values_are_coerced_not_crashing():
    parts = m.approved_manifests()
    parts["source_video"]["probe"]["video"].update(width=1280.0, fps="29.97", height=None)
    parts["transcript"]["language_probability"] = float("nan")
    seg = parts["diarized_transcript"]["segments"][0]
    seg["words"][0].pop("start")
    seg["words"][0].pop("score")
    tables = video_tables(**parts)
    (video,) = tables["videos"].to_pylist()
    assert (video["width"], video["height"], video["fps"], video["language_probability"]) == (1280, None, 29.97, None)
    first = tables["words"].to_pylist()[0]
    assert first["start_s"] is None and first["score"] is None and first["end_s"] == 0.9


def test_text_moderation_rows_and_the_spoken_verdict_in_videos(corpus_tables):
    tables = corpus_tables[m.APPROVED]
    rows = tables["text_moderation"].to_pylist()
    assert [(r["segment_index"], r["speaker"], r["category"], r["score"], r["flagged"]) for r in rows] == [
        (0, "SPEAKER_00", "profanity", 0.03, False), (1, "SPEAKER_00", "profanity", 0.01, False),
        (2, "SPEAKER_01", "profanity", 0.02, False), (3, "SPEAKER_01", "profanity", 0.01, False),
        (4, "SPEAKER_00", "profanity", 0.04, False)]
    assert rows[2]["start_s"] == 7.0 and rows[2]["end_s"] == 8.8
    assert {r["model"] for r in rows} == {"alt-profanity-check 1.9.1"} and all(r["method"] for r in rows)
    (video,) = tables["videos"].to_pylist()
    assert (video["status"], video["speech_verdict"], video["speech_flagged_share"], video["pii_redactions"]) == (
        "approved", "approved", 0.0, 0)
    assert video["speech_moderation_model"] == "alt-profanity-check 1.9.1"


def test_spoken_rejection_rejects_the_video_with_the_reason():
    parts = m.approved_manifests()
    moderation = parts["text_moderation"]
    moderation["segments"][2].update(scores={"profanity": 0.97}, flagged=True, flagged_categories=["profanity"])
    moderation.update(verdict="rejected", flagged_share=0.1425, reasons=[
        "14% of speech time flagged (limit 10%)", "profanity: 1 segment(s) at or above 0.50"])
    del parts["summary"]
    tables = video_tables(**parts)
    (video,) = tables["videos"].to_pylist()
    assert video["status"] == "rejected" and video["speech_verdict"] == "rejected"
    assert video["reason"] == ("spoken content: 14% of speech time flagged (limit 10%); "
                               "profanity: 1 segment(s) at or above 0.50")
    flagged = [r for r in tables["text_moderation"].to_pylist() if r["flagged"]]
    assert [(r["segment_index"], r["speaker"]) for r in flagged] == [(2, "SPEAKER_01")]
    assert tables["segments"].num_rows == 5  # the lines stay queryable


def test_redacted_text_and_the_word_mask_reach_segments_and_words():
    """A line with an e-mail spoken aloud: `segments.text_redacted` has the tag, `text` the original words, and
    `words.pii_entity` marks exactly the masked words (the real redaction builds the manifest's pii part)."""
    parts = m.approved_manifests()
    line = parts["diarized_transcript"]["segments"][2]
    spoken = ["Thanks,", "write", "to", "anna", "at", "gmail", "dot", "com."]
    line["words"] = [{"word": w, "start": 7.0 + 0.2 * i, "end": 7.15 + 0.2 * i, "score": 0.9, "speaker": "SPEAKER_01"}
                     for i, w in enumerate(spoken)]
    line["text"] = " ".join(spoken)
    redaction = redact_segments(parts["diarized_transcript"]["segments"])
    parts["text_moderation"]["pii"].update(mask=redaction.mask, redacted_texts=redaction.redacted_texts(),
                                           counts=redaction.entity_counts())
    tables = video_tables(**parts)
    segments = tables["segments"].to_pylist()
    assert "anna" in segments[2]["text"] and "[EMAIL]" in segments[2]["text_redacted"]
    assert "anna" not in segments[2]["text_redacted"] and "gmail" not in segments[2]["text_redacted"]
    assert all(s["text_redacted"] == s["text"] for i, s in enumerate(segments) if i != 2)
    masked = [(w["segment_index"], w["word"]) for w in tables["words"].to_pylist() if w["pii_entity"]]
    assert masked == [(2, "anna"), (2, "at"), (2, "gmail"), (2, "dot"), (2, "com.")]
    assert tables["videos"].to_pylist()[0]["pii_redactions"] == 1


def test_unmoderated_or_older_manifests_leave_the_redacted_text_unknown():
    parts = m.approved_manifests()
    del parts["text_moderation"]["pii"]["redacted_texts"]  # written before redacted texts were recorded
    assert {s["text_redacted"] for s in video_tables(**parts)["segments"].to_pylist()} == {None}
    del parts["text_moderation"]
    tables = video_tables(**parts)
    assert {s["text_redacted"] for s in tables["segments"].to_pylist()} == {None}
    assert {w["pii_entity"] for w in tables["words"].to_pylist()} == {None}


def test_a_diarized_transcript_from_before_voices_has_no_voice_rows():
    parts = m.approved_manifests()
    del parts["diarized_transcript"]["voices"]
    tables = video_tables(**parts)
    assert tables["voices"].num_rows == 0 and tables["speakers"].num_rows == 2


def _screen_text(video_id: str) -> dict:
    block = {"block_index": 0, "start": 1.0, "end": 9.5, "text": "Call 415-867-5309", "text_redacted": "Call [PHONE]",
             "confidence": 0.98, "box": [0.1, 0.05, 0.6, 0.12], "shot_index": 2, "shots": 3}
    return {"video_id": video_id, "method": "rapidocr", "model": "rapidocr-ppocrv4 det sha256:x rec sha256:y",
            "params": {}, "keyframes": 4, "keyframes_read": 1, "keyframes_duplicate": 2, "keyframes_without_text": 1,
            "blocks": [block], "shots": [], "pii_redactions": {"PHONE_NUMBER": 1}, "time_share_with_text": 0.8,
            "code_version": "test"}


def test_screen_text_rows_for_approved_videos_only():
    """Screen text is searchable content like speech: a rejected video's words, spoken or shown, get no rows."""
    parts = m.approved_manifests()
    tables = video_tables(**parts, screen_text=_screen_text(m.APPROVED), processed_at=PROCESSED_AT)
    (row,) = tables["screen_text"].to_pylist()
    assert (row["start_s"], row["end_s"], row["shot_index"], row["text_redacted"]) == (1.0, 9.5, 2, "Call [PHONE]")
    assert [round(row[k], 3) for k in ("x0", "y0", "x1", "y1")] == [0.1, 0.05, 0.6, 0.12]
    assert row["model"].startswith("rapidocr-ppocrv4") and row["schema_version"] == SCHEMA_VERSION
    rejected = {**parts, "moderation": {**parts["moderation"], "verdict": "rejected", "reasons": ["nudity"]}}
    assert video_tables(**rejected, screen_text=_screen_text(m.APPROVED))["screen_text"].num_rows == 0
