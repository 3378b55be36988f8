"""`POST /v1/videos/{id}/reprocess` through a real `dagster-webserver` (GraphQL, as the UI does it) on the test
instance: the new run is queued (no daemon here) for the same partition with the object's tags, and the status
says `queued` for that run."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import httpx

from vidassets.procs import LOOPBACK, find_executable, free_ports, stop_group
from vidassets.sources import TAG_KEY

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 180


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=3) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"dagster-webserver did not answer; log:\n{log.read_text()[-3000:]}")


def test_reprocess_submits_a_queued_run_through_the_webserver(platform, processed, tmp_path):
    port = free_ports(1, LOOPBACK)[0]
    url = f"http://{LOOPBACK}:{port}"
    log = tmp_path / "webserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - argument list
            [find_executable("dagster-webserver"), "-h", LOOPBACK, "-p", str(port), "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    services = platform.api.server.config.app.state.services
    original = services.settings
    try:
        _wait(url, proc, log)
        services.settings = dataclasses.replace(original, dagster_url=url)
        response = httpx.post(f"{platform.url}/v1/videos/{processed.talk_id}/reprocess", headers=processed.headers,
                              timeout=60)
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        run = platform.instance.get_run_by_id(run_id)
        assert run.job_name == "video_pipeline" and run.status.value == "QUEUED"
        assert run.tags["dagster/partition"] == processed.talk_id and run.tags[TAG_KEY].startswith("uploads/alice/")
        video = httpx.get(f"{platform.url}/v1/videos/{processed.talk_id}", headers=processed.headers).json()
        assert video["status"] == "queued" and video["run"]["run_id"] == run_id
    finally:
        services.settings = original
        stop_group(proc.pid, 15, proc=proc)
        # the queued run never starts (no daemon): remove it, so the video is completed again for other tests
        for queued in platform.instance.get_runs():
            if queued.status.value == "QUEUED":
                platform.instance.delete_run(queued.run_id)
