"""A browser app on another origin uploads through the API and the presigned URL (headless Chromium): allowed
with `VIDASSETS_API_CORS_ORIGINS` and the upload bucket's CORS rules, refused from any other origin."""

from __future__ import annotations

import dataclasses
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from vidassets.api.app import create_app
from vidassets.api.settings import parse_cors_origins
from vidassets.api.uploads import upload_cors_rules
from vidassets.cli.api import api_main
from vidassets.procs import LOOPBACK
from vidassets_tests.api.conftest import API_BUCKET
from vidassets_tests.api.harness import ApiServer
from vidassets_tests.api.test_view import CHROMIUM_FLAGS, chromium

UPLOAD_SCRIPT = """async ([api, key]) => {
  const bytes = new Uint8Array(4096); bytes.set([0, 0, 0, 24, 102, 116, 121, 112, 109, 112, 52, 50]);
  try {
    const made = await fetch(api + '/v1/uploads', {method: 'POST',
      headers: {'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'},
      body: JSON.stringify({filename: 'from the browser.mp4', content_type: 'video/mp4', size: bytes.length,
                            priority: 3})});
    const ticket = await made.json();
    const put = await fetch(ticket.upload_url, {method: 'PUT', headers: ticket.headers, body: new Blob([bytes])});
    return {api: made.status, put: put.status, etag: put.headers.get('ETag'), video_id: ticket.video_id};
  } catch (err) { return {error: String(err)}; }
}"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<!doctype html><title>app</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _app_origin() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((LOOPBACK, 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_origins_setting_is_checked(monkeypatch, capsys, tmp_path):
    assert parse_cors_origins(" https://app.example.com, http://localhost:5173/ ,") == (
        "https://app.example.com", "http://localhost:5173")
    assert parse_cors_origins("*") == ("*",)
    for bad in ("app.example.com", "https://app.example.com/upload", "ftp://app.example.com"):
        with pytest.raises(ValueError, match="VIDASSETS_API_CORS_ORIGINS"):
            parse_cors_origins(bad)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("VIDASSETS_API_CORS_ORIGINS", "app.example.com")
    assert api_main(["--port", "9"]) == 2  # one line naming the setting, and no server
    assert capsys.readouterr().err.strip() == (
        "vidassets api: VIDASSETS_API_CORS_ORIGINS: 'app.example.com' is not an origin like https://app.example.com")


def test_browser_app_on_an_allowed_origin_uploads_and_others_are_refused(platform, tmp_path):
    executable = chromium()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    allowed, other = _app_origin(), _app_origin()
    allowed_origin = f"http://{LOOPBACK}:{allowed.server_address[1]}"
    platform.s3_server.client().put_bucket_cors(
        Bucket=API_BUCKET, CORSConfiguration={"CORSRules": upload_cors_rules((allowed_origin,))})
    settings = dataclasses.replace(platform.settings, cors_origins=(allowed_origin,))
    key = platform.key_for("browser-app", max_priority=3)
    try:
        with ApiServer(create_app(settings, platform.instance)) as api, sync_playwright() as pw:
            assert "access-control-allow-origin" not in httpx.get(
                f"{platform.url}/healthz", headers={"Origin": allowed_origin}).headers, "off unless configured"
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page()
                page.goto(allowed_origin + "/")
                done = page.evaluate(UPLOAD_SCRIPT, [api.url, key])
                assert (done.get("api"), done.get("put")) == (201, 200), done
                assert done["etag"], "the bucket exposes the ETag to the app"
                page.goto(f"http://{LOOPBACK}:{other.server_address[1]}/")
                refused = page.evaluate(UPLOAD_SCRIPT, [api.url, key])
                assert "Failed to fetch" in refused.get("error", ""), refused
            finally:
                browser.close()
    finally:
        allowed.shutdown()
        other.shutdown()
        platform.s3_server.client().delete_bucket_cors(Bucket=API_BUCKET)
    [uploaded] = [k for k in platform.bucket_keys() if k.endswith("from-the-browser.mp4")]
    head = platform.s3_server.client().head_object(Bucket=API_BUCKET, Key=uploaded)
    assert uploaded.startswith("uploads/browser-app/") and head["Metadata"] == {"priority": "3"}
