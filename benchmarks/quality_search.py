"""Search quality: does the right moment rank in the top 3 for phrases placed in speech and on screen?

The corpus: four "talks", each a list of sentences spoken by espeak-ng (real synthesized speech, one WAV per
sentence, joined with 0.9 s pauses at 16 kHz, so every sentence's true span is known), transcribed by the same
recipe the `transcript` asset runs (`ModelLoader.transcribe`: Silero VAD, batched faster-whisper, the segment
re-cutting; tiny.en by default), turned into `segments` rows by the warehouse's own `rows.segment_rows`, embedded
by `search.texts.embedding_rows` (MiniLM) and written with `Warehouse.write_video`. On-screen phrases are
`screen_text` rows (the table's columns; OCR is measured by its own benchmark) with slide-like distractors.
pyannote's real two-speaker sample call is a fifth video, of distractors only.

Some sentences are distractors sharing words with a target ("we plan on hiring…" vs "the hiring plan…"), so a
ranking that only counts words would fail. Every target has a keyword query (its phrase, as an analyst would type
it) and a paraphrase for semantic search (none of the phrase's content words where possible). A moment is right
when the match is the target's video and kind and overlaps the target's true span (+-0.5 s).

    uv run python benchmarks/quality_search.py [--whisper tiny.en|base]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from faster_whisper import decode_audio  # noqa: E402

from vidassets import samples  # noqa: E402
from vidassets.analytics.rows import segment_rows, to_table  # noqa: E402
from vidassets.analytics.schemas import SCHEMAS  # noqa: E402
from vidassets.analytics.warehouse import Warehouse  # noqa: E402
from vidassets.ml.sentence_embeddings import SentenceEncoder  # noqa: E402
from vidassets.resources.models import ModelLoader  # noqa: E402
from vidassets.search.engine import search  # noqa: E402
from vidassets.search.texts import EMBEDDINGS_TABLE, embedding_rows  # noqa: E402
from vidassets.settings import load_settings  # noqa: E402
from vidassets.storage.layout import video_file_key  # noqa: E402

RATE = 16_000
CALL = "sample-call-4e5f6a7b8c9d"
PAUSE_S = 0.9
TOLERANCE_S = 0.5
TOP = 3


@dataclasses.dataclass(frozen=True)
class Target:
    video: str
    kind: str  # speech | screen
    text: str  # the sentence or slide text holding the phrase
    keyword: str  # the phrase, as typed
    paraphrase: str  # the same meaning in other words


# video -> sentences; a (sentence, keyword, paraphrase) tuple is a target, a plain string a filler or distractor.
TALKS: dict[str, list[str | tuple[str, str, str]]] = {
    "budget-review-0a1b2c3d4e5f": [
        "Good morning and welcome to the budget review.",
        ("The hiring plan adds four engineers in the spring.", "hiring plan",
         "how many people will we recruit"),
        ("Our marketing budget doubles for the product launch.", "marketing budget",
         "money spent on advertising"),
        "We will take questions at the end of the meeting.",
        "The launch of the budget app is a product of the marketing team.",
        ("Travel costs went down after we moved meetings online.", "travel costs",
         "spending on flights and hotels"),
    ],
    "product-sync-1b2c3d4e5f6a": [
        "Thanks everyone for joining the product sync.",
        "We plan on hiring a designer at some point next year.",
        ("The mobile app crashes when the battery is low.", "app crashes",
         "the phone application stops working"),
        ("Customers asked for a dark mode in the settings page.", "dark mode",
         "users want a black theme"),
        ("The release date moves to the second week of June.", "release date",
         "when the product ships"),
    ],
    "science-lecture-2c3d4e5f6a7b": [
        "Today's lecture is about plants and the ocean.",
        ("Photosynthesis turns sunlight into chemical energy.", "photosynthesis",
         "how plants make food from light"),
        ("Coral reefs are bleaching because the water is warmer.", "coral reefs",
         "ocean warming damages marine ecosystems"),
        "Please read chapter four before the next class.",
        "The reef trip costs less than the volcano tour.",
        ("Volcanoes form where tectonic plates pull apart.", "volcanoes",
         "how mountains that erupt lava are created"),
    ],
    "team-offsite-3d4e5f6a7b8c": [
        "Welcome to the team offsite in the mountains.",
        ("The new office opens in Berlin in March.", "office in berlin",
         "moving to a workplace in Germany"),
        "The budget for the offsite covers dinner on Friday.",
        "The machine in Berlin makes coffee for the whole office.",
        ("Everyone gets two extra days of vacation this year.", "vacation",
         "more paid time off for staff"),
        ("The coffee machine on the third floor is broken again.", "coffee machine",
         "the espresso maker does not work"),
    ],
}
# video -> (start, end, slide text) rows; a 5-tuple adds (keyword, paraphrase): a target.
SLIDES: dict[str, list[tuple]] = {
    "budget-review-0a1b2c3d4e5f": [
        (0.0, 6.0, "Budget review 2026"),
        (6.0, 14.0, "Q3 revenue grew 12 percent", "q3 revenue", "third quarter sales increase"),
        (14.0, 22.0, "Headcount plan by team"),
    ],
    "product-sync-1b2c3d4e5f6a": [
        (0.0, 8.0, "Product sync agenda"),
        (8.0, 16.0, "Known issues: login timeout on Android", "login timeout", "sign-in takes too long"),
    ],
    "science-lecture-2c3d4e5f6a7b": [
        (0.0, 10.0, "Chapter 4: The carbon cycle", "carbon cycle", "how carbon moves through nature"),
        (10.0, 20.0, "Exam on Friday, room 204"),
    ],
    "team-offsite-3d4e5f6a7b8c": [
        (0.0, 9.0, "Offsite schedule: hiking at 9 am", "hiking", "a walk in the mountains"),
        (9.0, 18.0, "Dinner reservation at the lake house"),
    ],
}


def speak(sentences: list[str], scratch: Path) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """16 kHz samples of the sentences with PAUSE_S between them, and each sentence's (start, end)."""
    pieces, spans, at = [], [], 0.5
    silence = np.zeros(int(PAUSE_S * RATE), np.float32)
    pieces.append(np.zeros(int(0.5 * RATE), np.float32))
    for i, sentence in enumerate(sentences):
        wav = samples.synthesize_speech(scratch / f"s{i}.wav", [sentence])
        audio = decode_audio(str(wav), sampling_rate=RATE)
        spans.append((at, at + len(audio) / RATE))
        pieces += [audio, silence]
        at += len(audio) / RATE + PAUSE_S
    return np.concatenate(pieces), spans


