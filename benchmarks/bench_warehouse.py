"""Corpus queries on a large warehouse, before and after compaction (target: < 2 s each on 2 cores).

Builds a synthetic warehouse on local disk through the real write path (`Warehouse.write_video`, one atomic file
per video and table): N videos (default 10,000) with ~S transcript segments each (default 500, 12-word sentences
from a 400-word vocabulary, the phrase "hiring plan" in ~0.2 % of them), 2-4 speakers, one `videos` row. Then
times, end to end as an analyst runs them (`run_query`: list files, register datasets, execute, to pandas):

  1. talk time per speaker   (speakers: ~3 rows per video)
  2. words per minute by video (videos JOIN speakers)
  3. phrase search            (segments: ILIKE over every segment's text)

on the per-video files, then runs `compact_all()` and times them again (median of `--repeat` runs; wall and CPU
time). Arrow uses `--threads` (2); DuckDB one thread per core (measured on a 2-core machine).

    python benchmarks/bench_warehouse.py [--videos 10000] [--segments 500] [--root DIR] [--repeat 3] [--keep]

The `words` table (~6,000 rows per video here, 60 M in all) is not built: none of the three queries reads it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from vidassets.analytics.examples import BENCHMARK_QUERIES, EXAMPLES
from vidassets.analytics.query import run_query
from vidassets.analytics.schemas import SCHEMA_VERSION
from vidassets.analytics.warehouse import Warehouse

TARGET_S = 2.0
WORDS_PER_SEGMENT = 12
PHRASE_RATE = 0.002
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "ri", "mo", "zu", "fa", "el", "on"]


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES, size=rng.integers(1, 4))))
    words -= {"hiring", "plan"}
    return np.array(sorted(words), dtype=object)


def video_tables(video_id: str, segments: int, vocab: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Table]:
    n_speakers = int(rng.integers(2, 5))
    picks = rng.integers(0, len(vocab), size=(segments, WORDS_PER_SEGMENT))
    sentences = [" ".join(row) for row in vocab[picks]]
    for i in np.flatnonzero(rng.random(segments) < PHRASE_RATE):
        sentences[i] = f"{sentences[i][:30]} the hiring plan {sentences[i][30:]}"
    durations = rng.uniform(2.0, 6.0, segments)
    gaps = rng.uniform(0.1, 1.0, segments)
    ends = np.cumsum(durations + gaps)
    starts = ends - durations
    speakers = np.array([f"SPEAKER_{k:02d}" for k in range(n_speakers)], dtype=object)
    who = speakers[rng.integers(0, n_speakers, segments)]
    segment_table = pa.table({
        "video_id": [video_id] * segments,
        "segment_index": pa.array(np.arange(segments, dtype=np.int32)),
        "start_s": np.round(starts, 3),
        "end_s": np.round(ends, 3),
        "speaker": pa.array(who, pa.string()),
        "text": pa.array(sentences, pa.string()),
        "word_count": pa.array(np.full(segments, WORDS_PER_SEGMENT, dtype=np.int32)),
        "schema_version": pa.array(np.full(segments, SCHEMA_VERSION, dtype=np.int32)),
    })
    rows = []
    for speaker in speakers:
        mask = who == speaker
        talk = float(np.round(durations[mask].sum(), 3))
        words = int(mask.sum()) * WORDS_PER_SEGMENT
        rows.append({"video_id": video_id, "speaker": speaker, "talk_time_s": talk, "word_count": words,
                     "words_per_minute": round(words / (talk / 60), 1) if talk else None,
                     "turns": int(mask.sum()), "schema_version": SCHEMA_VERSION})
    speaker_table = pa.Table.from_pylist(rows)
    video_table = pa.Table.from_pylist([{
        "video_id": video_id, "source_uri": f"s3://vidassets/uploads/{video_id}.mp4", "bucket": "vidassets",
        "key": f"uploads/{video_id}.mp4", "status": "approved", "duration_s": float(round(ends[-1] + 1.0, 3)),
        "width": 1280, "height": 720, "fps": 30.0, "has_audio": True, "language": "en",
        "language_probability": 0.98, "speakers": n_speakers, "word_count": segments * WORDS_PER_SEGMENT,
        "whisper_model": "whisper base (int8, cpu)", "schema_version": SCHEMA_VERSION,
    }])
    return {"videos": video_table, "speakers": speaker_table, "segments": segment_table}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(root: Path, videos: int, segments: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    vocab = vocabulary(400, rng)
    wh = Warehouse(str(root))
    started = time.perf_counter()
    for i in range(videos):
        video_id = f"synthetic-talk-{i:05d}-{i * 7919 % 16**12:012x}"
        wh.write_video(video_id, video_tables(video_id, segments, vocab, rng))
        if (i + 1) % 1000 == 0 or i + 1 == videos:
            elapsed = time.perf_counter() - started
            print(f"  wrote {i + 1:,}/{videos:,} videos in {elapsed:.0f} s", flush=True)
    return time.perf_counter() - started


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def time_queries(root: Path, repeat: int) -> dict[str, tuple[float, float, float, int]]:
    """(median wall s, first-run wall s, median CPU s, result rows) per query, end to end through run_query.
    CPU time (user + system, all threads) is what the query costs whatever else runs on the machine; on an idle
    2-core box the wall time is about CPU / 2 at best and CPU at worst."""
    out = {}
    for name in BENCHMARK_QUERIES:
        walls, cpus = [], []
        rows = 0
        for _ in range(repeat):
            started, cpu = time.perf_counter(), _cpu()
            rows = len(run_query(str(root), EXAMPLES[name]))
            walls.append(time.perf_counter() - started)
            cpus.append(_cpu() - cpu)
        out[name] = (statistics.median(walls), walls[0], statistics.median(cpus), rows)
    return out


def time_listing(root: Path) -> dict[str, float]:
    wh = Warehouse(str(root))
    out = {}
    for table in ("videos", "speakers", "segments"):
        started = time.perf_counter()
        wh.dataset(table)
        out[table] = time.perf_counter() - started
    return out


def report(title: str, results: dict[str, tuple[float, float, float, int]]) -> None:
    print(f"\n{title}   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  {'query':28s} {'wall s':>7s} {'first s':>8s} {'cpu s':>6s} {'rows':>7s}  target < {TARGET_S:.0f} s wall")
    for name, (median, first, cpu, rows) in results.items():
        verdict = "ok" if median < TARGET_S else "SLOW"
        print(f"  {name:28s} {median:7.3f} {first:8.3f} {cpu:6.2f} {rows:7,d}  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=500)
    parser.add_argument("--root", type=Path, default=None, help="warehouse root (default: a temporary folder)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the warehouse (and reuse it if it exists)")
    args = parser.parse_args()

    pa.set_cpu_count(args.threads)
    pa.set_io_thread_count(args.threads)
    duck_threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    root = args.root or Path(tempfile.gettempdir()) / f"vidassets-bench-{args.videos}x{args.segments}"
    print(f"warehouse: {root}  ({args.videos:,} videos x {args.segments} segments, {os.cpu_count()} cores, "
          f"arrow threads {args.threads}, duckdb threads {duck_threads})")
    print(f"duckdb {duckdb.__version__}, pyarrow {pa.__version__}")
    if root.exists() and not args.keep:
        shutil.rmtree(root)
    if not (root / "warehouse" / "videos").exists():
        build_s = build(root, args.videos, args.segments, args.seed)
        print(f"built in {build_s:.0f} s ({args.videos / build_s:.0f} videos/s, 3 files each)")
    else:
        print("reusing the existing warehouse (--keep)")
        shutil.rmtree(root / "warehouse" / "_compacted", ignore_errors=True)
    per_video_bytes = du(root / "warehouse")
    print(f"per-video files: {per_video_bytes / 1e6:,.0f} MB on disk in "
          f"{sum(1 for _ in (root / 'warehouse').rglob('*.parquet')):,} files")

    listing = time_listing(root)
    print("listing + dataset per table: " + ", ".join(f"{t} {s:.3f} s" for t, s in listing.items()))
    before = time_queries(root, args.repeat)
    report("before compaction (one file per video and table)", before)

    time.sleep(1.1)  # compact() leaves out files written within the last second (local clock-tick safety)
    started = time.perf_counter()
    results = Warehouse(str(root)).compact_all()
    compact_s = time.perf_counter() - started
    compacted_bytes = du(root / "warehouse" / "_compacted")
    print(f"\ncompact_all: {compact_s:.1f} s; " + ", ".join(
        f"{t} {r.videos:,} videos -> {len(r.files)} file(s)" for t, r in results.items() if r.videos))
    print(f"compacted copy: {compacted_bytes / 1e6:,.0f} MB")

    listing = time_listing(root)
    print("listing + dataset per table: " + ", ".join(f"{t} {s:.3f} s" for t, s in listing.items()))
    after = time_queries(root, args.repeat)
    report("after compaction", after)
    for name in BENCHMARK_QUERIES:
        assert before[name][3] == after[name][3], f"{name}: row count changed by compaction"
    if not args.keep:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
