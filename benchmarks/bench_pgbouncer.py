"""The daemon's database cost of one sensor tick with N new videos (default 2,000), on PostgreSQL directly and
through the shipped PgBouncer (docker/pgbouncer: its pgbouncer.ini and entrypoint.sh, Debian's `pgbouncer` 1.18).

Per tick the sensor daemon adds the tick's partitions, then creates each run request's run and its enqueue event;
outside the webserver dagster-postgres opens a new connection for every query (SQLAlchemy NullPool,
dagster-io/dagster#33935). This times that work with Dagster's own calls (`add_dynamic_partitions` for the N keys,
then `create_run_for_test` + `report_engine_event` per video, as benchmarks/bench_partitions.py's `run`) on an
instance configured like docker/dagster.yaml (`postgres_db` with hostname, port, user, password), once against
PostgreSQL (pgserver, SCRAM) and once against PgBouncer in front of it. It does not evaluate the sensor itself
(the code server's side; see bench_scale.py).

    nice -n 10 uv run --frozen python benchmarks/bench_pgbouncer.py [--videos 2000]

Needs `pgbouncer` on PATH (Debian: apt-get install pgbouncer) and the pgserver wheel (a dev dependency).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import psycopg2
import yaml
from dagster._core.test_utils import create_run_for_test

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vidassets.partitions import videos_partitions  # noqa: E402
from vidassets_tests.deploy.servers import PgBouncerServer, PostgresServer, postgres_bin_dir  # noqa: E402


def _backends(server: PostgresServer) -> int:
    """Client backends connected to PostgreSQL now (PgBouncer keeps its warm ones; direct clients closed theirs)."""
    conn = psycopg2.connect(server.dsn("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT sum(numbackends) FROM pg_stat_database")
            return int(cur.fetchone()[0] or 0)
    finally:
        conn.close()


def _cpu_of(pid: int | None) -> float:
    """CPU seconds of a process and of its children, live and exited (PostgreSQL's backends are the postmaster's
    children: their CPU lands in its cutime/cstime when they exit)."""
    if pid is None:
        return 0.0
    tick_s = os.sysconf("SC_CLK_TCK")
    total = 0.0
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total += sum(int(v) for v in stat[11:15]) / tick_s  # utime, stime, cutime, cstime
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(v) for v in fields[11:15]) / tick_s
    return total


def tick(env: dict[str, str], videos: int) -> tuple[float, float]:
    """(seconds, CPU seconds of this process) for one tick's worth of partitions, runs and enqueue events."""
    storage = {"postgres": {"postgres_db": {
        "hostname": env["DAGSTER_PG_HOST"], "port": int(env["DAGSTER_PG_PORT"]), "username": env["DAGSTER_PG_USER"],
        "password": env["DAGSTER_PG_PASSWORD"], "db_name": env["DAGSTER_PG_DB"], "scheme": "postgresql+psycopg2",
    }}}
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text(yaml.safe_dump({"storage": storage}))
        with dg.DagsterInstance.from_config(home) as instance:
            keys = [f"bench-{videos}-{i:06d}" for i in range(videos)]
            started, cpu = time.perf_counter(), sum(os.times()[:2])
            instance.add_dynamic_partitions(videos_partitions.name, keys)
            for key in keys:
                run = create_run_for_test(instance, job_name="video_pipeline", tags={"dagster/partition": key})
                instance.report_engine_event("enqueued", run)
            return time.perf_counter() - started, sum(os.times()[:2]) - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="direct then pooled, this many times (alternating)")
    args = parser.parse_args()
    bin_dir = postgres_bin_dir()
    if bin_dir is None or not PgBouncerServer.available():
        raise SystemExit("needs the pgserver wheel and pgbouncer on PATH (apt-get install pgbouncer)")
    with PostgresServer(bin_dir) as server, PgBouncerServer(server) as pooler:
        print(f"{args.videos:,} new videos per tick; PostgreSQL on 127.0.0.1:{server.port}, PgBouncer on "
              f"127.0.0.1:{pooler.port} (session pooling); {os.cpu_count()} cores")
        for attempt, (label, env_of) in enumerate([("direct", server.env), ("pgbouncer", pooler.env)] * args.rounds):
            database = server.create_database(f"bench_{label}_{attempt}")
            before = _cpu_of(server.pid), _cpu_of(pooler.pid)
            seconds, cpu = tick(env_of(database), args.videos)
            postgres_cpu, pooler_cpu = _cpu_of(server.pid) - before[0], _cpu_of(pooler.pid) - before[1]
            print(f"  {label:10s} {seconds:6.1f} s  ({seconds / args.videos * 1000:5.1f} ms a run; CPU s: daemon side "
                  f"{cpu:5.1f}, PostgreSQL {postgres_cpu:5.1f}, PgBouncer {pooler_cpu:4.1f}; load "
                  f"{os.getloadavg()[0]:.1f}); backends connected after: {_backends(server)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
