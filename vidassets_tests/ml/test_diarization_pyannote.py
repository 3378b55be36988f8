"""The production pyannote path (`ModelLoader.diarizer()` -> `PyannoteDiarizer` -> `whisperx.diarize.
DiarizationPipeline` -> pyannote's `SpeakerDiarization`) run end to end, offline, from a local pipeline directory.

The directory holds the real pyannote segmentation model shipped in the whisperx wheel, a tiny random x-vector
embedding and a synthetic PLDA (see `model_builders.build_pyannote_pipeline_dir`): speech activity comes from a
trained model, speaker labels do not, so labels are checked for plumbing only.
"""

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vidassets.ml.der import read_rttm
from vidassets.ml.diarization_pyannote import PyannoteDiarizer
from vidassets.ml.speaker_assignment import to_whisperx_frame
from vidassets.ml.speech_types import SpeakerTurn
from vidassets.ml.whisper_weights import ModelNotFoundError
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader
from vidassets.samples import speech_rttm, speech_stm, speech_wav
from vidassets.settings import load_settings
from vidassets_tests.ml.model_builders import build_pyannote_pipeline_dir, files_under, offline_guard

FAKE_TOKEN = "hf_FAKEtoken0123456789abcdefSECRET"  # must never show up anywhere
SAMPLE_RATE = 16_000


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("offline-diarization")
    with pytest.MonkeyPatch.context() as mp:
        yield {"home": home, "attempts": offline_guard(mp, home)}


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    from faster_whisper import decode_audio

    return decode_audio(str(speech_wav()), sampling_rate=SAMPLE_RATE)


