"""Every setting of vidassets: the environment variables a deployment sets, read in this one place.

`VARIABLES` lists each variable with its default, written once (model defaults are `ModelConfig`'s, the S3
attempts `S3Options`', GPU run sizes `GpuRunSpec`'s); the README's tables document exactly these, with these
defaults (vidassets_tests/test_settings.py). The lower
layers (media, ml, storage, analytics) never read the environment: the callers take a section of `Settings` and pass
plain values down. `load_settings()` is called when a process needs the values (the code location when it loads,
a command when it starts), never at the import of a module that a test may import before setting variables.

Variables that belong to other tools stay theirs: credentials are read by the AWS SDKs' own chains, Dagster reads
its own `DAGSTER_*` (only `DAGSTER_HOME` is read here, for the API database), and child processes get their
environment passed through (devstack, workers, launchers).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from vidassets.model_config import ModelConfig

if TYPE_CHECKING:
    from vidassets.api.settings import ApiSettings
    from vidassets.storage.s3_options import S3Options


T = TypeVar("T")


def _model_default(name: str) -> str | None:
    value = ModelConfig.__dataclass_fields__[name].default
    return None if value is None else str(value)


def _gpu_default(name: str) -> str:
    from vidassets.deploy.gpu_tags import GpuRunSpec

    value = GpuRunSpec.__dataclass_fields__[name].default
    return ",".join(f"{k}={v}" for k, v in value) if isinstance(value, tuple) else str(value)


def _gpu_launchers() -> tuple[str, ...]:
    from vidassets.deploy.gpu_tags import LAUNCHERS

    return LAUNCHERS


def _s3_attempts_default() -> str:
    from vidassets.storage.s3_options import S3Options  # lazily: the storage package imports pyarrow

    return str(S3Options.__dataclass_fields__["max_attempts"].default)


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, its default (None: unset) and how the README states that default."""

    name: str
    default: str | None | Callable[[], str | None] = None
    shown: str | None = None  # the README's default cell when it is not simply the default
    keep_empty: bool = False  # an empty value is a value, not "unset" (the watch prefix: the whole bucket)

    @property
    def default_value(self) -> str | None:
        return self.default() if callable(self.default) else self.default

    def documented_default(self) -> str:
        """How the README's table must begin this variable's default cell."""
        if self.shown is not None:
            return self.shown
        value = self.default_value
        if value is None:
            return "unset"
        return value if value.replace(".", "", 1).isdigit() else f"`{value}`"

    def read(self, values: Mapping[str, str]) -> str | None:
        raw = values.get(self.name)
        if raw is None or (raw == "" and not self.keep_empty):
            return self.default_value
        return raw


def _model(name: str, field_name: str, shown: str | None = None) -> Variable:
    return Variable(name, functools.partial(_model_default, field_name), shown)


# --- every variable, in the order of the README's table ------------------------------------------------------
STORAGE_ROOT = Variable("VIDASSETS_STORAGE_ROOT", "s3://vidassets")
WATCH_BUCKET = Variable("VIDASSETS_WATCH_BUCKET", "vidassets")
WATCH_PREFIX = Variable("VIDASSETS_WATCH_PREFIX", "uploads/", keep_empty=True)
SENSOR_INTERVAL_S = Variable("VIDASSETS_SENSOR_INTERVAL_S", "30")
UPLOAD_EVENTS_URL = Variable("VIDASSETS_UPLOAD_EVENTS_URL", shown="unset: the sensor lists the prefix")
LIVE_PARTITIONS = Variable("VIDASSETS_LIVE_PARTITIONS", "100000")
FILER_ADDRESS = Variable("VIDASSETS_FILER_ADDRESS", "127.0.0.1:8888")
SCRATCH = Variable("VIDASSETS_SCRATCH", shown="`$TMPDIR/vidassets-<uid>`")
AWS_ENDPOINT_URL_S3 = Variable("AWS_ENDPOINT_URL_S3")
AWS_ENDPOINT_URL = Variable("AWS_ENDPOINT_URL")
AWS_REGION = Variable("AWS_REGION")
AWS_DEFAULT_REGION = Variable("AWS_DEFAULT_REGION")
AWS_MAX_ATTEMPTS = Variable("AWS_MAX_ATTEMPTS", _s3_attempts_default)
S3_PUBLIC_URL = Variable("VIDASSETS_S3_PUBLIC_URL")
FFMPEG = Variable("VIDASSETS_FFMPEG")

