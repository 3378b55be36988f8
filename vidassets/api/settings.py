"""The API's section of the settings (`vidassets.settings`, the same variables as the code location)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from vidassets import settings as _settings
from vidassets.api.outbound import AllowList
from vidassets.storage.s3_options import S3Options
from vidassets.workers.queues import MAX_PRIORITY, MIN_PRIORITY

DB_URL_ENV = _settings.API_DB_URL.name
DB_FILE = "vidassets_api.sqlite"
CORS_ENV = _settings.API_CORS_ORIGINS.name
WEBHOOK_ALLOW_PRIVATE_ENV = _settings.WEBHOOK_ALLOW_PRIVATE.name


def parse_endpoint(name: str, raw: str) -> str | None:
    """An http(s) endpoint URL from setting `name`, or None when unset."""
    raw = raw.strip().rstrip("/")
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{name}: {raw!r} is not an endpoint URL like https://s3.example.com")
    return raw


def parse_cors_origins(raw: str) -> tuple[str, ...]:
    """`https://app.example.com,http://localhost:5173` -> origins a browser app may call the API from (and PUT
    uploads from); `*` allows any. An entry that is not an origin (scheme://host[:port], no path) is an error."""
    origins = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        parsed = urlparse(entry)
        if entry != "*" and (parsed.scheme not in ("http", "https") or not parsed.netloc
                             or parsed.path not in ("", "/") or parsed.query or parsed.fragment):
            raise ValueError(f"{CORS_ENV}: {entry!r} is not an origin like https://app.example.com")
        origins.append(entry if entry == "*" else f"{parsed.scheme}://{parsed.netloc}")
    return tuple(origins)


def parse_priority_limit(name: str, raw: str) -> int:
    """A run priority in the one range the API and the sensor share (vidassets.workers.queues)."""
    value = int(raw)
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ValueError(f"{name}: {value} is outside {MIN_PRIORITY}..{MAX_PRIORITY}")
    return value


def default_db_url() -> str:
    """`VIDASSETS_API_DB_URL` (e.g. `postgresql://…` in production), else sqlite beside the Dagster instance."""
    url = _settings.load_settings().api_db_url
    if not url:
        raise RuntimeError(f"set DAGSTER_HOME (sqlite beside the Dagster instance) or {DB_URL_ENV}")
    return url


def _defaults() -> _settings.Settings:
    return _settings.load_settings({})


@dataclass(frozen=True)
class ApiSettings:
    """Field defaults are the settings' defaults (an unset environment); `from_env()` is what the API runs with."""

    bucket: str = field(default_factory=lambda: _defaults().watch.bucket)
    prefix: str = field(default_factory=lambda: _defaults().watch.prefix)
    storage_root: str = field(default_factory=lambda: _defaults().storage.root)
    s3: S3Options = field(default_factory=S3Options)  # how the API reaches S3 (storage root and uploads)
    db_url: str = ""
    max_upload_bytes: int = field(default_factory=lambda: _defaults().api.max_upload_bytes)
    upload_url_ttl_s: int = field(default_factory=lambda: _defaults().api.upload_url_ttl_s)
    view_token_ttl_s: int = field(default_factory=lambda: _defaults().api.view_token_ttl_s)
    dagster_url: str | None = None  # the webserver's GraphQL endpoint, for reprocessing
    webhook_backoff_s: float = field(default_factory=lambda: _defaults().api.webhook_backoff_s)
    webhook_max_attempts: int = field(default_factory=lambda: _defaults().api.webhook_max_attempts)
    # overall deadline of one delivery: DNS, connect, TLS, request, response head
    webhook_timeout_s: float = field(default_factory=lambda: _defaults().api.webhook_timeout_s)
    webhook_allow_private: AllowList = AllowList()  # non-public receivers the operator allows (in-house)
    # registered webhooks per user; deliveries per user queued and not yet delivered or failed
    webhook_max_per_user: int = field(default_factory=lambda: _defaults().api.webhook_max_per_user)
    webhook_max_pending: int = field(default_factory=lambda: _defaults().api.webhook_max_pending)
    # a delivery handed to the workers is re-enqueued when its task has not reported by then (lost task)
    webhook_lease_s: float = field(default_factory=lambda: _defaults().api.webhook_lease_s)
    # per user: deliveries on the workers at once, so one tenant's slow receivers hold at most this many workers
    webhook_sending_per_user: int = field(default_factory=lambda: _defaults().api.webhook_sending_per_user)
    cors_origins: tuple[str, ...] = ()  # browser apps on these origins may call the API
    s3_public_url: str | None = None  # the S3 endpoint as clients reach it, when the API reaches it elsewhere
    public_url: str | None = None  # the API as browsers reach it (https here: view cookies are `Secure`)
    # larger request bodies are refused (413) before they are read
    max_body_bytes: int = field(default_factory=lambda: _defaults().api.max_body_bytes)
    # per user: upload tickets whose URL has not expired yet
    max_uploads_in_flight: int = field(default_factory=lambda: _defaults().api.max_uploads_in_flight)
    # the highest run priority a key may ask for unless `keys create` set one
    default_max_priority: int = field(default_factory=lambda: _defaults().api.default_max_priority)

    @classmethod
    def from_env(cls) -> ApiSettings:
        """The API's settings from the environment (`vidassets.settings`); no API database is an error."""
        api = _settings.load_settings().api
        if not api.db_url:
            raise RuntimeError(f"set DAGSTER_HOME (sqlite beside the Dagster instance) or {DB_URL_ENV}")
        return api
