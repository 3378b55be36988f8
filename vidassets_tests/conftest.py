"""Shared fixtures. `s3_server` is one real SeaweedFS S3 endpoint per test session, on free loopback ports."""

import os
from collections.abc import Iterator

import pytest

from vidassets.devstack.seaweed import SeaweedS3

# Nothing may download weights: any hub access fails loudly instead.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

pytest_plugins = ["vidassets_tests.platform_fixtures"]

TEST_BUCKET = "vidassets-test"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """Started `SeaweedS3` with bucket `vidassets-test`; use its `client()` / `env()`, never real AWS."""
    with SeaweedS3(tmp_path_factory.mktemp("s3"), s3_port=None, buckets=[TEST_BUCKET]) as server:
        yield server
