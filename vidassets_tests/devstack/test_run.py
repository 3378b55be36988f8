"""Fast checks of `vidassets up` helpers; the full stack is exercised by `vidassets up --once`."""

import itertools
import os
import stat
import subprocess
import sys

import pytest
import yaml

from vidassets.cli import main as cli_main
from vidassets.devstack import run
from vidassets.devstack.follow import output_locations
from vidassets.devstack.services import SUPERVISOR, PidFiles
from vidassets.procs import pid_alive

_numbers = itertools.count()

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def fresh_bucket(s3_server) -> str:
    name = f"run-helpers-{next(_numbers)}"
    s3_server.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(SLEEPER, start_new_session=True)  # noqa: S603 - argument list
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_pid_files_stop_only_our_leftovers(tmp_path, sleeper):
    pids = PidFiles(tmp_path)
    pids.write("daemon", sleeper.pid, SLEEPER)
    pids.write("webserver", sleeper.pid, ["/somewhere/else", "--not-ours"])  # pid reused by another program
    assert pids.live("daemon") == sleeper.pid
    assert pids.live("webserver") is None and not (tmp_path / "webserver.pid").exists()

    said: list[str] = []
    pids.stop_stale(["webserver", "daemon"], say=said.append)
    sleeper.wait(timeout=20)
    assert not pid_alive(sleeper.pid)
    assert said == [f"stopping leftover daemon (pid {sleeper.pid}) from an earlier `vidassets up`"]
    assert not list(tmp_path.glob("*.pid"))


def test_main_needs_config_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli_main(["up"]) == 2
    assert "dagster.yaml not found" in capsys.readouterr().out
    assert not (tmp_path / ".vidassets").exists()


def test_main_refuses_a_second_supervisor(tmp_path, monkeypatch, capsys, sleeper):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")
    PidFiles(tmp_path / ".vidassets" / "pids").write(SUPERVISOR, sleeper.pid, SLEEPER)
    assert cli_main(["up", "--once"]) == 1
    assert f"another `vidassets up` (pid {sleeper.pid})" in capsys.readouterr().out
    assert sleeper.poll() is None, "a live supervisor is never killed"


def test_upload_if_changed_skips_same_size(s3_server, fresh_bucket, tmp_path):
    client = s3_server.client()
    video = tmp_path / "v.mp4"
    video.write_bytes(b"a" * 1000)
    assert run.upload_if_changed(client, video, fresh_bucket, "uploads/v.mp4") is True
    assert run.upload_if_changed(client, video, fresh_bucket, "uploads/v.mp4") is False
    video.write_bytes(b"b" * 1001)
    assert run.upload_if_changed(client, video, fresh_bucket, "uploads/v.mp4") is True
    assert client.head_object(Bucket=fresh_bucket, Key="uploads/v.mp4")["ContentLength"] == 1001


def test_output_locations_group_by_video_prefix(s3_server, fresh_bucket):
    client = s3_server.client()
    vid = "clip-0123456789ab"
    for key in (
        f"uploads/{vid}.mp4",
        f"assets/frames/{vid}/0001.jpg",
        f"assets/frames/{vid}/0002.jpg",
        f"assets/audio/{vid}/audio.flac",
        f"registry/{vid}.json",
        "assets/frames/other-0123456789ab/0001.jpg",
    ):
        client.put_object(Bucket=fresh_bucket, Key=key, Body=b"x" * 10)
    lines = output_locations(client, fresh_bucket, vid, skip_prefix="uploads/")
    assert lines == [
        f"s3://{fresh_bucket}/assets/audio/{vid}/  (1 object, 10 B)",
        f"s3://{fresh_bucket}/assets/frames/{vid}/  (2 objects, 20 B)",
        f"s3://{fresh_bucket}/registry/{vid}.json  (1 object, 10 B)",
    ]


def test_one_code_server_serves_the_webserver_and_the_daemon(tmp_path):
    """`vidassets up` points the webserver and the daemon at one code server on a private Unix socket: with the
    repository's `python_module` workspace the daemon started a fresh code server every 60 s (a whole import of
    the code location each time, CPU the warm workers lose)."""
    from dagster._grpc.client import DagsterGrpcClient

    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: vidassets.definitions\n      location_name: vidassets\n")
    layout = run.Layout(tmp_path)
    layout.state.mkdir()
    stack = run.Stack(layout)
    try:
        workspace, socket = run._start_code_server(layout, stack, dict(os.environ))
        run._wait_for_code_server(socket, stack)
        served = yaml.safe_load(workspace.read_text())["load_from"]
        assert [list(entry) for entry in served] == [["grpc_server"]]
        assert socket is not None and served[0]["grpc_server"]["socket"] == str(socket)
        assert served[0]["grpc_server"]["location_name"] == "vidassets"
        assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o700, "only this user may reach the code server"
        listed = DagsterGrpcClient(socket=str(socket)).list_repositories()
        assert "vidassets.definitions" in listed
    finally:
        stack.stop()
    assert stack.services == {}


def test_a_workspace_of_several_locations_is_left_to_dagster(tmp_path):
    workspace = "load_from:\n  - python_module: vidassets.definitions\n  - python_file: other.py\n"
    (tmp_path / "workspace.yaml").write_text(workspace)
    layout = run.Layout(tmp_path)
    stack = run.Stack(layout)
    assert run._start_code_server(layout, stack, dict(os.environ)) == (tmp_path / "workspace.yaml", None)
    assert stack.services == {}
