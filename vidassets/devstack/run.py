"""`vidassets up` (what `make run` calls): the whole platform on one machine, no cloud account needed.

Starts SeaweedFS S3, Redis (the run queue) and the warm run workers, the Dagster webserver and daemon (separate
process groups, logs in `.vidassets/logs/`), uploads a generated sample video where the sensor watches, follows
its run, and keeps serving until Ctrl-C. State lives in `.vidassets/` under the current directory, so a second
`make run` reuses it and does not re-process the sample.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import dagster as dg
import yaml
from botocore.exceptions import ClientError

from vidassets import lifecycle
from vidassets.api.uploads import upload_cors_rules
from vidassets.devstack.follow import RunFollower, output_locations
from vidassets.devstack.seaweed import DEFAULT_S3_PORT, SeaweedS3, SeaweedStartError
from vidassets.devstack.services import SUPERVISOR, PidFiles, Service
from vidassets.procs import LOOPBACK, find_executable, free_ports, port_is_free
from vidassets.settings import load_settings
from vidassets.video_ids import video_id_for
from vidassets.workers.command import WorkerSpec, worker_specs
from vidassets.workers.queues import GPU_QUEUE, QUEUE_TAG
from vidassets.workers.redis_server import RedisServer, RedisStartError
from vidassets.workers.sizing import WorkerPlan, plan_workers

# the local stack watches the default bucket and prefix (and sets them for its services)
_DEFAULTS = load_settings({}).watch
BUCKET = _DEFAULTS.bucket
UPLOAD_PREFIX = _DEFAULTS.prefix
SAMPLE_NAME = "sample-speaking-video.mp4"
SAMPLE_KEY = f"{UPLOAD_PREFIX}{SAMPLE_NAME}"
SAMPLE_SECONDS = 30
WEB_PORT = 3000
REDIS_PORT = 6379
SENSOR_INTERVAL_S = 1
WEB_READY_TIMEOUT_S = 300.0
NO_RUN_HINT_AFTER_S = 90.0
# The daemon first so no run starts while others go away; workers (named gpuN, cpuN) before their broker.
STOP_ORDER = ("api", "daemon", "webserver", "code-server", "workers", "upload-events", "redis", "weed")
CODE_SERVER_READY_TIMEOUT_S = 300.0
# AF_UNIX paths are limited to 108 bytes on Linux; a deeper checkout puts the socket in a private temp folder.
MAX_SOCKET_PATH = 100
WORKER_STOP_TIMEOUT_S = 10.0


class _Stop(Exception):
    """SIGTERM/SIGHUP: leave the serve loop and shut everything down like Ctrl-C does."""


class _Failed(Exception):
    """A step failed; the message has already been explained to the user."""


def say(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class Layout:
    """Everything `vidassets up` writes, under `<root>/.vidassets/`."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / ".vidassets"

    @property
    def dagster_home(self) -> Path:
        return self.state / "dagster_home"

    @property
    def s3(self) -> Path:
        return self.state / "s3"

    @property
    def redis(self) -> Path:
        return self.state / "redis"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def sample(self) -> Path:
        return self.state / "sample" / SAMPLE_NAME

    def rel(self, path: Path) -> str:
        with contextlib.suppress(ValueError):
            return str(path.relative_to(self.root))
        return str(path)


