"""Realistic manifests of three videos, shaped exactly like the assets' outputs:

- `team-talk-…`: approved, two speakers, transcript + diarized transcript + summary;
- `beach-day-…`: rejected by moderation (no audio/speech assets, as the pipeline skips them);
- `broken-upload-…`: failed in source_video (only the failure record).
"""

from __future__ import annotations

import copy
from typing import Any

from vidassets.video_ids import video_id_for

CODE_VERSION = "0.1.0+gabc123def456"
APPROVED = video_id_for("vidassets", "uploads/team talk.mp4")
REJECTED = video_id_for("vidassets", "uploads/beach day.mov")
FAILED = video_id_for("vidassets", "uploads/broken upload.mp4")
POLICY = {
    "reject_labels": {"FEMALE_GENITALIA_EXPOSED": 0.5, "MALE_GENITALIA_EXPOSED": 0.5, "ANUS_EXPOSED": 0.5,
                      "FEMALE_BREAST_EXPOSED": 0.6, "BUTTOCKS_EXPOSED": 0.6},
    "reject_ratio": 0.02,
    "min_flagged_frames": 2,
}

# (speaker, start, words as (word, start, end, score)); punctuation ends sentences as resegment() cuts them.
_LINES: list[tuple[str, list[tuple[str, float, float, float]]]] = [
    ("SPEAKER_00", [("Welcome", 0.50, 0.90, 0.98), ("to", 0.92, 1.00, 0.99), ("the", 1.02, 1.10, 0.99),
                    ("quarterly", 1.12, 1.60, 0.95), ("planning", 1.62, 2.05, 0.97), ("review.", 2.07, 2.50, 0.96)]),
    ("SPEAKER_00", [("Today", 2.80, 3.10, 0.97), ("we", 3.12, 3.25, 0.99), ("are", 3.27, 3.40, 0.99),
                    ("going", 3.42, 3.70, 0.98), ("to", 3.72, 3.80, 0.99), ("look", 3.82, 4.05, 0.98),
                    ("at", 4.07, 4.15, 0.99), ("the", 4.17, 4.25, 0.99), ("budget", 4.27, 4.70, 0.96),
                    ("and", 4.72, 4.85, 0.99), ("the", 4.87, 4.95, 0.99), ("hiring", 4.97, 5.40, 0.94),
                    ("plan", 5.42, 5.70, 0.97), ("for", 5.72, 5.85, 0.99), ("next", 5.87, 6.10, 0.98),
                    ("year.", 6.12, 6.50, 0.97)]),
    ("SPEAKER_01", [("Thanks,", 7.00, 7.40, 0.93), ("I", 7.50, 7.55, 0.99), ("have", 7.57, 7.75, 0.99),
                    ("the", 7.77, 7.85, 0.99), ("numbers", 7.87, 8.30, 0.96), ("ready.", 8.32, 8.80, 0.95)]),
    ("SPEAKER_01", [("The", 9.00, 9.10, 0.99), ("hiring", 9.12, 9.50, 0.95), ("plan", 9.52, 9.80, 0.97),
                    ("adds", 9.82, 10.10, 0.96), ("four", 10.12, 10.40, 0.98), ("engineers", 10.42, 11.00, 0.94),
                    ("in", 11.02, 11.10, 0.99), ("the", 11.12, 11.20, 0.99), ("spring.", 11.22, 11.70, 0.95)]),
    ("SPEAKER_00", [("Great,", 12.50, 12.90, 0.96), ("let's", 12.95, 13.20, 0.97), ("start", 13.22, 13.50, 0.98),
                    ("with", 13.52, 13.65, 0.99), ("the", 13.67, 13.75, 0.99), ("budget.", 13.77, 14.30, 0.96)]),
]
_TURNS = [("SPEAKER_00", 0.40, 6.60), ("SPEAKER_01", 6.90, 11.80), ("SPEAKER_00", 12.40, 14.40)]


