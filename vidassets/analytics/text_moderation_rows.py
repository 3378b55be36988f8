"""Pure functions: the `text_moderation` manifest -> its warehouse rows and its columns of `videos`."""

from collections.abc import Mapping
from typing import Any

from vidassets.analytics.schemas import SCHEMA_VERSION

Manifest = Mapping[str, Any]


def _float(value: Any) -> float | None:
    return None if value is None or isinstance(value, bool) else float(value)


def text_moderation_rows(video_id: str, manifest: Manifest) -> list[dict[str, Any]]:
    """One row per scored segment and category (segments of unsupported languages are not scored: no rows)."""
    model, method = str(manifest.get("model") or "unknown"), manifest.get("method")
    rows = []
    for segment in manifest.get("segments") or []:
        flagged = set(segment.get("flagged_categories") or [])
        for category, score in sorted((segment.get("scores") or {}).items()):
            rows.append({
                "video_id": video_id,
                "segment_index": int(segment["segment_index"]),
                "speaker": segment.get("speaker"),
                "start_s": _float(segment.get("start")),
                "end_s": _float(segment.get("end")),
                "category": str(category),
                "score": _float(score),
                "flagged": category in flagged,
                "model": model,
                "method": method,
                "schema_version": SCHEMA_VERSION,
            })
    return rows


def speech_verdict_fields(manifest: Manifest | None) -> dict[str, Any]:
    """`videos.speech_verdict`, `speech_flagged_share`, `speech_moderation_model`, `pii_redactions`."""
    if manifest is None:
        return {"speech_verdict": None, "speech_flagged_share": None, "speech_moderation_model": None,
                "pii_redactions": None}
    counts = (manifest.get("pii") or {}).get("counts") or {}
    return {
        "speech_verdict": manifest.get("verdict"),
        "speech_flagged_share": _float(manifest.get("flagged_share")),
        "speech_moderation_model": manifest.get("model"),
        "pii_redactions": int(sum(counts.values())),
    }

