"""`vidassets process FILE... --out DIR`: every per-video asset of local files, no S3, no daemon, with the same
asset code as sensor runs, then the speaker registry over every video in DIR (so a corpus can be scored without
the stack; running it again with more files into the same DIR adds them to the registry); progress is printed step
by step. One file: its transcript files at the top of DIR; several: under `DIR/<video_id>/`."""

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import dagster as dg

from vidassets.partitions import videos_partitions
from vidassets.resources import build_resources
from vidassets.resources.storage import VideoStorage
from vidassets.run_failures import step_failure_message
from vidassets.sources import SourceRef, video_suffix
from vidassets.storage.layout import TRANSCRIPT_FORMATS, transcript_key
from vidassets.video_ids import video_id_for

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
    """`transcript.json` (WhisperX's shape), subtitles and their PII-redacted copies in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for redacted in (False, True):
        for fmt in TRANSCRIPT_FORMATS:
            data = storage.store.find_bytes(transcript_key(video_id, fmt, redacted=redacted))
            if data is not None:
                (out / f"transcript{'.redacted' if redacted else ''}.{fmt}").write_bytes(data)


def _summary(metadata: Mapping[str, Any]) -> str:
    parts = [f"{key}={metadata[key].value}" for key in SUMMARY_KEYS if key in metadata]
    return ", ".join(parts)


def process(file: Path, out: Path) -> int:
    """Materialize every per-video asset for `file` into `out`, then the speaker registry."""
    return process_many([file], out)


def process_many(files: list[Path], out: Path) -> int:
    """Every per-video asset for each of `files` (in the order given) into `out`, then `speaker_registry` and
    `speaker_labels` over every video there; 1 when any step failed, 2 when a file is missing."""
    sources = [file.expanduser().resolve() for file in files]
    missing = [file for file, source in zip(files, sources, strict=True) if not source.is_file()]
    if missing:
        for file in missing:
            print(f"error: {file}: no such file", file=sys.stderr)
        return 2
    out = out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    resources = build_resources(storage_root=str(out))
    storage = cast(VideoStorage, resources["storage"])
    instance = dg.DagsterInstance.ephemeral()
    failed = False
    video_ids = []
    for source in sources:
        video_id, ok = _process_one(source, out, storage, resources, instance)
        video_ids.append(video_id)
        failed |= not ok
    failed |= not _build_registry(resources, instance)
    for video_id in video_ids:
        _copy_transcript_files(storage, video_id, out if len(video_ids) == 1 else out / video_id)
    print(f"outputs: {out / 'assets'}, warehouse: {out / 'warehouse'}")
    return 1 if failed else 0


def _build_registry(resources: dict[str, object], instance: dg.DagsterInstance) -> bool:
    from vidassets.assets import all_assets, corpus_voice_assets

    for asset_def in corpus_voice_assets:
        name = asset_def.key.to_user_string()
        print(f"[corpus] {name} ...", end="", flush=True)
        started = time.monotonic()
        result = dg.materialize(all_assets, selection=[asset_def.key], instance=instance, resources=resources,
                                raise_on_error=False, run_config=dg.RunConfig(loggers=QUIET_LOGGING))
        if not result.success:
            print(f" FAILED\n  {failure_message(result)}")
            return False
        metadata = result.asset_materializations_for_node(asset_def.op.name)[-1].metadata
        shown = ", ".join(f"{k}={metadata[k].value}" for k in ("videos", "speakers", "voices", "changed",
                                                                 "videos_written", "thresholds") if k in metadata)
        print(f" done in {time.monotonic() - started:.1f}s  {shown}")
    return True


def _process_one(source: Path, out: Path, storage: VideoStorage, resources: dict[str, object],
                 instance: dg.DagsterInstance) -> tuple[str, bool]:
    from vidassets.assets import all_assets, per_video_assets, video_tables

    if video_suffix(source.name) is None:
        print(f"warning: {source.name}: unusual extension; probing anyway", file=sys.stderr)
    video_id = video_id_for("local", str(source))
    head = storage.head_source(source.as_uri())
    ref = SourceRef(video_id=video_id, source_uri=source.as_uri(), bucket="local", key=str(source),
                    etag=head["etag"], size=head["size"])
    assert videos_partitions.name is not None  # partitions.py names it
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
    return video_id, not failed
