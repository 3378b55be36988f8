"""Speed of the whole per-video pipeline, and of the transcript asset against bare batched faster-whisper.

One process: builds (or reuses) a 10-minute 1280x720 speaking video, times bare
`faster_whisper.BatchedInferencePipeline` (same model, loaded, int8, batch 8, with and without word timestamps) on
its 16 kHz audio, then runs the `video_pipeline` job (every per-video asset, with the job's executor and its
default config, as a warm worker runs it; local storage) and reports per-asset times, the total wall time, the
pipeline/bare and transcript/bare ratios and peak RSS. `--compare N` also times the same job with `max_concurrent:
N` (1: one step at a time, as Dagster's in-process executor; the default runs the picture and speech branches at
once), in the same process, right after. By default the models are loaded first by a run on a 20 s clip, as a warm
worker has them (`--cold`: the timed run loads them itself).

    uv run python benchmarks/bench_pipeline.py [--seconds 600] [--whisper base] [--cold] [--compare 1]
"""

import argparse
import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import dagster as dg  # noqa: E402

from vidassets import samples  # noqa: E402
from vidassets.assets import all_assets  # noqa: E402
from vidassets.executors import DEFAULT_MAX_CONCURRENT  # noqa: E402
from vidassets.jobs import video_pipeline  # noqa: E402
from vidassets.lifecycle import PIPELINE_JOB  # noqa: E402
from vidassets.media.audio import extract_audio  # noqa: E402
from vidassets.resources import build_resources  # noqa: E402
from vidassets.settings import load_settings  # noqa: E402
from vidassets.sources import SourceRef  # noqa: E402
from vidassets.video_ids import video_id_for  # noqa: E402

CACHE = Path(".cache/bench")


def bare_faster_whisper(audio_path: Path, model_path: str, threads: int, words: bool) -> tuple[float, int]:
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    model = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=threads)
    audio = decode_audio(str(audio_path), sampling_rate=16_000)
    started = time.perf_counter()
    segments, _ = BatchedInferencePipeline(model).transcribe(audio, batch_size=8, word_timestamps=words)
    count = len(list(segments))
    return time.perf_counter() - started, count


def step_seconds(result: dg.JobExecutionResult) -> dict[str, float]:
    return {
        event.step_key: event.event_specific_data.duration_ms / 1000
        for event in result.all_events if event.is_step_success
    }


def pipeline_job(storage_root: str, whisper: str) -> dg.JobDefinition:
    """The `video_pipeline` job with this benchmark's storage and Whisper model (rebuilt by `execute_job`)."""
    config = dataclasses.replace(load_settings().models.config, whisper_model=whisper)
    resources = build_resources(storage_root=storage_root, model_config=config)
    return dg.Definitions(assets=all_assets, jobs=[video_pipeline], resources=resources).resolve_job_def(PIPELINE_JOB)


