"""The summary of a diarized transcript and the video's slide titles: LLM when configured, TextRank offline."""

import time
from collections.abc import Iterator

import dagster as dg

from vidassets.assets.screen_text import screen_titles
from vidassets.manifests import DiarizedTranscriptManifest, ScreenTextManifest, SummaryManifest, TextModerationManifest
from vidassets.model_config import current_model_config
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.version import CODE_VERSION


@dg.asset(
    partitions_def=videos_partitions,
    group_name="speech",
    code_version=f"summary-v3:{current_model_config().code_tag('summary')}",
    kinds={"pytorch"},
    pool="gpu",
    output_required=False,
    description="Summary, title and topics of the diarized transcript, with the slide titles of screen_text as "
    "the title and topic signal when the video shows any; says which method and model wrote it. "
    "Videos without speech, or whose spoken content text_moderation rejected, get none.",
)
def summary(
    context: dg.AssetExecutionContext,
    models: dg.ResourceParam[ModelLoader],
    diarized_transcript: DiarizedTranscriptManifest,
    text_moderation: TextModerationManifest,
    screen_text: ScreenTextManifest,
) -> Iterator[dg.Output[SummaryManifest]]:
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
    titles = screen_titles(screen_text)
    result = models.summarizer().summarize(segments, screen_titles=titles)
    manifest: SummaryManifest = {
        "video_id": context.partition_key, **result.to_dict(), "code_version": CODE_VERSION  # type: ignore[typeddict-item]
    }
    yield dg.Output(
        manifest,
        metadata={
            "title": result.title,
            "topics": ", ".join(result.topics),
            "method": result.method,
            "model": result.model,
            "slide_titles": len(titles),
            "summary": dg.MetadataValue.md(result.summary),
            "seconds": round(time.monotonic() - started, 2),
            "code_version": CODE_VERSION,
        },
    )
