"""Pure functions: one video's JSON manifests -> its rows in every warehouse table.

`video_tables(**manifests)` is the entry point; its keywords are the asset names of `manifests.VideoManifests`, so
an asset can call `video_tables(**loaded, processed_at=now)`. Every manifest is optional:

- no moderation / transcript / diarized_transcript / summary: those tables get no rows (rejected video, no speech,
  a step that did not run) and `videos.reason` says what is missing;
- a failure record `{video_id, source_uri/key/bucket, error}` (passed as `failure=`, or any manifest that carries
  an `error` key) gives only a `videos` row with status `failed` and reason = the error. Other manifests of a failed
  video may be stale leftovers of an older run, so only their source facts (uri, duration, size) are used.

Nothing here reads the clock, the network or the disk: the same manifests always give the same tables.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Unpack
from urllib.parse import urlparse

import pyarrow as pa

from vidassets.analytics.schemas import SCHEMA_VERSION, SCHEMAS, TABLES
from vidassets.analytics.text_moderation_rows import speech_verdict_fields, text_moderation_rows
from vidassets.manifests import (
    MANIFEST_ASSETS,
    DiarizedTranscriptManifest,
    FacesManifest,
    FailureRecord,
    ModerationManifest,
    ScreenTextManifest,
    Segment,
    ShotsManifest,
    SummaryManifest,
    TranscriptManifest,
    VideoManifests,
)
from vidassets.verdict import decide, transcript_word_count
from vidassets.video_ids import is_video_id

Manifest = Mapping[str, Any]


# --------------------------------------------------------------------------------------------- coercion helpers

def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(round(float(value)))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result else None  # NaN -> null


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _timestamp(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --------------------------------------------------------------------------------------------- per-table rows

def _source_fields(video_id: str, source: Manifest | None, failure: Manifest | None) -> dict[str, Any]:
    source = source or {}
    failure = failure or {}
    probe = source.get("probe") or {}
    video = probe.get("video") or {}
    source_uri = failure.get("source_uri") or source.get("source_uri")
    bucket = failure.get("bucket") or source.get("bucket")
    key = failure.get("key") or failure.get("source_key") or source.get("key")
    if source_uri and (not bucket or not key):
        parsed = urlparse(source_uri)
        if parsed.scheme == "s3":
            bucket = bucket or parsed.netloc
            key = key or parsed.path.lstrip("/")
    has_audio = None
    if probe:
        has_audio = probe.get("audio") is not None
    return {
        "video_id": video_id,
        "source_uri": _str(source_uri),
        "bucket": _str(bucket),
        "key": _str(key),
        "duration_s": _float(probe.get("duration_s")),
        "width": _int(video.get("width")),
        "height": _int(video.get("height")),
        "fps": _float(video.get("fps")),
        "has_audio": has_audio,
    }


def videos_row(
    video_id: str,
    manifests: VideoManifests,
    *,
    failure: Manifest | None = None,
    processed_at: datetime | str | None = None,
) -> dict[str, Any]:
    """The `videos` row; see docs/DATA.md for how `status` and `reason` are decided."""
    source_video = manifests.get("source_video")
    moderation = manifests.get("moderation")
    transcript = manifests.get("transcript")
    diarized_transcript = manifests.get("diarized_transcript")
    summary = manifests.get("summary")
    text_moderation = manifests.get("text_moderation")
    row = _source_fields(video_id, source_video, failure)
    row.update(processed_at=_timestamp(processed_at), schema_version=SCHEMA_VERSION)
    chain = [m for m in (summary, diarized_transcript, transcript, moderation, source_video) if m]
    row["code_version"] = _str(next((m.get("code_version") for m in chain if m.get("code_version")), None))
    if failure is not None:
        row.update(status="failed", reason=decide(manifests, failure).reason)
        if failure.get("code_version"):
            row["code_version"] = _str(failure["code_version"])
        return {name: row.get(name) for name in SCHEMAS["videos"].names}

    speech = diarized_transcript or transcript or {}
    row["language"] = _str(speech.get("language") or (transcript or {}).get("language"))
    row["language_probability"] = _float((transcript or {}).get("language_probability"))
    row["word_count"] = transcript_word_count(transcript, diarized_transcript)
    if diarized_transcript is not None:
        labels = {s.get("speaker") for s in diarized_transcript.get("speakers") or [] if s.get("speaker")}
        labels |= {t.get("speaker") for t in diarized_transcript.get("turns") or [] if t.get("speaker")}
        row["speakers"] = len(labels)
    elif row["word_count"] == 0:
        row["speakers"] = 0
    row["whisper_model"] = _str((transcript or {}).get("model") or (diarized_transcript or {}).get("transcript_model"))
    row["align_model"] = _str((transcript or {}).get("aligner") or (diarized_transcript or {}).get("aligner"))
    row["diarizer_model"] = _str((diarized_transcript or {}).get("diarizer"))
    row["moderation_model"] = _str((moderation or {}).get("model"))
    row["summary_model"] = _str((summary or {}).get("model"))
    row.update(speech_verdict_fields(text_moderation))

    verdict = decide(manifests)
    if verdict.status == "rejected" and moderation is not None and moderation.get("verdict") == "rejected":
        row.update(speech_verdict_fields(None))  # speech was never processed: a manifest here is a leftover
    row.update(status=verdict.status, reason=verdict.reason)
    return {name: row.get(name) for name in SCHEMAS["videos"].names}


def moderation_frame_rows(video_id: str, moderation: ModerationManifest) -> list[dict[str, Any]]:
    """One row per detection; a frame with no detection gets one row with null label, score and box."""
    thresholds = {str(k): float(v) for k, v in ((moderation.get("policy") or {}).get("reject_labels") or {}).items()}
    flagged_times = {round(float(t), 3) for t in moderation.get("flagged_timestamps_s") or []}
    rows: list[dict[str, Any]] = []
    for position, frame in enumerate(moderation.get("frames") or []):
        timestamp = _float(frame.get("timestamp_s"))
        index = _int(frame.get("index"))
        detections = frame.get("detections") or []
        hits = [
            det.get("label") in thresholds and (_float(det.get("score")) or 0.0) >= thresholds[det.get("label")]
            for det in detections
        ]
        frame_flagged = any(hits) or (timestamp is not None and round(timestamp, 3) in flagged_times)
        base = {"video_id": video_id, "frame_index": position if index is None else index, "timestamp_s": timestamp,
                "frame_flagged": frame_flagged, "schema_version": SCHEMA_VERSION}
        if not detections:
            rows.append({**base, "label": None, "score": None, "box": None, "flagged": False})
        for det, hit in zip(detections, hits, strict=True):
            box = det.get("box")
            rows.append({
                **base,
                "label": _str(det.get("label")),
                "score": _float(det.get("score")),
                "box": [_int(v) for v in box] if box is not None else None,
                "flagged": hit,
            })
    return rows


def _speech_segments(transcript: TranscriptManifest | None,
                     diarized: DiarizedTranscriptManifest | None) -> list[Segment]:
    source = diarized if diarized is not None else transcript
    return list((source or {}).get("segments") or [])


def _redacted_texts(pii: Mapping[str, Any] | None) -> dict[int, str] | None:
    """Segment index -> redacted text from `text_moderation`'s PII result; None when the video has none (not
    moderated, or a manifest from before redacted texts were recorded: unknown is not "nothing to redact")."""
    if pii is None or "redacted_texts" not in pii:
        return None
    return {int(entry["segment_index"]): str(entry["text"]) for entry in pii["redacted_texts"]}


def segment_rows(video_id: str, segments: list[Segment], pii: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per segment; `text_redacted` is the text with personal data replaced by tags, when moderated."""
    redacted = _redacted_texts(pii)
    rows = []
    for index, seg in enumerate(segments):
        text = str(seg.get("text") or "").strip()
        words = seg.get("words")
        rows.append({
            "video_id": video_id,
            "segment_index": index,
            "start_s": _float(seg.get("start")),
            "end_s": _float(seg.get("end")),
            "speaker": _str(seg.get("speaker")),
            "text": text,
            "text_redacted": None if redacted is None else redacted.get(index, text).strip(),
            "word_count": len(words) if words else len(text.split()),
            "schema_version": SCHEMA_VERSION,
        })
    return rows


