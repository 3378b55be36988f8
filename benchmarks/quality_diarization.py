"""Quality and cost of the offline diarizers, per method, on far-field meetings and a phone call.

Data (fetched by this script when not given): the ten 30 s AMI *train* clips of the pyannote-audio 4.0.7 source
distribution (`tests/data/trn00..09.wav`, `debug.train.rttm`; MIT, recordings CC BY 4.0) and pyannote's 30 s
two-speaker call (`pyannote/audio/sample/sample.wav`, installed with whisperx). The sdist's dev/test clips are not
read: they are the held-out check.

For each offline method (today only `segmentation`; see `vidassets.ml.offline_diarizers`):
- DER (±0.25 s collar) of the diarizer's turns and of the transcript's segments after speaker assignment (what
  users see), with missed / false alarm / confusion; AMI figures are duration-weighted over the ten clips;
- speaker-count error (|found - reference| per clip);
- the longest pause between consecutive words inside one segment and inside one subtitle cue;
- the real-time factor on `--rtf-minutes` of meeting audio (the AMI clips end to end, repeated), wall clock and
  process CPU time, with the load average (the machine may be shared: compare CPU time when it is busy).

    uv run --frozen python benchmarks/quality_diarization.py [--data DIR] [--methods segmentation]
        [--whisper base] [--rtf-minutes 10] [--json]
    uv run --frozen python benchmarks/quality_diarization.py --loo [--data DIR] [--json]

`--loo` (leave-one-out, `segmentation` only): every grid point of the offline diarizer's tunable choices (`GRID`:
onset, the clustering threshold, min_active_s, min_cluster_size) is scored on every AMI clip; for each clip the
choice with the lowest duration-weighted segment DER on the *other nine* is applied to it. Reported per clip and
overall: the current defaults, the choice tuned on all ten, and leave-one-out, with the speaker count (exact on
the two-person recordings: trn03 and sample.wav). Segmentation, embeddings and transcripts are cached per clip
under `~/.cache/vidassets/bench/loo/`, so the grid costs clustering and reconstruction only.

`--data DIR` (or `VIDASSETS_AMI_DIR`) is a folder with `trn00.wav` … `trn09.wav` and `debug.train.rttm`; without
it the sdist is fetched with `pip download --no-deps --no-binary :all: pyannote-audio==4.0.7` once into
`~/.cache/vidassets/bench/` (sha256 checked).
"""

import argparse
import dataclasses
import hashlib
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from vidassets import samples  # noqa: E402
from vidassets.analytics.subtitles import build_cues  # noqa: E402
from vidassets.media.audio import SAMPLE_RATE  # noqa: E402
from vidassets.ml.der import diarization_error_rate, read_rttm  # noqa: E402
from vidassets.ml.offline_diarizers import METHODS, build_offline_diarizer  # noqa: E402
from vidassets.ml.speech_types import SpeakerTurn  # noqa: E402
from vidassets.ml.transcription import speaker_segments  # noqa: E402
from vidassets.resources.models import ModelLoader  # noqa: E402
from vidassets.settings import load_settings  # noqa: E402

COLLAR = 0.25
SDIST = ("pyannote-audio", "4.0.7")
SDIST_SHA256 = "3a903dfb5ca711d134cc2522561c9158b186836f5d62e8a57c46c6648e8a8229"
CLIPS = [f"trn{i:02d}" for i in range(10)]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vidassets" / "bench"


def _clip_name(member: str) -> str | None:
    """`tests/data/trñ00.wav` -> `trn00` (the sdist's unicode file-name test); None for other files."""
    name = unicodedata.normalize("NFKD", Path(member).name).encode("ascii", "ignore").decode()
    stem = name.removesuffix(".wav")
    return stem if name.endswith(".wav") and stem in CLIPS else None


def _pip() -> list[str]:
    """A pip command line: this interpreter's pip, else the `pip`/`pip3` on PATH (uv venvs have none)."""
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        if shutil.which(name):
            return [shutil.which(name)]
    raise SystemExit("pip is needed to download the pyannote-audio sdist (or pass --data DIR)")