class Stack:
    """The running pieces, stopped in STOP_ORDER whatever happened."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.pids = PidFiles(layout.pids)
        self.s3: SeaweedS3 | None = None
        self.redis: RedisServer | None = None
        self.services: dict[str, Service] = {}
        self.workers: list[str] = []

    def start_service(self, name: str, argv: list[str], env: dict[str, str]) -> Service:
        service = Service(name, argv, self.layout.logs / f"{name}.log")
        self.services[name] = service
        service.start(self.layout.root, env)
        assert service.pid is not None
        self.pids.write(name, service.pid, argv)
        return service

    def check_alive(self) -> None:
        """Raise _Failed (after explaining) if a server died on its own."""
        for name, service in self.services.items():
            code = service.exit_code()
            if code is not None:
                say(
                    f"error: {name} exited unexpectedly (code {code}); "
                    f"last lines of {self.layout.rel(service.log_path)}:"
                )
                say(_indent(service.log_tail()))
                raise _Failed
        for what, server in (("SeaweedFS", self.s3), ("Redis", self.redis)):
            if server is not None and not server.running:
                say(f"error: {what} exited unexpectedly; last lines of {self.layout.rel(server.log_path)}:")
                say(_indent(server.log_tail()))
                raise _Failed

    def stop(self) -> None:
        stopped = []
        for name in STOP_ORDER:
            if name == "weed":
                if self.s3 is not None:
                    self.s3.stop()
                    self.s3 = None
                    stopped.append("SeaweedFS")
            elif name == "redis":
                if self.redis is not None:
                    self.redis.stop()
                    self.redis = None
                    stopped.append("Redis")
            elif name == "workers":
                # All at once: each waits up to WORKER_STOP_TIMEOUT_S for its current run (Celery warm shutdown).
                workers = [self.services.pop(worker) for worker in self.workers if worker in self.services]
                threads = [threading.Thread(target=worker.stop, args=(WORKER_STOP_TIMEOUT_S,)) for worker in workers]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                for worker in self.workers:
                    self.pids.remove(worker)
                if workers:
                    stopped.append(f"{len(workers)} run workers")
            elif name in self.services:
                if self.services[name].pid is not None:
                    names = {"api": "the API", "upload-events": "the upload event relay"}
                    stopped.append(names.get(name, f"dagster-{name}"))
                self.services.pop(name).stop()
            self.pids.remove(name)
        if stopped:
            say(f"stopped {', '.join(stopped)}")


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


@dataclass(frozen=True)
class UpOptions:
    """How `vidassets up` runs (parsed by `vidassets.cli.up`)."""

    no_wait: bool = False  # start, upload the sample, keep serving; do not follow
    once: bool = False  # exit after the sample run ends (code 0 only on success)
    timeout: float = 1800.0  # with `once`: give up after this many seconds


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    """SIGTERM/SIGHUP behave like Ctrl-C; SIGINT works even if a parent shell ignored it (background `&`).
    Restored afterwards, as main() may run inside tests."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """While stopping, a second Ctrl-C must not abandon half-stopped servers (each stop is bounded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def up(args: UpOptions) -> int:
    """The whole platform on this machine until Ctrl-C (or, with `once`, until the sample run ends); its progress
    is printed here: this is the dev stack's own console."""
    layout = Layout(Path.cwd().resolve())
    for required in ("dagster.yaml", "workspace.yaml"):
        if not (layout.root / required).is_file():
            say(f"error: {required} not found in {layout.root}; run `vidassets up` from the repository root")
            return 2
    layout.pids.mkdir(parents=True, exist_ok=True)
    pids = PidFiles(layout.pids)
    other = pids.live(SUPERVISOR)
    if other is not None:
        say(f"error: another `vidassets up` (pid {other}) is running in {layout.root}; stop it first (Ctrl-C there)")
        return 1
    pids.write(SUPERVISOR, os.getpid())
    stack = Stack(layout)
    # `vidassets up` points this process (and the services it starts) at its own Dagster instance, and puts the
    # caller's DAGSTER_HOME back when it ends: a write to the environment, not a setting read.
    saved_home = os.environ.get("DAGSTER_HOME")
    try:
        with _signals():
            return _up(args, layout, stack)
    except (KeyboardInterrupt, _Stop):
        say("\nshutting down...")
        return 130 if args.once else 0
    except _Failed:
        return 1
    finally:
        with _signals_ignored():
            stack.stop()
            pids.remove(SUPERVISOR)
        if saved_home is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved_home


def _up(args: UpOptions, layout: Layout, stack: Stack) -> int:
    # 1. state dir, instance config, leftovers of a previous session
    for directory in (layout.dagster_home, layout.s3, layout.logs, layout.sample.parent):
        directory.mkdir(parents=True, exist_ok=True)
    workers = load_settings().workers
    plan = plan_workers(threads=workers.cpu_threads, workers=workers.gpu_workers,
                        cuda_visible_devices=workers.cuda_visible_devices)
    write_instance_config(layout.root / "dagster.yaml", layout.dagster_home / "dagster.yaml", plan)
    stack.pids.stop_stale(_stale_names(layout), say=say)
    os.environ["DAGSTER_HOME"] = str(layout.dagster_home)
    # Create and migrate the sqlite storage once, here: the webserver and the daemon each doing it at the same
    # time on a fresh DAGSTER_HOME races in alembic ("more than one head present").
    with dg.DagsterInstance.get():
        pass
    say(f"[1/7] state in {layout.rel(layout.state)}/, DAGSTER_HOME={layout.rel(layout.dagster_home)}")

    # 2. S3
    s3 = _start_s3(layout, stack)
    say(f"[2/7] S3 (SeaweedFS) at {s3.endpoint_url}, bucket s3://{BUCKET} (log: {layout.rel(s3.log_path)})")

    # 3. The run queue (Redis) and the warm run workers, which keep their models loaded across runs.
    redis = _start_redis(layout, stack)
    env = _dagster_env(s3, layout, redis)
    workspace, code_socket = _start_code_server(layout, stack, env)  # loads the code while the workers start
    for spec in worker_specs(plan, workers.max_runs_per_child, workers.max_rss_mb):
        _start_worker(stack, spec, env)
    say(f"[3/7] run queue (Redis, password in .vidassets/env) at {redis.address}; {plan.describe()} "
        f"(logs: {layout.rel(layout.logs)}/worker-*.log)")
    # Upload events: the filer's metadata subscription into a Redis stream the sensor drains (vidassets.ingest).
    stack.start_service("upload-events", [find_executable("vidassets"), "upload-events"], env)

    # 4. Dagster webserver + daemon; they load the code location while we build the sample.
    _write_env_file(layout.state / "env", s3, redis.url)
    web_port = _pick_port(WEB_PORT, "the Dagster webserver")
    ui = f"http://{LOOPBACK}:{web_port}"
    _wait_for_code_server(code_socket, stack)
    webserver = stack.start_service(
        "webserver",
        [find_executable("dagster-webserver"), "-h", LOOPBACK, "-p", str(web_port), "-w", str(workspace)],
        env,
    )
    stack.start_service("daemon", [find_executable("dagster-daemon"), "run", "-w", str(workspace)], env)
    say(f"[4/7] starting Dagster webserver and daemon (logs: {layout.rel(layout.logs)}/webserver.log, daemon.log)")
    _start_api(layout, stack, env, ui)

    # 5-6. sample video, uploaded where the sensor watches
    uploaded_at: float | None = None
    sample = _build_sample(layout, required=args.once)
    if sample is not None:
        uploaded_at = time.time()
        if upload_if_changed(s3.client(), sample, BUCKET, SAMPLE_KEY):
            say(f"[6/7] uploaded s3://{BUCKET}/{SAMPLE_KEY} ({sample.stat().st_size / 1e6:.1f} MB)")
        else:
            uploaded_at = None
            say(f"[6/7] s3://{BUCKET}/{SAMPLE_KEY} already uploaded (same size); not re-uploading")
        stack.check_alive()

    # 7. UI
    _wait_for_webserver(ui, webserver, stack)
    say(f"[7/7] Dagster UI: {ui}")

    if sample is None or args.no_wait:
        return _serve(ui, stack)
    succeeded = _follow(args, layout, stack, s3, ui, uploaded_at)
    if args.once:
        return 0 if succeeded else 1
    return _serve(ui, stack)


# ----------------------------------------------------------------------------------------- the HTTP API (issue 11)

API_READY_TIMEOUT_S = 90.0


def _start_code_server(layout: Layout, stack: Stack, env: dict[str, str]) -> tuple[Path, Path | None]:
    """One code server for the webserver and the daemon; returns the workspace file that points them at it and
    the server's socket (None: the repository's workspace, left to Dagster).

    With the repository's `python_module` workspace each of them starts its own code server, and the daemon
    replaces its server every 60 s (`RELOAD_WORKSPACE_INTERVAL`): a fresh process that imports the whole code
    location again, ~4 CPU-s each time, taken from the warm workers on a small machine. `dagster code-server start`
    keeps one process (the UI's "Reload" still reloads it). It serves on a Unix socket in a folder only this user
    can enter. Workspace entries other than `python_module` are kept as they are.
    """
    source = yaml.safe_load((layout.root / "workspace.yaml").read_text()) or {}
    entries = source.get("load_from") or []
    modules = [entry for entry in entries if isinstance(entry, dict) and "python_module" in entry]
    if len(entries) != 1 or len(modules) != 1:
        return layout.root / "workspace.yaml", None  # another kind of location, or several: left to Dagster
    target = modules[0]["python_module"]
    spec = target if isinstance(target, dict) else {"module_name": target}
    folder = layout.state / "code-server"
    folder.mkdir(exist_ok=True)
    if len(str(folder / "grpc.sock")) > MAX_SOCKET_PATH:
        folder = Path(tempfile.mkdtemp(prefix="vidassets-code-"))
    folder.chmod(0o700)
    socket = folder / "grpc.sock"
    socket.unlink(missing_ok=True)
    location = spec.get("location_name") or spec["module_name"]
    argv = [find_executable("dagster"), "code-server", "start", "--socket", str(socket), "-m", spec["module_name"],
            "--location-name", location]
    if spec.get("attribute"):
        argv += ["-a", spec["attribute"]]
    if spec.get("working_directory"):
        argv += ["--working-directory", spec["working_directory"]]
    stack.start_service("code-server", argv, env)
    served = {"grpc_server": {"socket": str(socket), "location_name": location}}
    workspace = layout.state / "workspace.yaml"
    workspace.write_text(yaml.safe_dump(
        {**source, "load_from": [served]}, sort_keys=False))
    return workspace, socket


def _wait_for_code_server(socket: Path | None, stack: Stack) -> None:
    """Until the code server started by `_start_code_server` answers (the webserver does not retry a location it
    cannot reach at start)."""
    from dagster._grpc.client import DagsterGrpcClient  # Dagster's own client for its code servers

    if socket is None:
        return
    service = stack.services["code-server"]
    client = DagsterGrpcClient(socket=str(socket))
    started = time.monotonic()
    while True:
        stack.check_alive()
        try:
            client.list_repositories()  # answers once the code location is loaded (or failed to load)
            return
        except Exception:  # noqa: BLE001 - not listening yet: grpc raises its own and Dagster's errors
            pass
        if time.monotonic() - started > CODE_SERVER_READY_TIMEOUT_S:
            say(f"error: the code server did not load the code location within {CODE_SERVER_READY_TIMEOUT_S:.0f}s; "
                "last lines:")
            say(_indent(service.log_tail()))
            raise _Failed
        time.sleep(0.5)


def _start_api(layout: Layout, stack: Stack, env: dict[str, str], ui: str) -> str:
    """`vidassets api` on a free loopback port; its URL goes to `.vidassets/env` as VIDASSETS_API_URL (with
    DAGSTER_HOME, so `vidassets keys create` finds the key database)."""
    port = free_ports(1, LOOPBACK)[0]
    url = f"http://{LOOPBACK}:{port}"
    service = stack.start_service(
        "api", [find_executable("vidassets"), "api", "--host", LOOPBACK, "--port", str(port)],
        {**env, "VIDASSETS_DAGSTER_URL": ui},
    )
    started = time.monotonic()
    while True:
        stack.check_alive()
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=3) as response:  # noqa: S310 - our loopback URL
                if response.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() - started > API_READY_TIMEOUT_S:
            say(f"error: the API did not answer at {url} within {API_READY_TIMEOUT_S:.0f}s; last lines:")
            say(_indent(service.log_tail()))
            raise _Failed
        time.sleep(0.5)
    with (layout.state / "env").open("a") as fh:
        fh.write(f"export VIDASSETS_API_URL={shlex.quote(url)}\n")
        fh.write(f"export DAGSTER_HOME={shlex.quote(str(layout.dagster_home))}\n")
    say(f"      API: {url} (OpenAPI docs: {url}/docs; log: {layout.rel(service.log_path)})")
    return url


