"""Turn per-frame NudeNet v3 detections into a verdict with reasons.

A frame is flagged when any detection's label has a threshold and its score reaches it; the video is
rejected when the flagged share of sampled frames exceeds `reject_ratio` (and at least `min_flagged_frames`
are flagged), so one spurious detection in a long video does not reject it.
"""

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vidassets.ml.nudenet_detector import Detection

# NudeNet v3 label names (v2's EXPOSED_GENITALIA etc. no longer exist).
DEFAULT_REJECT_LABELS: dict[str, float] = {
    "FEMALE_GENITALIA_EXPOSED": 0.5,
    "MALE_GENITALIA_EXPOSED": 0.5,
    "ANUS_EXPOSED": 0.5,
    "FEMALE_BREAST_EXPOSED": 0.6,
    "BUTTOCKS_EXPOSED": 0.6,
}
NUDENET_V3_LABELS = frozenset({
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED", "BELLY_COVERED",
    "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE", "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED",
})


@dataclass(frozen=True)
class ModerationPolicy:
    reject_labels: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_REJECT_LABELS))
    reject_ratio: float = 0.05
    min_flagged_frames: int = 1

    def __post_init__(self) -> None:
        unknown = sorted(set(self.reject_labels) - NUDENET_V3_LABELS)
        if unknown:
            known = ", ".join(sorted(NUDENET_V3_LABELS))
            raise ValueError(f"unknown NudeNet v3 labels in reject_labels: {unknown}; known: {known}")
        if not 0.0 <= self.reject_ratio < 1.0:
            raise ValueError(f"reject_ratio must be in [0, 1), got {self.reject_ratio}")

    def flags(self, detections: list[Detection]) -> list[Detection]:
        return [d for d in detections if d.label in self.reject_labels and d.score >= self.reject_labels[d.label]]


def decide(
    policy: ModerationPolicy, timestamps: list[float], detections: list[list[Detection]]
) -> dict[str, Any]:
    """Verdict, reasons and counts for frames sampled at `timestamps`."""
    flagged = [
        (ts, hits) for ts, dets in zip(timestamps, detections, strict=True) if (hits := policy.flags(dets))
    ]
    total = len(timestamps)
    needed = max(policy.min_flagged_frames, math.floor(policy.reject_ratio * total) + 1)
    rejected = total > 0 and len(flagged) >= needed
    label_counts = Counter(d.label for dets in detections for d in dets)
    flagged_labels = Counter(d.label for _, hits in flagged for d in hits)
    reasons = [
        f"{label}: {count} frame detection(s) at or above {policy.reject_labels[label]:.2f}"
        for label, count in flagged_labels.most_common()
    ]
    if rejected:
        reasons.insert(0, f"{len(flagged)} of {total} sampled frames flagged (limit {needed - 1})")
    return {
        "verdict": "rejected" if rejected else "approved",
        "reasons": reasons,
        "frames_checked": total,
        "frames_flagged": len(flagged),
        "flagged_ratio": round(len(flagged) / total, 4) if total else 0.0,
        "flagged_timestamps_s": [round(ts, 3) for ts, _ in flagged],
        "label_counts": dict(label_counts.most_common()),
        "policy": {
            "reject_labels": policy.reject_labels,
            "reject_ratio": policy.reject_ratio,
            "min_flagged_frames": policy.min_flagged_frames,
        },
    }