def fetch_ami_train(dest: Path = CACHE / "ami-train") -> Path:
    """The AMI train clips and their RTTM from the pyannote-audio sdist (`pip download`), extracted once."""
    if all((dest / f"{c}.wav").is_file() for c in CLIPS) and (dest / "debug.train.rttm").is_file():
        return dest
    name, version = SDIST
    with tempfile.TemporaryDirectory() as tmp:
        command = [*_pip(), "download", "--no-deps", "--no-binary", ":all:", f"{name}=={version}", "-d", tmp]
        print("fetching the AMI train clips:", " ".join(command))
        subprocess.run(command, check=True)
        archive_path = next(Path(tmp).glob("*.tar.gz"))
        data = archive_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != SDIST_SHA256:
        raise SystemExit(f"sha256 mismatch for {archive_path.name}: not the pyannote-audio {version} sdist")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if "/tests/data/" not in member.name or not member.isfile():
                continue
            base = Path(member.name).name
            target = _clip_name(member.name)
            if target is None and base not in ("debug.train.rttm", "debug.train.uem"):
                continue  # dev/test clips stay out: they are the held-out check
            out = dest / (f"{target}.wav" if target else base)
            out.write_bytes(archive.extractfile(member).read())
    return dest


def load_clips(data: Path) -> list[tuple[str, np.ndarray, list[SpeakerTurn]]]:
    clips = []
    for clip in CLIPS:
        path = data / f"{clip}.wav"
        if not path.is_file():  # the shared copy of the sdist may keep the unicode name
            path = next(p for p in data.glob("*.wav") if _clip_name(p.name) == clip)
        audio, sr = sf.read(path, dtype="float32")
        assert sr == SAMPLE_RATE and audio.ndim == 1, path
        clips.append((clip, audio, read_rttm(data / "debug.train.rttm", file_id=clip)))
    audio, sr = sf.read(samples.speech_wav(), dtype="float32")
    clips.append(("sample", audio, read_rttm(samples.speech_rttm())))
    return clips


def longest_pauses(segments: list[dict[str, Any]], language: str | None) -> tuple[float, float]:
    """Longest gap between consecutive timed words inside one segment, and inside one subtitle cue."""
    def gaps(words):
        timed = [w for w in words if w.get("start") is not None and w.get("end") is not None]
        return [b["start"] - a["end"] for a, b in zip(timed, timed[1:], strict=False)]

    in_segments = max([0.0] + [g for s in segments for g in gaps(s.get("words") or [])])
    in_cues = 0.0
    words = [w for s in segments for w in s.get("words") or [] if w.get("start") is not None]
    for cue in build_cues({"language": language, "segments": segments}):
        inside = [w for w in words if w["start"] >= cue.start - 1e-6 and w["end"] <= cue.end + 1e-6]
        in_cues = max([in_cues] + gaps(inside))
    return in_segments, in_cues


