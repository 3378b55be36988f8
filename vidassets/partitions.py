"""The `videos` dynamic partitions: one partition per uploaded video, keyed by `video_ids.video_id_for`.

Dagster recommends at most 100,000 partitions per asset: the UI's asset and partition pages load every key
(5.5 s and 13 MB at 1M keys on PostgreSQL, `benchmarks/bench_partitions.py`), while ticks, runs and lookups stay
fast. So the live window is bounded: `archive_settled` deletes the partitions of the oldest settled videos beyond
`VIDASSETS_LIVE_PARTITIONS`. An archived video keeps its runs, materializations, files and warehouse rows (all
keyed by video id, none by the partition's row); reprocessing it adds its partition back (`ensure_partition`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

videos_partitions = dg.DynamicPartitionsDefinition(name="videos")

SETTLE_S = 24 * 3600.0  # a video whose runs ended within this is not archived (a retry, a warehouse run follows)


@dataclass(frozen=True)
class ArchivePlan:
    live: int  # partitions before archiving
    archived: list[str]  # oldest first
    kept_in_use: int  # candidates kept: a run in flight or ended within SETTLE_S


def ensure_partition(instance: dg.DagsterInstance, video_id: str) -> bool:
    """The video's partition exists afterwards; True when it had to be added (an archived video run again)."""
    if instance.has_dynamic_partition(videos_partitions.name, video_id):
        return False
    instance.add_dynamic_partitions(videos_partitions.name, [video_id])
    return True


def archive_settled(instance: dg.DagsterInstance, keep_live: int, *, dry_run: bool = False,
                    settle_s: float = SETTLE_S) -> ArchivePlan:
    """Delete the partitions of the oldest videos (in the order they were added) beyond the newest `keep_live`,
    skipping any with a run in flight or one that ended within `settle_s`. Two run queries, then one delete per
    archived key: run it often (daily) so each call archives one day's overflow."""
    from vidassets import lifecycle  # lifecycle reads warehouse files; not needed to define partitions

    if keep_live < 0:
        raise ValueError(f"keep_live must be 0 or more, not {keep_live}")
    keys = instance.get_dynamic_partitions(videos_partitions.name)
    candidates = keys[: max(0, len(keys) - keep_live)]
    if not candidates:
        return ArchivePlan(len(keys), [], 0)
    in_flight = dg.RunsFilter(statuses=list(lifecycle.IN_FLIGHT))
    in_use = {lifecycle.partition_of(run) for run in instance.get_runs(in_flight)}
    recent = dg.RunsFilter(updated_after=datetime.fromtimestamp(time.time() - settle_s, tz=UTC))
    in_use |= {lifecycle.partition_of(run) for run in instance.get_runs(recent)}
    archived = [key for key in candidates if key not in in_use]
    if not dry_run:
        for key in archived:
            instance.delete_dynamic_partition(videos_partitions.name, key)
    return ArchivePlan(len(keys), archived, len(candidates) - len(archived))

