"""`vidassets keys|upload|status`: API keys, uploads and following a video from the command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidassets.api.client import API_KEY_ENV, API_URL_ENV, ApiClient, ApiError, Progress, content_type_for
from vidassets.verdict import TERMINAL

if TYPE_CHECKING:
    from vidassets.api.settings import ApiSettings


def _err(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def keys_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets keys create --user NAME | revoke KEY_ID | list [--user NAME]` against the API database."""
    from vidassets.api import auth
    from vidassets.api.db import engine_for
    from vidassets.api.settings import default_db_url

    parser = argparse.ArgumentParser(prog="vidassets keys", description="API keys (only hashes are stored).")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="a new key for a user, printed once on stdout")
    create.add_argument("--user", required=True)
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
            key, info = auth.create_key(engine, args.user)
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
        print(f"{info.key_id}  {info.user:<20} created {_when(info.created_at)}  {state}")
    return 0


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts or 0, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def upload_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets upload FILE... [--priority N]`: through the API when configured, else straight to S3."""
    parser = argparse.ArgumentParser(
        prog="vidassets upload",
        description=f"Upload videos; prints one video id per file. Uses the API when {API_URL_ENV} and "
        f"{API_KEY_ENV} are set, else S3 directly (VIDASSETS_WATCH_BUCKET/PREFIX, AWS_* environment).",
    )
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--priority", type=int, default=None, help="run priority hint, -100..100 (higher first)")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        return _err(f"no such file: {', '.join(missing)}")
    client = ApiClient.from_env()
    failed = 0
    for path in args.files:
        try:
            video_id = client.upload(path, args.priority)["video_id"] if client else _upload_s3(path, args.priority)
        except (ApiError, ValueError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            failed += 1
            continue
        print(video_id, flush=True)
    return 1 if failed else 0


def _upload_s3(path: Path, priority: int | None) -> str:
    """Straight to the watched prefix (no user: operators and scripts on the platform's own credentials)."""
    from vidassets.api.objects import BadFileName, safe_file_name
    from vidassets.api.uploads import PRIORITY_METADATA
    from vidassets.storage.s3 import s3_client
    from vidassets.video_ids import video_id_for

    settings = _watch_settings()
    try:
        key = f"{settings.prefix}{safe_file_name(path.name)}"
    except BadFileName as err:
        raise ValueError(str(err)) from err
    extra: dict[str, Any] = {"ContentType": content_type_for(path)}
    if priority is not None:
        extra["Metadata"] = {PRIORITY_METADATA: str(priority)}
    progress = Progress(path.name, path.stat().st_size)
    s3_client().upload_file(str(path), settings.bucket, key, ExtraArgs=extra, Callback=progress.advance)
    return video_id_for(settings.bucket, key)


def _watch_settings() -> ApiSettings:
    from vidassets.api.settings import ApiSettings

    prefix = os.environ.get("VIDASSETS_WATCH_PREFIX", "uploads/")
    return ApiSettings(bucket=os.environ.get("VIDASSETS_WATCH_BUCKET", "vidassets"),
                       prefix=prefix if prefix.endswith("/") or not prefix else f"{prefix}/")


def status_main(argv: Sequence[str] | None = None) -> int:
    """`vidassets status VIDEO_ID [--once]`: follow one video until it ends (through the API when configured,
    else the local Dagster instance)."""
    parser = argparse.ArgumentParser(prog="vidassets status", description="Follow one video's processing.")
    parser.add_argument("video_id", nargs="?")
    parser.add_argument("--once", action="store_true", help="print the status once and exit")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between checks (default 2)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    if args.video_id is None:
        parser.print_usage(sys.stderr)
        return 2
    fetch = _status_fetcher()
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
            print(_status_line(video), flush=True)
            last = state
        if args.once or video["status"] in TERMINAL:
            return 1 if video["status"] == "failed" else 0
        if time.monotonic() - started > args.timeout:
            return _err(f"{args.video_id} still {video['status']} after {args.timeout:.0f}s")
        time.sleep(args.interval)


def _status_line(video: dict[str, Any]) -> str:
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


def _status_fetcher() -> Any:
    client = ApiClient.from_env()
    if client is not None:
        return client.video

    import dagster as dg

    from vidassets.api.settings import ApiSettings
    from vidassets.api.status import describe, head, locate
    from vidassets.storage import Store
    from vidassets.storage.s3 import s3_client

    settings = ApiSettings.from_env()
    instance = dg.DagsterInstance.get()
    s3 = s3_client()
    store = Store.for_root(settings.storage_root)

    def fetch(video_id: str) -> dict[str, Any]:
        ref = locate(instance, s3, settings, video_id, None)
        if ref is None:
            raise LookupError(f"no video {video_id!r} (not uploaded under s3://{settings.bucket}/{settings.prefix})")
        return describe(instance, store, ref, head(s3, ref))

    return fetch