def measure_rtf(diarizer: Any, meeting: np.ndarray, minutes: float) -> dict[str, float]:
    """Wall and process-CPU time of diarizing `minutes` of `meeting` (tiled), with the load average around it."""
    if minutes <= 0:
        return {"minutes": 0.0, "wall_s": 0.0, "cpu_s": 0.0, "rtf_wall": float("nan"),
                "rtf_cpu_per_core": float("nan"), "load_before": float("nan"), "load_after": float("nan")}
    long_audio = np.tile(meeting, int(np.ceil(minutes * 60 * SAMPLE_RATE / len(meeting))))
    long_audio = long_audio[: int(minutes * 60 * SAMPLE_RATE)]
    load_before = os.getloadavg()[0]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    diarizer.diarize(long_audio)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    seconds = len(long_audio) / SAMPLE_RATE
    return {"minutes": round(seconds / 60, 1), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "rtf_wall": round(wall / seconds, 4), "rtf_cpu_per_core": round(cpu / 2 / seconds, 4),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


def summarise(results: list[dict[str, Any]]) -> dict[str, float]:
    total = sum(r["total"] for r in results)
    out = {k: sum(r[k] for r in results) / total for k in ("missed", "false_alarm", "confusion")}
    out["der"] = out["missed"] + out["false_alarm"] + out["confusion"]
    return out


def cached_transcripts(models: ModelLoader, whisper: str,
                       clips: list[tuple[str, np.ndarray, list[SpeakerTurn]]]) -> dict[str, Any]:
    """Transcripts per clip, cached on disk by (Whisper model, audio sha256): Whisper is the costly part."""
    out = {}
    folder = CACHE / "transcripts"
    folder.mkdir(parents=True, exist_ok=True)
    for name, audio, _ in clips:
        path = folder / f"{name}-{whisper}-{hashlib.sha256(audio.tobytes()).hexdigest()[:16]}.json"
        if path.is_file():
            out[name] = json.loads(path.read_text())
        else:
            out[name] = models.transcribe(audio)
            path.write_text(json.dumps(out[name]))
    return out


# the offline diarizer's tunable choices; each list holds the default (SegmentationDiarizer's)
GRID: dict[str, list[float]] = {
    "onset": [0.4, 0.5, 0.6],
    "threshold": [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6],
    "min_active_s": [0.25, 0.5, 1.0],
    "min_cluster_size": [2, 5, 10],
}
TWO_PERSON = ("trn03", "sample")
COUNTED_S = 3.0  # a reference speaker "counts" for the audible-count figure with at least this much speech


def audible_speakers(reference: list[SpeakerTurn], min_s: float = COUNTED_S) -> int:
    """Reference speakers with at least `min_s` of speech (AMI clips hold speakers with a 0.4 s backchannel)."""
    talk: dict[str, float] = {}
    for t in reference:
        talk[t.speaker] = talk.get(t.speaker, 0.0) + t.end - t.start
    return sum(v >= min_s for v in talk.values())


def _stage_cache(diarizer: Any, name: str, audio: np.ndarray, onset: float) -> dict[str, np.ndarray]:
    """Segmentation and embeddings of one clip at one onset (the costly stages), cached on disk."""
    key = hashlib.sha256(f"{diarizer.method}|{onset}|{diarizer.min_embed_s}".encode() + audio.tobytes())
    path = CACHE / "loo" / f"{name}-{key.hexdigest()[:16]}.npz"
    if path.is_file():
        with np.load(path) as data:
            return dict(data)
    starts, padded = diarizer._chunks(audio)
    active = diarizer.segment(padded, starts) > onset
    embeddings, clean = diarizer.embed(padded, starts, active)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, starts=starts, active=active, embeddings=embeddings, clean=clean)
    return {"starts": starts, "active": active, "embeddings": embeddings, "clean": clean}


def _score_choice(diarizer: Any, stages: dict[str, np.ndarray], audio: np.ndarray, transcript: dict[str, Any],
                  reference: list[SpeakerTurn], choice: dict[str, float]) -> dict[str, Any]:
    """Segment DER (and errors in seconds) and the speaker count of one clip under one grid choice."""
    diarizer.threshold = float(choice["threshold"])
    diarizer.min_active_s = float(choice["min_active_s"])
    diarizer.min_cluster_size = int(choice["min_cluster_size"])
    active = stages["active"]
    turns: list[SpeakerTurn] = []
    if active.any():
        clusters = diarizer.cluster(stages["embeddings"], stages["clean"], active)
        turns = diarizer._reconstruct(active, clusters, stages["starts"], len(audio) / SAMPLE_RATE)[0]
    segments = speaker_segments(turns, transcript) if transcript["segments"] else []
    seg_turns = [SpeakerTurn(s["start"], s["end"], s["speaker"]) for s in segments
                 if s.get("speaker") and s.get("start") is not None and s["end"] > s["start"]]
    der = diarization_error_rate(reference, seg_turns, collar=COLLAR)
    return {"der": der["der"], "errors": der["missed"] + der["false_alarm"] + der["confusion"],
            "total": der["total"], "speakers": len({t.speaker for t in turns}),
            "reference_speakers": der["n_reference_speakers"], "audible_speakers": audible_speakers(reference)}


