"""The table schemas: explicit, described, versioned, and guarded by a fingerprint."""

import pyarrow as pa
import pytest

from vidassets.analytics import schemas
from vidassets.analytics.schemas import (
    EXPECTED_FINGERPRINTS,
    SCHEMA_VERSION,
    SCHEMAS,
    TABLES,
    describe,
    schema_fingerprint,
    schema_for,
)


def test_schema_fingerprint_matches_the_recorded_one_for_this_version():
    """Fails when a table or column changes without bumping SCHEMA_VERSION (and recording the new fingerprint)."""
    assert SCHEMA_VERSION in EXPECTED_FINGERPRINTS, "record schema_fingerprint() for the new SCHEMA_VERSION"
    assert schema_fingerprint() == EXPECTED_FINGERPRINTS[SCHEMA_VERSION], (
        "the warehouse schemas changed: bump SCHEMA_VERSION, add "
        f"EXPECTED_FINGERPRINTS[{SCHEMA_VERSION + 1}] = {schema_fingerprint()!r} and update docs/DATA.md"
    )


def test_fingerprint_sees_column_changes_but_not_descriptions():
    base = schema_fingerprint()
    changed_type = dict(SCHEMAS, segments=SCHEMAS["segments"].set(
        SCHEMAS["segments"].get_field_index("start_s"), pa.field("start_s", pa.float32())))
    renamed = dict(SCHEMAS, speakers=SCHEMAS["speakers"].set(1, pa.field("speaker_label", pa.string(), False)))
    dropped = dict(SCHEMAS, words=SCHEMAS["words"].remove(SCHEMAS["words"].get_field_index("score")))
    nullability = dict(SCHEMAS, videos=SCHEMAS["videos"].set(
        SCHEMAS["videos"].get_field_index("status"), pa.field("status", pa.string(), nullable=True)))
    fingerprints = {schema_fingerprint(s) for s in (changed_type, renamed, dropped, nullability)}
    assert base not in fingerprints and len(fingerprints) == 4
    redescribed = dict(SCHEMAS, videos=SCHEMAS["videos"].set(
        0, SCHEMAS["videos"].field(0).with_metadata({"description": "something else"})))
    assert schema_fingerprint(redescribed) == base


def test_every_table_has_video_id_schema_version_and_described_columns():
    assert TABLES == ("videos", "moderation_frames", "segments", "words", "speakers", "voices", "summaries",
                      "text_moderation", "run_costs", "shots", "faces", "screen_text", "text_embeddings",
                      "voice_registry")
    for table, schema in SCHEMAS.items():
        assert schema.field("video_id").type == pa.string() and not schema.field("video_id").nullable
        assert schema.field("schema_version").type == pa.int32()
        assert schema.metadata[b"vidassets.table"].decode() == table
        assert int(schema.metadata[b"vidassets.schema_version"]) == SCHEMA_VERSION
        for column in describe(table):
            assert column["description"] and len(column["description"]) > 10, (table, column)
    assert schema_for("videos").field("processed_at").type == pa.timestamp("us", tz="UTC")
    assert schema_for("summaries").field("topics").type == pa.list_(pa.string())
    assert schema_for("moderation_frames").field("box").type == pa.list_(pa.int32())


def test_required_columns_of_the_brief():
    required = {
        "videos": ["video_id", "source_uri", "bucket", "key", "status", "reason", "duration_s", "width", "height",
                   "fps", "language", "language_probability", "speakers", "word_count", "whisper_model",
                   "align_model", "diarizer_model", "moderation_model", "summary_model", "code_version",
                   "processed_at", "schema_version"],
        "moderation_frames": ["video_id", "frame_index", "timestamp_s", "label", "score", "box", "flagged"],
        "segments": ["video_id", "segment_index", "start_s", "end_s", "speaker", "text", "word_count"],
        "words": ["video_id", "segment_index", "word_index", "word", "start_s", "end_s", "score", "speaker"],
        "speakers": ["video_id", "speaker", "talk_time_s", "word_count", "words_per_minute", "turns"],
        "summaries": ["video_id", "title", "summary", "topics", "method", "model"],
    }
    for table, columns in required.items():
        assert set(columns) <= set(SCHEMAS[table].names), table
    assert schema_for("videos").field("speakers").type == pa.int32()


def test_screen_text_columns_are_the_agreed_ones():
    """The search engine reads these columns by name and type (times `start_s`/`end_s`, as in every table)."""
    expected = {
        "video_id": pa.string(), "block_index": pa.int32(), "start_s": pa.float64(), "end_s": pa.float64(),
        "text": pa.string(), "text_redacted": pa.string(), "confidence": pa.float32(), "x0": pa.float32(),
        "y0": pa.float32(), "x1": pa.float32(), "y1": pa.float32(), "shot_index": pa.int32(), "model": pa.string(),
        "method": pa.string(), "schema_version": pa.int32(),
    }
    schema = schema_for("screen_text")
    assert {f.name: f.type for f in schema} == expected
    assert schema_for("shots").field("hint").type == pa.string()


def test_unknown_table_is_a_clear_error():
    with pytest.raises(ValueError, match="tables: videos, moderation_frames"):
        schema_for("frames")
    assert schemas.empty_table("words").num_rows == 0
