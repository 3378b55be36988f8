"""An S3 endpoint that goes away for some seconds (a restart) delays storage calls instead of failing them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vidassets.devstack.seaweed import SeaweedS3
from vidassets.settings import load_settings
from vidassets.storage import Store


@pytest.fixture
def own_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A server of this test's own: stopping it must not disturb the session's shared one."""
    with SeaweedS3(tmp_path / "s3", s3_port=None, buckets=["outage"]) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


def test_writes_and_reads_wait_out_a_restart(own_server: SeaweedS3, tmp_path: Path) -> None:
    store = Store.for_root("s3://outage/corpus", load_settings().storage.s3)
    store.put_bytes("before.json", b'{"n": 1}')
    own_server.stop()
    restarted = threading.Thread(target=own_server.restart)  # S3 is away while the calls below start
    restarted.start()
    try:
        store.put_bytes("during.json", b'{"n": 2}')
        assert store.get_bytes("before.json") == b'{"n": 1}'
        source = tmp_path / "frame.bin"
        source.write_bytes(bytes(range(256)) * 4096)
        store.put_file("frames/frame.bin", source)
        assert store.download("frames/frame.bin", tmp_path / "copy.bin").read_bytes() == source.read_bytes()
    finally:
        restarted.join()
    assert store.get_bytes("during.json") == b'{"n": 2}'


def test_attempts_come_from_the_standard_aws_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    assert load_settings().storage.s3.max_attempts == 12
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    store = Store.for_root("s3://outage/corpus", load_settings().storage.s3)
    assert store.client.meta.config.retries["total_max_attempts"] == 3  # what the client is built with
    for bad in ("three", "0"):
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", bad)
        with pytest.raises(ValueError, match="AWS_MAX_ATTEMPTS"):
            load_settings().storage  # noqa: B018 - parsing the section is the check