def leave_one_out(clips: list[tuple[str, np.ndarray, list[SpeakerTurn]]], transcripts: dict[str, Any]) -> dict:
    """Per clip: segment DER and speaker count under the defaults, the choice tuned on all ten AMI clips, and
    the choice tuned on the other nine (leave-one-out)."""
    from vidassets.ml.diarization_segmentation import SegmentationDiarizer

    diarizer = SegmentationDiarizer()
    default = {k: getattr(diarizer, k) for k in GRID}
    choices = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    t0 = time.perf_counter()
    scores: dict[str, list[dict[str, Any]]] = {}  # clip -> one score per choice
    for name, audio, reference in clips:
        stages = {onset: _stage_cache(diarizer, name, audio, onset) for onset in GRID["onset"]}
        scores[name] = [_score_choice(diarizer, stages[c["onset"]], audio, transcripts[name], reference, c)
                        for c in choices]
    print(f"leave-one-out grid: {len(choices)} choices x {len(clips)} clips, {time.perf_counter() - t0:.0f}s")
    ami = [name for name, _, _ in clips if name != "sample"]
    default_index = choices.index({k: type(v)(default[k]) for k, v in choices[0].items()})

    def best(on: list[str]) -> int:
        """The choice with the lowest duration-weighted segment DER over `on` (ties: the default, then the first)."""
        totals = [sum(scores[n][i]["errors"] for n in on) / sum(scores[n][i]["total"] for n in on)
                  for i in range(len(choices))]
        lowest = min(totals)
        return default_index if totals[default_index] <= lowest + 1e-12 else totals.index(lowest)

    tuned = best(ami)
    rows = []
    for name in [*ami, "sample"]:
        fold = best([n for n in ami if n != name]) if name != "sample" else tuned
        rows.append({"clip": name, "reference_speakers": scores[name][default_index]["reference_speakers"],
                     "audible_speakers": scores[name][default_index]["audible_speakers"],
                     "default": scores[name][default_index], "tuned": scores[name][tuned],
                     "loo": scores[name][fold], "loo_choice": choices[fold]})

    def overall(which: str) -> dict[str, Any]:
        amis = [r[which] for r in rows if r["clip"] != "sample"]
        exact = [r for r in rows if r[which]["speakers"] == r["reference_speakers"]]
        audible = [r for r in rows if r["clip"] != "sample" and r[which]["speakers"] == r[which]["audible_speakers"]]
        return {"der": sum(s["errors"] for s in amis) / sum(s["total"] for s in amis),
                "mean_clip_der": float(np.mean([s["der"] for s in amis])),
                "count_exact_ami": sum(r["clip"] != "sample" for r in exact),
                "count_exact_two_person": sum(r["clip"] in TWO_PERSON for r in exact),
                "count_exact_audible_ami": len(audible),
                "count_mae_ami": float(np.mean([abs(s["speakers"] - s["reference_speakers"]) for s in amis]))}

    report = {"grid": GRID, "default": default, "tuned_choice": choices[tuned], "clips": rows,
              "summary": {w: overall(w) for w in ("default", "tuned", "loo")}}
    print(f"defaults {default}; tuned on all ten: {choices[tuned]}")
    print(f"\n| clip | ref spk (>= {COUNTED_S:g} s) | default DER, spk | tuned DER, spk | LOO DER, spk | "
          "LOO choice (onset/thr/act/size) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        c = r["loo_choice"]
        cells = " | ".join(f"{r[w]['der']:.1%}, {r[w]['speakers']}" for w in ("default", "tuned", "loo"))
        print(f"| {r['clip']} | {r['reference_speakers']} ({r['audible_speakers']}) | {cells} | "
              f"{c['onset']}/{c['threshold']}/{c['min_active_s']}/{c['min_cluster_size']} |")
    print(f"\n| choice | AMI segment DER (weighted) | mean per clip | count exact AMI (vs >= {COUNTED_S:g} s) | "
          "two-person exact | MAE |")
    print("|---|---|---|---|---|---|")
    for w, m in report["summary"].items():
        print(f"| {w} | {m['der']:.1%} | {m['mean_clip_der']:.1%} | {m['count_exact_ami']}/10 "
              f"({m['count_exact_audible_ami']}/10) | "
              f"{m['count_exact_two_person']}/{len(TWO_PERSON)} | {m['count_mae_ami']:.1f} |")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("VIDASSETS_AMI_DIR") or None)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--whisper", default="base", help="Whisper model for the transcripts (offline default: base)")
    parser.add_argument("--rtf-minutes", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--loo", action="store_true", help="leave-one-out tuning of the segmentation diarizer")
    args = parser.parse_args()
    data = args.data if args.data else fetch_ami_train()
    clips = load_clips(Path(data))

    models = ModelLoader(dataclasses.replace(load_settings().models.config, whisper_model=args.whisper))
    t0 = time.perf_counter()
    transcripts = cached_transcripts(models, args.whisper, clips)
    print(f"transcripts: whisper {args.whisper}, {len(clips)} clips, {time.perf_counter() - t0:.0f}s")
    if args.loo:
        loo_report = leave_one_out(clips, transcripts)
        if args.json:
            print(json.dumps(loo_report))
        return

    report: dict[str, Any] = {"whisper": args.whisper, "methods": {}}
    for method in args.methods.split(","):
        t0 = time.perf_counter()
        diarizer = build_offline_diarizer(method)
        load_s = time.perf_counter() - t0
        print(f"\n== {method}: {diarizer.method}\n   load + warm-up {load_s:.1f}s")
        rows, turn_results, seg_results = [], [], []
        pauses = [0.0, 0.0]
        for name, audio, reference in clips:
            t0 = time.perf_counter()
            turns = diarizer.diarize(audio)
            elapsed = time.perf_counter() - t0
            transcript = transcripts[name]
            segments = speaker_segments(turns, transcript) if transcript["segments"] else []
            seg_turns = [SpeakerTurn(s["start"], s["end"], s["speaker"]) for s in segments
                         if s.get("speaker") and s.get("start") is not None and s["end"] > s["start"]]
            by_turn = diarization_error_rate(reference, turns, collar=COLLAR)
            by_segment = diarization_error_rate(reference, seg_turns, collar=COLLAR)
            found = len({t.speaker for t in turns})
            pause = longest_pauses(segments, transcript["language"])
            pauses = [max(pauses[0], pause[0]), max(pauses[1], pause[1])]
            row = {
                "clip": name, "seconds": round(len(audio) / SAMPLE_RATE, 1), "runtime_s": round(elapsed, 2),
                "der_turns": round(by_turn["der"], 4), "der_segments": round(by_segment["der"], 4),
                "missed": round(by_turn["missed_rate"], 4), "false_alarm": round(by_turn["false_alarm_rate"], 4),
                "confusion": round(by_turn["confusion_rate"], 4),
                "segments_missed": round(by_segment["missed_rate"], 4),
                "segments_false_alarm": round(by_segment["false_alarm_rate"], 4),
                "segments_confusion": round(by_segment["confusion_rate"], 4),
                "speakers": found, "reference_speakers": by_turn["n_reference_speakers"],
                "max_pause_in_segment_s": round(pause[0], 2), "max_pause_in_cue_s": round(pause[1], 2),
            }
            rows.append(row)
            if name != "sample":
                turn_results.append(by_turn)
                seg_results.append(by_segment)
            print(f"   {name:7s} DER turns {row['der_turns']:7.1%} segments {row['der_segments']:7.1%} "
                  f"(miss {row['missed']:.1%}, FA {row['false_alarm']:.1%}, conf {row['confusion']:.1%}) "
                  f"speakers {found}/{row['reference_speakers']}  {elapsed:.2f}s")
        ami_turns, ami_segments = summarise(turn_results), summarise(seg_results)
        ami_rows = [r for r in rows if r["clip"] != "sample"]
        count_errors = [abs(r["speakers"] - r["reference_speakers"]) for r in ami_rows]
        sample = next(r for r in rows if r["clip"] == "sample")

        # real-time factor on meeting audio: the AMI clips end to end, repeated to --rtf-minutes
        rtf = measure_rtf(diarizer, np.concatenate([a for n, a, _ in clips if n != "sample"]), args.rtf_minutes)
        report["methods"][method] = {
            "method": diarizer.method, "clips": rows,
            "ami_der_turns": round(ami_turns["der"], 4), "ami_der_segments": round(ami_segments["der"], 4),
            "ami_missed": round(ami_turns["missed"], 4), "ami_false_alarm": round(ami_turns["false_alarm"], 4),
            "ami_confusion": round(ami_turns["confusion"], 4),
            "ami_segments_missed": round(ami_segments["missed"], 4),
            "ami_segments_false_alarm": round(ami_segments["false_alarm"], 4),
            "ami_segments_confusion": round(ami_segments["confusion"], 4),
            "ami_count_mae": round(float(np.mean(count_errors)), 2),
            "ami_count_exact": int(sum(e == 0 for e in count_errors)),
            "max_pause_in_segment_s": round(pauses[0], 2), "max_pause_in_cue_s": round(pauses[1], 2),
            "rtf": rtf,
        }
        print(f"   AMI train (duration-weighted): DER turns {ami_turns['der']:.1%} (miss {ami_turns['missed']:.1%}, "
              f"FA {ami_turns['false_alarm']:.1%}, conf {ami_turns['confusion']:.1%}), segments "
              f"{ami_segments['der']:.1%} (miss {ami_segments['missed']:.1%}, FA {ami_segments['false_alarm']:.1%}, "
              f"conf {ami_segments['confusion']:.1%}); speaker count exact {sum(e == 0 for e in count_errors)}/10, "
              f"mean abs error {np.mean(count_errors):.1f}")
        print(f"   sample.wav: DER turns {sample['der_turns']:.1%}, segments {sample['der_segments']:.1%}, "
              f"speakers {sample['speakers']}/2")
        print(f"   longest pause inside a segment {pauses[0]:.2f}s, inside a cue {pauses[1]:.2f}s")
        print(f"   {rtf['minutes']} min of meeting audio: {rtf['wall_s']:.1f}s wall (RTF {rtf['rtf_wall']:.3f}), "
              f"{rtf['cpu_s']:.1f}s CPU (= {rtf['rtf_cpu_per_core']:.3f} of real time on 2 cores); "
              f"load {rtf['load_before']} -> {rtf['load_after']}")

    print("\n| method | AMI DER turns | miss / FA / conf | AMI DER segments | miss / FA / conf | count exact, MAE | "
          "sample DER turns / segments | RTF wall (CPU/2) |")
    print("|---|---|---|---|---|---|---|---|")
    for method, m in report["methods"].items():
        sample = next(r for r in m["clips"] if r["clip"] == "sample")
        print(f"| {method} | {m['ami_der_turns']:.1%} | "
              f"{m['ami_missed']:.1%} / {m['ami_false_alarm']:.1%} / {m['ami_confusion']:.1%} | "
              f"{m['ami_der_segments']:.1%} | {m['ami_segments_missed']:.1%} / "
              f"{m['ami_segments_false_alarm']:.1%} / {m['ami_segments_confusion']:.1%} | "
              f"{m['ami_count_exact']}/10, {m['ami_count_mae']:.1f} | "
              f"{sample['der_turns']:.1%} / {sample['der_segments']:.1%} | "
              f"{m['rtf']['rtf_wall']:.3f} ({m['rtf']['rtf_cpu_per_core']:.3f}) |")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