def run_pipeline(video: Path, instance: dg.DagsterInstance, storage_root: str, whisper: str,
                 max_concurrent: int | None = None) -> dg.JobExecutionResult:
    """Every per-video asset for a local file in one run of `video_pipeline`, with the job's executor."""
    video_id = video_id_for("local", str(video.resolve()))
    resources = build_resources(storage_root=storage_root)
    head = resources["storage"].head_source(video.resolve().as_uri())
    ref = SourceRef(video_id=video_id, source_uri=video.resolve().as_uri(), bucket="local", key=str(video.resolve()),
                    etag=head["etag"], size=head["size"])
    instance.add_dynamic_partitions("videos", [video_id])
    # Dagster rebuilds the job from a module and function name; this script is that module (imported once)
    sys.modules.setdefault("bench_pipeline", sys.modules[__name__])
    job = dg.build_reconstructable_job("bench_pipeline", "pipeline_job", (storage_root, whisper))
    run_config = {"execution": {"config": {"max_concurrent": max_concurrent}}} if max_concurrent else None
    result = dg.execute_job(job, instance, run_config=run_config, tags={**ref.tags(), "dagster/partition": video_id},
                            raise_on_error=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--whisper", default=os.environ.get("VIDASSETS_WHISPER_MODEL", "base"))
    parser.add_argument("--cold", action="store_true", help="no warm-up: the timed run loads every model itself")
    parser.add_argument("--compare", type=int, metavar="N", help="also time the job with max_concurrent N")
    args = parser.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    video = CACHE / f"speaking-{int(args.seconds)}s-1280x720.mp4"
    if not video.exists():
        started = time.perf_counter()
        samples.speaking_video(video, seconds=args.seconds, width=1280, height=720)
        print(f"built {video} in {time.perf_counter() - started:.1f}s")

    config = dataclasses.replace(load_settings().models.config, whisper_model=args.whisper)
    storage_root = tempfile.mkdtemp(prefix="vidassets-bench-")
    audio_path = CACHE / f"{video.stem}.flac"
    if not audio_path.exists():
        extract_audio(video, audio_path, name=str(video))

    from vidassets.ml.whisper_weights import resolve_whisper

    models = load_settings().models
    model_path, _ = resolve_whisper(args.whisper, cache_dir=models.cache_dir, hub_offline=models.hub_offline)
    bare_s, bare_segments = bare_faster_whisper(audio_path, model_path, config.threads(), words=False)
    bare_words_s, _ = bare_faster_whisper(audio_path, model_path, config.threads(), words=True)

    instance = dg.DagsterInstance.local_temp(tempfile.mkdtemp(prefix="vidassets-bench-home-"))
    if not args.cold:
        # A warm worker has its models loaded before a video arrives (workers/preload.py); so does this process
        # after one short video. Bare faster-whisper above is timed with its model loaded too.
        warmup = CACHE / "speaking-20s-640x360.mp4"
        if not warmup.exists():
            samples.speaking_video(warmup, seconds=20.0, width=640, height=360)
        started = time.perf_counter()
        run_pipeline(warmup, instance, storage_root, args.whisper)
        print(f"warm-up (every model loaded on a 20 s clip): {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    result = run_pipeline(video, instance, storage_root, args.whisper)
    total_s = time.perf_counter() - started
    compare_s = None
    if args.compare:
        started = time.perf_counter()
        run_pipeline(video, instance, tempfile.mkdtemp(prefix="vidassets-bench-"), args.whisper,
                     max_concurrent=args.compare)
        compare_s = time.perf_counter() - started
    steps = step_seconds(result)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"\n{args.seconds / 60:.0f}-minute 1280x720 video, whisper {args.whisper} int8, {config.threads()} threads")
    print(f"{'step':<24}{'seconds':>10}")
    for step, seconds in steps.items():
        print(f"{step:<24}{seconds:>10.1f}")
    loads = "cold: every model loaded in the run" if args.cold else "models loaded before"
    print(f"{'TOTAL (one run)':<24}{total_s:>10.1f}   ({loads})")
    print(f"\nbare BatchedInferencePipeline: {bare_s:.1f}s ({bare_segments} segments), with word timestamps "
          f"{bare_words_s:.1f}s")
    ratio = steps["transcript"] / bare_s
    ratio_words = steps["transcript"] / bare_words_s
    print(f"every per-video asset / bare: {total_s / bare_s:.2f}x (target <= 2.0)")
    if compare_s is not None:
        print(f"max_concurrent {args.compare}: {compare_s:.1f}s = {compare_s / bare_s:.2f}x bare "
              f"({compare_s - total_s:+.1f}s against the default, {DEFAULT_MAX_CONCURRENT})")
    print(f"transcript asset / bare: {ratio:.2f}x (target <= 1.10); / bare with words: {ratio_words:.2f}x")
    print(f"peak RSS of the process: {peak_mb:.0f} MB")
    report = {"seconds": args.seconds, "cold": args.cold, "steps": steps, "total_s": total_s, "bare_s": bare_s,
              "bare_words_s": bare_words_s, "ratio": ratio, "ratio_words": ratio_words, "peak_rss_mb": peak_mb,
              "max_concurrent": DEFAULT_MAX_CONCURRENT, "compare": args.compare, "compare_s": compare_s}
    (CACHE / "pipeline.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