def screen_rows(video: str, slides: list[tuple]) -> pa.Table:
    n = len(slides)
    f32 = pa.float32()
    return pa.table({
        "video_id": [video] * n, "block_index": pa.array(range(n), pa.int32()),
        "start_s": [s[0] for s in slides], "end_s": [s[1] for s in slides], "text": [s[2] for s in slides],
        "text_redacted": pa.nulls(n, pa.string()), "confidence": pa.array([1.0] * n, f32),
        "x0": pa.array([0.1] * n, f32), "y0": pa.array([0.1] * n, f32), "x1": pa.array([0.9] * n, f32),
        "y1": pa.array([0.3] * n, f32), "shot_index": pa.array(range(n), pa.int32()),
        "model": ["placed"] * n, "method": ["benchmark rows"] * n,
    })


def build_corpus(root: Path, models: ModelLoader, encoder: SentenceEncoder,
                 scratch: Path) -> list[tuple[Target, float, float]]:
    """Write the corpus; returns every target with its true span."""
    warehouse = Warehouse(str(root))
    targets = []
    # A real recording as a fifth video, only distractors: pyannote's two-speaker sample call.
    call = models.transcribe(decode_audio(str(samples.speech_wav()), sampling_rate=RATE))
    call_tables = {"segments": to_table("segments", segment_rows(CALL, call["segments"]))}
    call_tables[EMBEDDINGS_TABLE] = embedding_rows(CALL, call_tables, lambda: encoder)
    warehouse.write_video(CALL, call_tables)
    print(f"{CALL}: pyannote's sample call, {len(call['segments'])} segments (distractors only)")
    for video, lines in TALKS.items():
        sentences = [line if isinstance(line, str) else line[0] for line in lines]
        audio, spans = speak(sentences, scratch)
        transcript = models.transcribe(audio)
        print(f"{video}: {len(sentences)} sentences, {len(audio) / RATE:.1f} s -> {len(transcript['segments'])} "
              "segments")
        for seg in transcript["segments"]:
            print(f"    {seg['start']:6.2f}-{seg['end']:6.2f} {seg['text'].strip()}")
        tables = {"segments": to_table("segments", segment_rows(video, transcript["segments"]))}
        for line, (start, end) in zip(lines, spans, strict=True):
            if not isinstance(line, str):
                targets.append((Target(video, "speech", *line), start, end))
        slides = SLIDES.get(video, [])
        if slides:
            tables["screen_text"] = screen_rows(video, slides)
            targets += [(Target(video, "screen", s[2], s[3], s[4]), s[0], s[1]) for s in slides if len(s) == 5]
        tables[EMBEDDINGS_TABLE] = embedding_rows(video, tables, lambda: encoder)
        warehouse.write_video(video, {name: rows for name, rows in tables.items() if name in SCHEMAS})
        if "screen_text" in tables and "screen_text" not in SCHEMAS:  # until the table is registered here
            warehouse.store.put_parquet(video_file_key("screen_text", video), tables["screen_text"])
    return targets


