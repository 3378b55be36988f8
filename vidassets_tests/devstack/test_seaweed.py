"""Real `weed mini` servers: the S3 behaviour the sensor and storage rely on, and clean process handling."""

import io
import os
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from vidassets.devstack.seaweed import SeaweedS3, SeaweedStartError
from vidassets.procs import free_ports, pid_alive, port_is_free

TEST_BUCKET = "vidassets-test"  # created by the s3_server fixture


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_put_get_head_delete(s3_server):
    client = s3_server.client()
    client.put_object(Bucket=TEST_BUCKET, Key="crud/hello.txt", Body=b"hello", ContentType="text/plain")
    got = client.get_object(Bucket=TEST_BUCKET, Key="crud/hello.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain"
    assert client.head_object(Bucket=TEST_BUCKET, Key="crud/hello.txt")["ContentLength"] == 5
    client.delete_object(Bucket=TEST_BUCKET, Key="crud/hello.txt")
    with pytest.raises(ClientError) as err:
        client.head_object(Bucket=TEST_BUCKET, Key="crud/hello.txt")
    assert err.value.response["Error"]["Code"] in ("404", "NoSuchKey")


def test_listing_pages_past_1000_objects(s3_server):
    client = s3_server.client(max_pool_connections=32)
    keys = [f"many/{i:05d}.bin" for i in range(1100)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=TEST_BUCKET, Key=key, Body=key.encode()), keys))
    upload_s = time.monotonic() - started

    pages = list(client.get_paginator("list_objects_v2").paginate(Bucket=TEST_BUCKET, Prefix="many/"))
    listed = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    assert len(pages) >= 2, "1,100 objects must not fit one page (S3 caps pages at 1,000)"
    assert len(pages[0]["Contents"]) == 1000
    assert listed == keys  # complete, no duplicates, in key order
    assert upload_s < 60


def test_multipart_upload_roundtrip(s3_server):
    from boto3.s3.transfer import TransferConfig

    data = os.urandom(12 * 1024 * 1024)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    client = s3_server.client()
    client.upload_fileobj(io.BytesIO(data), TEST_BUCKET, "big/video.mp4", Config=config)
    assert client.head_object(Bucket=TEST_BUCKET, Key="big/video.mp4")["ContentLength"] == len(data)
    out = io.BytesIO()
    client.download_fileobj(TEST_BUCKET, "big/video.mp4", out)
    assert out.getvalue() == data


def test_env_configures_plain_boto3_and_wrong_keys_are_rejected(s3_server, monkeypatch):
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")  # endpoint, keys and region all from the environment
    client.put_object(Bucket=TEST_BUCKET, Key="env/x", Body=b"x")
    assert TEST_BUCKET in [b["Name"] for b in client.list_buckets()["Buckets"]]

    stranger = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id="someone",
        aws_secret_access_key="else",
        region_name="us-east-1",
    )
    with pytest.raises(ClientError):
        stranger.get_object(Bucket=TEST_BUCKET, Key="env/x")


def test_two_servers_at_once_are_isolated(s3_server, tmp_path):
    with (
        SeaweedS3(tmp_path / "a", s3_port=None, buckets=["shared-name"]) as a,
        SeaweedS3(tmp_path / "b", s3_port=None, buckets=["shared-name"]) as b,
    ):
        ports = [set(a.ports.values()), set(b.ports.values()), set(s3_server.ports.values())]
        assert not (ports[0] & ports[1]) and not (ports[0] & ports[2]) and not (ports[1] & ports[2])
        a.client().put_object(Bucket="shared-name", Key="only-in-a", Body=b"a")
        assert b.client().list_objects_v2(Bucket="shared-name").get("KeyCount", 0) == 0
        assert a.client().get_object(Bucket="shared-name", Key="only-in-a")["Body"].read() == b"a"


