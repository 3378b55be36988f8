"""Media assets: the probed source video, its sampled frames and its 16 kHz audio."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from vidassets import lifecycle
from vidassets.assets.ui import markdown_image
from vidassets.manifests import AudioManifest, FramesManifest, ModerationManifest, SourceVideoManifest
from vidassets.media.audio import SAMPLE_RATE, audio_duration_s, extract_audio
from vidassets.media.contact_sheet import contact_sheet
from vidassets.media.errors import InvalidMediaError
from vidassets.media.frames import encode_jpeg, sample_frames
from vidassets.media.probe import probe_video
from vidassets.partitions import videos_partitions
from vidassets.resources.storage import VideoStorage
from vidassets.sources import SourceRef
from vidassets.storage.layout import CONTENT_TYPES, asset_prefix, audio_key, frame_key, manifest_key
from vidassets.storage.local import sha256_file
from vidassets.version import CODE_VERSION


def resolve_source(context: dg.AssetExecutionContext) -> SourceRef:
    """Which object this partition stands for: this run's tags (sensor runs, `vidassets process`), else the
    tags of the newest run the sensor requested for it (UI re-materializations carry no tags)."""
    video_id = context.partition_key
    ref = lifecycle.source_of(context.instance, video_id, context.run.tags)
    if ref is not None:
        return ref
    raise dg.Failure(
        description=f"video {video_id}: no run of the S3 sensor names its object; upload it under the watched "
        "prefix (or use `vidassets process FILE`)",
    )


@dg.asset(
    partitions_def=videos_partitions,
    group_name="media",
    code_version="source_video-v1",
    kinds={"s3", "video"},
    description="The uploaded video, fetched, hashed and probed (duration, streams, codecs, resolution, fps).",
)
def source_video(context: dg.AssetExecutionContext, storage: VideoStorage) -> dg.Output[SourceVideoManifest]:
    ref = resolve_source(context)
    label = ref.source_uri
    head = storage.head_source(ref.source_uri)
    fetched = storage.fetch_source(ref.source_uri, ref.suffix)
    try:
        probe = probe_video(fetched, name=label)
    except InvalidMediaError as err:
        fetched.unlink(missing_ok=True)
        raise dg.Failure(
            description=str(err),
            metadata={"source": label, "size_bytes": head["size"], "etag": head["etag"]},
            allow_retries=False,
        ) from err
    sha256 = sha256_file(fetched)
    storage.adopt(fetched, "videos", sha256, ref.suffix)
    manifest: SourceVideoManifest = {
        "video_id": ref.video_id,
        "source_uri": ref.source_uri,
        "bucket": ref.bucket,
        "key": ref.key,
        "etag": head["etag"],
        "size_bytes": head["size"],
        "suffix": ref.suffix,
        "sha256": sha256,
        "probe": probe.to_dict(),
        "fetched_at": datetime.now(UTC).isoformat(),
        "code_version": CODE_VERSION,
    }
    video = probe.video
    audio = probe.audio
    return dg.Output(
        manifest,
        metadata={
            "source": label,
            "etag": head["etag"],
            "sha256": sha256,
            "size_bytes": head["size"],
            "duration_s": round(probe.duration_s, 3),
            "container": probe.container,
            "video": f"{video.codec} {video.width}x{video.height} @ {video.fps:.3f} fps",
            "audio": f"{audio.codec} {audio.sample_rate} Hz x{audio.channels}" if audio else "none",
            "code_version": CODE_VERSION,
        },
    )


class FramesConfig(dg.Config):
    rate_fps: float = 0.5
    max_frames: int = 120
    max_side: int = 640
    jpeg_quality: int = 85


@dg.asset(
    partitions_def=videos_partitions,
    group_name="media",
    code_version="frames-v1",
    kinds={"video"},
    description="Frames sampled over the whole video (keyframe-first decode, fixed rate cap), JPEG + index.",
)
def frames(
    context: dg.AssetExecutionContext, config: FramesConfig, storage: VideoStorage, source_video: SourceVideoManifest
) -> dg.Output[FramesManifest]:
    started = time.monotonic()
    path = storage.cached_video(source_video)
    sampled, method = sample_frames(
        path, name=source_video["source_uri"], rate_fps=config.rate_fps, max_frames=config.max_frames,
        max_side=config.max_side,
    )
    decoded_s = time.monotonic() - started
    video_id = context.partition_key
    index, uploads = [], []
    for frame in sampled:
        key = frame_key(video_id, frame.index)
        uploads.append((key, encode_jpeg(frame.image, config.jpeg_quality), CONTENT_TYPES["jpg"]))
        height, width = frame.image.shape[:2]
        index.append({
            "index": frame.index, "timestamp_s": round(frame.timestamp_s, 3), "is_keyframe": frame.is_keyframe,
            "key": key, "width": width, "height": height,
        })
    storage.store.put_many(uploads)
    removed = storage.store.replace_prefix(
        asset_prefix("frames", video_id), keep={key for key, _, _ in uploads} | {manifest_key("frames", video_id)}
    )
    duration = source_video["probe"]["duration_s"]
    manifest: FramesManifest = {
        "video_id": video_id,
        "method": method,
        "rate_fps": config.rate_fps,
        "max_frames": config.max_frames,
        "count": len(index),
        "frames": index,
        "code_version": CODE_VERSION,
    }
    sheet = contact_sheet([f.image for f in sampled], [f"{f.timestamp_s:.1f}s" for f in sampled])
    return dg.Output(
        manifest,
        metadata={
            "frame_count": len(index),
            "method": method,
            "first_s": index[0]["timestamp_s"] if index else None,
            "last_s": index[-1]["timestamp_s"] if index else None,
            "video_duration_s": round(duration, 3),
            "decode_s": round(decoded_s, 2),
            "stale_frames_removed": removed,
            "contact_sheet": markdown_image(sheet, "contact sheet"),
            "code_version": CODE_VERSION,
        },
    )


@dg.asset(
    partitions_def=videos_partitions,
    group_name="media",
    code_version="audio-v1",
    kinds={"ffmpeg"},
    output_required=False,
    description="16 kHz mono FLAC for speech models. Not materialized for videos moderation rejected.",
)
def audio(
    context: dg.AssetExecutionContext,
    storage: VideoStorage,
    source_video: SourceVideoManifest,
    moderation: ModerationManifest,
) -> Iterator[dg.Output[AudioManifest]]:
    video_id = context.partition_key
    if moderation["verdict"] != "approved":
        reason = "; ".join(moderation["reasons"]) or moderation["verdict"]
        context.log.warning(f"{video_id}: moderation {moderation['verdict']}, no audio or speech assets ({reason})")
        context.log_event(dg.AssetObservation(
            asset_key=context.asset_key, partition=video_id,
            metadata={"skipped": f"moderation {moderation['verdict']}", "reasons": reason},
        ))
        return
    base = {"video_id": video_id, "sample_rate": SAMPLE_RATE, "channels": 1, "code_version": CODE_VERSION}
    if source_video["probe"]["audio"] is None:
        context.log.info(f"{video_id}: no audio track; recorded as having no speech")
        yield dg.Output(
            {**base, "has_audio": False, "key": None, "duration_s": 0.0},
            metadata={"has_audio": False, "note": "no audio track: no speech", "code_version": CODE_VERSION},
        )
        return
    local = storage.scratch_file("audio", ".flac")  # unique: concurrent runs of one video never share it
    try:
        extract_audio(storage.cached_video(source_video), local, name=source_video["source_uri"],
                      duration_s=source_video["probe"]["duration_s"], ffmpeg=storage.ffmpeg_exe())
        key = audio_key(video_id)
        url = storage.store.put_file(key, local, CONTENT_TYPES["flac"])
        duration = audio_duration_s(local)
        sha256 = sha256_file(local)
    except BaseException:
        local.unlink(missing_ok=True)
        raise
    cached = storage.adopt(local, "objects", sha256, ".flac")  # what speech assets read, no re-download
    yield dg.Output(
        {**base, "has_audio": True, "key": key, "format": "flac", "duration_s": round(duration, 3),
         "sha256": sha256},
        metadata={
            "has_audio": True, "duration_s": round(duration, 3), "audio_file": dg.MetadataValue.path(url),
            "size_bytes": cached.stat().st_size, "code_version": CODE_VERSION,
        },
    )
