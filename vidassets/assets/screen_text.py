"""On-screen text of shot keyframes (RapidOCR): blocks in reading order, the time they stay up, PII redacted."""

import time
from typing import Any

import cv2
import dagster as dg
import numpy as np

from vidassets.manifests import ScreenTextBlock, ScreenTextManifest, ShotEntry, ShotsManifest, ShotText
from vidassets.ml import ocr
from vidassets.ml.model_files import rapidocr_model_path, weights_identity
from vidassets.ml.pii_redaction import DEFAULT_ENTITIES, redact_segments
from vidassets.partitions import videos_partitions
from vidassets.resources.models import ModelLoader
from vidassets.resources.storage import VideoStorage
from vidassets.version import CODE_VERSION

RAPIDOCR = (
    f"rapidocr-ppocrv4 det {weights_identity(lambda: rapidocr_model_path('det'), 'rapidocr-det')} "
    f"rec {weights_identity(lambda: rapidocr_model_path('rec'), 'rapidocr-rec')}"
)
TITLE_TOP_MAX = 0.4  # a slide title starts in the top 40% of the frame
RECENT_PICTURES = 64  # keyframe hashes remembered for the duplicate check (bounded for long videos)


class ScreenTextConfig(dg.Config):
    detect_side: int = ocr.DETECT_SIDE
    presence_side: int = ocr.PRESENCE_SIDE
    duplicate_max_bits: int = ocr.DUPLICATE_MAX_BITS
    pii_entities: list[str] = list(DEFAULT_ENTITIES)


def slide_title(blocks: list[ocr.TextBlock]) -> int | None:
    """Position in `blocks` of the slide title: the block in the largest type among those starting in the top of
    the frame, when it has letters."""
    top = [i for i, b in enumerate(blocks) if b.box[1] < TITLE_TOP_MAX and any(c.isalpha() for c in b.text)]
    if not top:
        return None
    return max(top, key=lambda i: (round(blocks[i].line_height, 3), -blocks[i].box[1]))


def screen_titles(manifest: ScreenTextManifest) -> list[str]:
    """The video's slide titles (redacted), longest on screen first, each once: the summary's topic signal."""
    blocks = {b["block_index"]: b for b in manifest["blocks"]}
    shown: dict[str, float] = {}
    for shot in manifest["shots"]:
        if shot["title_block"] is not None:
            block = blocks[shot["title_block"]]
            shown[block["text_redacted"]] = max(shown.get(block["text_redacted"], 0.0), block["end"] - block["start"])
    return sorted(shown, key=lambda t: -shown[t])


