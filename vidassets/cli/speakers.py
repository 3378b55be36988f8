"""`vidassets speakers list|name|merge|split`: the corpus speaker registry from the command line (operator).

    vidassets speakers list [--root ROOT] [--user NAME] [--format table|json]
    vidassets speakers name VOICE_ID "Ada Lovelace" [--user NAME]     (--clear to remove the name)
    vidassets speakers merge VOICE_A VOICE_B                          (B joins A; refused if one video has both)
    vidassets speakers split VOICE_ID VIDEO_ID SPEAKER                (that speaker gets a voice of its own)

Names belong to a scope: the operator's (`_operator`, the default: videos not uploaded through the API) or one API
user's (`--user`); a video shows the names of its owner's scope. Every affected video's transcript files and
`segments`/`speakers`/`voice_registry` rows are rewritten at once, without a model run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence

from vidassets.analytics import voice_registry as registry
from vidassets.analytics.query import QueryError, store_for
from vidassets.analytics.warehouse import Warehouse
from vidassets.cli.warehouse import ROOT_HELP
from vidassets.settings import load_settings
from vidassets.storage import Store
from vidassets.storage.layout import OPERATOR_SCOPE


def parser(prog: str = "vidassets speakers") -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=prog, description="The corpus speaker registry: list, name, merge, split.")
    top.add_argument("--root", default=None, help=ROOT_HELP)
    commands = top.add_subparsers(dest="action", required=True)
    listing = commands.add_parser("list", help="every voice with its videos and name")
    listing.add_argument("--user", default=None, help="only this API user's videos, with that user's names")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    name = commands.add_parser("name", help="bind a name to a voice in every video, past and future")
    name.add_argument("voice_id")
    name.add_argument("name", nargs="?", default=None)
    name.add_argument("--clear", action="store_true", help="remove the name")
    name.add_argument("--user", default=None, help="name it in this API user's scope (default: the operator's)")
    merge = commands.add_parser("merge", help="voice B is the same person as voice A")
    merge.add_argument("voice_a")
    merge.add_argument("voice_b")
    split = commands.add_parser("split", help="one video's speaker is not that voice")
    split.add_argument("voice_id")
    split.add_argument("video_id")
    split.add_argument("speaker")
    return top


def _owner_of(store: Store) -> Callable[[str], str | None]:
    from vidassets.api.objects import upload_owner
    from vidassets.settings import normalize_prefix

    watch = load_settings().watch
    prefix = normalize_prefix(watch.prefix)
    return registry.owners_by_source(store, lambda bucket, key: upload_owner(prefix, key)
                                     if bucket == watch.bucket else None)


def _scope(user: str | None) -> str:
    if user is None:
        return OPERATOR_SCOPE
    from vidassets.api.auth import check_user_name

    return check_user_name(user)


def _print_voices(voices: list[dict], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(voices, indent=1, ensure_ascii=False))
        return
    print(f"{'voice_id':<16} {'name':<24} {'videos':>6}  trusted  appearances")
    for v in voices:
        where = ", ".join(f"{a['video_id']}:{a['speaker']}" for a in v["appearances"][:4])
        more = f" (+{len(v['appearances']) - 4})" if len(v["appearances"]) > 4 else ""
        print(f"{v['voice_id']:<16} {(v['name'] or '-')[:24]:<24} {len(v['appearances']):>6}  "
              f"{'yes' if v['trusted'] else 'no':<7}  {where}{more}")


def speakers_main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    storage = load_settings().storage
    try:
        store = store_for(args.root or storage.root, storage.s3)
        started = time.monotonic()
        if args.action == "list":
            scope = _scope(args.user)
            rows = registry.load_registry(Warehouse(store))
            videos = {r["video_id"] for r in rows if args.user is None or r["owner"] == args.user}
            _print_voices(registry.voices_in(store, videos, scope), args.format)
            return 0
        if args.action == "name":
            if (args.name is None) == (not args.clear):
                print("error: give a NAME, or --clear", file=sys.stderr)
                return 2
            written = registry.name_voice(store, args.voice_id, None if args.clear else args.name, _scope(args.user))
        elif args.action == "merge":
            registry.merge(store, args.voice_a, args.voice_b, _owner_of(store))
            written = registry.apply_labels(store)
        else:
            registry.split(store, args.voice_id, args.video_id, args.speaker, _owner_of(store))
            written = registry.apply_labels(store)
        print(f"{args.action}: {len(written)} videos rewritten in {time.monotonic() - started:.1f}s")
        return 0
    except (registry.RegistryError, QueryError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1

