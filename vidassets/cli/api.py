"""`vidassets api|keys|upload|status`: the HTTP API server, API keys, uploads and following a video."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vidassets.api.client import API_KEY_ENV, API_URL_ENV, ApiClient, ApiError
from vidassets.verdict import TERMINAL
from vidassets.workers.queues import MAX_PRIORITY, MIN_PRIORITY


def _err(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def api_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets api [--host H] [--port P] [--workers N]`: uvicorn in the foreground; 2 on a bad setting."""
    from vidassets.api.serve import serve
    from vidassets.api.settings import ApiSettings

    parser = argparse.ArgumentParser(prog="vidassets api", description="Serve the vidassets HTTP API (uvicorn).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    args = parser.parse_args(argv)
    try:
        ApiSettings.from_env()  # a bad setting is one line naming it, before any worker starts
    except (ValueError, RuntimeError) as err:
        print(f"vidassets api: {err}", file=sys.stderr)
        return 2
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


def keys_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets keys create --user NAME | revoke KEY_ID | list [--user NAME]` against the API database."""
    from vidassets.api import auth
    from vidassets.api.db import engine_for
    from vidassets.api.settings import default_db_url

    parser = argparse.ArgumentParser(prog="vidassets keys", description="API keys (only hashes are stored).")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="a new key for a user, printed once on stdout")
    create.add_argument("--user", required=True)
    create.add_argument("--max-priority", type=int, default=None,
                        help=f"highest run priority uploads with this key may ask for, {MIN_PRIORITY}..{MAX_PRIORITY} "
                        "(default: VIDASSETS_API_DEFAULT_MAX_PRIORITY, 0)")
    revoke = sub.add_parser("revoke", help="revoke a key (its id as listed, or the key itself)")
    revoke.add_argument("key")
    listing = sub.add_parser("list", help="key ids, users, created/revoked times (never the keys)")
    listing.add_argument("--user")
    args = parser.parse_args(argv)
    try:
        engine = engine_for(default_db_url())
    except RuntimeError as err:
        return _err(str(err))
    if args.action == "create":
        try:
            key, info = auth.create_key(engine, args.user, args.max_priority)
        except ValueError as err:
            return _err(str(err))
        print(key)
        print(f"created key {info.key_id} for user {info.user}; it is shown only now. "
              f"Use it as `Authorization: Bearer <key>` or `export {API_KEY_ENV}=<key>`.", file=sys.stderr)
        return 0
    if args.action == "revoke":
        revoked = auth.revoke_key(engine, args.key)
        if revoked is None:
            return _err(f"no key with id {auth.key_id_of(args.key)!r}")
        print(f"revoked key {revoked.key_id} of user {revoked.user}")
        return 0
    for info in auth.list_keys(engine, args.user):
        state = f"revoked {_when(info.revoked_at)}" if info.revoked_at else "active"
        limit = "" if info.max_priority is None else f"  max priority {info.max_priority}"
        print(f"{info.key_id}  {info.user:<20} created {_when(info.created_at)}  {state}{limit}")
    return 0


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts or 0, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def upload_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets upload FILE... [--priority N]`: through the API when configured, else straight to S3."""
    from vidassets.api.commands import upload_s3

    parser = argparse.ArgumentParser(
        prog="vidassets upload",
        description=f"Upload videos; prints one video id per file. Uses the API when {API_URL_ENV} and "
        f"{API_KEY_ENV} are set, else S3 directly (VIDASSETS_WATCH_BUCKET/PREFIX, AWS_* environment).",
    )
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--priority", type=int, default=None,
                        help=f"run priority, {MIN_PRIORITY}..{MAX_PRIORITY}, higher first (through the API: at most "
                        "the key's maximum)")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        return _err(f"no such file: {', '.join(missing)}")
    client = ApiClient.from_env()
    failed = 0
    for path in args.files:
        try:
            video_id = client.upload(path, args.priority)["video_id"] if client else upload_s3(path, args.priority)
        except (ApiError, ValueError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            failed += 1
            continue
        print(video_id, flush=True)
    return 1 if failed else 0


def status_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets status VIDEO_ID [--once]`: follow one video until it ends (through the API when configured,
    else the local Dagster instance)."""
    from vidassets.api.commands import status_fetcher

    parser = argparse.ArgumentParser(prog="vidassets status", description="Follow one video's processing.")
    parser.add_argument("video_id", nargs="?")
    parser.add_argument("--once", action="store_true", help="print the status once and exit")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between checks (default 2)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    if args.video_id is None:
        parser.print_usage(sys.stderr)
        return 2
    fetch = status_fetcher()
    started = time.monotonic()
    last: tuple[Any, ...] | None = None
    while True:
        try:
            video = fetch(args.video_id)
        except (ApiError, LookupError) as err:
            return _err(str(err))
        state = (video["status"], video.get("current_step"))
        between_steps = last is not None and state[0] == last[0] == "processing" and state[1] is None
        if state != last and not between_steps:
            print(status_line(video), flush=True)
            last = state
        if args.once or video["status"] in TERMINAL:
            return 1 if video["status"] == "failed" else 0
        if time.monotonic() - started > args.timeout:
            return _err(f"{args.video_id} still {video['status']} after {args.timeout:.0f}s")
        time.sleep(args.interval)


def status_line(video: dict[str, Any]) -> str:
    """One line per status change: time, id, status, step, reasons or error, and the results when completed."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    parts = [f"{stamp} {video['video_id']}: {video['status']}"]
    if video.get("current_step"):
        parts.append(f"({video['current_step']})")
    if video.get("reasons"):
        parts.append("reasons: " + "; ".join(video["reasons"]))
    if video.get("error"):
        parts.append(f"error: {video['error']}")
    if video["status"] == "completed":
        details = [f"{k}={video[k]}" for k in ("duration_s", "language", "speakers", "word_count")
                   if video.get(k) is not None]
        parts.append(" ".join(details))
    return " ".join(parts)
