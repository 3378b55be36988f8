"""`vidassets upload-events`: the event relay of the embedded default (SeaweedFS filer -> Redis stream)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vidassets.settings import load_settings


def upload_events_main(argv: Sequence[str] | None = None) -> int:
    """Follow the SeaweedFS filer's metadata events and publish video uploads to the sensor's Redis stream."""
    watch = load_settings().watch
    parser = argparse.ArgumentParser(prog="vidassets upload-events", description=upload_events_main.__doc__)
    parser.add_argument("--filer", default=watch.filer_address,
                        help="filer host:port (default: $VIDASSETS_FILER_ADDRESS)")
    parser.add_argument("--events-url", default=watch.events_url,
                        help="Redis URL of the stream (default: $VIDASSETS_UPLOAD_EVENTS_URL)")
    args = parser.parse_args(argv)
    if not args.events_url.startswith(("redis://", "rediss://", "unix://")):
        parser.error("--events-url / VIDASSETS_UPLOAD_EVENTS_URL must be a redis:// URL (on AWS, S3 notifications "
                     "fill SQS directly: no relay)")
    from vidassets.ingest.relay import run_relay

    try:
        run_relay(args.filer, args.events_url, watch.bucket, watch.prefix,
                  log=lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        return 0
    return 0
