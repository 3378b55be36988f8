"""Limits before work, against `vidassets api` in its own process (real SeaweedFS, sqlite, a real Dagster instance):
oversized bodies are refused before they are read (resident memory measured), priorities stay in the one range
the sensor also uses and under the key's maximum, a user holds a bounded number of open upload URLs, a video has
at most one reprocess in flight, and a second PUT to an upload URL does not start a run."""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import dagster as dg
import httpx
import pytest
from dagster_aws.s3 import S3Resource

from vidassets import lifecycle
from vidassets.procs import LOOPBACK
from vidassets.resources.uploads import UploadsBucket
from vidassets.sensors import s3_video_sensor
from vidassets.workers.queues import DAGSTER_PRIORITY_TAG, MAX_PRIORITY, MIN_PRIORITY, PriorityError, parse_priority
from vidassets_tests.security.api_process import VIDEO, api_process, auth

BUCKET = "sec-limits"
MAX_UPLOADS = 3
MIB = 1024 * 1024
ATTACK_BYTES = 120 * MIB
ALLOWED_RSS_GROWTH_KIB = 20 * 1024  # the unlimited API grew by ~370 MB reading such a body


class FakeWebserver:
    """Stands in for the Dagster webserver's GraphQL endpoint: answers every query with a PythonError carrying
    internal text, and records the Authorization headers it got."""

    INTERNAL = "dagster._core.errors.DagsterUserCodeUnreachableError at /opt/dagster/app/secret_module.py"

    def __enter__(self) -> FakeWebserver:
        fake = self
        self.authorizations: list[str | None] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.authorizations.append(self.headers.get("Authorization"))
                body = json.dumps({"data": {"repositoriesOrError": {
                    "__typename": "PythonError", "message": FakeWebserver.INTERNAL}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webserver():
    with FakeWebserver() as fake:
        yield fake


@pytest.fixture(scope="module")
def api(s3_server, tmp_path_factory, webserver):
    env = {
        "VIDASSETS_API_MAX_UPLOADS_IN_FLIGHT": str(MAX_UPLOADS),
        "VIDASSETS_DAGSTER_URL": f"http://ops:s3cr%40t-pass@{LOOPBACK}:{webserver.port}/",
    }
    with api_process(tmp_path_factory.mktemp("limits-api"), s3_server, BUCKET, env) as server:
        yield server


@pytest.fixture(scope="module")
def instance(api):
    with dg.DagsterInstance.from_config(str(api.home)) as shared:  # the API process's instance
        yield shared


def _exchange(url: str, head: bytes, body: Iterator[bytes]) -> tuple[int, int]:
    """Send `head`, then body chunks until the server answers; (status code, body bytes sent)."""
    parsed = urlparse(url)
    sent = 0
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as sock:
        sock.sendall(head)
        for chunk in body:
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split()[1]), sent


def _chunks(total: int, size: int = MIB, chunked: bool = False) -> Iterator[bytes]:
    block = b'{"filename": "' + b"a" * (size - 20) + b'"'
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (len(block), block) if chunked else block


def test_a_120_mib_body_is_refused_before_it_is_read(api):
    baseline = api.rss_kib()
    path = f"{urlparse(api.url).hostname}:{urlparse(api.url).port}"
    with_length = (f"POST /v1/uploads HTTP/1.1\r\nHost: {path}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {ATTACK_BYTES}\r\n\r\n").encode()
    status, sent = _exchange(api.url, with_length, _chunks(ATTACK_BYTES))
    assert status == 413 and sent < 16 * MIB, (status, sent)
    chunked = (f"POST /v1/uploads HTTP/1.1\r\nHost: {path}\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode()
    status, sent = _exchange(api.url, chunked, _chunks(ATTACK_BYTES, chunked=True))
    assert status == 413 and sent < 32 * MIB, (status, sent)
    key = api.key("kim")
    keyed = with_length.replace(b"\r\n\r\n", f"\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    assert _exchange(api.url, keyed, _chunks(ATTACK_BYTES))[0] == 413  # a key does not lift the limit
    grown = api.rss_kib() - baseline
    assert grown < ALLOWED_RSS_GROWTH_KIB, f"API resident memory grew by {grown} KiB"
    assert api.upload(key)["video_id"]  # ordinary requests still work


def test_api_and_sensor_share_one_priority_range_and_keys_have_a_maximum(api):
    schema = httpx.get(f"{api.url}/openapi.json").json()["components"]["schemas"]["UploadRequest"]
    [bounds] = [option for option in schema["properties"]["priority"]["anyOf"] if option.get("type") == "integer"]
    assert (bounds["minimum"], bounds["maximum"]) == (MIN_PRIORITY, MAX_PRIORITY)
    assert [parse_priority(str(n)) for n in range(MIN_PRIORITY, MAX_PRIORITY + 1)] == list(
        range(MIN_PRIORITY, MAX_PRIORITY + 1))
    for outside in (MIN_PRIORITY - 1, MAX_PRIORITY + 1, 100):
        with pytest.raises(PriorityError):
            parse_priority(str(outside))

    def ask(key: str, priority: int) -> httpx.Response:
        return httpx.post(f"{api.url}/v1/uploads", headers=auth(key), json={
            "filename": "p.mp4", "content_type": "video/mp4", "size": 10, "priority": priority})

    plain, trusted = api.key("pat"), api.key("tess", max_priority=5)
    assert ask(plain, MAX_PRIORITY + 1).status_code == 422  # 10..100 used to be accepted and run as 0
    refused = ask(plain, 1)
    assert refused.status_code == 403 and "maximum 0" in refused.json()["detail"]
    assert ask(plain, 0).status_code == 201 and ask(plain, MIN_PRIORITY).status_code == 201
    assert ask(trusted, 5).status_code == 201
    assert ask(trusted, 6).status_code == 403


def test_open_upload_urls_per_user_are_capped(api):
    quinn, other = api.key("quinn"), api.key("rory")
    body = {"filename": "q.mp4", "content_type": "video/mp4", "size": 10}
    for _ in range(MAX_UPLOADS):
        assert httpx.post(f"{api.url}/v1/uploads", headers=auth(quinn), json=body).status_code == 201
    capped = httpx.post(f"{api.url}/v1/uploads", headers=auth(quinn), json=body)
    assert capped.status_code == 429 and "have not expired" in capped.json()["detail"]
    assert httpx.post(f"{api.url}/v1/uploads", headers=auth(other), json=body).status_code == 201


@dg.op
def _noop() -> None:
    pass


@dg.job(name=lifecycle.PIPELINE_JOB)  # a stand-in with the pipeline's name: a pipeline run of the partition
def _stand_in() -> None:
    _noop()


def test_one_reprocess_in_flight_per_video_and_errors_stay_generic(api, instance, webserver):
    key = api.key("uma")
    video_id = api.upload(key)["video_id"]
    running = instance.create_run_for_job(_stand_in, tags={"dagster/partition": video_id},
                                         status=dg.DagsterRunStatus.STARTED)  # running
    busy = httpx.post(f"{api.url}/v1/videos/{video_id}/reprocess", headers=auth(key), timeout=30)
    assert busy.status_code == 409 and running.run_id in busy.json()["detail"]
    assert webserver.authorizations == [], "nothing was submitted while a run is running"

    instance.report_run_failed(running)  # it ended: a reprocess may be submitted now
    refused = httpx.post(f"{api.url}/v1/videos/{video_id}/reprocess", headers=auth(key), timeout=30)
    assert refused.status_code == 502
    detail = refused.json()["detail"]
    assert FakeWebserver.INTERNAL not in detail and "secret_module" not in detail and "query" not in detail
    # The credentials in VIDASSETS_DAGSTER_URL went as basic auth (percent-decoded), and never into the log.
    assert webserver.authorizations[-1] == "Basic " + base64.b64encode(b"ops:s3cr@t-pass").decode()
    log = api.log()
    assert "reprocess of" in log and "s3cr" not in log and "secret_module" in log


def _tick(instance: dg.DagsterInstance, s3_server, bucket: str, cursor: str | None) -> dg.SensorResult:
    """One evaluation of the real upload sensor over `bucket`."""
    resources = {
        "s3": S3Resource(endpoint_url=s3_server.endpoint_url, region_name="us-east-1",
                         aws_access_key_id=s3_server.env()["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=s3_server.env()["AWS_SECRET_ACCESS_KEY"]),
        "uploads": UploadsBucket(bucket=bucket, prefix="uploads/"),
    }
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        return s3_video_sensor(context)


def test_a_second_put_to_an_upload_url_does_not_start_a_run(s3_server, api, instance):
    """Dagster launches at most one run per run key: the second version PUT to an API upload URL gets the first
    version's run key (so it never runs), while an operator's direct re-upload of new content gets a new one."""
    key = api.key("vic", max_priority=5)
    ticket = httpx.post(f"{api.url}/v1/uploads", headers=auth(key), json={
        "filename": "v.mp4", "content_type": "video/mp4", "size": len(VIDEO), "priority": 5}).json()
    client = s3_server.client()
    changed = VIDEO[:-1] + b"\x01"
    ticks: list[dg.SensorResult] = []
    for content in (VIDEO, changed):
        assert httpx.put(ticket["upload_url"], content=content, headers=ticket["headers"]).status_code == 200
        client.put_object(Bucket=BUCKET, Key="uploads/direct.mp4", Body=content)
        ticks.append(_tick(instance, s3_server, BUCKET, ticks[-1].cursor if ticks else None))
    before, after = ({r.partition_key: r for r in tick.run_requests} for tick in ticks)
    api_video = ticket["video_id"]
    [direct_video] = [video for video, r in before.items() if r.tags["vidassets/key"] == "uploads/direct.mp4"]
    assert {api_video, direct_video} <= set(after), "both new versions are seen"
    object_key = before[api_video].tags["vidassets/key"]
    assert after[api_video].run_key == before[api_video].run_key == object_key, "the new version does not run"
    assert after[direct_video].run_key != before[direct_video].run_key, "an operator's re-upload runs again"
    assert before[api_video].tags[DAGSTER_PRIORITY_TAG] == "5"  # the signed priority, in the shared range
