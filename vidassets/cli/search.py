"""`vidassets search "text" [--semantic] [--limit N]`: the moments where a phrase is said or shown, corpus-wide.

Reads the warehouse like `vidassets query` (`--root`, else `VIDASSETS_STORAGE_ROOT`; S3 through the AWS
environment); every video of the corpus is searched unless `--video` names some. Links are the transcript pages at
that moment, absolute when `VIDASSETS_API_PUBLIC_URL` is set.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vidassets.analytics.query import FORMATS, QueryError, render, store_for
from vidassets.cli.warehouse import ROOT_HELP
from vidassets.settings import load_settings


def search_parser(prog: str = "vidassets search") -> argparse.ArgumentParser:
    from vidassets.search.engine import DEFAULT_LIMIT, MAX_LIMIT

    parser = argparse.ArgumentParser(
        prog=prog, description="Find where words are said (transcripts) or shown (on-screen text) in the corpus.")
    parser.add_argument("text", help='words or a phrase, e.g. "hiring plan"')
    parser.add_argument("--semantic", action="store_true",
                        help="rank by meaning (MiniLM sentence embeddings) instead of by words")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"matches to show, 1-{MAX_LIMIT} "
                        f"(default {DEFAULT_LIMIT})")
    parser.add_argument("--video", action="append", default=None, metavar="VIDEO_ID",
                        help="search only this video (repeatable)")
    parser.add_argument("--root", default=None, help=ROOT_HELP)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    return parser


def search_main(argv: Sequence[str] | None = None) -> int:
    """0 with matches or none, 1 when the warehouse cannot be read, 2 for a query the search refuses."""
    args = search_parser().parse_args(argv)
    from vidassets.analytics.warehouse import Warehouse
    from vidassets.search.engine import SearchError, as_table, parse_query, search

    settings = load_settings()
    try:
        query = parse_query(args.text)
        encoder = None
        if args.semantic:
            from vidassets.ml.sentence_embeddings import SentenceEncoder
            from vidassets.model_config import current_model_config

            encoder = SentenceEncoder(device=current_model_config().resolved_device())  # one query per process
        store = store_for(args.root or settings.storage.root, settings.storage.s3)
        matches = search(Warehouse(store), query, video_ids=args.video, semantic=args.semantic, limit=args.limit,
                         encoder=encoder)
    except SearchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (QueryError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    table = as_table(matches, base_url=settings.api.public_url)
    sys.stdout.write(render(table, args.format))
    sys.stdout.flush()
    return 0