DEVICE = _model("VIDASSETS_DEVICE", "device")
CPU_THREADS = _model("VIDASSETS_CPU_THREADS", "cpu_threads", shown="cores available")
NUDENET_MODEL = _model("VIDASSETS_NUDENET_MODEL", "nudenet_model_path")
WHISPER_MODEL = _model("VIDASSETS_WHISPER_MODEL", "whisper_model")
COMPUTE_TYPE = _model("VIDASSETS_COMPUTE_TYPE", "compute_type")
BATCH_SIZE = _model("VIDASSETS_BATCH_SIZE", "batch_size")
LANGUAGE = _model("VIDASSETS_LANGUAGE", "language", shown="detected")
VAD = _model("VIDASSETS_VAD", "vad_method")
ALIGN_MODEL = _model("VIDASSETS_ALIGN_MODEL", "align_model")
DIARIZATION_MODEL = _model("VIDASSETS_DIARIZATION_MODEL", "diarization_model")
DIARIZER = _model("VIDASSETS_DIARIZER", "offline_diarizer")
MIN_SPEAKERS = _model("VIDASSETS_MIN_SPEAKERS", "min_speakers", shown="automatic")
MAX_SPEAKERS = _model("VIDASSETS_MAX_SPEAKERS", "max_speakers", shown="automatic")
LLM_MODEL = _model("VIDASSETS_LLM_MODEL", "llm_model")
TEXT_MODERATION_MODEL = _model("VIDASSETS_TEXT_MODERATION_MODEL", "text_moderation_model")
TEXT_MODERATION_LANGUAGES = _model("VIDASSETS_TEXT_MODERATION_LANGUAGES", "text_moderation_languages")
TEXT_MODERATION_LABELS = _model("VIDASSETS_TEXT_MODERATION_LABELS", "text_moderation_labels")
SHOT_DETECTOR = _model("VIDASSETS_SHOT_DETECTOR", "shot_detector")
MODEL_CACHE = Variable("VIDASSETS_MODEL_CACHE", "~/.cache/vidassets/models")
HF_TOKEN = Variable("HF_TOKEN")
HF_HUB_OFFLINE = Variable("HF_HUB_OFFLINE")

BROKER_URL = Variable("VIDASSETS_BROKER_URL", "redis://127.0.0.1:6379/0")
RESULT_BACKEND = Variable("VIDASSETS_RESULT_BACKEND", shown="the broker")
GPU_WORKERS = Variable("VIDASSETS_GPU_WORKERS", shown="cores / threads (CPU), GPUs (GPU host)")
WORKER_MAX_RUNS = Variable("VIDASSETS_WORKER_MAX_RUNS", "500")
WORKER_MAX_RSS_MB = Variable("VIDASSETS_WORKER_MAX_RSS_MB", "0", shown="off")
WORKER_PRELOAD = Variable("VIDASSETS_WORKER_PRELOAD")
CUDA_VISIBLE_DEVICES = Variable("CUDA_VISIBLE_DEVICES", shown="unset: every GPU")
RUN_LAUNCHER = Variable("VIDASSETS_RUN_LAUNCHER", lambda: _gpu_launchers()[0])
GPU_COUNT = Variable("VIDASSETS_GPU_COUNT", functools.partial(_gpu_default, "gpus"))
GPU_VCPU = Variable("VIDASSETS_GPU_VCPU", functools.partial(_gpu_default, "vcpu"))
GPU_MEMORY_MIB = Variable("VIDASSETS_GPU_MEMORY_MIB", functools.partial(_gpu_default, "memory_mib"))
ECS_GPU_CAPACITY_PROVIDER = Variable("VIDASSETS_ECS_GPU_CAPACITY_PROVIDER",
                                     functools.partial(_gpu_default, "ecs_capacity_provider"))
BATCH_GPU_JOB_QUEUE = Variable("VIDASSETS_BATCH_GPU_JOB_QUEUE", functools.partial(_gpu_default, "batch_job_queue"))
K8S_GPU_NODE_SELECTOR = Variable("VIDASSETS_K8S_GPU_NODE_SELECTOR",
                                 functools.partial(_gpu_default, "k8s_node_selector"))
K8S_GPU_TOLERATION_KEY = Variable("VIDASSETS_K8S_GPU_TOLERATION_KEY",
                                  functools.partial(_gpu_default, "k8s_toleration_key"))
SPOT_MAX_RETRIES = Variable("VIDASSETS_SPOT_MAX_RETRIES", functools.partial(_gpu_default, "max_retries"))
PRICE_PER_HOUR = Variable("VIDASSETS_PRICE_PER_HOUR", shown="`cpu=0.085,cuda=0.526`")
GIT_SHA = Variable("VIDASSETS_GIT_SHA")

