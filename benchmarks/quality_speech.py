"""Transcript and diarization quality on the real two-speaker call pyannote-audio ships.

WER against `sample.stm`, DER of the diarizer against `sample.rttm` (0.25 s collar, automatic speaker count),
and phrase start-time error — all through the same `transcribe`/`diarize` code the assets run.

    uv run python benchmarks/quality_speech.py [--whisper base]
"""

import argparse
import dataclasses
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from faster_whisper import decode_audio  # noqa: E402

from vidassets import samples  # noqa: E402
from vidassets.ml.der import diarization_error_rate, read_rttm  # noqa: E402
from vidassets.ml.speech_types import SpeakerTurn  # noqa: E402
from vidassets.ml.transcript_quality import normalize, phrase_start_errors, read_stm, word_error_rate  # noqa: E402
from vidassets.ml.transcription import diarize  # noqa: E402
from vidassets.resources.models import ModelLoader  # noqa: E402
from vidassets.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--whisper", default="base")
    args = parser.parse_args()
    config = dataclasses.replace(load_settings().models.config, whisper_model=args.whisper)
    models = ModelLoader(config)
    audio = decode_audio(str(samples.speech_wav()), sampling_rate=16_000)
    reference = read_stm(samples.speech_stm())

    started = time.perf_counter()
    transcript = models.transcribe(audio)
    asr_s = time.perf_counter() - started
    ref_words = [w for p in reference for w in normalize(p.text)]
    hyp_words = [w for s in transcript["segments"] for w in normalize(s["text"])]
    wer = word_error_rate(ref_words, hyp_words)
    errors = phrase_start_errors(reference, transcript["segments"])

    started = time.perf_counter()
    turns, segments = diarize(models.diarizer(), audio, transcript)
    diar_s = time.perf_counter() - started
    hypothesis = [SpeakerTurn(t.start, t.end, t.speaker) for t in turns]
    der = diarization_error_rate(read_rttm(samples.speech_rttm()), hypothesis, collar=0.25)

    print(f"whisper {args.whisper} ({config.resolved_compute_type()}, vad={config.resolved_vad()}), "
          f"{len(transcript['segments'])} segments, {asr_s:.1f}s")
    print(f"WER: {wer:.1%} ({len(ref_words)} reference words)   baseline bare WhisperX base int8 batch 8: 21.0%")
    print(f"phrase start error: mean {sum(errors) / len(errors):.3f}s, max {max(errors):.3f}s, "
          f"{len(errors)}/{len(reference)} phrases matched   target mean <= 0.25 s, max <= 0.5 s")
    print(f"DER (collar 0.25 s): {der['der']:.1%} (missed {der['missed_rate']:.1%}, false alarm "
          f"{der['false_alarm_rate']:.1%}, confusion {der['confusion_rate']:.1%}), "
          f"{len({t.speaker for t in turns})} speakers, {diar_s:.1f}s   target <= 15%")
    for seg in segments[:6]:
        print(f"  {seg['start']:6.2f}-{seg['end']:6.2f} {seg.get('speaker')}: {seg['text']}")


if __name__ == "__main__":
    main()
