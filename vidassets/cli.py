"""`vidassets`: process one local file without S3 or a daemon, or bring up the local platform."""

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg

from vidassets.partitions import videos_partitions
from vidassets.resources import build_resources
from vidassets.resources.storage import VideoStorage
from vidassets.run_failures import step_failure_message
from vidassets.sources import SourceRef, video_suffix
from vidassets.storage.layout import TRANSCRIPT_FORMATS, transcript_key
from vidassets.video_ids import video_id_for

API_COMMANDS = {
    "api": ("vidassets.api.serve", "api_main"),
    "keys": ("vidassets.api.commands", "keys_main"),
    "upload": ("vidassets.api.commands", "upload_main"),
    "status": ("vidassets.api.commands", "status_main"),
}
QUIET_LOGGING = {"console": {"config": {"log_level": "CRITICAL"}}}  # we print our own progress
SUMMARY_KEYS = (
    "duration_s", "video", "audio", "frame_count", "method", "verdict", "reasons", "has_audio",
    "language", "word_count", "speakers", "diarizer",
)


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The user-facing cause of a failed in-process run ("" when it succeeded)."""
    if result.success:
        return ""
    return step_failure_message(result.all_events) or "run failed"


def _copy_transcript_files(storage: VideoStorage, video_id: str, out: Path) -> None:
    """`DIR/transcript.json` (WhisperX's shape), subtitles and their PII-redacted copies at the top of the output
    folder."""
    for redacted in (False, True):
        for fmt in TRANSCRIPT_FORMATS:
            data = storage.store.find_bytes(transcript_key(video_id, fmt, redacted=redacted))
            if data is not None:
                (out / f"transcript{'.redacted' if redacted else ''}.{fmt}").write_bytes(data)


def _summary(metadata: dict[str, Any]) -> str:
    parts = [f"{key}={metadata[key].value}" for key in SUMMARY_KEYS if key in metadata]
    return ", ".join(parts)


def process(file: Path, out: Path) -> int:
    """Materialize every per-video asset for `file` into `out` with the same asset code as sensor runs."""
    from vidassets.assets import all_assets, per_video_assets, video_tables

    source = file.expanduser().resolve()
    if not source.is_file():
        print(f"error: {file}: no such file", file=sys.stderr)
        return 2
    if video_suffix(source.name) is None:
        print(f"warning: {source.name}: unusual extension; probing anyway", file=sys.stderr)
    out = out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    resources = build_resources(storage_root=str(out))
    storage = resources["storage"]
    video_id = video_id_for("local", str(source))
    head = storage.head_source(source.as_uri())
    ref = SourceRef(video_id=video_id, source_uri=source.as_uri(), bucket="local", key=str(source),
                    etag=head["etag"], size=head["size"])

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(videos_partitions.name, [video_id])
    print(f"{source.name} -> video {video_id}, outputs in {out}")
    steps = [*per_video_assets, video_tables]
    failed = stopped = False
    for position, asset_def in enumerate(steps, start=1):
        name = asset_def.key.to_user_string()
        if (failed or stopped) and asset_def is not video_tables:
            continue
        print(f"[{position}/{len(steps)}] {name} ...", end="", flush=True)
        started = time.monotonic()
        result = dg.materialize(
            all_assets, selection=[asset_def.key], partition_key=video_id, instance=instance,
            resources=resources, tags=ref.tags(), raise_on_error=False,
            run_config=dg.RunConfig(loggers=QUIET_LOGGING),
        )
        elapsed = time.monotonic() - started
        if not result.success:
            print(f" FAILED after {elapsed:.1f}s\n  {failure_message(result)}")
            failed = True
            continue
        materializations = result.asset_materializations_for_node(asset_def.op.name)
        if not materializations:
            observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
            why = observed[-1].asset_observation_data.asset_observation.metadata if observed else {}
            print(f" skipped ({', '.join(f'{k}: {v.value}' for k, v in why.items()) or 'not materialized'})")
            stopped = True  # nothing downstream can run; the warehouse rows still record why
            continue
        print(f" done in {elapsed:.1f}s  {_summary(materializations[-1].metadata)}")
    _copy_transcript_files(storage, video_id, out)
    print(f"outputs: {out / 'assets'}, warehouse: {out / 'warehouse'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vidassets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    process_cmd = commands.add_parser("process", help="materialize every per-video asset for a local file")
    process_cmd.add_argument("file", type=Path)
    process_cmd.add_argument("--out", type=Path, required=True, help="output folder (the storage root)")
    commands.add_parser("query", add_help=False, help="SQL over the Parquet warehouse (DuckDB); --help for more")
    commands.add_parser("export", add_help=False, help="a video's transcript as srt|vtt|txt|json; --help for more")
    commands.add_parser("api", add_help=False, help="serve the HTTP API (uvicorn); --help for more")
    commands.add_parser("keys", add_help=False, help="API keys: create --user NAME | revoke KEY_ID | list")
    commands.add_parser("upload", add_help=False, help="upload videos (through the API when configured)")
    commands.add_parser("status", add_help=False, help="follow one video: status VIDEO_ID")
    commands.add_parser("costs", add_help=False, help="compute seconds and $ per video-hour per video; --help")
    commands.add_parser("workers", add_help=False, help="run queues, warm workers and runs in flight; --help")
    commands.add_parser("worker", add_help=False, help="run one warm run worker (Celery) in the foreground; --help")
    commands.add_parser(
        "up", add_help=False, help="run the platform locally: S3, run queue, warm workers, Dagster UI, daemon"
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "process":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return process(args.file, args.out)
    if args.command in ("query", "export", "costs"):
        from vidassets.settings import load_settings

        settings = load_settings()
        storage = settings.storage
        if args.command == "query":
            from vidassets.analytics.query import query_main

            return query_main(rest, default_root=storage.root, s3=storage.s3)
        if args.command == "export":
            from vidassets.analytics.subtitles import export_main

            return export_main(rest, default_root=storage.root, s3=storage.s3)
        from vidassets.analytics.costs import costs_main

        return costs_main(rest, default_root=storage.root, prices=settings.prices, s3=storage.s3)
    if args.command in API_COMMANDS:
        import importlib

        module, function = API_COMMANDS[args.command]
        return getattr(importlib.import_module(module), function)(rest)
    if args.command == "worker":
        from vidassets.workers.command import worker_main

        return worker_main(rest)
    if args.command == "workers":
        from vidassets.workers.status import workers_main

        return workers_main(rest)
    from vidassets.devstack.run import main as up_main

    return up_main(rest)


if __name__ == "__main__":
    sys.exit(main())
