"""`vidassets query|export|costs`: the warehouse and the transcripts from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vidassets.analytics import voice_registry
from vidassets.analytics.costs import DEFAULT_PRICES, PriceError, cost_per_video_hour_sql, parse_prices
from vidassets.analytics.query import FORMATS as QUERY_FORMATS
from vidassets.analytics.query import QueryError, render, run_query_arrow, store_for
from vidassets.analytics.schemas import TABLES
from vidassets.analytics.subtitles import FORMATS as EXPORT_FORMATS
from vidassets.analytics.subtitles import (
    MAX_LINE_COUNT,
    MAX_LINE_WIDTH,
    ExportError,
    load_transcript,
    write_text_atomic,
)
from vidassets.analytics.subtitles import render as render_transcript
from vidassets.settings import PRICE_PER_HOUR, STORAGE_ROOT, load_settings

ROOT_HELP = (
    f"storage root (s3://bucket[/prefix] or a folder); default ${STORAGE_ROOT.name} or {STORAGE_ROOT.default_value}"
)


def query_parser(prog: str = "vidassets query") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run DuckDB SQL over the vidassets warehouse tables: " + ", ".join(TABLES) + ".",
    )
    parser.add_argument("sql", help="the query, e.g. \"SELECT status, count(*) FROM videos GROUP BY ALL\"")
    parser.add_argument("--root", default=None, help=ROOT_HELP)
    parser.add_argument("--format", choices=QUERY_FORMATS, default="table", help="output format (default: table)")
    return parser


def query_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets query "SQL" [--root ROOT] [--format table|csv|json]`; 0 on success, 1 on a query error."""
    args = query_parser().parse_args(argv)
    storage = load_settings().storage
    try:
        result = run_query_arrow(store_for(args.root or storage.root, storage.s3), args.sql)
    except QueryError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    sys.stdout.write(render(result, args.format))
    sys.stdout.flush()
    return 0


def export_parser(prog: str = "vidassets export") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Subtitles or transcript of one video, with speakers.")
    parser.add_argument("video_id", help="the video id (partition key), e.g. team-talk-cfe380202ac6")
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="srt", help="output format (default: srt)")
    parser.add_argument("--root", default=None, help=ROOT_HELP)
    parser.add_argument("--out", type=Path, default=None, help="output file (default: stdout)")
    parser.add_argument("--max-line-width", type=int, default=MAX_LINE_WIDTH, help="characters per subtitle line")
    parser.add_argument("--max-line-count", type=int, default=MAX_LINE_COUNT, help="lines per subtitle cue")
    return parser


def export_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets export VIDEO_ID --format srt|vtt|txt|json [--root ROOT] [--out FILE]`; 0 on success."""
    args = export_parser().parse_args(argv)
    if args.max_line_width < 10 or args.max_line_count < 1:
        print("error: --max-line-width must be >= 10 and --max-line-count >= 1", file=sys.stderr)
        return 2
    storage = load_settings().storage
    try:
        store = store_for(args.root or storage.root, storage.s3)
        manifest, diarized = load_transcript(store, args.video_id)
    except (ExportError, QueryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not diarized:
        print(f"warning: {args.video_id} has no diarized transcript; exporting without speaker labels",
              file=sys.stderr)
    layout = {"max_line_width": args.max_line_width, "max_line_count": args.max_line_count}
    if diarized:  # the corpus voice ids and the owner's names, as in the stored transcript files
        manifest = voice_registry.labelled(manifest, voice_registry.video_labels(store, args.video_id))
        if args.format != "json":
            manifest = voice_registry.displayed(manifest)
    text = (render_transcript(manifest, args.format, **layout) if args.format in ("srt", "vtt")
            else render_transcript(manifest, args.format))
    if args.out is None or str(args.out) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text_atomic(args.out, text)
        print(f"wrote {args.out} ({len(text.encode())} bytes)", file=sys.stderr)
    return 0


def costs_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets costs [--price DEVICE=USD_PER_HOUR ...] [--root ROOT] [--format ...]`: compute and $ per video."""
    parser = argparse.ArgumentParser(
        prog="vidassets costs", description="Compute seconds and estimated $ per video-hour, per video (run_costs)."
    )
    parser.add_argument("--price", action="append", default=[], metavar="DEVICE=USD_PER_HOUR",
                        help=f"$/hour of a device (cpu, cuda); default ${PRICE_PER_HOUR.name} or {DEFAULT_PRICES}")
    parser.add_argument("--root", help="storage root (default: $VIDASSETS_STORAGE_ROOT)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    args = parser.parse_args(argv)
    settings = load_settings()
    try:
        prices = parse_prices(",".join(args.price) if args.price else settings.prices)
        store = store_for(args.root or settings.storage.root, settings.storage.s3)
        result = run_query_arrow(store, cost_per_video_hour_sql(prices))
    except (PriceError, QueryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    sys.stdout.write(render(result, args.format))
    return 0
