"""The processed video the flow, webhook and page tests share: uploaded through the API (by `vidassets upload`)
with a webhook registered whose receiver fails once, picked up by the sensor, run through the real pipeline (tiny
Whisper) while a thread watches its status, plus an undecodable upload that fails."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from vidassets.cli.api import upload_main
from vidassets_tests.api.harness import WebhookReceiver
from vidassets_tests.api.processing import run_end_sensor, run_pipeline, sensor_tick, write_tables

BROKEN = b"this is a text file, not a video\n" * 50


@dataclass
class Processed:
    key: str
    headers: dict[str, str]
    talk_id: str
    broken_id: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    uploaded_status: dict[str, Any] = field(default_factory=dict)
    hook: dict[str, Any] = field(default_factory=dict)
    receiver: WebhookReceiver | None = None
    run_ids: dict[str, str] = field(default_factory=dict)
    upload_output: str = ""


def _watch(platform, headers: dict[str, str], video_id: str, seen: list, stop: threading.Event) -> None:
    while not stop.is_set():
        response = httpx.get(f"{platform.url}/v1/videos/{video_id}", headers=headers)
        if response.status_code == 200:
            seen.append(response.json())
        time.sleep(0.5)


@pytest.fixture(scope="package")
def processed(platform, short_talk) -> Any:
    key = platform.key_for("alice", max_priority=5)
    headers = {"Authorization": f"Bearer {key}"}
    with WebhookReceiver(fail_first=1) as receiver, pytest.MonkeyPatch.context() as env:
        hook = httpx.post(f"{platform.url}/v1/webhooks", json={"url": receiver.url}, headers=headers)
        assert hook.status_code == 201, hook.text
        env.setenv("VIDASSETS_API_URL", platform.url)
        env.setenv("VIDASSETS_API_KEY", key)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert upload_main([str(short_talk), "--priority", "5"]) == 0
        talk_id = out.getvalue().strip()
        ticket = httpx.post(f"{platform.url}/v1/uploads", headers=headers,
                            json={"filename": "broken.mp4", "content_type": "video/mp4", "size": len(BROKEN)}).json()
        assert httpx.put(ticket["upload_url"], content=BROKEN, headers=ticket["headers"]).status_code == 200
        result = Processed(key, headers, talk_id, ticket["video_id"], hook=hook.json(), receiver=receiver,
                           upload_output=err.getvalue())
        result.uploaded_status = httpx.get(f"{platform.url}/v1/videos/{talk_id}", headers=headers).json()

        requests = {r.partition_key: r for r in sensor_tick(platform.instance, platform.resources)}
        assert {talk_id, ticket["video_id"]} <= set(requests), "the sensor's partitions are the API's video ids"
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(platform, headers, talk_id, result.seen, stop))
        watcher.start()
        try:
            talk_run = run_pipeline(requests[talk_id], platform.instance, platform.resources)
        finally:
            stop.set()
            watcher.join()
        assert talk_run.success
        broken_run = run_pipeline(requests[ticket["video_id"]], platform.instance, platform.resources)
        assert not broken_run.success
        result.run_ids = {"talk": talk_run.run_id, "broken": broken_run.run_id}
        for video_id in requests:
            write_tables(video_id, platform.instance, platform.resources)
        for run_id in result.run_ids.values():
            run_end_sensor(platform.instance, run_id)
        yield result
