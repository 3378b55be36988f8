"""`vidassets partitions archive`: keep the `videos` partitions inside Dagster's recommended ceiling
(`vidassets.partitions.archive_settled`)."""

from __future__ import annotations

import argparse

from vidassets.settings import LIVE_PARTITIONS, load_settings


def partitions_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vidassets partitions", description=__doc__)
    commands = parser.add_subparsers(dest="action", required=True)
    archive = commands.add_parser("archive", help="delete the partitions of the oldest settled videos")
    archive.add_argument("--keep", type=int, default=None,
                         help=f"partitions to keep, newest first (default: {LIVE_PARTITIONS.name})")
    archive.add_argument("--dry-run", action="store_true", help="print what would be archived, delete nothing")
    args = parser.parse_args(argv)
    try:
        keep = load_settings().watch.live_partitions if args.keep is None else args.keep
    except ValueError as err:  # a malformed VIDASSETS_LIVE_PARTITIONS: the message names it
        parser.error(str(err))
    if keep < 0:
        parser.error(f"--keep must be 0 or more, not {keep}")

    import dagster as dg

    from vidassets.partitions import archive_settled

    with dg.DagsterInstance.get() as instance:
        plan = archive_settled(instance, keep, dry_run=args.dry_run)
    verb = "would archive" if args.dry_run else "archived"
    print(f"{plan.live} video partitions; {verb} {len(plan.archived)} (keeping the newest {keep}; "
          f"{plan.kept_in_use} older ones kept: a run in flight or ended in the last day)")
    for key in plan.archived[:20]:
        print(f"  {key}")
    if len(plan.archived) > 20:
        print(f"  ... and {len(plan.archived) - 20} more")
    return 0
