"""Spoken-content moderation end to end: espeak-ng speech -> Whisper tiny.en -> diarization -> text_moderation ->
summary gating -> warehouse rows, with the real models and a real S3 server."""

import json

import dagster as dg
import pytest

from vidassets import samples
from vidassets.analytics.query import run_query
from vidassets.assets import all_assets
from vidassets_tests.pipeline_helpers import failure_message, run_request, upload_and_tick

SENTENCES = [
    "Thank you all for coming to the meeting today.",
    "You are a stupid idiot and everybody hates you.",
    "You can call me on four one five, eight six seven, five three zero nine.",
    "Write to peter at yahoo dot com.",
]
REJECT_ABOVE_10_PERCENT = dg.RunConfig(ops={"text_moderation": {"config": {"action": "reject", "reject_share": 0.1}}})


@pytest.fixture(scope="session")
def moderation_talk(media_dir):
    return samples.spoken_sentences_video(media_dir / "moderation-talk.mp4", SENTENCES)


def _events(result: dg.ExecuteInProcessResult, kind: str) -> dict[str, dict]:
    found = {}
    for event in result.all_events:
        if event.event_type_value == kind:
            data = (event.asset_observation_data.asset_observation if kind == "ASSET_OBSERVATION"
                    else event.event_specific_data.materialization)
            found[data.asset_key.to_user_string()] = data.metadata
    return found


def test_spoken_insult_is_flagged_pii_redacted_and_the_rejected_video_gets_no_summary(
    s3_server, bucket, instance, resources, moderation_talk
):
    (request,) = upload_and_tick(s3_server, bucket, instance, resources,
                                 {"uploads/talk.mp4": moderation_talk.read_bytes()})
    result = run_request(request, instance, resources, run_config=REJECT_ABOVE_10_PERCENT)
    assert result.success, failure_message(result)
    vid, storage = request.partition_key, resources["storage"].store

    manifest = storage.get_json(f"assets/text_moderation/{vid}/manifest.json")
    diarized = storage.get_json(f"assets/diarized_transcript/{vid}/manifest.json")
    texts = [s["text"] for s in diarized["segments"]]
    flagged = [texts[r["segment_index"]] for r in manifest["segments"] if r["flagged"]]
    assert len(flagged) == 1 and "idiot" in flagged[0], texts
    assert len(manifest["segments"]) == len(texts) >= 4
    assert all(set(r["scores"]) == {"profanity"} for r in manifest["segments"])
    assert manifest["model"].startswith("alt-profanity-check") and manifest["method"]
    assert manifest["verdict"] == "rejected" and 0.1 < manifest["flagged_share"] < 0.5
    assert manifest["reasons"][0].endswith("of speech time flagged (limit 10%)")

    # PII: the phone number and the e-mail address, spoken aloud, are gone from every redacted file.
    assert manifest["pii"]["counts"] == {"PHONE_NUMBER": 1, "EMAIL_ADDRESS": 1}
    prefix = f"assets/diarized_transcript/{vid}"
    original = storage.get_bytes(f"{prefix}/transcript.srt").decode()
    assert "5309" in original and "yahoo" in original.lower()
    for fmt in ("srt", "vtt", "txt", "json"):
        redacted = storage.get_bytes(f"{prefix}/transcript.redacted.{fmt}").decode()
        assert "[PHONE]" in redacted and "[EMAIL]" in redacted, fmt
        for secret in ("415", "867", "5309", "yahoo", "peter"):
            assert secret not in redacted.lower(), (fmt, secret, redacted)
    shaped = json.loads(storage.get_bytes(f"{prefix}/transcript.redacted.json"))
    assert len(shaped["segments"]) == len(texts) and shaped["language"] == "en"
    assert all(seg["words"] and seg.get("speaker") for seg in shaped["segments"])
    mask = manifest["pii"]["mask"]
    assert {m["entity"] for m in mask} == {"PHONE_NUMBER", "EMAIL_ADDRESS"}
    for entry in mask:  # word times to bleep, inside their segment
        segment = diarized["segments"][entry["segment_index"]]
        word = segment["words"][entry["word_index"]]
        assert (entry["start"], entry["end"]) == (word["start"], word["end"])
        assert segment["start"] - 0.01 <= entry["start"] < entry["end"] <= segment["end"] + 0.01

    # Gating: no summary, and the UI says why; the moderation metadata shows redacted lines only.
    materialized = _events(result, "ASSET_MATERIALIZATION")
    assert "summary" not in materialized and "text_moderation" in materialized
    assert _events(result, "ASSET_OBSERVATION")["summary"]["skipped"].value == "spoken content rejected"
    ui = materialized["text_moderation"]
    assert ui["verdict"].value == "rejected" and ui["categories"].value == {"profanity": 1}
    assert "idiot" in ui["top_flagged_lines"].value and "5309" not in json.dumps(
        {k: str(v.value) for k, v in ui.items()})

    # Tables: flagged lines by speaker and category, the verdict in `videos`.
    tables = dg.materialize(all_assets, selection=["video_tables"], partition_key=vid, instance=instance,
                            resources=resources)
    assert tables.success
    root = storage
    lines = run_query(root, """
        SELECT t.speaker, t.category, t.score, s.text FROM text_moderation t
        JOIN segments s USING (video_id, segment_index) WHERE t.flagged""")
    assert len(lines) == 1 and lines.category[0] == "profanity" and "idiot" in lines.text[0]
    assert lines.speaker[0].startswith("SPEAKER_") and lines.score[0] >= 0.5
    video = run_query(root, "SELECT status, reason, speech_verdict, speech_flagged_share, pii_redactions, "
                            "speech_moderation_model FROM videos").iloc[0]
    assert (video.status, video.speech_verdict, video.pii_redactions) == ("rejected", "rejected", 2)
    assert video.reason.startswith("spoken content: ") and video.speech_flagged_share > 0.1
    assert run_query(root, "SELECT count(*) AS n FROM summaries").n[0] == 0
    published = " ".join(run_query(root, "SELECT text_redacted FROM segments ORDER BY segment_index").text_redacted)
    assert "[PHONE]" in published and "[EMAIL]" in published
    assert not [secret for secret in ("415", "867", "5309", "yahoo", "peter") if secret in published.lower()]
    masked = run_query(root, "SELECT segment_index, word_index, pii_entity FROM words WHERE pii_entity IS NOT NULL")
    assert sorted(zip(masked.segment_index, masked.word_index, masked.pii_entity, strict=True)) == sorted(
        (m["segment_index"], m["word_index"], m["entity"]) for m in mask)