def _source(video_id: str, key: str, *, audio: bool = True, duration: float = 15.0) -> dict[str, Any]:
    return {
        "video_id": video_id, "source_uri": f"s3://vidassets/{key}", "bucket": "vidassets", "key": key,
        "etag": "9b2cf535f27731c974343645a3985328", "size_bytes": 2_345_678, "suffix": "." + key.rsplit(".", 1)[1],
        "sha256": "ab" * 32,
        "probe": {
            "container": "mov,mp4,m4a,3gp,3g2,mj2", "duration_s": duration, "size_bytes": 2_345_678,
            "bit_rate": 1_250_000,
            "video": {"codec": "h264", "width": 1280, "height": 720, "fps": 29.97, "frame_count": 450,
                      "pix_fmt": "yuv420p", "rotation": 0, "keyframe_interval_s": 2.0},
            "audio": {"codec": "aac", "sample_rate": 44_100, "channels": 2} if audio else None,
        },
        "fetched_at": "2025-05-01T10:00:00+00:00", "code_version": CODE_VERSION,
    }


def _moderation(video_id: str, frames: list[dict[str, Any]], verdict: str, reasons: list[str],
                flagged: list[float]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for frame in frames:
        for det in frame["detections"]:
            counts[det["label"]] = counts.get(det["label"], 0) + 1
    return {
        "video_id": video_id, "verdict": verdict, "reasons": reasons, "frames_checked": len(frames),
        "frames_flagged": len(flagged), "flagged_ratio": round(len(flagged) / len(frames), 4),
        "flagged_timestamps_s": flagged, "label_counts": counts, "policy": POLICY, "frames": frames,
        "model": "nudenet-v3-320n", "method": "nudenet-v3 per-frame detection + ratio policy", "device": "cpu",
        "code_version": CODE_VERSION,
    }


def _text_moderation(video_id: str, segments: list[dict[str, Any]], profanity: list[float]) -> dict[str, Any]:
    """What the text_moderation asset writes with the offline default model and the `flag` policy."""
    rows = [{"segment_index": i, "start": seg["start"], "end": seg["end"], "speaker": seg["speaker"],
             "scores": {"profanity": score}, "flagged": score >= 0.5,
             "flagged_categories": ["profanity"] if score >= 0.5 else []}
            for i, (seg, score) in enumerate(zip(segments, profanity, strict=True))]
    return {
        "video_id": video_id, "language": "en", "model": "alt-profanity-check 1.9.1",
        "method": "TF-IDF + calibrated linear SVM (scikit-learn), offensive/profane language, English",
        "categories": ["profanity"], "model_languages": ["en"],
        "policy": {"action": "flag", "threshold": 0.5, "category_thresholds": {}, "reject_share": 0.1},
        "speech_s": round(sum(r["end"] - r["start"] for r in rows), 3), "verdict": "approved", "reasons": [],
        "segments": rows, "flagged_segments": 0, "flagged_speech_s": 0.0, "flagged_share": 0.0,
        "category_counts": {}, "pii": {"counts": {}, "redactions": [], "mask": [], "redacted_texts": []},
        "code_version": CODE_VERSION,
    }


def approved_manifests() -> dict[str, dict[str, Any]]:
    vid = APPROVED
    frames = [
        {"index": 0, "timestamp_s": 0.0, "detections": [
            {"label": "FACE_FEMALE", "score": 0.91, "box": [410, 120, 96, 110]},
            {"label": "FACE_MALE", "score": 0.88, "box": [120, 100, 90, 104]}]},
        {"index": 1, "timestamp_s": 2.0, "detections": [
            {"label": "FACE_FEMALE", "score": 0.87, "box": [412, 118, 95, 111]}]},
        {"index": 2, "timestamp_s": 4.0, "detections": []},
        {"index": 3, "timestamp_s": 6.0, "detections": [
            {"label": "ARMPITS_EXPOSED", "score": 0.41, "box": [300, 200, 40, 30]}]},
    ]
    segments = []
    for _speaker, words in _LINES:
        segments.append({
            "start": words[0][1], "end": words[-1][2], "text": " ".join(w[0] for w in words),
            "words": [{"word": w, "start": s, "end": e, "score": sc} for w, s, e, sc in words],
        })
    diarized_segments = []
    for (speaker, _), seg in zip(_LINES, segments, strict=True):
        labelled = copy.deepcopy(seg)
        labelled["speaker"] = speaker
        for word in labelled["words"]:
            word["speaker"] = speaker
        diarized_segments.append(labelled)
    word_count = sum(len(s["words"]) for s in segments)
    talk = {"SPEAKER_00": 0.0, "SPEAKER_01": 0.0}
    for speaker, start, end in _TURNS:
        talk[speaker] += end - start
    words_by = {sp: sum(len(w) for s, w in _LINES if s == sp) for sp in talk}
    speakers = [{"speaker": sp, "talk_time_s": round(talk[sp], 3), "word_count": words_by[sp],
                 "words_per_minute": round(words_by[sp] / (talk[sp] / 60), 1)} for sp in sorted(talk)]
    return {
        "source_video": _source(vid, "uploads/team talk.mp4"),
        "moderation": _moderation(vid, frames, "approved", [], []),
        "transcript": {
            "video_id": vid, "model": "whisper base (int8, cpu)", "vad": "silero",
            "aligner": "faster-whisper-cross-attention", "code_version": CODE_VERSION, "language": "en",
            "language_probability": 0.987, "segments": segments, "duration_s": 15.0, "word_count": word_count,
        },
        "diarized_transcript": {
            "video_id": vid, "language": "en", "segments": diarized_segments,
            "turns": [{"start": s, "end": e, "speaker": sp} for sp, s, e in _TURNS],
            "speakers": speakers,
            "voices": [
                {"speaker": "SPEAKER_00", "embedding": [0.6, 0.8, 0.0, 0.0], "speech_s": 7.9, "windows": 5,
                 "model": "resemblyzer", "too_short": True},
                {"speaker": "SPEAKER_01", "embedding": None, "speech_s": 0.0, "windows": None,
                 "model": "resemblyzer", "too_short": True},
            ],
            "diarizer": "resemblyzer-spectral", "transcript_model": "whisper base (int8, cpu)",
            "aligner": "faster-whisper-cross-attention", "code_version": CODE_VERSION,
        },
        "text_moderation": _text_moderation(vid, diarized_segments, [0.03, 0.01, 0.02, 0.01, 0.04]),
        "summary": {
            "video_id": vid, "summary": "A quarterly planning review covering the budget and the hiring plan.",
            "title": "Quarterly planning review", "topics": ["budget", "hiring plan", "planning"],
            "method": "extractive", "model": "all-MiniLM-L6-v2", "speakers": ["SPEAKER_00", "SPEAKER_01"],
            "code_version": CODE_VERSION,
        },
    }


def rejected_manifests() -> dict[str, dict[str, Any]]:
    vid = REJECTED
    frames = [
        {"index": 0, "timestamp_s": 0.0, "detections": [
            {"label": "FEMALE_BREAST_EXPOSED", "score": 0.82, "box": [200, 150, 120, 100]},
            {"label": "FACE_FEMALE", "score": 0.9, "box": [220, 40, 80, 90]}]},
        {"index": 1, "timestamp_s": 2.0, "detections": [
            {"label": "FEMALE_BREAST_EXPOSED", "score": 0.77, "box": [205, 148, 118, 102]}]},
        {"index": 2, "timestamp_s": 4.0, "detections": [
            {"label": "FEMALE_BREAST_EXPOSED", "score": 0.45, "box": [210, 150, 110, 95]}]},
    ]
    return {
        "source_video": _source(vid, "uploads/beach day.mov", duration=6.0),
        "moderation": _moderation(
            vid, frames, "rejected",
            ["2 of 3 sampled frames flagged (limit 1)", "FEMALE_BREAST_EXPOSED: 2 frame detection(s) at or above 0.60"],
            [0.0, 2.0],
        ),
    }


def failed_manifests() -> dict[str, dict[str, Any]]:
    return {
        "failure": {
            "video_id": FAILED, "source_uri": "s3://vidassets/uploads/broken upload.mp4",
            "key": "uploads/broken upload.mp4",
            "error": "s3://vidassets/uploads/broken upload.mp4: not a video: moov atom not found",
        },
    }


def all_manifests() -> dict[str, dict[str, dict[str, Any]]]:
    return {APPROVED: approved_manifests(), REJECTED: rejected_manifests(), FAILED: failed_manifests()}