def _decode(data: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def keyframe_hash(shot: ShotEntry, image: np.ndarray | None) -> int:
    """The keyframe's dhash as the shots asset recorded it (no JPEG decode), else computed from `image`."""
    if shot.get("keyframe_dhash"):
        return int(shot["keyframe_dhash"], 16)
    if image is None:
        raise ValueError(f"shot {shot['index']}: no keyframe_dhash and no picture")
    return ocr.dhash(image)


@dg.asset(
    partitions_def=videos_partitions,
    group_name="media",
    code_version=f"screen_text-v1:{RAPIDOCR}",
    kinds={"onnx"},
    description="On-screen text of every shot keyframe (RapidOCR PP-OCRv4 from its wheel): near-duplicate "
    "keyframes reuse a reading, keyframes without text stop at a reduced-size detector check; lines merged into "
    "blocks in reading order, consecutive shots with the same text merged into one time span, personal data "
    "redacted beside the text.",
)
def screen_text(
    context: dg.AssetExecutionContext, config: ScreenTextConfig, storage: VideoStorage,
    models: dg.ResourceParam[ModelLoader], shots: ShotsManifest,
) -> dg.Output[ScreenTextManifest]:
    started = time.monotonic()
    reader = models.screen_text_reader(config.detect_side, config.presence_side)
    reader.stats = ocr.ReadStats()
    recent: list[tuple[int, list[ocr.TextBlock]]] = []
    per_shot: list[ShotText] = []
    # open spans: blocks of the previous shot, extended while the next shot shows the same text
    spans: list[dict[str, Any]] = []
    open_spans: list[dict[str, Any]] = []
    with_text_s = total_s = 0.0
    for shot in shots["shots"]:
        image = None if shot.get("keyframe_dhash") else _decode(storage.store.get_bytes(shot["keyframe_key"]))
        picture = keyframe_hash(shot, image)
        reused = next((blocks for h, blocks in recent if ocr.hash_distance(h, picture) <= config.duplicate_max_bits),
                      None)
        if reused is not None:
            blocks, how = reused, "duplicate"
        else:
            if image is None:
                image = _decode(storage.store.get_bytes(shot["keyframe_key"]))
            recognized = reader.stats.recognized
            blocks = reader.read(image)
            how = "ocr" if reader.stats.recognized > recognized else "no_text"
            recent = [*recent[-(RECENT_PICTURES - 1):], (picture, blocks)]
        length = shot["end_s"] - shot["start_s"]
        total_s += length
        with_text_s += length if blocks else 0.0
        title = slide_title(blocks)
        still_open = []
        title_span = None
        for position, block in enumerate(blocks):
            span = next((s for s in open_spans if ocr.same_text(s["text"], block.text)), None)
            if span is not None:
                span["end"], span["shots"] = shot["end_s"], span["shots"] + 1
                open_spans.remove(span)
            else:
                span = {"text": block.text, "confidence": block.confidence, "box": list(block.box),
                        "start": shot["start_s"], "end": shot["end_s"], "shot_index": shot["index"], "shots": 1}
                spans.append(span)
            still_open.append(span)
            if position == title:
                title_span = span
        open_spans = still_open
        per_shot.append({"shot_index": shot["index"], "keyframe_key": shot["keyframe_key"], "read": how,
                         "blocks": len(blocks), "text_area": ocr.text_area(blocks),
                         "title_block": id(title_span) if title_span is not None else None})
    index_of = {id(span): i for i, span in enumerate(spans)}
    for entry in per_shot:
        entry["title_block"] = index_of[entry["title_block"]] if entry["title_block"] is not None else None
    redaction = redact_segments([{"text": s["text"]} for s in spans], entities=config.pii_entities)
    blocks_out: list[ScreenTextBlock] = [
        {"block_index": i, "start": round(s["start"], 3), "end": round(s["end"], 3), "text": s["text"],
         "text_redacted": str(redaction.segments[i]["text"]), "confidence": s["confidence"], "box": s["box"],
         "shot_index": s["shot_index"], "shots": s["shots"]}
        for i, s in enumerate(spans)
    ]
    share = round(with_text_s / total_s, 4) if total_s > 0 else 0.0
    counts = {how: sum(s["read"] == how for s in per_shot) for how in ("ocr", "duplicate", "no_text")}
    manifest: ScreenTextManifest = {
        "video_id": context.partition_key, "method": ocr.METHOD, "model": RAPIDOCR,
        "params": {"detect_side": config.detect_side, "presence_side": config.presence_side,
                   "duplicate_max_bits": config.duplicate_max_bits, "min_confidence": reader.min_confidence},
        "keyframes": len(per_shot), "keyframes_read": counts["ocr"], "keyframes_duplicate": counts["duplicate"],
        "keyframes_without_text": counts["no_text"], "blocks": blocks_out, "shots": per_shot,
        "pii_redactions": redaction.entity_counts(), "time_share_with_text": share, "code_version": CODE_VERSION,
    }
    preview = "\n".join(f"- {b['start']:.1f}-{b['end']:.1f} s: {b['text_redacted'][:120]}" for b in blocks_out[:20])
    return dg.Output(manifest, metadata={
        "keyframes": len(per_shot),
        "keyframes_read": counts["ocr"],
        "keyframes_duplicate": counts["duplicate"],
        "keyframes_without_text": counts["no_text"],
        "blocks": len(blocks_out),
        "time_share_with_text": share,
        "pii_redactions": dg.MetadataValue.json(redaction.entity_counts()),
        # plain text, not markdown: what a frame shows is the uploader's, and must not render as links or images
        "text": dg.MetadataValue.text(preview or "(no on-screen text)"),
        "model": RAPIDOCR,
        "ocr_s": dg.MetadataValue.json({k: round(v, 2) for k, v in reader.stats.timings.items()}),
        "seconds": round(time.monotonic() - started, 2),
        "code_version": CODE_VERSION,
    })
