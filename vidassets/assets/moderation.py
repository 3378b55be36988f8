"""The moderation verdict: NudeNet v3 on every sampled frame, gated by a configurable policy."""

import dagster as dg

from vidassets.manifests import FrameDetections, FramesManifest, ModerationManifest
from vidassets.ml.moderation_policy import DEFAULT_REJECT_LABELS, ModerationPolicy, decide
from vidassets.model_config import current_model_config
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.version import CODE_VERSION

RECORD_MIN_SCORE = 0.25  # detections below this are noise; NudeNet itself drops < 0.2


class ModerationConfig(dg.Config):
    reject_labels: dict[str, float] = dict(DEFAULT_REJECT_LABELS)
    reject_ratio: float = 0.02
    min_flagged_frames: int = 2
    batch_size: int = 8


def _top_detections_markdown(frames: list[FrameDetections], limit: int = 10) -> str:
    rows = sorted(
        ((det["score"], det["label"], frame["timestamp_s"]) for frame in frames for det in frame["detections"]),
        reverse=True,
    )[:limit]
    if not rows:
        return "No detections."
    lines = ["| label | score | time (s) |", "|---|---|---|"]
    lines += [f"| {label} | {score:.2f} | {ts:.1f} |" for score, label, ts in rows]
    return "\n".join(lines)


@dg.asset(
    partitions_def=videos_partitions,
    group_name="moderation",
    code_version=f"moderation-v1:{current_model_config().code_tag('moderation')}",
    kinds={"onnx"},
    pool="gpu",
    description="NudeNet v3 labels per sampled frame -> approved/rejected with reasons. "
    "Rejected videos get no speech work.",
)
def moderation(
    context: dg.AssetExecutionContext,
    config: ModerationConfig,
    storage: VideoStorage,
    models: dg.ResourceParam[ModelLoader],
    frames: FramesManifest,
) -> dg.Output[ModerationManifest]:
    try:
        policy = ModerationPolicy(
            reject_labels=dict(config.reject_labels), reject_ratio=config.reject_ratio,
            min_flagged_frames=config.min_flagged_frames,
        )
    except ValueError as err:
        raise dg.Failure(description=f"moderation config: {err}", allow_retries=False) from err
    detector = models.nudenet()
    images = storage.store.get_many([frame["key"] for frame in frames["frames"]])
    detections = detector.detect(images, batch_size=config.batch_size)
    timestamps = [frame["timestamp_s"] for frame in frames["frames"]]
    result = decide(policy, timestamps, detections)
    per_frame: list[FrameDetections] = [
        {
            "index": frame["index"],
            "timestamp_s": frame["timestamp_s"],
            "detections": [d.to_dict() for d in dets if d.score >= RECORD_MIN_SCORE],
        }
        for frame, dets in zip(frames["frames"], detections, strict=True)
    ]
    manifest: ModerationManifest = {
        "video_id": context.partition_key,
        **result,  # type: ignore[typeddict-item]
        "frames": per_frame,
        "model": detector.name,
        "method": "nudenet-v3 per-frame detection + ratio policy",
        "device": models.config.resolved_device(),
        "code_version": CODE_VERSION,
    }
    if result["verdict"] == "rejected":
        context.log.warning(f"{context.partition_key}: rejected: {'; '.join(result['reasons'])}")
    return dg.Output(
        manifest,
        metadata={
            "verdict": result["verdict"],
            "reasons": "; ".join(result["reasons"]) or "none",
            "frames_checked": result["frames_checked"],
            "frames_flagged": result["frames_flagged"],
            "top_detections": dg.MetadataValue.md(_top_detections_markdown(per_frame)),
            "label_counts": dg.MetadataValue.json(result["label_counts"]),
            "model": detector.name,
            "providers": ", ".join(detector.providers),
            "code_version": CODE_VERSION,
        },
        tags={"vidassets/verdict": result["verdict"]},
    )