def _start_s3(layout: Layout, stack: Stack) -> SeaweedS3:
    port = _pick_port(DEFAULT_S3_PORT, "SeaweedFS S3")
    stack.s3 = SeaweedS3(layout.s3, s3_port=port, buckets=[BUCKET])
    try:
        stack.s3.start()
    except SeaweedStartError as exc:
        say(f"error: SeaweedFS did not start: {exc}")
        raise _Failed from exc
    assert stack.s3.pid is not None
    stack.pids.write("weed", stack.s3.pid, stack.s3.args)
    _allow_browser_uploads(stack.s3)
    return stack.s3


def _allow_browser_uploads(s3: SeaweedS3) -> None:
    """With `VIDASSETS_API_CORS_ORIGINS` set, a browser app on those origins may PUT to the presigned URLs."""
    try:
        origins = load_settings().api.cors_origins
    except ValueError as exc:
        say(f"error: {exc}")
        raise _Failed from exc
    if origins:
        s3.client().put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": upload_cors_rules(origins)})
        say(f"      browser uploads and API calls allowed from {', '.join(origins)}")


def _start_redis(layout: Layout, stack: Stack) -> RedisServer:
    stack.redis = RedisServer(layout.redis, port=_pick_port(REDIS_PORT, "Redis"))
    try:
        stack.redis.start()
    except RedisStartError as exc:
        say(f"error: Redis did not start: {exc}")
        raise _Failed from exc
    assert stack.redis.pid is not None
    stack.pids.write("redis", stack.redis.pid, stack.redis.argv())
    return stack.redis


