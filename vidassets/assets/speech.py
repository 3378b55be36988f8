"""Speech assets: the aligned transcript (WhisperX recipe) and the diarized transcript (who spoke when)."""

import time
from typing import Any

import dagster as dg
import numpy as np

from vidassets.analytics.subtitles import render as render_subtitles
from vidassets.assets.ui import markdown_image, model_tag
from vidassets.ml.transcription import aligner_name, diarize, transcribe
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelStore
from vidassets.resources.storage import VideoStorage, asset_prefix
from vidassets.version import CODE_VERSION

SAMPLE_RATE = 16_000
# Written beside the manifest: WhisperX's JSON shape (a public interface), subtitles, plain text.
SUBTITLE_FORMATS = ("json", "srt", "vtt", "txt")
SUBTITLE_TYPES = {"json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt", "txt": "text/plain"}
PREVIEW_SEGMENTS = 12


def load_audio(storage: VideoStorage, audio: dict[str, Any]) -> np.ndarray:
    """Float32 mono 16 kHz samples of the `audio` asset (decoded with PyAV, no FFmpeg process)."""
    from faster_whisper import decode_audio

    path = storage.cached_object(audio["key"], audio["sha256"], ".flac")
    return decode_audio(str(path), sampling_rate=SAMPLE_RATE)


def _preview(segments: list[dict[str, Any]]) -> str:
    lines = []
    for seg in segments[:PREVIEW_SEGMENTS]:
        who = f"**{seg['speaker']}** " if seg.get("speaker") else ""
        lines.append(f"- `{seg['start']:.1f}–{seg['end']:.1f}s` {who}{seg['text']}")
    if len(segments) > PREVIEW_SEGMENTS:
        lines.append(f"- … {len(segments) - PREVIEW_SEGMENTS} more segments")
    return "\n".join(lines) or "_no speech_"


def _word_count(segments: list[dict[str, Any]]) -> int:
    return sum(len(seg.get("words", [])) for seg in segments)


@dg.asset(
    partitions_def=videos_partitions,
    group_name="speech",
    code_version=f"transcript-v2:{model_tag(VIDASSETS_WHISPER_MODEL='base', VIDASSETS_ALIGN_MODEL='whisper-words')}",
    kinds={"pytorch"},
    pool="gpu",
    description="Aligned transcript: VAD chunks, batched faster-whisper, word times (wav2vec2 when configured).",
)
def transcript(
    context: dg.AssetExecutionContext, storage: VideoStorage, models: ModelStore, audio: dict[str, Any]
) -> dg.Output[dict[str, Any]]:
    aligner = aligner_name(models)
    base = {
        "video_id": context.partition_key,
        "model": f"whisper {models.whisper_model} ({models.resolved_compute_type()}, {models.resolved_device()})",
        "vad": models.resolved_vad(),
        "aligner": aligner,
        "code_version": CODE_VERSION,
    }
    started = time.monotonic()
    if audio["has_audio"]:
        result = transcribe(models, load_audio(storage, audio))
    else:
        result = {"language": None, "language_probability": None, "segments": []}
    elapsed = time.monotonic() - started
    segments = result["segments"]
    manifest = {**base, **result, "duration_s": audio["duration_s"], "word_count": _word_count(segments)}
    return dg.Output(
        manifest,
        metadata={
            "language": result["language"] or "none",
            "language_probability": result["language_probability"],
            "model": base["model"],
            "vad": base["vad"],
            "aligner": aligner,
            "segments": len(segments),
            "word_count": manifest["word_count"],
            "real_time_factor": round(elapsed / audio["duration_s"], 3) if audio["duration_s"] else None,
            "preview": dg.MetadataValue.md(_preview(segments)),
            "code_version": CODE_VERSION,
        },
    )


def speaker_stats(turns: list[Any], segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Talk time from diarization turns, word counts from the labelled words, per speaker."""
    stats: dict[str, dict[str, Any]] = {}
    for turn in turns:
        entry = stats.setdefault(turn.speaker, {"speaker": turn.speaker, "talk_time_s": 0.0, "word_count": 0})
        entry["talk_time_s"] += turn.end - turn.start
    for seg in segments:
        for word in seg.get("words", []):
            if word.get("speaker"):
                entry = stats.setdefault(
                    word["speaker"], {"speaker": word["speaker"], "talk_time_s": 0.0, "word_count": 0}
                )
                entry["word_count"] += 1
    for entry in stats.values():
        entry["talk_time_s"] = round(entry["talk_time_s"], 3)
        minutes = entry["talk_time_s"] / 60
        entry["words_per_minute"] = round(entry["word_count"] / minutes, 1) if minutes else None
    return sorted(stats.values(), key=lambda e: e["speaker"])


@dg.asset(
    partitions_def=videos_partitions,
    group_name="speech",
    code_version="diarized_transcript-v2:"
    + model_tag(VIDASSETS_DIARIZATION_MODEL="resemblyzer", VIDASSETS_DIARIZER="segmentation"),
    kinds={"pytorch"},
    pool="gpu",
    description="Speaker turns and a speaker label on every word and segment of the transcript.",
)
def diarized_transcript(
    context: dg.AssetExecutionContext,
    storage: VideoStorage,
    models: ModelStore,
    audio: dict[str, Any],
    transcript: dict[str, Any],
) -> dg.Output[dict[str, Any]]:
    from vidassets.ml.speaker_timeline import speaker_timeline_png

    turns, segments = [], []
    if transcript["segments"]:
        turns, segments = diarize(models, load_audio(storage, audio), transcript)
    speakers = speaker_stats(turns, segments)
    manifest = {
        "video_id": context.partition_key,
        "language": transcript["language"],
        "segments": segments,
        "turns": [{"start": round(t.start, 3), "end": round(t.end, 3), "speaker": t.speaker} for t in turns],
        "speakers": speakers,
        "diarizer": models.diarizer().name,
        "diarizer_method": models.diarizer().method,
        "transcript_model": transcript["model"],
        "aligner": transcript["aligner"],
        "code_version": CODE_VERSION,
    }
    prefix = asset_prefix("diarized_transcript", context.partition_key)
    for fmt in SUBTITLE_FORMATS:
        storage.put_bytes(f"{prefix}/transcript.{fmt}", render_subtitles(manifest, fmt).encode(), SUBTITLE_TYPES[fmt])
    metadata: dict[str, Any] = {
        "subtitles": dg.MetadataValue.path(storage.url(f"{prefix}/transcript.srt")),
        "speakers": len(speakers),
        "talk_time_s": dg.MetadataValue.json({s["speaker"]: s["talk_time_s"] for s in speakers}),
        "diarizer": models.diarizer().name,
        "preview": dg.MetadataValue.md(_preview(segments)),
        "code_version": CODE_VERSION,
    }
    if turns:
        metadata["speaker_timeline"] = markdown_image(
            speaker_timeline_png(turns, transcript["duration_s"]), "speaker timeline"
        )
    return dg.Output(manifest, metadata=metadata)
