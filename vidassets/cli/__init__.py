"""`vidassets`: every command line of the platform, parsed and printed in this package.

One module per group of subcommands (`process`, `warehouse`: query/export/costs, `search`, `api`:
api/keys/upload/status, `workers`: worker/workers, `up`); each builds its own parser (so `vidassets query --help`
is the query's) and calls functions in `analytics/`, `search/`, `api/`, `workers/` and `devstack/` that take values
and return data. Only the group a command needs is imported: `vidassets query` loads neither Dagster nor the API.
"""

import argparse
import importlib
from pathlib import Path

DESCRIPTION = "`vidassets`: process one local file without S3 or a daemon, or bring up the local platform."
# subcommand -> (module in this package, function taking the remaining arguments, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "query": ("warehouse", "query_main", "SQL over the Parquet warehouse (DuckDB); --help for more"),
    "search": ("search", "search_main", "where words are said or shown: search \"text\" [--semantic]; --help"),
    "export": ("warehouse", "export_main", "a video's transcript as srt|vtt|txt|json; --help for more"),
    "api": ("api", "api_main", "serve the HTTP API (uvicorn); --help for more"),
    "keys": ("api", "keys_main", "API keys: create --user NAME | revoke KEY_ID | list"),
    "upload": ("api", "upload_main", "upload videos (through the API when configured)"),
    "status": ("api", "status_main", "follow one video: status VIDEO_ID"),
    "speakers": ("speakers", "speakers_main", "the corpus speaker registry: list | name | merge | split; --help"),
    "costs": ("warehouse", "costs_main", "compute seconds and $ per video-hour per video; --help"),
    "workers": ("workers", "workers_main", "run queues, warm workers and runs in flight; --help"),
    "worker": ("workers", "worker_main", "run one warm run worker (Celery) in the foreground; --help"),
    "partitions": ("partitions", "partitions_main", "archive the oldest settled videos' partitions; --help"),
    "upload-events": ("ingest", "upload_events_main", "relay SeaweedFS upload events to the sensor's Redis stream"),
    "up": ("up", "up_main", "run the platform locally: S3, run queue, warm workers, Dagster UI, daemon"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vidassets", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    process_cmd = commands.add_parser("process", help="materialize every per-video asset for local files, then "
                                      "the speaker registry over them")
    process_cmd.add_argument("file", type=Path, nargs="+")
    process_cmd.add_argument("--out", type=Path, required=True, help="output folder (the storage root)")
    for name, (_, _, help_text) in COMMANDS.items():
        commands.add_parser(name, add_help=False, help=help_text)
    args, rest = parser.parse_known_args(argv)
    if args.command == "process":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        from vidassets.cli.process import process, process_many

        return process(args.file[0], args.out) if len(args.file) == 1 else process_many(args.file, args.out)
    module, function, _ = COMMANDS[args.command]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)(rest)
