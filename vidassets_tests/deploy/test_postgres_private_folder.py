"""The PostgreSQL test server starts from a project under a private (0700) folder, as in a clone in `/root` or
`mktemp -d`, whatever folder this suite itself runs from.

As root the server runs as an unprivileged user, who cannot enter such a folder: CI passed only while its clone
happened to be traversable. This test copies the server installation into a private folder, as a `.venv` inside
a private clone holds it, and starts the server from there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg2
import pytest

from vidassets_tests.deploy.servers import PostgresServer, _unprivileged_user, can_run_as, postgres_bin_dir


@pytest.fixture
def private_install(tmp_path: Path) -> Path:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.fail("no PostgreSQL server binaries: the locked environment installs the pgserver wheel")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)  # whatever the umask
    site = private / "clone" / ".venv" / "lib" / "python3.11" / "site-packages"
    prefix = site / bin_dir.parent.relative_to(bin_dir.parents[2])  # pgserver/pginstall
    for part in ("bin", "lib", "share"):
        if (bin_dir.parent / part).is_dir():
            shutil.copytree(bin_dir.parent / part, prefix / part, symlinks=True)
    wheel_libs = bin_dir.parents[2] / f"{bin_dir.parents[1].name}.libs"  # the wheel's shared libraries
    if wheel_libs.is_dir():
        shutil.copytree(wheel_libs, site / wheel_libs.name, symlinks=True)
    return prefix / "bin"


def test_server_starts_from_a_project_in_a_private_folder(private_install: Path):
    owner = _unprivileged_user()
    if owner is not None:  # root: the scenario that failed; the server user must really be shut out
        assert not can_run_as(private_install / "postgres", owner)
    with PostgresServer(private_install) as server:
        name = server.create_database("private_folder")
        conn = psycopg2.connect(server.dsn(name))
        try:
            with conn.cursor() as cur:
                cur.execute("select current_database(), current_user")
                assert cur.fetchone() == (name, server.user)
        finally:
            conn.close()
        assert server.root is not None
        staged = server.root / "pginstall"
        assert staged.is_dir() == (owner is not None)
    assert server.root is None  # stopped: the staged copy goes with the cluster
    private = next(p for p in private_install.parents if p.name == "private")
    assert os.stat(private).st_mode & 0o777 == 0o700  # the user's folder was left alone
