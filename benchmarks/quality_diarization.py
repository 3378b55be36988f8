"""Quality and cost of the offline diarizer (vidassets.ml.diarization_offline) on real speech.

1. pyannote-audio's 30 s two-speaker phone call (``pyannote/audio/sample/sample.wav`` + ``sample.rttm``),
   automatic speaker count: DER with a ±0.25 s collar and its components, speakers found, runtime.
2. A 10-minute input made of that call repeated 20x: runtime per stage, clustering time for its windows,
   peak RSS (``resource.getrusage``). Its DER against the repeated reference is printed for information
   only (identical copies make the count estimate see fake, perfectly repeated evidence).

    HF_HUB_OFFLINE=1 python benchmarks/quality_diarization.py [--repeat 20] [--json]
"""

import argparse
import importlib.util
import json
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from vidassets.ml.der import diarization_error_rate, read_rttm  # noqa: E402
from vidassets.ml.diarization_offline import (  # noqa: E402
    SAMPLE_RATE,
    SpeakerTurn,
    WindowEmbeddingDiarizer,
)

COLLAR = 0.25


def sample_dir() -> Path:
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pyannote.audio is not installed: no sample to benchmark on")
    return Path(spec.submodule_search_locations[0]) / "sample"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def der_line(result: dict) -> str:
    return (
        f"DER {result['der']:.2%} = missed {result['missed_rate']:.2%} ({result['missed']:.2f}s) "
        f"+ false alarm {result['false_alarm_rate']:.2%} ({result['false_alarm']:.2f}s) "
        f"+ confusion {result['confusion_rate']:.2%} ({result['confusion']:.2f}s) "
        f"of {result['total']:.2f}s scored speech"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="copies of the sample for the long input")
    parser.add_argument("--json", action="store_true", help="also print one JSON line with all figures")
    args = parser.parse_args()

    folder = sample_dir()
    audio, sr = sf.read(folder / "sample.wav", dtype="float32")
    assert sr == SAMPLE_RATE and audio.ndim == 1
    reference = read_rttm(folder / "sample.rttm")
    report: dict = {"rss_start_mb": round(peak_rss_mb(), 1)}

    t0 = time.perf_counter()
    diarizer = WindowEmbeddingDiarizer()
    report["model_load_s"] = round(time.perf_counter() - t0, 2)
    print(f"method: {diarizer.method}")
    print(f"model load + warm-up: {report['model_load_s']:.2f}s, peak RSS {peak_rss_mb():.0f} MB")

    # --- 30 s sample, automatic speaker count -------------------------------------------------------
    t0 = time.perf_counter()
    turns = diarizer.diarize(audio)
    elapsed = time.perf_counter() - t0
    result = diarization_error_rate(reference, turns, collar=COLLAR)
    speakers = sorted({t.speaker for t in turns})
    print(f"\n[sample.wav, {len(audio) / SAMPLE_RATE:.1f}s, automatic count] {elapsed:.2f}s")
    n_ref = result["n_reference_speakers"]
    print(f"  speakers found: {len(speakers)} (reference: {n_ref}), turns: {len(turns)}")
    print(f"  collar ±{COLLAR}s: {der_line(result)}")
    no_collar = diarization_error_rate(reference, turns, collar=0.0)
    print(f"  no collar:    {der_line(no_collar)}")
    report["sample"] = {
        "seconds": len(audio) / SAMPLE_RATE,
        "runtime_s": round(elapsed, 3),
        "speakers": len(speakers),
        "turns": len(turns),
        **{k: round(result[k], 4) for k in ("der", "missed_rate", "false_alarm_rate", "confusion_rate")},
        **{k: round(result[k], 3) for k in ("total", "missed", "false_alarm", "confusion")},
        "der_no_collar": round(no_collar["der"], 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }

    # --- 10-minute input: the sample repeated ----------------------------------------------------------
    long_audio = np.tile(audio, args.repeat)
    span = len(audio) / SAMPLE_RATE
    long_ref = [
        SpeakerTurn(t.start + i * span, t.end + i * span, t.speaker)
        for i in range(args.repeat)
        for t in reference
    ]
    t0 = time.perf_counter()
    run = diarizer.run(long_audio)
    total = time.perf_counter() - t0
    long_turns = run.turns
    stages = run.timings

    # the clustering step alone on all of the run's windows (the run clusters the speech-covered ones)
    t0 = time.perf_counter()
    labels = diarizer.cluster(run.embeddings)
    t_cluster_all = time.perf_counter() - t0

    long_result = diarization_error_rate(long_ref, long_turns, collar=COLLAR)
    minutes = len(long_audio) / SAMPLE_RATE / 60
    per_minute = total / minutes
    print(f"\n[sample.wav x{args.repeat} = {minutes:.1f} min] diarize {total:.2f}s ({per_minute:.2f}s/min)")
    print(
        f"  stages: VAD {stages['speech']:.2f}s ({len(run.speech_regions)} regions), "
        f"{len(run.windows)} windows embedded in {stages['embed']:.2f}s, "
        f"clustering {stages['cluster']:.3f}s, turns {stages['turns']:.3f}s"
    )
    print(
        f"  clustering all {len(run.embeddings)} windows alone: {t_cluster_all * 1000:.0f} ms "
        f"-> {labels.max() + 1} clusters"
    )
    print(f"  speakers found: {run.n_speakers}, turns: {len(long_turns)}")
    print(f"  (information only) collar ±{COLLAR}s: {der_line(long_result)}")
    print(f"  peak RSS of the process: {peak_rss_mb():.0f} MB")
    report["long"] = {
        "minutes": round(minutes, 2),
        "runtime_s": round(total, 2),
        **{f"{stage}_s": round(sec, 3) for stage, sec in stages.items()},
        "windows": int(len(run.windows)),
        "cluster_all_windows_ms": round(t_cluster_all * 1000, 1),
        "speakers": run.n_speakers,
        "der": round(long_result["der"], 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
