"""Fixtures for the analytics tests: manifests of three videos and a warehouse root on local disk or on a real
SeaweedFS S3 server (a fresh bucket per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from vidassets.analytics.rows import video_tables
from vidassets.analytics.warehouse import Warehouse
from vidassets_tests.analytics import manifests as m
from vidassets_tests.stores import store

PROCESSED_AT = "2025-05-01T10:05:00+00:00"


@pytest.fixture
def corpus_manifests() -> dict[str, dict[str, dict[str, Any]]]:
    return m.all_manifests()


@pytest.fixture
def corpus_tables(corpus_manifests) -> dict[str, dict[str, pa.Table]]:
    return {vid: video_tables(**parts, processed_at=PROCESSED_AT) for vid, parts in corpus_manifests.items()}


def _s3_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    server = request.getfixturevalue("s3_server")
    bucket = f"analytics-{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=bucket)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{bucket}/corpus"


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path, monkeypatch) -> str:
    """A fresh, empty storage root: a local folder, or s3://<new bucket>/corpus on the session's SeaweedFS."""
    if request.param == "s3":
        return _s3_root(request, monkeypatch)
    return str(tmp_path / "root")


@pytest.fixture
def s3_root(request, monkeypatch) -> str:
    return _s3_root(request, monkeypatch)


@pytest.fixture
def local_root(tmp_path) -> str:
    return str(tmp_path / "root")


def load(root: str, tables: dict[str, dict[str, pa.Table]]) -> Warehouse:
    wh = Warehouse(store(root))
    for vid, video in tables.items():
        wh.write_video(vid, video)
    return wh


@pytest.fixture
def loaded(root, corpus_tables) -> Iterator[Warehouse]:
    """The three videos written to `root` (local and S3)."""
    yield load(root, corpus_tables)
