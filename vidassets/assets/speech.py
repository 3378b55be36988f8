"""Speech assets: the aligned transcript (WhisperX recipe) and the diarized transcript (who spoke when)."""

import time
from collections.abc import Sequence
from typing import Any

import dagster as dg
import numpy as np

from vidassets.analytics.subtitles import render as render_subtitles
from vidassets.assets.ui import markdown_image
from vidassets.manifests import (
    AudioManifest,
    DiarizedTranscriptManifest,
    Segment,
    SpeakerStats,
    TranscriptManifest,
    VoiceRecord,
)
from vidassets.media.audio import SAMPLE_RATE
from vidassets.ml.speech_types import SpeakerTurn, Transcription, Turn
from vidassets.ml.transcription import diarize_with_voices
from vidassets.model_config import current_model_config
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.storage.layout import CONTENT_TYPES, TRANSCRIPT_FORMATS, transcript_key
from vidassets.version import CODE_VERSION

PREVIEW_SEGMENTS = 12


def load_audio(storage: VideoStorage, audio: AudioManifest) -> np.ndarray:
    """Float32 mono 16 kHz samples of the `audio` asset (decoded with PyAV, no FFmpeg process)."""
    from faster_whisper import decode_audio

    path = storage.cached_object(audio["key"], audio["sha256"], ".flac")
    return decode_audio(str(path), sampling_rate=SAMPLE_RATE)


def _preview(segments: list[Segment]) -> str:
    lines = []
    for seg in segments[:PREVIEW_SEGMENTS]:
        who = f"**{seg['speaker']}** " if seg.get("speaker") else ""
        lines.append(f"- `{seg['start']:.1f}–{seg['end']:.1f}s` {who}{seg['text']}")
    if len(segments) > PREVIEW_SEGMENTS:
        lines.append(f"- … {len(segments) - PREVIEW_SEGMENTS} more segments")
    return "\n".join(lines) or "_no speech_"


def _word_count(segments: list[Segment]) -> int:
    return sum(len(seg.get("words", [])) for seg in segments)


@dg.asset(
    partitions_def=videos_partitions,
    group_name="speech",
    code_version=f"transcript-v2:{current_model_config().code_tag('transcript')}",
    kinds={"pytorch"},
    pool="gpu",
    description="Aligned transcript: VAD chunks, batched faster-whisper, word times (wav2vec2 when configured).",
)
def transcript(
    context: dg.AssetExecutionContext,
    storage: VideoStorage,
    models: dg.ResourceParam[ModelLoader],
    audio: AudioManifest,
) -> dg.Output[TranscriptManifest]:
    config = models.config
    aligner = config.aligner_label()
    base = {
        "video_id": context.partition_key,
        "model": config.whisper_label(),
        "vad": config.resolved_vad(),
        "aligner": aligner,
        "code_version": CODE_VERSION,
    }
    started = time.monotonic()
    result: Transcription = (models.transcribe(load_audio(storage, audio)) if audio["has_audio"]
                             else {"language": None, "language_probability": None, "segments": []})
    elapsed = time.monotonic() - started
    segments = result["segments"]
    manifest: TranscriptManifest = {
        **base, **result, "duration_s": audio["duration_s"], "word_count": _word_count(segments)  # type: ignore[typeddict-item]
    }
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


def speaker_stats(turns: Sequence[Turn], segments: list[Segment]) -> list[SpeakerStats]:
    """Talk time from diarization turns, word counts from the labelled words, per speaker."""
    stats: dict[str, Any] = {}
    for turn in turns:
        entry = stats.setdefault(turn.speaker, {"speaker": turn.speaker, "talk_time_s": 0.0, "word_count": 0})
        entry["talk_time_s"] += turn.end - turn.start
    for seg in segments:
        for word in seg.get("words", []):
            if speaker := word.get("speaker"):
                entry = stats.setdefault(speaker, {"speaker": speaker, "talk_time_s": 0.0, "word_count": 0})
                entry["word_count"] += 1
    for entry in stats.values():
        entry["talk_time_s"] = round(entry["talk_time_s"], 3)
        minutes = entry["talk_time_s"] / 60
        entry["words_per_minute"] = round(entry["word_count"] / minutes, 1) if minutes else None
    return sorted(stats.values(), key=lambda e: e["speaker"])


@dg.asset(
    partitions_def=videos_partitions,
    group_name="speech",
    code_version=f"diarized_transcript-v3:{current_model_config().code_tag('diarized_transcript')}",
    kinds={"pytorch"},
    pool="gpu",
    description="Speaker turns, a speaker label on every word and segment of the transcript, and a voice "
    "embedding per speaker.",
)
def diarized_transcript(
    context: dg.AssetExecutionContext,
    storage: VideoStorage,
    models: dg.ResourceParam[ModelLoader],
    audio: AudioManifest,
    transcript: TranscriptManifest,
) -> dg.Output[DiarizedTranscriptManifest]:
    from vidassets.ml.speaker_timeline import speaker_timeline_png

    turns: list[SpeakerTurn] = []
    segments: list[Segment] = []
    voices: list[VoiceRecord] = []
    if transcript["segments"]:  # a video with no speech never loads the diarizer
        diarizer = models.diarizer()
        name, method = diarizer.name, diarizer.method
        turns, segments, voices = diarize_with_voices(diarizer, load_audio(storage, audio), transcript)
    else:
        name, method = models.diarizer_name(), "not run: no speech"
    speakers = speaker_stats(turns, segments)
    manifest: DiarizedTranscriptManifest = {
        "video_id": context.partition_key,
        "language": transcript["language"],
        "segments": segments,
        "turns": [{"start": round(t.start, 3), "end": round(t.end, 3), "speaker": t.speaker} for t in turns],
        "speakers": speakers,
        "voices": voices,
        "diarizer": name,
        "diarizer_method": method,
        "transcript_model": transcript["model"],
        "aligner": transcript["aligner"],
        "code_version": CODE_VERSION,
    }
    for fmt in TRANSCRIPT_FORMATS:
        key = transcript_key(context.partition_key, fmt)
        storage.store.put_bytes(key, render_subtitles(manifest, fmt).encode(), CONTENT_TYPES[fmt])
    metadata: dict[str, Any] = {
        "subtitles": dg.MetadataValue.path(storage.store.url(transcript_key(context.partition_key, "srt"))),
        "speakers": len(speakers),
        "talk_time_s": dg.MetadataValue.json({s["speaker"]: s["talk_time_s"] for s in speakers}),
        "diarizer": name,
        "voices": dg.MetadataValue.json({v["speaker"]: {"speech_s": v["speech_s"], "too_short": v["too_short"]}
                                         for v in voices}),
        "preview": dg.MetadataValue.md(_preview(segments)),
        "code_version": CODE_VERSION,
    }
    if turns:
        metadata["speaker_timeline"] = markdown_image(
            speaker_timeline_png(turns, transcript["duration_s"]), "speaker timeline"
        )
    return dg.Output(manifest, metadata=metadata)
