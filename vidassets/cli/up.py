"""`vidassets up [--no-wait | --once] [--timeout S]` (what `make run` calls): the arguments are parsed here; the
dev stack (`vidassets.devstack.run.up`) starts the servers and prints its own progress, as its console."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def up_main(argv: Sequence[str] | None = None) -> int:
    from vidassets.devstack.run import UpOptions, up

    parser = argparse.ArgumentParser(
        prog="vidassets up", description="`vidassets up` (what `make run` calls): the whole platform on one machine, "
        "no cloud account needed.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-wait", action="store_true", help="start, upload the sample, keep serving; do not follow")
    mode.add_argument("--once", action="store_true", help="exit after the sample run ends (code 0 only on success)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="with --once: give up after this many seconds (default 1800)")
    args = parser.parse_args(argv)
    return up(UpOptions(no_wait=args.no_wait, once=args.once, timeout=args.timeout))
