"""Fixtures for platform tests: a real Dagster instance, a fresh bucket per test, resources pointed at it,
and real media built from package-shipped files (see vidassets/samples.py)."""

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from vidassets import samples
from vidassets.resources import build_resources
from vidassets.settings import load_settings

_bucket_numbers = itertools.count()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def bucket(s3_server, request) -> str:
    name = f"t{next(_bucket_numbers):03d}-{request.node.name[:40].lower()}"
    name = "".join(c if c.isalnum() or c == "-" else "-" for c in name).strip("-")
    s3_server.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def resources(s3_server, bucket, monkeypatch, tmp_path) -> dict[str, object]:
    """Resources for one test: uploads under s3://<bucket>/uploads/, artifacts under s3://<bucket>/store."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    # Every variable a code location may have bound as a `dg.EnvVar`: one loaded earlier in this process (module
    # caches keep it) resolves them when it ticks or runs, so they must name this test's bucket, not be unset.
    monkeypatch.setenv("VIDASSETS_WATCH_BUCKET", bucket)
    monkeypatch.setenv("VIDASSETS_WATCH_PREFIX", "uploads/")
    monkeypatch.setenv("VIDASSETS_STORAGE_ROOT", f"s3://{bucket}/store")
    monkeypatch.setenv("VIDASSETS_SCRATCH", str(tmp_path / "scratch"))
    tiny = dataclasses.replace(load_settings().models.config, whisper_model="tiny.en")  # `base`: the end-to-end test
    return build_resources(storage_root=f"s3://{bucket}/store", model_config=tiny)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speaking_video(media_dir) -> Path:
    return samples.speaking_video(media_dir / "speaking.mp4", seconds=30.0, width=640, height=360, picture="bikes")


@pytest.fixture(scope="session")
def silent_video(media_dir) -> Path:
    return samples.silent_video(media_dir / "silent.mp4", seconds=4.0)


@pytest.fixture(scope="session")
def photo_video(media_dir) -> Path:
    return samples.photo_video(media_dir / "photos.mp4")


@pytest.fixture(scope="session")
def bad_inputs(media_dir, speaking_video) -> dict[str, bytes]:
    """Undecodable uploads: empty, truncated real video, text renamed .mp4."""
    data = speaking_video.read_bytes()
    return {
        "empty.mp4": b"",
        "truncated.mp4": data[: len(data) // 20],
        "notes.mp4": b"this is a text file, not a video\n" * 20,
    }
