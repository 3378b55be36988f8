"""API configuration from the environment, read once per process (the same variables as the code location)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from vidassets.api.outbound import AllowList, parse_allow_list
from vidassets.storage.layout import DEFAULT_ROOT, root_from_env

DB_URL_ENV = "VIDASSETS_API_DB_URL"
DB_FILE = "vidassets_api.sqlite"
CORS_ENV = "VIDASSETS_API_CORS_ORIGINS"
WEBHOOK_ALLOW_PRIVATE_ENV = "VIDASSETS_WEBHOOK_ALLOW_PRIVATE"


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


def default_db_url() -> str:
    """`VIDASSETS_API_DB_URL` (e.g. `postgresql://…` in production), else sqlite beside the Dagster instance."""
    if url := os.environ.get(DB_URL_ENV):
        return url
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError(f"set DAGSTER_HOME (sqlite beside the Dagster instance) or {DB_URL_ENV}")
    return f"sqlite:///{Path(home).expanduser().resolve() / DB_FILE}"


@dataclass(frozen=True)
class ApiSettings:
    bucket: str = "vidassets"
    prefix: str = "uploads/"
    storage_root: str = DEFAULT_ROOT
    db_url: str = ""
    max_upload_bytes: int = 5 * 1024**3
    upload_url_ttl_s: int = 900
    view_token_ttl_s: int = 3600
    dagster_url: str | None = None  # the webserver's GraphQL endpoint, for reprocessing
    webhook_backoff_s: float = 10.0
    webhook_max_attempts: int = 6
    webhook_timeout_s: float = 5.0  # overall deadline of one delivery: DNS, connect, TLS, request, response head
    webhook_allow_private: AllowList = AllowList()  # non-public receivers the operator allows (in-house)
    webhook_max_per_user: int = 20  # registered webhooks per user
    webhook_max_pending: int = 100  # deliveries per user queued and not yet delivered or failed
    cors_origins: tuple[str, ...] = ()  # browser apps on these origins may call the API
    s3_public_url: str | None = None  # the S3 endpoint as clients reach it, when the API reaches it elsewhere

    @classmethod
    def from_env(cls) -> ApiSettings:
        env = os.environ
        prefix = env.get("VIDASSETS_WATCH_PREFIX", "uploads/")
        return cls(
            bucket=env.get("VIDASSETS_WATCH_BUCKET", "vidassets"),
            prefix=prefix if prefix.endswith("/") or not prefix else f"{prefix}/",
            storage_root=root_from_env(),
            db_url=default_db_url(),
            max_upload_bytes=int(float(env.get("VIDASSETS_API_MAX_UPLOAD_MB", "5120")) * 1024**2),
            upload_url_ttl_s=int(env.get("VIDASSETS_API_UPLOAD_TTL_S", "900")),
            view_token_ttl_s=int(env.get("VIDASSETS_API_VIEW_TTL_S", "3600")),
            dagster_url=env.get("VIDASSETS_DAGSTER_URL") or None,
            webhook_backoff_s=float(env.get("VIDASSETS_WEBHOOK_BACKOFF_S", "10")),
            webhook_max_attempts=int(env.get("VIDASSETS_WEBHOOK_MAX_ATTEMPTS", "6")),
            webhook_timeout_s=float(env.get("VIDASSETS_WEBHOOK_TIMEOUT_S", "5")),
            webhook_allow_private=parse_allow_list(env.get(WEBHOOK_ALLOW_PRIVATE_ENV, ""), WEBHOOK_ALLOW_PRIVATE_ENV),
            webhook_max_per_user=int(env.get("VIDASSETS_WEBHOOK_MAX_PER_USER", "20")),
            webhook_max_pending=int(env.get("VIDASSETS_WEBHOOK_MAX_PENDING", "100")),
            cors_origins=parse_cors_origins(env.get(CORS_ENV, "")),
            s3_public_url=parse_endpoint("VIDASSETS_S3_PUBLIC_URL", env.get("VIDASSETS_S3_PUBLIC_URL", "")),
        )