def _start_worker(stack: Stack, spec: WorkerSpec, env: dict[str, str]) -> None:
    argv = spec.argv()
    service = Service(spec.name, argv, stack.layout.logs / f"worker-{spec.name}.log")
    stack.services[spec.name] = service
    stack.workers.append(spec.name)
    service.start(stack.layout.root, spec.env(env))
    assert service.pid is not None
    stack.pids.write(spec.name, service.pid, argv)


def _stale_names(layout: Layout) -> list[str]:
    """Pid files an earlier `vidassets up` may have left, in stop order (its workers were named gpuN/cpuN)."""
    workers = sorted(path.stem for path in layout.pids.glob("*.pid") if path.stem.startswith(("gpu", "cpu")))
    return ["api", "daemon", "webserver", "code-server", *workers, "upload-events", "redis", "weed"]


def write_instance_config(source: Path, target: Path, plan: WorkerPlan) -> None:
    """`source` (the repo's dagster.yaml) with the limit that follows from the worker plan: one run per
    gpu-queue worker waiting in the broker (the backlog stays in Dagster's queue, in priority order)."""
    config = yaml.safe_load(source.read_text()) or {}
    for limit in config.get("concurrency", {}).get("runs", {}).get("tag_concurrency_limits", []):
        if limit.get("key") == QUEUE_TAG and limit.get("value") == GPU_QUEUE:
            limit["limit"] = plan.gpu_workers + 1
    target.write_text(yaml.safe_dump(config, sort_keys=False))


