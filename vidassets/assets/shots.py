"""Shots of the picture track: boundaries, transition kind, one sharp keyframe per shot."""

import time

import cv2
import dagster as dg
import numpy as np

from vidassets.assets.ui import markdown_image
from vidassets.manifests import ShotEntry, ShotsManifest, SourceVideoManifest
from vidassets.media.contact_sheet import contact_sheet
from vidassets.media.errors import InvalidMediaError
from vidassets.media.frames import encode_jpeg
from vidassets.media.shots import (
    CONTENT_THRESHOLD,
    DETECT_EVERY,
    KEYFRAME_MAX_SIDE,
    MIN_SHOT_S,
    SKIP_NONREF,
    ShotStats,
    iter_shots,
)
from vidassets.ml.ocr import dhash
from vidassets.model_config import current_model_config
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.storage.layout import CONTENT_TYPES, asset_prefix, manifest_key, shot_keyframe_key
from vidassets.version import CODE_VERSION

STRIP_SHOTS = 24
UPLOAD_BATCH = 32


class ShotsConfig(dg.Config):
    max_side: int = KEYFRAME_MAX_SIDE  # keyframe size (long side, px; never upscaled): OCR reads these
    jpeg_quality: int = 85
    threshold: float = CONTENT_THRESHOLD  # ContentDetector (pyscenedetect) only
    min_shot_s: float = MIN_SHOT_S
    detect_every: int = DETECT_EVERY  # pyscenedetect: compare every n-th frame (cuts within n - 1 frames)
    skip_nonref: bool = SKIP_NONREF  # leave non-reference frames (most B-frames) undecoded (not for transnetv2)


@dg.asset(
    partitions_def=videos_partitions,
    group_name="media",
    code_version=f"shots-v3:{current_model_config().code_tag('shots')}",
    kinds={"video"},
    description="Shot boundaries over the whole video, streamed (VIDASSETS_SHOT_DETECTOR: PySceneDetect's "
    "ContentDetector + a dissolve test on downscaled frames on CPU, TransNetV2 where a GPU is) with the transition "
    "kind (cut, gradual), and the sharpest of a few candidate frames per shot as its keyframe (up to 1280 px, with "
    "a perceptual hash that screen_text and faces use to skip repeated pictures).",
)
def shots(
    context: dg.AssetExecutionContext, config: ShotsConfig, storage: VideoStorage,
    models: dg.ResourceParam[ModelLoader], source_video: SourceVideoManifest,
) -> dg.Output[ShotsManifest]:
    started = time.monotonic()
    path = storage.cached_video(source_video)
    video_id = context.partition_key
    stats = ShotStats()
    detector = models.shot_detector()  # None: the CPU default
    entries: list[ShotEntry] = []
    uploads: list[tuple[str, bytes, str]] = []
    written: set[str] = set()
    thumbs: list[tuple[np.ndarray, str]] = []  # every `step`-th shot, for the shot strip (bounded)
    step = 1
    try:
        for shot in iter_shots(path, name=source_video["source_uri"], stats=stats, max_side=config.max_side,
                               threshold=config.threshold, min_shot_s=config.min_shot_s,
                               detect_every=config.detect_every, skip_nonref=config.skip_nonref,
                               detector=detector):
            key = shot_keyframe_key(video_id, shot.index)
            uploads.append((key, encode_jpeg(shot.image, config.jpeg_quality), CONTENT_TYPES["jpg"]))
            height, width = shot.image.shape[:2]
            entries.append({
                "index": shot.index, "start_s": round(shot.start_s, 3), "end_s": round(shot.end_s, 3),
                "start_frame": shot.start_frame, "end_frame": shot.end_frame, "transition": shot.transition,
                "keyframe_s": round(shot.keyframe_s, 3), "keyframe_key": key, "keyframe_sharpness": shot.sharpness,
                "width": width, "height": height, "keyframe_dhash": f"{dhash(shot.image):016x}",
            })
            if shot.index % step == 0:
                thumbs.append((cv2.resize(shot.image, (160, max(2, 160 * height // width))), f"{shot.start_s:.1f}s"))
                if len(thumbs) >= 2 * STRIP_SHOTS:
                    thumbs, step = thumbs[::2], step * 2
            if len(uploads) >= UPLOAD_BATCH:  # keyframes go out as shots end: memory stays bounded
                storage.store.put_many(uploads)
                written |= {key for key, _, _ in uploads}
                uploads = []
    except InvalidMediaError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    storage.store.put_many(uploads)
    written |= {key for key, _, _ in uploads}
    storage.store.replace_prefix(asset_prefix("shots", video_id), keep=written | {manifest_key("shots", video_id)})
    manifest: ShotsManifest = {
        "video_id": video_id, "method": stats.method, "model": stats.model, "params": stats.params,
        "fps": stats.fps, "frames_decoded": stats.frames_decoded, "count": len(entries), "shots": entries,
        "code_version": CODE_VERSION,
    }
    lengths = [e["end_s"] - e["start_s"] for e in entries]
    strip = contact_sheet([image for image, _ in thumbs], [caption for _, caption in thumbs], max_images=STRIP_SHOTS)
    return dg.Output(
        manifest,
        metadata={
            "shot_count": len(entries),
            "mean_shot_s": round(sum(lengths) / len(lengths), 2),
            "cuts": sum(e["transition"] == "cut" for e in entries),
            "gradual": sum(e["transition"] == "gradual" for e in entries),
            "method": stats.method,
            "model": stats.model,
            "frames_decoded": stats.frames_decoded,
            "decode_detect_s": round(stats.seconds, 2),
            "seconds": round(time.monotonic() - started, 2),
            "shot_strip": markdown_image(strip, "shot strip"),
            "keyframes": len(entries),
            "keyframes_folder": dg.MetadataValue.path(storage.store.url(asset_prefix("shots", video_id))),
            "keyframe_links": dg.MetadataValue.md("\n".join(
                f"- [{e['start_s']:.1f}-{e['end_s']:.1f} s]({storage.store.url(e['keyframe_key'])})"
                for e in entries[:STRIP_SHOTS])),
            "code_version": CODE_VERSION,
        },
    )
