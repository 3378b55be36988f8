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
misplaced into silence. The batched pipeline does not return the regions its own Silero pass finds, so with
silero the VAD runs here once (`SileroChunks`, with the options the pipeline uses itself) and the pipeline is given
what its own pass would build from them: the speech concatenated into <= 30 s chunks (`collect_chunks`) and, after
decoding, the times mapped back onto the original audio (`restore_speech_timestamps`); the same segments and words
as `vad_filter=True`, for one VAD pass instead of two (~1 s per 10 minutes of audio on 2 CPU cores).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from vidassets.media.audio import SAMPLE_RATE
from vidassets.ml.speech_types import Segment, SpeechRegion, Transcription, Word

CHUNK_S = 30
# faster-whisper's BatchedInferencePipeline runs Silero with these when `vad_filter=True`
SILERO_MIN_SILENCE_MS = 160


@dataclass(frozen=True)
class SileroChunks:
    """Silero's speech (sample offsets), and that speech concatenated and cut into <= CHUNK_S chunks as the batched
    pipeline's own VAD pass cuts it: `audio` holds the chunks back to back, `clips` their bounds in seconds."""

    timestamps: list[dict[str, int]]
    audio: np.ndarray
    clips: list[dict[str, float]]

    @property
    def regions(self) -> list[SpeechRegion]:
        return [(round(t["start"] / SAMPLE_RATE, 3), round(t["end"] / SAMPLE_RATE, 3)) for t in self.timestamps]


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

    def speech_chunks(self, audio: np.ndarray) -> tuple[list[dict[str, float]], list[SpeechRegion]]:
        """(chunks, speech regions) from pyannote's VAD: chunks merged to <= 30 s (gaps kept, WhisperX's
        `merge_chunks`), regions in seconds."""
        if self._pyannote is None:
            raise RuntimeError("speech_chunks is the pyannote VAD's; with silero use silero_chunks")
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
        silero = silero_chunks(audio) if self._pyannote is None else None
        if silero is not None:
            chunks, speech_regions, decoded = silero.clips, silero.regions, silero.audio
        else:
            chunks, speech_regions = self.speech_chunks(audio)
            decoded = audio
        if not chunks:
            return {"language": language, "language_probability": None, "segments": [], "speech_regions": []}
        segments, info = self.pipeline.transcribe(
            decoded,
            language=language,
            batch_size=batch_size,
            beam_size=beam_size,
            word_timestamps=word_timestamps,
            clip_timestamps=chunks,
        )
        if silero is not None:  # times in the concatenated speech -> times in the video
            from faster_whisper.transcribe import restore_speech_timestamps

            segments = restore_speech_timestamps(segments, silero.timestamps, SAMPLE_RATE)
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


def silero_chunks(audio: np.ndarray) -> SileroChunks:
    """One Silero pass with `BatchedInferencePipeline.transcribe`'s options, and the chunks it would decode."""
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=CHUNK_S, min_silence_duration_ms=SILERO_MIN_SILENCE_MS)
    timestamps = get_speech_timestamps(audio, options)
    if not timestamps:
        return SileroChunks([], np.zeros(0, np.float32), [])
    pieces = [piece for piece in collect_chunks(audio, timestamps, max_duration=CHUNK_S)[0] if piece.size]
    clips, offset = [], 0
    for piece in pieces:
        # the pipeline turns seconds back into samples with int(s * rate): half a sample in, it lands on `offset`
        clips.append({"start": (offset + 0.5) / SAMPLE_RATE, "end": (offset + piece.size + 0.5) / SAMPLE_RATE})
        offset += piece.size
    return SileroChunks(timestamps, np.concatenate(pieces), clips)