def _pick_port(preferred: int, what: str) -> int:
    if port_is_free(preferred, LOOPBACK):
        return preferred
    port = free_ports(1, LOOPBACK)[0]
    say(f"      port {preferred} is in use (by another program?); {what} will use port {port} instead")
    return port


def _dagster_env(s3: SeaweedS3, layout: Layout, redis: RedisServer) -> dict[str, str]:
    """The caller's environment minus any AWS_* (profiles, tokens, endpoints), plus the local stack: what the
    child processes get, so it is copied whole (not a setting read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(s3.env())
    env.update(
        VIDASSETS_STORAGE_ROOT=f"s3://{BUCKET}",
        VIDASSETS_WATCH_BUCKET=BUCKET,
        VIDASSETS_WATCH_PREFIX=UPLOAD_PREFIX,
        VIDASSETS_SENSOR_INTERVAL_S=str(SENSOR_INTERVAL_S),
        DAGSTER_HOME=str(layout.dagster_home),
        VIDASSETS_BROKER_URL=redis.url,
        VIDASSETS_UPLOAD_EVENTS_URL=redis.url,  # the sensor drains upload events (relay: `upload-events`)
        VIDASSETS_FILER_ADDRESS=s3.filer_address(),
        PYTHONUNBUFFERED="1",
    )
    return env


def _write_env_file(path: Path, s3: SeaweedS3, broker: str) -> None:
    """`source .vidassets/env` points a shell (vidassets query/export, boto3, the AWS CLI) at the local stack.
    It holds the key pair generated for the local SeaweedFS (unsigned requests are refused), so it is mode 0600."""
    values = {**s3.env(), "VIDASSETS_STORAGE_ROOT": f"s3://{BUCKET}", "VIDASSETS_BROKER_URL": broker}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items()))


def _build_sample(layout: Layout, required: bool) -> Path | None:
    """The 30 s sample video, built once and cached; None (with a warning) if it cannot be built."""
    out = layout.sample
    if out.is_file() and out.stat().st_size > 0:
        say(f"[5/7] sample video {layout.rel(out)} (cached)")
        return out
    started = time.monotonic()
    partial = out.with_name(f".partial-{out.name}")
    try:
        from vidassets.samples import speaking_video

        produced = speaking_video(partial, seconds=SAMPLE_SECONDS)
        os.replace(Path(produced) if produced else partial, out)
    except Exception as exc:  # noqa: BLE001 - any failure here is reported, the platform still runs
        with contextlib.suppress(OSError):
            partial.unlink()
        say(f"{'error' if required else 'warning'}: could not build the sample video: {type(exc).__name__}: {exc}")
        if required:
            raise _Failed from exc
        say("      the platform still runs; upload your own videos under s3://vidassets/uploads/")
        return None
    took = time.monotonic() - started
    say(f"[5/7] sample video {layout.rel(out)} ({out.stat().st_size / 1e6:.1f} MB, built in {took:.0f}s)")
    return out


def upload_if_changed(client: Any, path: Path, bucket: str, key: str) -> bool:
    """Upload unless an object of the same size is already there (so a second `make run` does not re-run).
    True if it uploaded."""
    size = path.stat().st_size
    try:
        if client.head_object(Bucket=bucket, Key=key)["ContentLength"] == size:
            return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    client.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": "video/mp4"})
    return True


def _wait_for_webserver(ui: str, webserver: Service, stack: Stack) -> None:
    started = time.monotonic()
    next_note = started + 30
    while True:
        stack.check_alive()
        try:
            with urllib.request.urlopen(f"{ui}/server_info", timeout=3) as response:  # noqa: S310 - our loopback URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        now = time.monotonic()
        if now - started > WEB_READY_TIMEOUT_S:
            say(f"error: the Dagster webserver did not answer at {ui} within {WEB_READY_TIMEOUT_S:.0f}s; last lines:")
            say(_indent(webserver.log_tail()))
            raise _Failed
        if now > next_note:
            say(f"      still waiting for the Dagster webserver ({now - started:.0f}s; it loads the code location)")
            next_note = now + 30
        time.sleep(0.5)


def _follow(
    args: UpOptions, layout: Layout, stack: Stack, s3: SeaweedS3, ui: str, uploaded_at: float | None
) -> bool:
    """Print the sample run's progress until it ends; True if it succeeded."""
    video_id = video_id_for(BUCKET, SAMPLE_KEY)
    # A fresh upload must produce a new run; otherwise the newest existing (or first coming) run is it.
    created_after = uploaded_at - 5 if uploaded_at is not None else None
    say(f"following the run for video {video_id} (the sensor checks every {SENSOR_INTERVAL_S}s; Ctrl-C stops all)")
    with dg.DagsterInstance.get() as instance:
        follower = RunFollower(instance, video_id, ui, created_after=created_after, say=say)
        started = time.monotonic()
        hint_at = started + NO_RUN_HINT_AFTER_S
        while True:
            stack.check_alive()
            run = follower.poll()
            if run is not None:
                break
            now = time.monotonic()
            if follower.run_id is None and now > hint_at:
                _no_run_hint(follower, ui, layout, now - started)
                hint_at = now + 300
            if args.once and now - started > args.timeout:
                say(f"error: the sample run did not finish within {args.timeout:.0f}s; see {ui}/runs")
                return False
            time.sleep(2)

        if run.status == dg.DagsterRunStatus.SUCCESS:
            assets = follower.materialized_assets()
            say(f"materialized for partition {video_id}: {', '.join(assets) or '(none)'}")
            locations = output_locations(s3.client(), BUCKET, video_id, skip_prefix=UPLOAD_PREFIX)
            if locations:
                say("outputs (S3 endpoint " + s3.endpoint_url + "):")
                for line in locations:
                    say(f"  {line}")
            _report_warehouse_row(instance, video_id, stack)
            say(f"assets in the UI: {ui}/assets")
            say(f'query the warehouse: uv run vidassets query "select * from videos"  (S3 at {s3.endpoint_url})')
            return True
        say(f"run {run.run_id[:8]} {run.status.value}:")
        for line in follower.failure_messages() or ["(no failure event recorded)"]:
            say(_indent(line))
        say(f"details: {follower.run_url()}")
        return False


