"""Shared fixtures. `s3_server` is one real SeaweedFS S3 endpoint per test session, on free loopback ports."""

import os
import signal
from collections.abc import Iterator

import pytest

from vidassets.devstack.seaweed import SeaweedS3

# Nothing may download weights: any hub access fails loudly instead.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

pytest_plugins = ["vidassets_tests.platform_fixtures"]


def interrupts_as_in_a_terminal() -> None:
    """A suite started from a background job (`make test &`, nohup, some CI runners) inherits SIGINT ignored.
    Dagster's in-process runs copy SIGINT's handler onto SIGTERM, so every server a test started after the first
    run inherited SIGTERM ignored and took its whole stop timeout (15 s) to be killed."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


interrupts_as_in_a_terminal()  # at import: the main process and each xdist worker

TEST_BUCKET = "vidassets-test"

# `make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadgroup`): most of its time is waiting on
# servers and subprocesses, not CPU. A module's tests stay on one worker (its module fixtures are built once); the
# packages below keep all their tests on one worker (package fixtures: one API platform, one processed talk).
ONE_WORKER_PACKAGES = ("vidassets_tests/api/",)
# The longest groups start first, so neither worker finishes its share long before the other.
LONGEST_FIRST = ("vidassets_tests/api/", "vidassets_tests/workers/test_worker_path.py",
                 "vidassets_tests/test_end_to_end.py", "vidassets_tests/test_upload_events.py",
                 "vidassets_tests/test_cli.py")


def _group(item: pytest.Item) -> str:
    path = item.nodeid.split("::", 1)[0]
    return next((package for package in ONE_WORKER_PACKAGES if path.startswith(package)), path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        group = _group(item)
        return next((i for i, first in enumerate(LONGEST_FIRST) if group.startswith(first)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: collection order within a rank
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """Started `SeaweedS3` with bucket `vidassets-test`; use its `client()` / `env()`, never real AWS."""
    with SeaweedS3(tmp_path_factory.mktemp("s3"), s3_port=None, buckets=[TEST_BUCKET]) as server:
        yield server
