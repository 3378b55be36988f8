"""Speech recognition: VAD chunks -> batched faster-whisper -> segments with word times.

WhisperX's recipe (VAD-cut chunks of <= 30 s decoded in batches, then word alignment), built from the
parts that keep every output: faster-whisper's `BatchedInferencePipeline` (where WhisperX's batching went
upstream) reports the language with its probability and, when no wav2vec2 aligner is configured, word
times from Whisper's own cross-attention in the same pass. WhisperX's `load_model(...).transcribe` keeps
neither.

VAD: `pyannote` is WhisperX's segmentation model (shipped in the whisperx wheel); `silero` is the ONNX
model shipped in faster-whisper. On CPU pyannote costs ~4% of real time (a third of the ASR time with
whisper base), so `auto` picks pyannote on GPU and silero on CPU. Both load offline.

The result carries the VAD's `speech_regions` (seconds): re-segmentation uses them to catch word times Whisper
misplaced into silence. With silero they are computed with the options faster-whisper's batched pipeline uses
internally (the pipeline does not return them), so they are the regions it decoded.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from vidassets.media.audio import SAMPLE_RATE
from vidassets.ml.speech_types import Segment, SpeechRegion, Transcription, Word

CHUNK_S = 30


@dataclass(frozen=True)
class RecognizerSpec:
    model_path: str
    model_name: str
    english_only: bool
    device: str
    compute_type: str
    threads: int
    vad_method: str  # pyannote | silero


class SpeechRecognizer:
    """One loaded Whisper model plus its VAD; build through `ModelLoader.recognizer()` so it is cached."""

    def __init__(self, spec: RecognizerSpec):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.spec = spec
        self.model = WhisperModel(
            spec.model_path, device=spec.device, compute_type=spec.compute_type, cpu_threads=spec.threads
        )
        self.pipeline = BatchedInferencePipeline(self.model)
        self._pyannote = self._load_pyannote_vad() if spec.vad_method == "pyannote" else None

    def _load_pyannote_vad(self) -> Any:
        import torch
        from whisperx.vads import Pyannote

        return Pyannote(torch.device(self.spec.device), token=None, vad_onset=0.5, vad_offset=0.363, chunk_size=CHUNK_S)

    def speech_chunks(self, audio: np.ndarray) -> tuple[list[dict[str, float]] | None, list[SpeechRegion]]:
        """(chunks, speech regions): pyannote VAD merged into <= 30 s chunks, or None to let faster-whisper run
        Silero itself; and the VAD's speech regions in seconds."""
        if self._pyannote is None:
            return None, silero_speech_regions(audio)
        from whisperx.vads import Pyannote
        from whisperx.vads.pyannote import Binarize

        # the VAD pipeline returns frame scores; whisperx's merge_chunks binarizes them itself
        scores = self._pyannote({"waveform": Pyannote.preprocess_audio(audio), "sample_rate": SAMPLE_RATE})
        timeline = Binarize(max_duration=CHUNK_S, onset=0.5, offset=0.363)(scores).get_timeline().support()
        if not timeline:
            return [], []
        speech = [(round(float(s.start), 3), round(float(s.end), 3)) for s in timeline]
        merged = Pyannote.merge_chunks(scores, CHUNK_S, onset=0.5, offset=0.363)
        chunks = [{"start": float(c["start"]), "end": float(c["end"])} for c in merged if c["end"] > c["start"]]
        return chunks, speech

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, batch_size: int, word_timestamps: bool, beam_size: int = 5
    ) -> Transcription:
        """`{"language", "language_probability", "segments", "speech_regions"}`; silence -> no segments. Segments
        have `words` only with `word_timestamps` (else the aligner adds them); the empty list until then."""
        if self.spec.english_only:
            language = "en"
        if audio.size < SAMPLE_RATE // 10:
            return {"language": language, "language_probability": None, "segments": [], "speech_regions": []}
        chunks, speech_regions = self.speech_chunks(audio)
        if chunks == []:
            return {"language": language, "language_probability": None, "segments": [], "speech_regions": []}
        segments, info = self.pipeline.transcribe(
            audio,
            language=language,
            batch_size=batch_size,
            beam_size=beam_size,
            word_timestamps=word_timestamps,
            vad_filter=chunks is None,
            clip_timestamps=chunks,
        )
        out: list[Segment] = []
        for seg in segments:
            text = seg.text.strip()
            if not text:
                continue
            words: list[Word] = [
                {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3),
                 "score": round(w.probability, 4)}
                for w in (seg.words or []) if w.word.strip()
            ] if word_timestamps else []
            out.append({"start": round(seg.start, 3), "end": round(seg.end, 3), "text": text, "words": words})
        return {
            "language": info.language,
            "language_probability": round(float(info.language_probability), 4) if not self.spec.english_only else None,
            "segments": out,
            "speech_regions": [[a, b] for a, b in speech_regions],
        }


def silero_speech_regions(audio: np.ndarray) -> list[SpeechRegion]:
    """Silero speech regions (seconds) with the options `BatchedInferencePipeline.transcribe` uses itself."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=CHUNK_S, min_silence_duration_ms=160)
    return [
        (round(r["start"] / SAMPLE_RATE, 3), round(r["end"] / SAMPLE_RATE, 3))
        for r in get_speech_timestamps(audio, options)
    ]