@pytest.fixture(scope="module")
def pipeline_dir(offline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pyannote_pipeline_dir(tmp_path_factory.mktemp("pyannote-pipeline"))


@pytest.fixture(scope="module")
def store(pipeline_dir) -> ModelLoader:
    config = ModelConfig(diarization_model=str(pipeline_dir), device="cpu", max_speakers=2)
    return ModelLoader(config, hf_token=FAKE_TOKEN)


@pytest.fixture(scope="module")
def turns(offline, store, audio) -> list[SpeakerTurn]:
    return store.diarizer().diarize(audio)


def _covered(turns: list[SpeakerTurn], step: float = 0.01, duration: float = 30.0) -> np.ndarray:
    grid = np.zeros(int(round(duration / step)), dtype=bool)
    for t in turns:
        grid[int(t.start / step) : int(np.ceil(t.end / step))] = True
    return grid


def test_turns_are_sorted_speaker_turns_inside_the_audio(turns, audio):
    duration = audio.size / SAMPLE_RATE
    assert 29.9 < duration <= 30.0
    assert turns and all(isinstance(t, SpeakerTurn) for t in turns)
    assert turns == sorted(turns, key=lambda t: (t.start, t.end))
    for turn in turns:
        assert 0.0 <= turn.start < turn.end <= duration, turn
        assert isinstance(turn.speaker, str) and turn.speaker, turn
    assert 1 <= len({t.speaker for t in turns}) <= 2  # max_speakers=2


def test_speech_regions_come_from_the_real_segmentation_model(turns):
    """Speaker labels are random, speech activity is not: the turns cover the reference speech of the call
    (first word at 6.7 s) and leave the silent first 6 s alone."""
    reference, ours = _covered(read_rttm(speech_rttm())), _covered(turns)
    assert (reference & ours).sum() / reference.sum() > 0.8
    assert not ours[: int(6.0 / 0.01)].any()


def test_words_get_speakers_with_whisperx(turns):
    """The diarized-transcript path: our turns as WhisperX's frame label every word of the reference STM
    transcript (word times spread over each line) and every segment."""
    import whisperx

    segments = []
    for line in speech_stm().read_text().splitlines():
        fields = line.split(maxsplit=5)
        start, end, words = float(fields[3]), float(fields[4]), fields[5].split()
        step = (end - start) / len(words)
        timed = [{"word": w, "start": start + i * step, "end": start + (i + 1) * step} for i, w in enumerate(words)]
        segments.append({"start": start, "end": end, "text": fields[5], "words": timed})
    labelled = whisperx.assign_word_speakers(to_whisperx_frame(turns), {"segments": segments}, fill_nearest=True)
    speakers = {t.speaker for t in turns}
    assert labelled["segments"] and all(seg["speaker"] in speakers for seg in labelled["segments"])
    words = [w for seg in labelled["segments"] for w in seg["words"]]
    assert len(words) > 50 and all(w["speaker"] in speakers for w in words)


def test_store_loads_the_pipeline_once(store, turns, pipeline_dir):
    diarizer = store.diarizer()
    assert isinstance(diarizer, PyannoteDiarizer)
    assert diarizer is store.diarizer()
    assert diarizer is ModelLoader(store.config, hf_token=FAKE_TOKEN).diarizer()
    assert diarizer.name == f"pyannote:{pipeline_dir.name}"
    assert (diarizer.min_speakers, diarizer.max_speakers) == (None, 2)


def test_token_never_shows_for_a_local_pipeline(offline, pipeline_dir, audio, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for model in (str(pipeline_dir), str(pipeline_dir / "config.yaml")):
        diarizer = PyannoteDiarizer(model, token=FAKE_TOKEN, device="cpu", min_speakers=None, max_speakers=2,
                     hub_offline=load_settings().models.hub_offline)
        assert diarizer.name == f"pyannote:{pipeline_dir.name}"
        diarizer.diarize(audio[6 * SAMPLE_RATE : 12 * SAMPLE_RATE])
        pipeline = diarizer.pipeline.model  # pyannote's SpeakerDiarization
        shown = [
            repr(diarizer), diarizer.name, repr(vars(diarizer)), repr(vars(pipeline)),
            repr(pipeline.segmentation_model), repr(pipeline.embedding), repr(pipeline.plda),
        ]
        assert not [text for text in shown if FAKE_TOKEN in text]
    out, err = capfd.readouterr()
    assert FAKE_TOKEN not in caplog.text + out + err


def test_pyannote_telemetry_is_switched_off(offline, store, turns, monkeypatch):
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "true")  # pyannote's default at import
    PyannoteDiarizer(str(store.config.diarization_model), token=None, device="cpu", min_speakers=None, max_speakers=2,
                     hub_offline=load_settings().models.hub_offline)
    assert not is_metrics_enabled()
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "false"


def test_float64_and_empty_audio(store, audio):
    diarizer = store.diarizer()
    assert diarizer.diarize(np.zeros(0, dtype=np.float32)) == []
    window = audio[6 * SAMPLE_RATE : 12 * SAMPLE_RATE].astype(np.float64)
    turns = diarizer.diarize(window)
    assert turns and all(0.0 <= t.start < t.end <= 6.0 for t in turns)


def _missing_plda(pipeline_dir: Path, target: Path) -> Path:
    target.mkdir()
    shutil.copyfile(pipeline_dir / "config.yaml", target / "config.yaml")
    for part in ("segmentation", "embedding"):
        (target / part).symlink_to(pipeline_dir / part, target_is_directory=True)
    return target


@pytest.mark.parametrize("kind", ["missing-dir", "no-config", "hub-id", "hub-id-offline-true", "missing-plda"])
def test_unusable_pipeline_names_the_setting(offline, pipeline_dir, tmp_path, monkeypatch, kind):
    model = {
        "missing-dir": lambda: str(tmp_path / "no-such-pipeline"),
        "no-config": lambda: str(tmp_path),
        "hub-id": lambda: "pyannote/speaker-diarization-community-1",
        "hub-id-offline-true": lambda: "pyannote/speaker-diarization-community-1",
        "missing-plda": lambda: str(_missing_plda(pipeline_dir, tmp_path / "pipeline")),
    }[kind]()
    if kind == "hub-id-offline-true":
        monkeypatch.setenv("HF_HUB_OFFLINE", "true")
    with pytest.raises(ModelNotFoundError, match="VIDASSETS_DIARIZATION_MODEL") as raised:
        PyannoteDiarizer(model, token=FAKE_TOKEN, device="cpu", min_speakers=None, max_speakers=2,
                     hub_offline=load_settings().models.hub_offline)
    chain, error = [], raised.value
    while error is not None:
        chain.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    assert FAKE_TOKEN not in "\n".join(chain)
    with pytest.raises(ModelNotFoundError, match="VIDASSETS_DIARIZATION_MODEL"):
        ModelLoader(ModelConfig(diarization_model=model, device="cpu"), hf_token=FAKE_TOKEN).diarizer()


def test_nothing_was_downloaded(offline, turns):
    assert offline["attempts"] == []
    assert files_under(offline["home"] / "hf") == []
    assert files_under(offline["home"] / "torch") == []


def test_voices_are_the_pipelines_speaker_centroids(offline, store, audio, turns):
    """Plumbing (the embedding model here is random): one unit-length voice per speaker from pyannote's centroids."""
    voice_turns, voices = store.diarizer().diarize_voices(audio)
    assert voice_turns == turns
    assert [v["speaker"] for v in voices] == sorted({t.speaker for t in turns})
    for voice in voices:
        assert voice["model"] == f"{store.diarizer().name} embedding" and voice["windows"] is None
        if voice["embedding"] is None:  # pyannote gives a speaker it never embedded a zero centroid
            assert voice["too_short"]
        else:
            assert abs(np.linalg.norm(voice["embedding"]) - 1) < 1e-4
            assert voice["too_short"] == (voice["speech_s"] < 10.0)
    assert any(v["embedding"] is not None for v in voices)
