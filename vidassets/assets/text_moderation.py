"""Spoken-content moderation of the diarized transcript, and its PII-redacted copy for publishing.

The scoring, policy and redaction live in `vidassets.ml.text_moderation` and `vidassets.ml.pii_redaction`; this
asset feeds them the transcript, writes `transcript.redacted.{json,srt,vtt,txt}` beside the transcript's own
subtitles, and shows the verdict in the UI. Personal data never reaches the UI: lines shown are redacted.
"""

from typing import Any

import dagster as dg

from vidassets.analytics.subtitles import render as render_subtitles
from vidassets.manifests import DiarizedTranscriptManifest, SegmentScores, TextModerationManifest
from vidassets.ml.pii_redaction import DEFAULT_ENTITIES, redact_segments
from vidassets.ml.pii_redaction import METHOD as PII_METHOD
from vidassets.ml.text_moderation import TextModerationPolicy, moderate_segments
from vidassets.model_config import current_model_config
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.storage.layout import CONTENT_TYPES, TRANSCRIPT_FORMATS, transcript_key
from vidassets.version import CODE_VERSION

TOP_LINES = 10


class TextModerationConfig(dg.Config):
    action: str = "flag"  # "flag": mark lines only; "reject": also reject the video above reject_share
    threshold: float = 0.5
    category_thresholds: dict[str, float] = {}
    reject_share: float = 0.1  # share of speech time in flagged segments above which `reject` rejects
    pii_entities: list[str] = list(DEFAULT_ENTITIES)


def _top_lines_markdown(rows: list[SegmentScores], segments: list[dict[str, Any]]) -> str:
    flagged = sorted((r for r in rows if r["flagged"]), key=lambda r: -max(r["scores"].values(), default=0.0))
    if not flagged:
        return "No flagged lines."
    lines = ["| time (s) | speaker | categories | score | line (redacted) |", "|---|---|---|---|---|"]
    for row in flagged[:TOP_LINES]:
        text = str(segments[row["segment_index"]].get("text", "")).replace("|", "\\|")
        score = max(row["scores"].values())
        when = "–".join(f"{t:.1f}" if t is not None else "?" for t in (row["start"], row["end"]))
        lines.append(f"| {when} | {row['speaker'] or ''} | "
                     f"{', '.join(row['flagged_categories'])} | {score:.2f} | {text} |")
    if len(flagged) > TOP_LINES:
        lines.append(f"\n… {len(flagged) - TOP_LINES} more flagged lines")
    return "\n".join(lines)


@dg.asset(
    partitions_def=videos_partitions,
    group_name="moderation",
    code_version=f"text_moderation-v1:{current_model_config().code_tag('text_moderation')}",
    kinds={"scikitlearn"},
    pool="gpu",
    description="Toxicity/profanity score per transcript segment and category, a verdict by policy (flag, or reject "
    "above a share of speech time), and a PII-redacted transcript (transcript.redacted.*). Rejected videos get "
    "no summary.",
)
def text_moderation(
    context: dg.AssetExecutionContext,
    config: TextModerationConfig,
    storage: VideoStorage,
    models: dg.ResourceParam[ModelLoader],
    diarized_transcript: DiarizedTranscriptManifest,
) -> dg.Output[TextModerationManifest]:
    video_id = context.partition_key
    try:
        policy = TextModerationPolicy(action=config.action, threshold=config.threshold,
                                      category_thresholds=dict(config.category_thresholds),
                                      reject_share=config.reject_share)
    except ValueError as err:
        raise dg.Failure(description=f"text_moderation config: {err}", allow_retries=False) from err
    segments = diarized_transcript["segments"]
    moderator = models.text_moderator()
    result = moderate_segments(moderator, policy, segments, diarized_transcript.get("language"))
    try:
        redaction = redact_segments(segments, entities=config.pii_entities)
    except ValueError as err:
        raise dg.Failure(description=f"text_moderation config: {err}", allow_retries=False) from err
    redacted_transcript = {**diarized_transcript, "segments": redaction.segments}
    uploads = [(transcript_key(video_id, fmt, redacted=True), render_subtitles(redacted_transcript, fmt).encode(),
                CONTENT_TYPES[fmt]) for fmt in TRANSCRIPT_FORMATS]
    storage.store.put_many(uploads)
    manifest: TextModerationManifest = {
        "video_id": video_id,
        **result,  # type: ignore[typeddict-item]
        "pii": {
            "method": PII_METHOD,
            "entities": list(config.pii_entities),
            "counts": redaction.entity_counts(),
            "redactions": [r.to_dict() for r in redaction.redactions],
            "mask": redaction.mask,
            "redacted_texts": redaction.redacted_texts(),
        },
        "redacted_files": {fmt: key for (key, _, _), fmt in zip(uploads, TRANSCRIPT_FORMATS, strict=True)},
        "transcript_model": diarized_transcript.get("transcript_model"),
        "code_version": CODE_VERSION,
    }
    if result["verdict"] == "rejected":
        context.log.warning(f"{video_id}: spoken content rejected: {'; '.join(result['reasons'])}")
    return dg.Output(
        manifest,
        metadata={
            "verdict": result["verdict"],
            "reasons": "; ".join(result["reasons"]) or "none",
            "flagged_share": result["flagged_share"],
            "flagged_segments": result["flagged_segments"],
            "segments": len(segments),
            "categories": dg.MetadataValue.json(result["category_counts"]),
            "top_flagged_lines": dg.MetadataValue.md(_top_lines_markdown(result["segments"], redaction.segments)),
            "pii_redactions": dg.MetadataValue.json(redaction.entity_counts()),
            "redacted_subtitles": dg.MetadataValue.path(
                storage.store.url(transcript_key(video_id, "srt", redacted=True))
            ),
            "model": result["model"],
            "method": result["method"],
            "code_version": CODE_VERSION,
        },
        tags={"vidassets/speech_verdict": result["verdict"]},
    )