def test_stop_leaves_no_process_and_frees_ports(tmp_path):
    server = SeaweedS3(tmp_path / "s3", s3_port=None).start()
    pid, ports = server.pid, dict(server.ports)
    assert pid is not None and pid_alive(pid)
    assert not port_is_free(ports["s3.port"])
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 20
    assert not pid_alive(pid) and _group_gone(pid)
    assert all(port_is_free(port) for port in ports.values())
    server.stop()  # idempotent
    assert server.log_path.is_file() and "S3" in server.log_path.read_text()
    assert list((tmp_path / "s3" / "logs").iterdir()), "glog files go to the data dir, not /tmp"
    tmp = Path(os.environ.get("TMPDIR") or "/tmp")
    assert not [p for port in ports.values() for p in tmp.glob(f"seaweedfs-*-{port}.sock")]


def test_callers_aws_credentials_never_reach_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-looking-secret-do-not-leak")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-do-not-leak")
    with SeaweedS3(tmp_path / "s3", s3_port=None, buckets=["b-ok"]) as server:
        environ = Path(f"/proc/{server.pid}/environ")
        if environ.exists():
            raw = environ.read_bytes()
            assert b"do-not-leak" not in raw and b"AKIAREALLOOKINGKEY00" not in raw
        server.client().put_object(Bucket="b-ok", Key="k", Body=b"v")


def test_busy_fixed_port_is_a_clear_error(tmp_path):
    (port,) = free_ports(1)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        server = SeaweedS3(tmp_path / "s3", s3_port=port)
        with pytest.raises(SeaweedStartError, match=f"port {port} .* already in use"):
            server.start()
        assert server.pid is None


def test_early_exit_reports_code_and_log_tail(tmp_path):
    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'fake weed: cannot start' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(SeaweedStartError, match=r"(?s)code 3.*fake weed: cannot start"):
        SeaweedS3(tmp_path / "s3", s3_port=None, binary=str(fake), startup_timeout=10).start()


@pytest.mark.parametrize("fixed_s3_port", [False, True], ids=["all-ports-chosen", "s3-port-only-as-make-run"])
def test_restart_returns_once_existing_objects_are_readable(tmp_path, fixed_s3_port):
    """Objects in two buckets (two volume collections) are readable the moment `restart()` returns, with no
    client retry: ready means the master serves every volume on disk, not only that S3 answers listings. With only
    the S3 port given (`vidassets up`), weed picks the master's port itself."""
    port = free_ports(1)[0] if fixed_s3_port else None
    with SeaweedS3(tmp_path / "s3", s3_port=port, buckets=["first", "second"]) as server:
        client = server.client()
        for bucket in ("first", "second"):
            for i in range(20):
                client.put_object(Bucket=bucket, Key=f"k{i}", Body=f"{bucket}-{i}".encode())
        for _ in range(3):
            server.restart()
            once = server.client(retries={"max_attempts": 1})
            assert once.get_object(Bucket="first", Key="k7")["Body"].read() == b"first-7"
            assert once.get_object(Bucket="second", Key="k19")["Body"].read() == b"second-19"


def test_more_buckets_than_the_disk_has_gigabytes(tmp_path):
    """Each bucket is a collection with volumes of its own; weed's default volume count (free disk / 1 GB) made the
    first PUT into bucket number ~58 fail with InternalError on a disk with 58 GB free, and with it every test that
    came after on the session's server. The count is set explicitly, so the disk stays the only limit."""
    free_gb = shutil.disk_usage(tmp_path).free // 2**30
    buckets = min(free_gb + 5, 400)
    with SeaweedS3(tmp_path / "s3", s3_port=None) as server:
        client = server.client(retries={"max_attempts": 1})
        for i in range(buckets):
            client.create_bucket(Bucket=f"many-{i:03d}")
            client.put_object(Bucket=f"many-{i:03d}", Key="k", Body=b"v")
        assert client.get_object(Bucket=f"many-{buckets - 1:03d}", Key="k")["Body"].read() == b"v"
