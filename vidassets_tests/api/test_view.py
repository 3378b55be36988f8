"""The transcript page in headless Chromium (the system's, driven by playwright's protocol client; never
`playwright install`): it loads with a view token, the WebVTT track is attached with cues, clicking a line seeks."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from vidassets.api.auth import key_id_of, make_view_token

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT_FOR_THE_LEAD = Path("/work/briefs/api-view.png")


def chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def test_view_page_needs_a_valid_token(platform, processed):
    page = f"{platform.url}/v1/videos/{processed.talk_id}/view"
    assert httpx.get(page).status_code == 401
    secret = platform.api.server.config.app.state.services.view_secret
    alice_key = key_id_of(processed.key)
    expired, _ = make_view_token(secret, "alice", processed.talk_id, ttl_s=-10, key_id=alice_key)
    response = httpx.get(page, params={"token": expired})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    other_video, _ = make_view_token(secret, "alice", processed.broken_id, ttl_s=60, key_id=alice_key)
    assert httpx.get(page, params={"token": other_video}).status_code == 401
    forged, _ = make_view_token(b"not the server secret", "alice", processed.talk_id, ttl_s=60, key_id=alice_key)
    assert httpx.get(page, params={"token": forged}).status_code == 401
    bob_key = key_id_of(platform.key_for("bob"))
    bob_token, _ = make_view_token(secret, "bob", processed.talk_id, ttl_s=60, key_id=bob_key)  # not bob's video
    assert httpx.get(page, params={"token": bob_token}).status_code == 404
    unknown_key, _ = make_view_token(secret, "alice", processed.talk_id, ttl_s=60, key_id="000000000000")
    assert httpx.get(page, params={"token": unknown_key}).status_code == 401
    assert httpx.get(page, headers=processed.headers).status_code == 200  # the key works too


def test_transcript_page_in_headless_chromium(platform, processed, tmp_path):
    executable = chromium()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    link = httpx.post(f"{platform.url}/v1/videos/{processed.talk_id}/view-token", headers=processed.headers)
    assert link.status_code == 200
    url = platform.url + link.json()["view_url"]
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 720},
        )
        try:
            page = context.new_page()
            response = page.goto(url)
            assert response is not None and response.status == 200
            assert "token" not in page.url, "the first load moves the token from the URL into the cookie"
            assert "token" not in str(context.cookies()[0]["path"]) and context.cookies()[0]["httpOnly"]
            page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=20_000)
            duration = page.evaluate("document.getElementById('player').duration")
            assert 11 < duration < 13
            page.wait_for_function(
                "(() => { const t = document.getElementById('player').textTracks[0];"
                " return t && t.cues && t.cues.length > 0; })()", timeout=20_000)
            track = page.evaluate("""(() => { const t = document.getElementById('player').textTracks[0];
                return {count: document.getElementById('player').textTracks.length, mode: t.mode,
                        cues: t.cues.length, first: t.cues[0].text}; })()""")
            assert track["count"] == 1 and track["mode"] == "showing" and track["cues"] >= 3
            assert track["first"].startswith("[SPEAKER_")
            assert page.locator("#verdict").inner_text() == "approved"
            assert page.locator("#summary").inner_text()
            lines = page.locator(".line")
            assert lines.count() >= 3
            target = lines.nth(2)
            start = float(target.get_attribute("data-start"))
            assert start > 1
            target.click()
            page.wait_for_function(
                f"Math.abs(document.getElementById('player').currentTime - {start}) < 1.5", timeout=10_000)
            page.evaluate("document.getElementById('player').pause()")
            colour = page.evaluate(
                "getComputedStyle(document.querySelectorAll('.line')[2]).borderLeftColor")
            assert colour.startswith("rgb(") and colour != "rgba(0, 0, 0, 0)"
            shot = tmp_path / "api-view.png"
            page.screenshot(path=str(shot), full_page=True)
            if SCREENSHOT_FOR_THE_LEAD.parent.is_dir():
                shutil.copyfile(shot, SCREENSHOT_FOR_THE_LEAD)
        finally:
            context.close()