def _report_warehouse_row(instance: dg.DagsterInstance, video_id: str, stack: Stack, wait_s: float = 120) -> None:
    """Wait for the `video_tables` run the run-status sensor launches after the pipeline run, and say its status."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        stack.check_alive()
        runs = lifecycle.tables_runs(instance, video_id)
        if runs and runs[0].is_finished:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(lifecycle.TABLES_ASSET), asset_partitions=[video_id]),
                limit=1,
            ).records
            if runs[0].status == dg.DagsterRunStatus.SUCCESS and records:
                metadata = records[0].asset_materialization.metadata
                say(f"warehouse rows written: status={metadata['status'].value}, rows={metadata['rows'].value}")
            else:
                say(f"warehouse run {runs[0].run_id[:8]} {runs[0].status.value}")
            return
        time.sleep(2)
    say("warehouse rows not written yet (the run-status sensor launches `video_tables_job` after each run)")


def _no_run_hint(follower: RunFollower, ui: str, layout: Layout, waited: float) -> None:
    say(f"      no run for {follower.video_id} after {waited:.0f}s. Check the sensor at {ui}/automation and")
    say(f"      {layout.rel(layout.logs)}/daemon.log (the daemon loads the code location before its first tick).")
    older = follower.older_run()
    if older is not None:
        say(
            f"      An earlier run exists ({follower.run_url(older.dagster_run.run_id)}); the sensor does not"
            " re-run an object whose content did not change."
        )


def _serve(ui: str, stack: Stack) -> int:
    say(f"serving at {ui} - press Ctrl-C to stop")
    while True:
        stack.check_alive()
        time.sleep(1)