DAGSTER_HOME = Variable("DAGSTER_HOME")
API_DB_URL = Variable("VIDASSETS_API_DB_URL", shown="unset: `$DAGSTER_HOME/vidassets_api.sqlite`")
API_MAX_UPLOAD_MB = Variable("VIDASSETS_API_MAX_UPLOAD_MB", "5120")
API_UPLOAD_TTL_S = Variable("VIDASSETS_API_UPLOAD_TTL_S", "900")
API_VIEW_TTL_S = Variable("VIDASSETS_API_VIEW_TTL_S", "3600")
DAGSTER_URL = Variable("VIDASSETS_DAGSTER_URL")
WEBHOOK_BACKOFF_S = Variable("VIDASSETS_WEBHOOK_BACKOFF_S", "10")
WEBHOOK_MAX_ATTEMPTS = Variable("VIDASSETS_WEBHOOK_MAX_ATTEMPTS", "6")
WEBHOOK_TIMEOUT_S = Variable("VIDASSETS_WEBHOOK_TIMEOUT_S", "5")
WEBHOOK_ALLOW_PRIVATE = Variable("VIDASSETS_WEBHOOK_ALLOW_PRIVATE", shown="unset: public receivers only")
WEBHOOK_MAX_PER_USER = Variable("VIDASSETS_WEBHOOK_MAX_PER_USER", "20")
WEBHOOK_MAX_PENDING = Variable("VIDASSETS_WEBHOOK_MAX_PENDING", "100")
WEBHOOK_LEASE_S = Variable("VIDASSETS_WEBHOOK_LEASE_S", "60")
WEBHOOK_SENDING_PER_USER = Variable("VIDASSETS_WEBHOOK_SENDING_PER_USER", "1")
API_CORS_ORIGINS = Variable("VIDASSETS_API_CORS_ORIGINS")
API_URL = Variable("VIDASSETS_API_URL")
API_KEY = Variable("VIDASSETS_API_KEY")
API_PUBLIC_URL = Variable("VIDASSETS_API_PUBLIC_URL")
API_MAX_BODY_KB = Variable("VIDASSETS_API_MAX_BODY_KB", "64")
API_MAX_UPLOADS_IN_FLIGHT = Variable("VIDASSETS_API_MAX_UPLOADS_IN_FLIGHT", "20")
API_DEFAULT_MAX_PRIORITY = Variable("VIDASSETS_API_DEFAULT_MAX_PRIORITY", "0")

VARIABLES: tuple[Variable, ...] = tuple(v for v in globals().values() if isinstance(v, Variable))


# --- helpers ------------------------------------------------------------------------------------------------


def default_scratch_dir() -> Path:
    """`$TMPDIR/vidassets-<uid>`: per user, so a folder another user (or root) left behind is never in the way."""
    return Path(tempfile.gettempdir()) / f"vidassets-{os.getuid()}"


def normalize_prefix(prefix: str) -> str:
    """The watched prefix as an S3 key prefix: `incoming` and `incoming/` both mean the folder `incoming/`;
    empty means the whole bucket. The sensor lists it and the API writes under it, so they always agree."""
    prefix = prefix.strip()
    return prefix if not prefix or prefix.endswith("/") else f"{prefix}/"