def word_rows(video_id: str, segments: list[Segment], pii: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per aligned word; `pii_entity` names the personal data a masked word belongs to."""
    masked = {(int(m["segment_index"]), int(m["word_index"])): str(m["entity"]) for m in (pii or {}).get("mask") or []}
    rows = []
    for seg_index, seg in enumerate(segments):
        for word_index, word in enumerate(seg.get("words") or []):
            rows.append({
                "video_id": video_id,
                "segment_index": seg_index,
                "word_index": word_index,
                "word": str(word.get("word") or "").strip(),
                "start_s": _float(word.get("start")),
                "end_s": _float(word.get("end")),
                "score": _float(word.get("score")),
                "speaker": _str(word.get("speaker")),
                "pii_entity": masked.get((seg_index, word_index)),
                "schema_version": SCHEMA_VERSION,
            })
    return rows


def speaker_rows(video_id: str, diarized: DiarizedTranscriptManifest) -> list[dict[str, Any]]:
    """From the manifest's `speakers` stats, with turn counts from `turns`; stats are rebuilt from turns when absent."""
    turns: dict[str, int] = {}
    talk: dict[str, float] = {}
    for turn in diarized.get("turns") or []:
        speaker = turn.get("speaker")
        if not speaker:
            continue
        turns[speaker] = turns.get(speaker, 0) + 1
        talk[speaker] = talk.get(speaker, 0.0) + max(0.0, (_float(turn.get("end")) or 0.0)
                                                     - (_float(turn.get("start")) or 0.0))
    stats = {s["speaker"]: dict(s) for s in diarized.get("speakers") or [] if s.get("speaker")}
    for speaker in turns:
        if speaker not in stats:
            words = sum(1 for seg in diarized.get("segments") or [] for w in seg.get("words") or []
                        if w.get("speaker") == speaker)
            minutes = talk[speaker] / 60
            stats[speaker] = {"speaker": speaker, "talk_time_s": round(talk[speaker], 3), "word_count": words,
                              "words_per_minute": round(words / minutes, 1) if minutes else None}
    return [
        {
            "video_id": video_id,
            "speaker": speaker,
            "talk_time_s": _float(entry.get("talk_time_s")),
            "word_count": _int(entry.get("word_count")),
            "words_per_minute": _float(entry.get("words_per_minute")),
            "turns": turns.get(speaker, 0),
            "schema_version": SCHEMA_VERSION,
        }
        for speaker, entry in sorted(stats.items())
    ]


def voice_rows(video_id: str, diarized: DiarizedTranscriptManifest) -> list[dict[str, Any]]:
    """From the manifest's `voices` (none in manifests written before voices), talk time from its `turns`."""
    talk: dict[str, float] = {}
    for turn in diarized.get("turns") or []:
        if speaker := turn.get("speaker"):
            talk[speaker] = talk.get(speaker, 0.0) + max(0.0, (_float(turn.get("end")) or 0.0)
                                                         - (_float(turn.get("start")) or 0.0))
    rows = []
    for voice in diarized.get("voices") or []:
        embedding = voice.get("embedding")
        rows.append({
            "video_id": video_id,
            "speaker": str(voice["speaker"]),
            "embedding": [float(x) for x in embedding] if embedding is not None else None,
            "talk_time_s": round(talk.get(voice["speaker"], 0.0), 3),
            "speech_s": _float(voice.get("speech_s")),
            "windows": _int(voice.get("windows")),
            "model": str(voice["model"]),
            "too_short": bool(voice.get("too_short", True)),
            "schema_version": SCHEMA_VERSION,
        })
    return sorted(rows, key=lambda r: r["speaker"])


def summary_rows(video_id: str, summary: SummaryManifest) -> list[dict[str, Any]]:
    topics = summary.get("topics")
    return [{
        "video_id": video_id,
        "title": _str(summary.get("title")),
        "summary": _str(summary.get("summary")),
        "topics": [str(t) for t in topics] if topics is not None else None,
        "method": _str(summary.get("method")),
        "model": _str(summary.get("model")),
        "schema_version": SCHEMA_VERSION,
    }]


# --------------------------------------------------------------------------------------------- entry point

def shot_rows(
    video_id: str, shots: ShotsManifest, faces: FacesManifest | None = None,
    screen_text: ScreenTextManifest | None = None,
) -> list[dict[str, Any]]:
    """Rows of `shots`; `hint` from the faces manifest and `text_area` from screen_text where they exist."""
    hints = {s["shot_index"]: s["hint"] for s in (faces or {}).get("shots") or []}
    areas = {s["shot_index"]: s["text_area"] for s in (screen_text or {}).get("shots") or []}
    return [
        {
            "video_id": video_id, "shot_index": shot["index"], "start_s": shot["start_s"], "end_s": shot["end_s"],
            "start_frame": shot.get("start_frame"), "end_frame": shot.get("end_frame"),
            "transition": shot["transition"], "keyframe_s": shot.get("keyframe_s"),
            "keyframe_key": shot.get("keyframe_key"), "keyframe_sharpness": shot.get("keyframe_sharpness"),
            "width": shot.get("width"), "height": shot.get("height"), "method": shots["method"],
            "model": _str(shots.get("model")), "hint": hints.get(shot["index"]),
            "text_area": areas.get(shot["index"]), "schema_version": SCHEMA_VERSION,
        }
        for shot in shots.get("shots") or []
    ]


def screen_text_rows(video_id: str, screen_text: ScreenTextManifest) -> list[dict[str, Any]]:
    return [
        {
            "video_id": video_id, "block_index": block["block_index"], "start_s": block["start"], "end_s": block["end"],
            "text": block["text"], "text_redacted": block["text_redacted"], "confidence": block["confidence"],
            "x0": block["box"][0], "y0": block["box"][1], "x1": block["box"][2], "y1": block["box"][3],
            "shot_index": block["shot_index"], "model": screen_text["model"], "method": screen_text["method"],
            "schema_version": SCHEMA_VERSION,
        }
        for block in screen_text.get("blocks") or []
    ]


def face_rows(video_id: str, faces: FacesManifest) -> list[dict[str, Any]]:
    rows = []
    for shot in faces.get("shots") or []:
        common = {
            "video_id": video_id, "shot_index": shot["shot_index"], "keyframe_s": shot.get("keyframe_s"),
            "face_count": len(shot["faces"]), "hint": shot["hint"], "method": faces["method"],
            "model": _str(faces.get("model")), "schema_version": SCHEMA_VERSION,
        }
        found = shot["faces"] or [None]
        for i, face in enumerate(found):
            rows.append({**common, "face_index": i if face else None, "box": face["box"] if face else None,
                         "score": face["score"] if face else None})
    return rows


def _resolve_video_id(video_id: str | None, manifests: list[Manifest]) -> str:
    found = {str(m["video_id"]) for m in manifests if m.get("video_id") is not None}
    if video_id is not None:
        found.add(video_id)
    if len(found) != 1:
        raise ValueError(f"manifests disagree on video_id or name none: {sorted(found)}")
    (resolved,) = found
    if not is_video_id(resolved):
        raise ValueError(f"unsafe video id {resolved!r}: partition keys must come from video_id_for()")
    return resolved


def to_table(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[table])


def video_tables(
    *,
    failure: FailureRecord | Manifest | None = None,
    processed_at: datetime | str | None = None,
    video_id: str | None = None,
    **manifests: Unpack[VideoManifests],
) -> dict[str, pa.Table]:
    """Every table (all of `TABLES`, some with 0 rows) for one video, ready for `Warehouse.write_video`.

    `processed_at` (a datetime or ISO string; naive means UTC) is stored as is; pass `datetime.now(UTC)`.
    Raises ValueError when the manifests name different videos or an unsafe id.
    """
    unknown = sorted(set(manifests) - set(MANIFEST_ASSETS))
    if unknown:
        raise TypeError(f"unknown manifests {unknown}; expected some of {', '.join(MANIFEST_ASSETS)}")
    given: VideoManifests = {name: manifests.get(name) for name in MANIFEST_ASSETS}  # type: ignore[misc]
    source_video = given["source_video"]
    moderation = given["moderation"]
    transcript = given["transcript"]
    diarized_transcript = given["diarized_transcript"]
    summary = given["summary"]
    text_moderation = given["text_moderation"]
    present = [m for m in (*given.values(), failure) if m is not None]
    vid = _resolve_video_id(video_id, present)
    if failure is None:
        failure = next((m for m in given.values() if m is not None and m.get("error")), None)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    if failure is not None:
        # Only the source facts of a failed video are trusted; other manifests may be from an older run.
        source = source_video if source_video is not None and not source_video.get("error") else None
        rows["videos"] = [videos_row(vid, {"source_video": source}, failure=failure,  # type: ignore[typeddict-item]
                                     processed_at=processed_at)]
        return {name: to_table(name, table_rows) for name, table_rows in rows.items()}
    rows["videos"] = [videos_row(vid, given, processed_at=processed_at)]
    if moderation is not None:
        rows["moderation_frames"] = moderation_frame_rows(vid, moderation)
    if given["shots"] is not None:
        rows["shots"] = shot_rows(vid, given["shots"], given["faces"], given["screen_text"])
    if given["faces"] is not None:
        rows["faces"] = face_rows(vid, given["faces"])
    rejected = moderation is not None and moderation.get("verdict") == "rejected"
    if not rejected:  # a rejected video's words, spoken or shown, are not put up for search
        if given["screen_text"] is not None:
            rows["screen_text"] = screen_text_rows(vid, given["screen_text"])
        segments = _speech_segments(transcript, diarized_transcript)
        pii = (text_moderation or {}).get("pii")
        rows["segments"] = segment_rows(vid, segments, pii)
        rows["words"] = word_rows(vid, segments, pii)
        if diarized_transcript is not None:
            rows["speakers"] = speaker_rows(vid, diarized_transcript)
            rows["voices"] = voice_rows(vid, diarized_transcript)
        if summary is not None:
            rows["summaries"] = summary_rows(vid, summary)
        if text_moderation is not None:
            rows["text_moderation"] = text_moderation_rows(vid, text_moderation)
    return {name: to_table(name, table_rows) for name, table_rows in rows.items()}