def rank_of(warehouse: Warehouse, target: Target, start: float, end: float, query: str, semantic: bool,
            encoder: SentenceEncoder) -> int | None:
    matches = search(warehouse, query, semantic=semantic, limit=20, encoder=encoder)
    for rank, match in enumerate(matches, 1):
        if (match.video_id == target.video and match.kind == target.kind
                and match.start_s <= end + TOLERANCE_S and match.end_s >= start - TOLERANCE_S):
            return rank
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--whisper", default="tiny.en", help="whisper model (tiny.en as the tests, base as default)")
    args = parser.parse_args()
    config = dataclasses.replace(load_settings().models.config, whisper_model=args.whisper)
    models = ModelLoader(config)
    encoder = SentenceEncoder()
    with tempfile.TemporaryDirectory(prefix="quality-search-") as tmp:
        started = time.perf_counter()
        targets = build_corpus(Path(tmp) / "root", models, encoder, Path(tmp))
        built_s = time.perf_counter() - started
        warehouse = Warehouse(str(Path(tmp) / "root"))
        results: dict[str, list[int | None]] = {"keyword": [], "semantic (phrase)": [], "semantic (paraphrase)": []}
        print(f"\n{'kind':6}  {'keyword':>7}  {'sem.':>4}  {'para.':>5}  target")
        started = time.perf_counter()
        for target, start, end in targets:
            ranks = [rank_of(warehouse, target, start, end, target.keyword, False, encoder),
                     rank_of(warehouse, target, start, end, target.keyword, True, encoder),
                     rank_of(warehouse, target, start, end, target.paraphrase, True, encoder)]
            for name, rank in zip(results, ranks, strict=True):
                results[name].append(rank)
            shown = ["-" if r is None else str(r) for r in ranks]
            print(f"{target.kind:6}  {shown[0]:>7}  {shown[1]:>4}  {shown[2]:>5}  {target.keyword!r} / "
                  f"{target.paraphrase!r} ({target.video}, {start:.1f}-{end:.1f} s)")
        queries = len(targets) * 3
        query_s = time.perf_counter() - started
    print(f"\nwhisper {args.whisper}; corpus built in {built_s:.1f} s; {queries} queries in {query_s:.1f} s")
    for kind in ("speech", "screen", None):
        picked = [i for i, (t, _, _) in enumerate(targets) if kind is None or t.kind == kind]
        label = kind or "all"
        parts = []
        for name, ranks in results.items():
            top = sum(1 for i in picked if ranks[i] is not None and ranks[i] <= TOP)
            parts.append(f"{name} {top}/{len(picked)} = {top / len(picked):.0%}")
        print(f"top-{TOP} {label:6} ({len(picked)} phrases): " + ";  ".join(parts))
    print("target: the right moment in the top 3 for >= 90% of the placed phrases")


if __name__ == "__main__":
    main()
