"""The shipped PgBouncer (docker/pgbouncer: pgbouncer.ini as shipped, started by its entrypoint.sh, Debian's
`pgbouncer`, the version docker/Dockerfile.pgbouncer installs) in front of a real PostgreSQL: it authenticates,
it pools the connection-per-query clients that dagster-postgres is outside the webserver, a Dagster instance
configured like docker/dagster.yaml works through it, and session state never leaks between clients."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.test_utils import create_run_for_test

from vidassets.partitions import videos_partitions
from vidassets_tests.deploy.harness import REPO
from vidassets_tests.deploy.servers import PgBouncerServer, PostgresServer

pytestmark = pytest.mark.skipif(
    not PgBouncerServer.available(), reason="pgbouncer is not installed (Debian: apt-get install pgbouncer)"
)


@pytest.fixture(scope="module")
def pooler(postgres: PostgresServer) -> Iterator[PgBouncerServer]:
    with PgBouncerServer(postgres) as server:
        yield server


def _query(dsn: str, sql: str) -> object:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True  # as dagster-postgres's engines (isolation_level AUTOCOMMIT)
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_clients_authenticate_with_the_database_password(pooler):
    assert _query(pooler.dsn("postgres"), "SELECT 1") == 1
    with pytest.raises(psycopg2.OperationalError, match="authentication failed"):
        _query(pooler.dsn("postgres", password="not-the-password"), "SELECT 1")
    run_dir = pooler.root / "run"
    userlist = run_dir / "userlist.txt"
    assert stat.S_IMODE(userlist.stat().st_mode) == 0o600
    assert "auth_type = scram-sha-256" in (run_dir / "pgbouncer.ini").read_text()
    log = (pooler.root / "pgbouncer.log").read_text()
    assert pooler.upstream.password not in log and "not-the-password" not in log


def test_connection_per_query_clients_share_warm_server_connections(pooler):
    """dagster-postgres outside the webserver connects, runs one query and disconnects (NullPool). Directly,
    each connection is a new backend; through the pooler they reuse one."""
    direct = {_query(pooler.upstream.dsn("postgres"), "SELECT pg_backend_pid()") for _ in range(20)}
    pooled = {_query(pooler.dsn("postgres"), "SELECT pg_backend_pid()") for _ in range(20)}
    assert len(direct) == 20
    assert len(pooled) <= 2, pooled


def test_session_settings_never_reach_another_client(pooler):
    """The webserver sets `statement_timeout` on its pooled connections; with session pooling and DISCARD ALL the
    next client of that server connection starts from the defaults (transaction pooling would hand it over)."""
    conn = psycopg2.connect(pooler.dsn("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET statement_timeout = 1234")
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    conn.close()
    seen = {}
    for _ in range(5):
        conn = psycopg2.connect(pooler.dsn("postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid(), current_setting('statement_timeout')")
            backend, timeout = cur.fetchone()
        conn.close()
        seen[backend] = timeout
    assert pid in seen, "the server connection was reused (else this test proves nothing)"
    assert set(seen.values()) == {"0"}


def test_dagster_instance_from_the_compose_config_works_through_the_pooler(pooler, monkeypatch, tmp_path: Path):
    """docker/dagster.yaml's storage section, its {env: ...} values pointing at the pooler as compose sets them."""
    database = pooler.upstream.create_database("through_pgbouncer")
    for name, value in pooler.env(database).items():
        monkeypatch.setenv(name, value)
    shipped = yaml.safe_load((REPO / "docker" / "dagster.yaml").read_text())
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({"storage": shipped["storage"]}))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.add_dynamic_partitions(videos_partitions.name, ["clip-0123456789ab", "talk-00000000beef"])
        run = create_run_for_test(instance, job_name="video_pipeline", tags={"dagster/partition": "clip-0123456789ab"})
        instance.report_engine_event("enqueued", run)
        assert instance.get_run_by_id(run.run_id) is not None
        assert [r.message for r in instance.all_logs(run.run_id)] == ["enqueued"]
        assert instance.has_dynamic_partition(videos_partitions.name, "talk-00000000beef")
    # The pooler's log holds no password (the instance's URL carries it to pgbouncer only).
    assert os.environ["DAGSTER_PG_PASSWORD"] not in (pooler.root / "pgbouncer.log").read_text()
