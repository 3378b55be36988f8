"""The low findings, each against the real thing: PostgreSQL (pgserver) for a concurrent first start, the access log
of `vidassets api` for percent-encoded token names, the API's sqlite file mode, trailing newlines in ids and user
names, and FFmpeg killed after its timeout."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vidassets.api.auth import check_user_name
from vidassets.api.db import engine_for
from vidassets.api.objects import owner_of
from vidassets.api.settings import ApiSettings
from vidassets.media import ffmpeg
from vidassets.media.errors import InvalidMediaError
from vidassets.video_ids import is_video_id
from vidassets_tests.deploy.servers import PostgresServer, postgres_bin_dir
from vidassets_tests.security.api_process import api_process, auth

FIRST_START = """
import sys, time
from vidassets.api.auth import server_secret
from vidassets.api.db import engine_for
url, start_at = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time() - 0.02))
while time.time() < start_at:
    pass
print(server_secret(engine_for(url)).hex())
"""
STARTS = 4  # fresh databases, each started by two processes at the same instant


@pytest.fixture(scope="module")
def api(s3_server, tmp_path_factory):
    with api_process(tmp_path_factory.mktemp("lows-api"), s3_server, "sec-lows") as server:
        yield server


def _start_together(url: str, label: str) -> None:
    """Two processes open the API database `url` for the first time at the same instant."""
    start_at = f"{time.time() + 4:.3f}"
    procs = [subprocess.Popen([sys.executable, "-c", FIRST_START, url, start_at],  # noqa: S603
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"{label}: {err.decode()[-3000:]}"
    assert len({out.strip() for out, _ in outputs}) == 1, "both processes use the one secret"


def test_concurrent_first_starts_on_postgres():
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (pgserver wheel or apt postgresql)")
    with PostgresServer(bin_dir) as server:
        for attempt in range(STARTS):
            name = server.create_database(f"first_start_{attempt}")
            _start_together(f"postgresql+psycopg2://{server.user}:{server.password}@{server.host}:{server.port}/{name}",
                            f"postgres start {attempt}")


def test_concurrent_first_starts_on_sqlite(tmp_path):
    for attempt in range(STARTS):
        _start_together(f"sqlite:///{tmp_path / f'api-{attempt}.sqlite'}", f"sqlite start {attempt}")


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("CREATE TABLE IF NOT EXISTS other_writer (i INTEGER)")
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def test_sqlite_first_start_waits_for_another_writer(tmp_path):
    """SQLite ignores the busy timeout when switching to WAL from inside a read (it fails at once with "database
    is locked"): a first start while another process writes the file must wait for it, not crash."""
    path = tmp_path / "api.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(path), "1.5"],  # noqa: S603
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        engine = engine_for(f"sqlite:///{path}")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0


def test_access_log_redacts_percent_encoded_token_names(api):
    key = api.key("lou")
    video_id = api.upload(key)["video_id"]
    token = httpx.post(f"{api.url}/v1/videos/{video_id}/view-token", headers=auth(key)).json()["view_url"]
    token = token.split("token=", 1)[1]
    signature = token.rsplit(".", 1)[1]
    for query in (f"%74oken={token}", f"tok%65n={token}", f"format=vtt&%74%6F%6B%65%6E={token}"):
        # Starlette decodes the name, so each of these authenticates: the log must not show it.
        response = httpx.get(f"{api.url}/v1/videos/{video_id}/transcript?{query}")
        assert response.status_code == 409, response.text  # authenticated; not processed yet
    time.sleep(0.5)
    log = api.log()
    assert "/transcript?" in log and signature not in log and log.count("=[redacted]") >= 3


def test_the_api_database_is_private(api, tmp_path):
    for path in (api.db_path, Path(f"{api.db_path}-wal")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    existing = tmp_path / "vidassets_api.sqlite"
    existing.touch(mode=0o644)
    os.chmod(existing, 0o644)
    engine_for(f"sqlite:///{existing}")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600, "an existing world-readable file is tightened"


def test_trailing_newlines_are_not_ids(api):
    assert is_video_id("talk-0123456789ab") and not is_video_id("talk-0123456789ab\n")
    with pytest.raises(ValueError):
        check_user_name("alice\n")
    settings = ApiSettings(bucket="b", prefix="uploads/")
    assert owner_of(settings, "b", "uploads/alice/20260101000000-0a1b2c3d/talk.mp4") == "alice"
    assert owner_of(settings, "b", "uploads/alice/20260101000000-0a1b2c3d\n/talk.mp4") is None
    key = api.key("nell")
    video_id = api.upload(key)["video_id"]
    assert httpx.get(f"{api.url}/v1/videos/{video_id}", headers=auth(key)).status_code == 200
    assert httpx.get(f"{api.url}/v1/videos/{video_id}%0A", headers=auth(key)).status_code == 404


def test_ffmpeg_is_killed_after_its_timeout_and_names_the_input():
    assert ffmpeg.ffmpeg_timeout(10) == ffmpeg.TIMEOUT_FLOOR_S
    assert ffmpeg.ffmpeg_timeout(3600) == 3600 * ffmpeg.TIMEOUT_PER_MEDIA_S
    assert ffmpeg.ffmpeg_timeout(None) == ffmpeg.TIMEOUT_FLOOR_S
    started = time.monotonic()
    with pytest.raises(InvalidMediaError) as info:  # -re: reads a 10-minute source in real time
        ffmpeg.run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc=duration=600:size=64x64", "-f", "null", "-"],
                          source_name="uploads/alice/slow.mp4", timeout=1.5)
    assert time.monotonic() - started < 15
    assert str(info.value).startswith("uploads/alice/slow.mp4: ffmpeg did not finish within 1.5s")
