"""Transcript, diarized transcript and summary for real speech, with real (tiny) models."""

import dagster as dg
import numpy as np

from vidassets import samples
from vidassets.media.ffmpeg import ffmpeg_input, run_ffmpeg
from vidassets.ml.transcript_quality import normalize, phrase_start_errors, read_stm, word_error_rate
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader
from vidassets.settings import load_settings
from vidassets.storage.layout import transcript_key
from vidassets_tests.pipeline_helpers import failure_message, run_request, upload_and_tick


def _manifest(resources, asset: str, video_id: str) -> dict:
    return resources["storage"].store.get_json(f"assets/{asset}/{video_id}/manifest.json")


def test_speaking_video_gets_aligned_diarized_transcript_and_summary(
    s3_server, bucket, instance, resources, speaking_video
):
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/call.mp4": speaking_video.read_bytes()}
    )
    result = run_request(request, instance, resources)
    assert result.success, failure_message(result)
    vid = request.partition_key

    transcript = _manifest(resources, "transcript", vid)
    assert transcript["language"] == "en" and transcript["model"].startswith("whisper tiny.en")
    assert transcript["aligner"] == "faster-whisper-cross-attention"
    segments = transcript["segments"]
    assert len(segments) >= 8, "one 30 s VAD chunk is split into sentences"
    for seg in segments:
        assert seg["words"] and seg["start"] <= seg["end"]
        starts = [w["start"] for w in seg["words"]]
        assert starts == sorted(starts)
        assert all(seg["start"] - 0.01 <= w["start"] <= w["end"] <= seg["end"] + 0.01 for w in seg["words"])
    reference = read_stm(samples.speech_stm())
    hypothesis = [t for seg in segments for t in normalize(seg["text"])]
    wer = word_error_rate([t for p in reference for t in normalize(p.text)], hypothesis)
    assert wer < 0.35, f"tiny.en WER {wer:.2f} on the sample call"
    errors = phrase_start_errors(reference, segments)
    assert len(errors) >= len(reference) // 2 and sorted(errors)[len(errors) // 2] < 0.5

    diarized = _manifest(resources, "diarized_transcript", vid)
    assert {s["speaker"] for s in diarized["speakers"]} == {"SPEAKER_00", "SPEAKER_01"}
    assert all(w.get("speaker") for seg in diarized["segments"] for w in seg["words"])
    assert all(seg["speaker"] == seg["words"][0]["speaker"] for seg in diarized["segments"])
    assert sum(s["talk_time_s"] for s in diarized["speakers"]) > 15
    assert diarized["diarizer"].startswith("pyannote-segmentation(whisperx)+resemblyzer")  # the offline default
    voices = diarized["voices"]  # one voice per speaker, from the diarizer's own Resemblyzer embeddings
    assert [v["speaker"] for v in voices] == ["SPEAKER_00", "SPEAKER_01"]
    for voice in voices:
        assert voice["model"] == "resemblyzer" and len(voice["embedding"]) == 256 and voice["windows"] >= 1
        assert voice["speech_s"] > 0 and voice["too_short"] == (voice["speech_s"] < 10.0)
    first, second = (np.array(v["embedding"]) for v in voices)
    assert float(first @ second) < 0.95  # two people, two voices
    public = resources["storage"].store.get_bytes(transcript_key(vid, "json")).decode()
    assert "embedding" not in public  # transcript.json keeps WhisperX's shape

    summary = _manifest(resources, "summary", vid)
    assert summary["method"] == "extractive-textrank" and summary["model"] == "all-MiniLM-L6-v2"
    assert summary["summary"] and summary["title"] and summary["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert "jersey" in " ".join(summary["topics"]) + summary["summary"].lower()

    metadata = {
        e.asset_key.to_user_string(): e.metadata
        for e in (ev.event_specific_data.materialization for ev in result.get_asset_materialization_events())
    }
    assert metadata["diarized_transcript"]["speaker_timeline"].value.startswith("![speaker timeline](data:image/png")
    assert "SPEAKER_0" in metadata["diarized_transcript"]["preview"].value
    assert metadata["transcript"]["language"].value == "en"


def test_silent_audio_track_gives_empty_transcript_and_no_summary(
    s3_server, bucket, instance, resources, media_dir
):
    video = media_dir / "quiet.mp4"
    if not video.exists():
        run_ffmpeg(
            ["-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=6", "-f", "lavfi", "-i",
             "anullsrc=r=16000:cl=mono", "-t", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
             "-shortest", ffmpeg_input(video)],
            source_name="quiet.mp4",
        )
    (request,) = upload_and_tick(s3_server, bucket, instance, resources, {"uploads/quiet.mp4": video.read_bytes()})
    result = run_request(request, instance, resources)
    assert result.success, failure_message(result)
    transcript = _manifest(resources, "transcript", request.partition_key)
    assert transcript["segments"] == [] and transcript["word_count"] == 0
    diarized = _manifest(resources, "diarized_transcript", request.partition_key)
    assert diarized["segments"] == [] and diarized["speakers"] == []
    spoken = _manifest(resources, "text_moderation", request.partition_key)
    assert (spoken["verdict"], spoken["segments"], spoken["pii"]["mask"]) == ("no_speech", [], [])
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "summary" not in materialized and "text_moderation" in materialized


def test_video_without_audio_runs_speech_assets_without_error(s3_server, bucket, instance, resources, silent_video):
    (request,) = upload_and_tick(
        s3_server, bucket, instance, resources, {"uploads/mute.mp4": silent_video.read_bytes()}
    )
    result = run_request(request, instance, resources)
    assert result.success, failure_message(result)
    assert _manifest(resources, "transcript", request.partition_key)["segments"] == []
    assert _manifest(resources, "text_moderation", request.partition_key)["verdict"] == "no_speech"


def test_models_load_once_per_process_across_partitions():
    store = ModelLoader(ModelConfig(whisper_model="tiny.en", device="cpu"))
    assert store.recognizer() is ModelLoader(ModelConfig(whisper_model="tiny.en", device="cpu")).recognizer()
    assert store.diarizer() is store.diarizer()


def test_missing_whisper_model_says_what_to_set(instance, resources, monkeypatch, tmp_path):
    from vidassets.ml.whisper_weights import ModelNotFoundError, resolve_whisper

    models = load_settings().models
    offline = {"cache_dir": models.cache_dir, "hub_offline": models.hub_offline}
    try:
        resolve_whisper(str(tmp_path / "no-such-model"), **offline)
    except ModelNotFoundError as err:
        assert "VIDASSETS_WHISPER_MODEL" in str(err)
    else:
        raise AssertionError("a missing model must fail")
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    try:
        resolve_whisper(str(empty), **offline)
    except ModelNotFoundError as err:
        assert "model.bin" in str(err)
    else:
        raise AssertionError("a directory without model.bin must fail")
    assert isinstance(dg.EnvVar("HF_TOKEN"), str)
