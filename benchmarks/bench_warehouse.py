"""The warehouse at corpus scale: build, compaction and every documented query of docs/DATA.md (target: <= 1 s each
on compacted data, 2 cores).

Builds a synthetic warehouse on local disk (or S3) in batches of `--batch` videos: each batch's rows are generated as
one vectorized table per warehouse table, cut into one slice per video and written as that video's
`video_id=<id>/part-0.parquet` with the store's atomic put and the options `Warehouse.write_video` uses, so memory
is bounded by one batch whatever `--videos` is. Per video (realistic shape, `--segments` S, default 500):

  videos             1 row (95 % approved, 4 % rejected, 1 % failed)
  speakers           2-4 rows
  segments           S rows, 12-word sentences from a 400-word vocabulary, "hiring plan" in ~0.2 % of them
  text_moderation    S rows (category profanity; ~0.1 % flagged)
  moderation_frames  ~12 rows (NudeNet labels, some frames without a detection)
  words              12 rows per segment, for a sample of `--words-share` of the videos (default 1 %): the
                     full table would be 6,000 rows per video (600 M at 100,000 videos)

Then: `compact_all()` in a child process (wall time and its peak RSS), every query of
`vidassets.analytics.examples.EXAMPLES` end to end through `run_query` on the compacted warehouse (median of
`--repeat` runs, wall and CPU), then the incremental path: one new video through the real `Warehouse.write_video`,
the queries again (one video read from its own files), and the next `compact_all()`. The load average of the
machine is printed beside every figure (the machine is shared). Per-video-file query timings (`--uncompacted`) are
off by default beyond 10,000 videos (minutes each).

    nice -n 10 python benchmarks/bench_warehouse.py --videos 100000 [--segments 500] [--root DIR] [--keep]
    nice -n 10 python benchmarks/bench_warehouse.py --videos 1000000 --metadata-only

`--metadata-only` measures what every query pays before DuckDB reads a row, at corpus sizes a build cannot reach
here (writing real per-video files runs at ~30-120 videos a second on this shared machine): the compacted generation
of `videos` for N videos is written directly, with the compaction's own writer (`_GenerationWriter`, row groups of
whole videos) and a format-2 `CURRENT.json` as `compact()` writes it, not by compacting N per-video files. Around it
everything is the real code: 200 videos written through `write_video` just before the generation (settled in it),
100 written after it (the changed videos a reader must find through the journal), then `snapshot("videos")`,
`status_overview` through `run_query` over the N rows, and the next, incremental `compact("videos")` in a child
process (wall, peak RSS).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from vidassets.analytics.examples import EXAMPLES
from vidassets.analytics.query import run_query
from vidassets.analytics.schemas import SCHEMA_VERSION, SCHEMAS
from vidassets.analytics.warehouse import (
    JOURNAL_MARGIN_S,
    MANIFEST_FORMAT,
    PARQUET_OPTIONS,
    Warehouse,
    _GenerationWriter,
    _new_generation,
    _settled,
    _write_row_groups,
)
from vidassets.storage import Store
from vidassets.storage.layout import compacted_prefix, current_key, journal_position, video_file_key

TARGET_S = 1.0
WORDS_PER_SEGMENT = 12
PHRASE_RATE = 0.002
FLAG_RATE = 0.001
FRAMES_PER_VIDEO = 12
SENTENCE_POOL = 20_000
LABELS = ["FACE_FEMALE", "FACE_MALE", "ARMPITS_EXPOSED", "FEMALE_BREAST_COVERED", "BELLY_EXPOSED",
          "FEMALE_BREAST_EXPOSED", "FEET_EXPOSED"]
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "ri", "mo", "zu", "fa", "el", "on"]


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES, size=rng.integers(1, 4))))
    words -= {"hiring", "plan"}
    return np.array(sorted(words), dtype=object)


def video_id(i: int) -> str:
    return f"synthetic-talk-{i:07d}-{i * 7919 % 16**12:012x}"


class Generator:
    """Rows of `batch` consecutive videos per table, as one table each (vectorized: no Python loop per row)."""

    def __init__(self, segments: int, words_share: float, seed: int) -> None:
        self.segments, self.words_share = segments, words_share
        self.rng = np.random.default_rng(seed)
        vocab = vocabulary(400, self.rng)
        picks = self.rng.integers(0, len(vocab), size=(SENTENCE_POOL, WORDS_PER_SEGMENT))
        self.sentence_words = vocab[picks]
        plain = [" ".join(row) for row in self.sentence_words]
        phrased = [f"{s[:30]} the hiring plan {s[30:]}" for s in plain[:200]]
        self.sentences = pa.array(plain, pa.string())
        self.phrased = pa.array(phrased, pa.string())
        self.phrased_words = [s.split() for s in phrased]

    def batch(self, first: int, count: int) -> dict[str, pa.Table]:
        rng, s = self.rng, self.segments
        ids = np.array([video_id(i) for i in range(first, first + count)], dtype=object)
        n_speakers = rng.integers(2, 5, count)
        # segments: S per video
        seg_vid = np.repeat(ids, s)
        seg_index = np.tile(np.arange(s, dtype=np.int32), count)
        durations = rng.uniform(2.0, 6.0, count * s)
        gaps = rng.uniform(0.1, 1.0, count * s)
        ends = (durations + gaps).reshape(count, s).cumsum(axis=1).ravel()
        starts = ends - durations
        who_k = (rng.random(count * s) * np.repeat(n_speakers, s)).astype(np.int32)
        labels = np.array([f"SPEAKER_{k:02d}" for k in range(4)], dtype=object)
        who = labels[who_k]
        pool_pick = rng.integers(0, SENTENCE_POOL, count * s)
        phrase_at = np.flatnonzero(rng.random(count * s) < PHRASE_RATE)
        text = self.sentences.take(pa.array(pool_pick)).to_numpy(zero_copy_only=False)
        phrase_pick = rng.integers(0, len(self.phrased), len(phrase_at))
        text[phrase_at] = self.phrased.take(pa.array(phrase_pick)).to_numpy(zero_copy_only=False)
        version = SCHEMA_VERSION
        segments = pa.table({
            "video_id": seg_vid, "segment_index": seg_index, "start_s": np.round(starts, 3),
            "end_s": np.round(ends, 3), "speaker": who, "text": text,
            "word_count": np.full(count * s, WORDS_PER_SEGMENT, np.int32),
            "schema_version": np.full(count * s, version, np.int32),
        })
        # speakers: aggregate the segments per (video, speaker)
        key = np.repeat(np.arange(count), s) * 4 + who_k
        talk = np.bincount(key, weights=durations, minlength=count * 4)
        turns = np.bincount(key, minlength=count * 4)
        present = np.flatnonzero(turns)
        words_n = turns[present] * WORDS_PER_SEGMENT
        talk_p = np.round(talk[present], 3)
        speakers = pa.table({
            "video_id": ids[present // 4], "speaker": labels[present % 4], "talk_time_s": talk_p,
            "word_count": words_n.astype(np.int32), "words_per_minute": np.round(words_n / (talk_p / 60), 1),
            "turns": turns[present].astype(np.int32), "schema_version": np.full(len(present), version, np.int32),
        })
        # text_moderation: one profanity score per segment
        scores = rng.beta(0.5, 20, count * s)
        flagged = rng.random(count * s) < FLAG_RATE
        scores[flagged] = rng.uniform(0.8, 0.99, int(flagged.sum()))
        text_moderation = pa.table({
            "video_id": seg_vid, "segment_index": seg_index, "speaker": who, "start_s": np.round(starts, 3),
            "end_s": np.round(ends, 3), "category": np.full(count * s, "profanity", object),
            "score": np.round(scores, 4), "flagged": flagged,
            "model": np.full(count * s, "detoxify original-small", object),
            "method": np.full(count * s, "classifier", object),
            "schema_version": np.full(count * s, version, np.int32),
        })
        # moderation_frames: FRAMES_PER_VIDEO sampled frames, ~30 % without a detection
        f = FRAMES_PER_VIDEO
        frame_label = np.array(LABELS, dtype=object)[rng.integers(0, len(LABELS), count * f)]
        frame_label[rng.random(count * f) < 0.3] = None
        frame_score = np.round(rng.uniform(0.3, 0.95, count * f), 3)
        frame_flag = (frame_label == "FEMALE_BREAST_EXPOSED") & (frame_score > 0.6)
        boxes = pa.array([[10, 20, 110, 140]] * (count * f), pa.list_(pa.int32()))
        moderation_frames = pa.table({
            "video_id": np.repeat(ids, f), "frame_index": np.tile(np.arange(f, dtype=np.int32), count),
            "timestamp_s": np.tile(np.arange(f, dtype=np.float64) * 5.0, count), "label": frame_label,
            "score": np.where(frame_label == None, np.nan, frame_score),  # noqa: E711 - numpy object compare
            "box": boxes, "flagged": frame_flag, "frame_flagged": frame_flag,
            "schema_version": np.full(count * f, version, np.int32),
        })
        # videos
        status = np.where(rng.random(count) < 0.95, "approved", "rejected").astype(object)
        status[rng.random(count) < 0.01] = "failed"
        last_end = ends.reshape(count, s)[:, -1]
        videos = pa.table({
            "video_id": ids, "source_uri": [f"s3://vidassets/uploads/{v}.mp4" for v in ids],
            "bucket": np.full(count, "vidassets", object), "key": [f"uploads/{v}.mp4" for v in ids],
            "status": status, "duration_s": np.round(last_end + 1.0, 3),
            "width": np.full(count, 1280, np.int32), "height": np.full(count, 720, np.int32),
            "fps": np.full(count, 30.0), "has_audio": np.full(count, True), "language": np.full(count, "en", object),
            "language_probability": np.full(count, 0.98), "speakers": n_speakers.astype(np.int32),
            "word_count": np.full(count, s * WORDS_PER_SEGMENT, np.int32),
            "whisper_model": np.full(count, "whisper base (int8, cpu)", object),
            "schema_version": np.full(count, version, np.int32),
        })
        out = {"segments": segments, "speakers": speakers, "text_moderation": text_moderation,
               "moderation_frames": moderation_frames, "videos": videos}
        sampled = np.flatnonzero(rng.random(count) < self.words_share)
        if len(sampled):
            out["words"] = self._words(ids[sampled], segments, sampled)
        return {name: _conformed(name, table) for name, table in out.items()}

    def _words(self, ids: np.ndarray, segments: pa.Table, rows_of: np.ndarray) -> pa.Table:
        s, w = self.segments, WORDS_PER_SEGMENT
        chunks = []
        for vid, k in zip(ids, rows_of, strict=True):
            seg = segments.slice(int(k) * s, s)
            words = [t.split()[:w] + [""] * (w - len(t.split()[:w])) for t in seg.column("text").to_pylist()]
            start = np.repeat(seg.column("start_s").to_numpy(), w) + np.tile(np.arange(w) * 0.3, s)
            chunks.append(pa.table({
                "video_id": np.full(s * w, vid, object),
                "segment_index": np.repeat(np.arange(s, dtype=np.int32), w),
                "word_index": np.tile(np.arange(w, dtype=np.int32), s),
                "word": np.array(words, dtype=object).ravel(), "start_s": np.round(start, 3),
                "end_s": np.round(start + 0.25, 3), "score": np.full(s * w, 0.9),
                "speaker": np.repeat(seg.column("speaker").to_numpy(zero_copy_only=False), w),
                "schema_version": np.full(s * w, SCHEMA_VERSION, np.int32),
            }))
        return pa.concat_tables(chunks)


def _conformed(name: str, table: pa.Table) -> pa.Table:
    schema = SCHEMAS[name]
    columns = [table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, names=schema.names).cast(schema)


def write_batch(store: Store, tables: dict[str, pa.Table]) -> int:
    """Each table's rows cut per video (rows are grouped by video) and written as that video's file."""
    files = 0
    for name, table in tables.items():
        ids = table.column("video_id").combine_chunks()
        runs = pa.compute.run_end_encode(ids)
        start = 0
        for end, vid in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
            store.put_parquet(video_file_key(name, vid), table.slice(start, end - start), **PARQUET_OPTIONS)
            start = end
            files += 1
    return files


def build(root: str, videos: int, segments: int, words_share: float, batch: int, seed: int, first: int = 0) -> None:
    store = Warehouse(root).store
    gen = Generator(segments, words_share, seed)
    started, files = time.perf_counter(), 0
    for at in range(first, videos, batch):
        files += write_batch(store, gen.batch(at, min(batch, videos - at)))
        done = min(at + batch, videos)
        if done % max(batch, 10_000) == 0 or done == videos:
            elapsed = time.perf_counter() - started
            print(f"  wrote {done:,}/{videos:,} videos ({files:,} files) in {elapsed:.0f} s, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def time_queries(root: str, repeat: int, names: list[str]) -> dict[str, tuple[float, float, float, int, float]]:
    """(median wall s, first-run wall s, median CPU s, result rows, load average) per query, through run_query."""
    out = {}
    for name in names:
        walls, cpus, rows = [], [], 0
        for _ in range(repeat):
            started, cpu = time.perf_counter(), _cpu()
            rows = len(run_query(root, EXAMPLES[name]))
            walls.append(time.perf_counter() - started)
            cpus.append(_cpu() - cpu)
        out[name] = (statistics.median(walls), walls[0], statistics.median(cpus), rows, os.getloadavg()[0])
    return out


def report(title: str, results: dict[str, tuple[float, float, float, int, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'query':30s} {'wall s':>7s} {'first s':>8s} {'cpu s':>6s} {'rows':>9s} {'load':>5s}"
          f"  target <= {TARGET_S:.0f} s wall")
    for name, (median, first, cpu, rows, load) in results.items():
        verdict = "ok" if median <= TARGET_S else "SLOW"
        print(f"  {name:30s} {median:7.3f} {first:8.3f} {cpu:6.2f} {rows:9,d} {load:5.1f}  {verdict}", flush=True)


def _compact(root: str, threads: int, tables: list[str] | None = None) -> dict[str, tuple[int, int, int, float]]:
    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    wh = Warehouse(root)
    results = {t: wh.compact(t) for t in tables} if tables else wh.compact_all()
    return {t: (r.videos, len(r.files), r.rows, r.seconds) for t, r in results.items() if r.videos}


def compact_in_child(root: str, threads: int,
                     tables: list[str] | None = None) -> tuple[float, float, dict[str, tuple[int, int, int, float]]]:
    """compact_all() (or these tables) in a fresh process: (wall s, that process's peak RSS in MB, per-table
    results)."""
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        results = pool.apply(_compact, (root, threads, tables))
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    return wall, peak_mb, results


def print_compaction(label: str, wall: float, peak_mb: float, results: dict) -> None:
    print(f"\n{label}: {wall:.1f} s wall, peak RSS {peak_mb:,.0f} MB (load {os.getloadavg()[0]:.1f})")
    for table, (videos, files, rows, seconds) in results.items():
        print(f"  {table:18s} {videos:9,d} videos {rows:12,d} rows -> {files:3d} file(s) in {seconds:7.1f} s")


def _timed(step: str, repeat: int, work) -> None:
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), _cpu()
        work()
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu() - cpu)
    print(f"  {step:34s} {statistics.median(walls):7.3f} s wall (first {walls[0]:.3f} s), "
          f"{statistics.median(cpus):6.3f} CPU-s  load {os.getloadavg()[0]:.1f}", flush=True)


def metadata_only(root: str, videos: int, repeat: int, threads: int, settled: int = 200, changed: int = 100) -> None:
    """A generation of `videos` rows for `videos` videos written directly (see the module docstring), `settled`
    videos written through write_video before it and `changed` after; then what a reader and the next compaction
    pay."""
    wh = Warehouse(root)
    gen = Generator(1, 0.0, 7)
    step = max(videos // (settled + changed), 1)
    picks = [i * step for i in range(settled + changed)]
    started = time.time()
    for i in picks[:settled]:
        wh.write_video(video_id(i), gen.batch(i, 1))
    window = journal_position(datetime.fromtimestamp(started - JOURNAL_MARGIN_S, UTC))
    generation = _new_generation()
    writer = _GenerationWriter(wh.store, f"{compacted_prefix('videos')}/{generation}", SCHEMAS["videos"], 2_000_000)
    built = time.perf_counter()
    for at in range(0, videos, 10_000):
        _write_row_groups(writer, gen.batch(at, min(10_000, videos - at))["videos"], 128 * 1024)
    files = writer.close()
    current = {"format": MANIFEST_FORMAT, "table": "videos", "schema_version": SCHEMA_VERSION,
               "generation": generation, "previous": None, "created_at": datetime.now(UTC).isoformat(),
               "started_at": datetime.fromtimestamp(started, UTC).isoformat(), "journal_from": window,
               "previous_journal_from": None, "settled": _settled(wh._journal_since(window)), "pending": [],
               "rows": sum(f["rows"] for f in files),
               "videos": sum(g[2] for f in files for g in f["row_groups"]), "files": files}
    wh.store.put_bytes(current_key("videos"), json.dumps(current).encode())
    print(f"generation of {current['videos']:,} videos ({len(files)} file(s), "
          f"{sum(len(f['row_groups']) for f in files)} row groups) written in {time.perf_counter() - built:.0f} s; "
          f"CURRENT.json {len(json.dumps(current)) / 1e3:.0f} kB")
    for i in picks[settled:]:
        wh.write_video(video_id(i), Generator(1, 0.0, i).batch(i, 1))
    print(f"{settled} videos written before it (settled), {changed} after (changed); "
          f"journal: {len(wh.store.list('warehouse/_journal')):,} markers")
    _timed("load CURRENT.json", repeat, lambda: wh._load_current("videos"))
    _timed("list the journal since the window", repeat, lambda: wh._journal_since(window))
    _timed("snapshot (all of it)", repeat, lambda: wh.snapshot("videos"))
    snap = wh.snapshot("videos")
    print(f"  snapshot: {len(snap.live)} videos read from their own files, {len(snap.row_filter)} filtered out of "
          f"the compacted rows, {len(snap.compacted_fragments)} compacted file(s)")
    result = run_query(root, EXAMPLES["status_overview"])
    assert int(result["videos"].sum()) == videos, result
    _timed("status_overview (run_query)", repeat, lambda: run_query(root, EXAMPLES["status_overview"]))
    _timed("count(*) FROM videos (run_query)", repeat, lambda: run_query(root, "SELECT count(*) AS n FROM videos"))
    time.sleep(1.1)  # compact() leaves out files written within the last second (local clock-tick safety)
    print_compaction("compact('videos') (incremental)", *compact_in_child(root, threads, ["videos"]))
    _timed("snapshot after it", repeat, lambda: wh.snapshot("videos"))


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=500)
    parser.add_argument("--words-share", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=1000, help="videos generated per batch (bounds memory)")
    parser.add_argument("--root", default=None, help="warehouse root, a folder or s3://bucket (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--uncompacted", action=argparse.BooleanOptionalAction, default=None,
                        help="also time the queries before compaction (default: only up to 10,000 videos)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse (and reuse it if it exists)")
    parser.add_argument("--metadata-only", action="store_true",
                        help="only the per-query metadata cost and the incremental compaction of `videos`, on a "
                             "generation of N videos written directly (see above)")
    args = parser.parse_args()

    pa.set_cpu_count(args.threads)
    pa.set_io_thread_count(args.threads)
    duck_threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    root = args.root or str(Path(tempfile.gettempdir()) / f"vidassets-bench-{args.videos}x{args.segments}")
    local = not root.startswith("s3://")
    print(f"warehouse: {root}  ({args.videos:,} videos x {args.segments} segments, words for "
          f"{args.words_share:.0%}; {os.cpu_count()} cores, arrow threads {args.threads}, duckdb threads "
          f"{duck_threads}); duckdb {duckdb.__version__}, pyarrow {pa.__version__}")
    wh = Warehouse(root)
    if args.metadata_only:
        if local and Path(root).exists():
            shutil.rmtree(root)
        metadata_only(root, args.videos, args.repeat, args.threads)
        if local and not args.keep:
            shutil.rmtree(root)
        return 0
    if local and Path(root).exists() and not args.keep:
        shutil.rmtree(root)
    have = len(wh.video_ids("videos"))
    if have < args.videos:
        started = time.perf_counter()
        build(root, args.videos, args.segments, args.words_share, args.batch, args.seed, first=have)
        print(f"built in {time.perf_counter() - started:.0f} s")
    else:
        print(f"reusing the existing warehouse ({have:,} videos)")
    wh.store.delete([info.key for info in wh.store.list("warehouse/_compacted")])
    if local:
        print(f"per-video files: {du(Path(root) / 'warehouse') / 1e6:,.0f} MB")
    names = list(EXAMPLES)
    if args.uncompacted or (args.uncompacted is None and args.videos <= 10_000):
        report("before compaction (one file per video and table)", time_queries(root, 1, names))

    time.sleep(1.1)  # compact() leaves out files written within the last second (local clock-tick safety)
    print_compaction("compact_all (first)", *compact_in_child(root, args.threads))
    if local:
        print(f"compacted copy: {du(Path(root) / 'warehouse' / '_compacted') / 1e6:,.0f} MB")
    report("after compaction", time_queries(root, args.repeat, names))

    gen = Generator(args.segments, 1.0, args.seed + 1)
    new = gen.batch(args.videos, 1)
    started = time.perf_counter()
    wh.write_video(video_id(args.videos), new)
    print(f"\none new video through write_video: {time.perf_counter() - started:.3f} s")
    report("after compaction + 1 new video (read from its own files)", time_queries(root, args.repeat, names))
    time.sleep(1.1)
    print_compaction("compact_all (incremental, 1 new video)", *compact_in_child(root, args.threads))
    wh.delete_video(video_id(args.videos))
    if local and not args.keep:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
