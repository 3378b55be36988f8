"""Dagster's side of a corpus: the `videos` dynamic partitions and run creation, against the partition count.

For each size N (default 100,000 and 1,000,000 partition keys), on a real PostgreSQL (pgserver, the production
storage) and optionally the embedded default's sqlite, it times what the platform does per tick and what the UI
does per page:

- `add`: adding the keys (batches of 10,000, as a bulk import's ticks would);
- `tick add 10`: a sensor tick's `add_dynamic_partitions` of 10 new videos;
- `has`: `has_dynamic_partition` (the warehouse sensor's check per finished run);
- `all keys`: `get_dynamic_partitions`, what the asset page's partition health query loads (and its JSON size);
- `run`: creating a run and its enqueue event (what the sensor daemon does per run request), ms per run.

    uv run --frozen python benchmarks/bench_partitions.py [--sizes 100000,1000000] [--sqlite]

Needs the pgserver wheel (a dev dependency). Nothing of ours lists every partition (the API reads upload records,
the warehouse reads its own files): `all keys` is Dagster's UI only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.test_utils import create_run_for_test

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vidassets.partitions import videos_partitions  # noqa: E402
from vidassets_tests.deploy.servers import PostgresServer, postgres_bin_dir  # noqa: E402

BATCH = 10_000
RUNS = 40


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def run_creation_ms(instance: dg.DagsterInstance) -> float:
    started = time.perf_counter()
    for _ in range(RUNS):
        run = create_run_for_test(instance, job_name="video_pipeline")
        instance.report_engine_event("enqueued", run)
    return (time.perf_counter() - started) / RUNS * 1000


def measure(instance: dg.DagsterInstance, sizes: list[int], label: str) -> list[dict[str, Any]]:
    name, rows, present = videos_partitions.name, [], 0
    for n in sizes:
        started = time.perf_counter()
        for start in range(present, n, BATCH):
            instance.add_dynamic_partitions(name, [f"v{i:08d}" for i in range(start, min(n, start + BATCH))])
        add_s, present = time.perf_counter() - started, n
        new = [f"new-{n}-{i}" for i in range(10)]
        _, tick_s = timed(lambda new=new: instance.add_dynamic_partitions(name, new))  # type: ignore[misc]
        _, has_s = timed(lambda n=n: instance.has_dynamic_partition(name, f"v{n // 2:08d}"))  # type: ignore[misc]
        keys, all_s = timed(lambda: instance.get_dynamic_partitions(name))
        row = {"storage": label, "partitions": len(keys), "add_s": round(add_s, 1),
               "tick_add_10_ms": round(tick_s * 1000, 1), "has_ms": round(has_s * 1000, 1),
               "all_keys_s": round(all_s, 2), "all_keys_mb": round(len(json.dumps(keys)) / 1e6, 1),
               "run_ms": round(run_creation_ms(instance), 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--sqlite", action="store_true", help="also the embedded default's sqlite instance")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    if args.sqlite:
        with tempfile.TemporaryDirectory() as home, dg.DagsterInstance.from_config(home) as instance:
            rows += measure(instance, sizes, "sqlite")
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries (pgserver wheel)")
    with PostgresServer(bin_dir) as server, tempfile.TemporaryDirectory() as home:
        database = server.create_database("bench_partitions")
        url = f"postgresql+psycopg2://{server.user}:{server.password}@{server.host}:{server.port}/{database}"
        Path(home, "dagster.yaml").write_text(f"storage:\n  postgres:\n    postgres_url: {url}\n")
        with dg.DagsterInstance.from_config(home) as instance:
            rows += measure(instance, sizes, "postgres")
    print("\n| storage | partitions | add (batches of 10k) | tick adds 10 | has | all keys (UI) | run created |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['storage']} | {r['partitions']:,} | {r['add_s']} s | {r['tick_add_10_ms']} ms | {r['has_ms']} ms "
              f"| {r['all_keys_s']} s, {r['all_keys_mb']} MB | {r['run_ms']} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