def _int(variable: Variable, values: Mapping[str, str], *, minimum: int | None = None) -> int | None:
    raw = variable.read(values)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{variable.name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{variable.name}={value} must be at least {minimum}")
    return value


def _required_int(variable: Variable, values: Mapping[str, str], *, minimum: int | None = None) -> int:
    value = _int(variable, values, minimum=minimum)
    if value is None:
        raise ValueError(f"{variable.name} has no default")
    return value


def _float(variable: Variable, values: Mapping[str, str]) -> float:
    raw = variable.read(values) or ""
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{variable.name}={raw!r} is not a number") from None


def _flag(variable: Variable, values: Mapping[str, str]) -> bool:
    """`1`, `true`, `yes`, `on` (as huggingface_hub reads its own flags)."""
    return (variable.read(values) or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


# --- sections -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageSettings:
    root: str  # the storage root, s3://bucket[/prefix] or a folder
    scratch: str  # local working folder (content-addressed cache)
    s3: S3Options
    ffmpeg: str | None  # None: the imageio-ffmpeg wheel's binary


@dataclass(frozen=True)
class WatchSettings:
    bucket: str
    prefix: str  # normalised: "" or ending in "/"
    sensor_interval_s: int
    events_url: str = ""  # the upload event queue (redis://… stream or an SQS queue URL); "": listing
    filer_address: str = ""  # SeaweedFS filer host:port, for the event relay (`vidassets upload-events`)
    live_partitions: int = 100_000  # `vidassets partitions archive` keeps this many newest video partitions


@dataclass(frozen=True)
class ModelSettings:
    config: ModelConfig  # model choice: what code versions name and runs load
    cache_dir: Path  # joined offline weights, NLTK tables
    hub_offline: bool  # HF_HUB_OFFLINE: a hub id is an error, never a download
    hf_token: str | None = field(default=None, repr=False)  # held by the model loader only


@dataclass(frozen=True)
class WorkerSettings:
    broker_url: str
    result_backend: str
    gpu_workers: int | None  # None: from the host (see workers/sizing.py)
    cpu_threads: int | None  # None: from the host
    max_runs_per_child: int
    max_rss_mb: int  # 0: off
    preload: bool  # load the models before the first run
    cuda_visible_devices: str | None  # None: every GPU of the host


@dataclass(frozen=True)
class ClientSettings:
    """What `vidassets upload`/`status` use to reach a remote API."""

    url: str | None
    key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    """A snapshot of the variables in `VARIABLES`; each section is parsed when first used, so a bad API setting
    fails the API (one line naming it) and not the code location."""

    values: Mapping[str, str] = field(repr=False)

    def _parse(self, name: str, build: Callable[[], T]) -> T:
        cache: dict[str, Any] = self.__dict__.setdefault("_sections", {})  # frozen: sections cached beside
        if name not in cache:
            cache[name] = build()
        return cache[name]

    @property
    def storage(self) -> StorageSettings:
        def build() -> StorageSettings:
            from vidassets.storage.s3_options import S3Options

            v = self.values
            s3 = S3Options(
                endpoint=AWS_ENDPOINT_URL_S3.read(v) or AWS_ENDPOINT_URL.read(v),
                region=AWS_REGION.read(v) or AWS_DEFAULT_REGION.read(v),
                max_attempts=_required_int(AWS_MAX_ATTEMPTS, v, minimum=1),
            )
            scratch = SCRATCH.read(v) or str(default_scratch_dir())
            return StorageSettings(root=STORAGE_ROOT.read(v) or "", scratch=scratch, s3=s3, ffmpeg=FFMPEG.read(v))

        return self._parse("storage", build)

    @property
    def watch(self) -> WatchSettings:
        def build() -> WatchSettings:
            v = self.values
            return WatchSettings(bucket=WATCH_BUCKET.read(v) or "", prefix=normalize_prefix(WATCH_PREFIX.read(v) or ""),
                                 sensor_interval_s=_required_int(SENSOR_INTERVAL_S, v, minimum=1),
                                 events_url=UPLOAD_EVENTS_URL.read(v) or "", filer_address=FILER_ADDRESS.read(v) or "",
                                 live_partitions=_required_int(LIVE_PARTITIONS, v, minimum=0))

        return self._parse("watch", build)

    @property
    def models(self) -> ModelSettings:
        def build() -> ModelSettings:
            v = self.values
            # every field from its variable; an unset one reads ModelConfig's own default (see `_model`)
            fields: dict[str, Any] = {
                "device": DEVICE.read(v), "cpu_threads": _int(CPU_THREADS, v),
                "nudenet_model_path": NUDENET_MODEL.read(v), "whisper_model": WHISPER_MODEL.read(v),
                "compute_type": COMPUTE_TYPE.read(v), "batch_size": _int(BATCH_SIZE, v), "language": LANGUAGE.read(v),
                "vad_method": VAD.read(v), "align_model": ALIGN_MODEL.read(v),
                "diarization_model": DIARIZATION_MODEL.read(v), "offline_diarizer": DIARIZER.read(v),
                "min_speakers": _int(MIN_SPEAKERS, v), "max_speakers": _int(MAX_SPEAKERS, v),
                "llm_model": LLM_MODEL.read(v), "text_moderation_model": TEXT_MODERATION_MODEL.read(v),
                "text_moderation_languages": TEXT_MODERATION_LANGUAGES.read(v),
                "text_moderation_labels": TEXT_MODERATION_LABELS.read(v),
                "shot_detector": SHOT_DETECTOR.read(v),
            }
            config = ModelConfig(**fields)
            return ModelSettings(config=config, cache_dir=Path(MODEL_CACHE.read(v) or "").expanduser(),
                                 hub_offline=_flag(HF_HUB_OFFLINE, v), hf_token=HF_TOKEN.read(v))

        return self._parse("models", build)

    @property
    def workers(self) -> WorkerSettings:
        def build() -> WorkerSettings:
            v = self.values
            broker = BROKER_URL.read(v) or ""
            return WorkerSettings(
                broker_url=broker, result_backend=RESULT_BACKEND.read(v) or broker,
                gpu_workers=_int(GPU_WORKERS, v, minimum=1), cpu_threads=_int(CPU_THREADS, v) or None,
                max_runs_per_child=_required_int(WORKER_MAX_RUNS, v, minimum=0),
                max_rss_mb=_required_int(WORKER_MAX_RSS_MB, v, minimum=0),
                preload=WORKER_PRELOAD.read(v) == "1", cuda_visible_devices=CUDA_VISIBLE_DEVICES.read(v),
            )

        return self._parse("workers", build)

    @property
    def client(self) -> ClientSettings:
        return ClientSettings(url=API_URL.read(self.values), key=API_KEY.read(self.values))

    @property
    def prices(self) -> str | None:
        """`VIDASSETS_PRICE_PER_HOUR` as written (`vidassets.analytics.costs.parse_prices` reads it)."""
        return PRICE_PER_HOUR.read(self.values)

    @property
    def git_sha(self) -> str | None:
        return GIT_SHA.read(self.values)

    @property
    def dagster_home(self) -> str | None:
        return DAGSTER_HOME.read(self.values)

    @property
    def api_db_url(self) -> str | None:
        """`VIDASSETS_API_DB_URL`, else sqlite beside the Dagster instance, else None (no API database)."""
        from vidassets.api.settings import DB_FILE

        if url := API_DB_URL.read(self.values):
            return url
        home = self.dagster_home
        return f"sqlite:///{Path(home).expanduser().resolve() / DB_FILE}" if home else None

    @property
    def api(self) -> ApiSettings:
        """The API's section (db_url "" when there is no API database; `ApiSettings.from_env` refuses that)."""

        def build() -> ApiSettings:
            from vidassets.api.outbound import parse_allow_list
            from vidassets.api.settings import ApiSettings, parse_cors_origins, parse_endpoint, parse_priority_limit

            v = self.values
            return ApiSettings(
                bucket=self.watch.bucket,
                prefix=self.watch.prefix,
                storage_root=self.storage.root,
                s3=self.storage.s3,
                db_url=self.api_db_url or "",
                max_upload_bytes=int(_float(API_MAX_UPLOAD_MB, v) * 1024**2),
                upload_url_ttl_s=_required_int(API_UPLOAD_TTL_S, v),
                view_token_ttl_s=_required_int(API_VIEW_TTL_S, v),
                dagster_url=DAGSTER_URL.read(v),
                webhook_backoff_s=_float(WEBHOOK_BACKOFF_S, v),
                webhook_max_attempts=_required_int(WEBHOOK_MAX_ATTEMPTS, v),
                webhook_timeout_s=_float(WEBHOOK_TIMEOUT_S, v),
                webhook_allow_private=parse_allow_list(WEBHOOK_ALLOW_PRIVATE.read(v) or "", WEBHOOK_ALLOW_PRIVATE.name),
                webhook_max_per_user=_required_int(WEBHOOK_MAX_PER_USER, v),
                webhook_max_pending=_required_int(WEBHOOK_MAX_PENDING, v),
                webhook_lease_s=_float(WEBHOOK_LEASE_S, v),
                webhook_sending_per_user=_required_int(WEBHOOK_SENDING_PER_USER, v, minimum=1),
                cors_origins=parse_cors_origins(API_CORS_ORIGINS.read(v) or ""),
                s3_public_url=parse_endpoint(S3_PUBLIC_URL.name, S3_PUBLIC_URL.read(v) or ""),
                public_url=parse_endpoint(API_PUBLIC_URL.name, API_PUBLIC_URL.read(v) or ""),
                max_body_bytes=int(_float(API_MAX_BODY_KB, v) * 1024),
                max_uploads_in_flight=_required_int(API_MAX_UPLOADS_IN_FLIGHT, v),
                default_max_priority=parse_priority_limit(
                    API_DEFAULT_MAX_PRIORITY.name, API_DEFAULT_MAX_PRIORITY.read(v) or "0"
                ),
            )

        return self._parse("api", build)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process, from `env` (default: the environment, read now, not at import)."""
    env = os.environ if env is None else env
    return Settings({v.name: env[v.name] for v in VARIABLES if v.name in env})
