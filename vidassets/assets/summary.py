"""The summary of a diarized transcript: LLM when configured, extractive TextRank offline."""

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg

from vidassets.assets.ui import model_tag
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelStore
from vidassets.version import CODE_VERSION


@dg.asset(
    partitions_def=videos_partitions,
    group_name="speech",
    code_version=f"summary-v1:{model_tag(VIDASSETS_LLM_MODEL='textrank-minilm')}",
    kinds={"pytorch"},
    pool="gpu",
    output_required=False,
    description="Summary, title and topics of the diarized transcript; says which method and model wrote it. "
    "Videos without speech, or whose spoken content text_moderation rejected, get none.",
)
def summary(
    context: dg.AssetExecutionContext, models: ModelStore, diarized_transcript: dict[str, Any],
    text_moderation: dict[str, Any],
) -> Iterator[dg.Output[dict[str, Any]]]:
    segments = diarized_transcript["segments"]
    if text_moderation["verdict"] == "rejected":
        reason = "; ".join(text_moderation["reasons"])
        context.log.warning(f"{context.partition_key}: spoken content rejected, no summary ({reason})")
        context.log_event(dg.AssetObservation(
            asset_key=context.asset_key, partition=context.partition_key,
            metadata={"skipped": "spoken content rejected", "reasons": reason},
        ))
        return
    if not segments:
        context.log.info(f"{context.partition_key}: no speech, no summary")
        context.log_event(dg.AssetObservation(
            asset_key=context.asset_key, partition=context.partition_key, metadata={"skipped": "no speech"}
        ))
        return
    started = time.monotonic()
    result = models.summarizer().summarize(segments)
    manifest = {"video_id": context.partition_key, **result.to_dict(), "code_version": CODE_VERSION}
    yield dg.Output(
        manifest,
        metadata={
            "title": result.title,
            "topics": ", ".join(result.topics),
            "method": result.method,
            "model": result.model,
            "summary": dg.MetadataValue.md(result.summary),
            "seconds": round(time.monotonic() - started, 2),
            "code_version": CODE_VERSION,
        },
    )
