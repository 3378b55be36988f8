"""View links against `vidassets api` in its own process (real SeaweedFS, sqlite): a token lives exactly its TTL
whatever is loaded meanwhile, dies at once with the key that minted it, leaves the URL on the first load, and the
page and results are sent with headers that keep them out of frames, sniffing and Referer."""

from __future__ import annotations

import re
import time
from http.cookies import SimpleCookie

import httpx
import pytest

from vidassets.api.app import VIEW_COOKIE
from vidassets.api.auth import revoke_key
from vidassets.api.db import engine_for
from vidassets_tests.security.api_process import api_process, auth

TTL_S = 3  # the 20 s, shortened to keep the test fast; the rule does not depend on the length


@pytest.fixture(scope="module")
def api(s3_server, tmp_path_factory):
    with api_process(tmp_path_factory.mktemp("view-api"), s3_server, "sec-view",
                     {"VIDASSETS_API_VIEW_TTL_S": str(TTL_S)}) as server:
        yield server


def _link(api, key: str, video_id: str) -> dict:
    response = httpx.post(f"{api.url}/v1/videos/{video_id}/view-token", headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def _token(link: dict) -> str:
    return link["view_url"].split("token=", 1)[1]


def _set_cookie(response: httpx.Response):  # type: ignore[no-untyped-def] # a Morsel
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    return cookie[VIEW_COOKIE]


def test_a_token_is_refused_after_its_ttl_whatever_was_loaded_in_between(api):
    key = api.key("vera")
    video_id = api.upload(key)["video_id"]
    link = _link(api, key, video_id)
    token, expires = _token(link), link["expires_at"]
    page = f"/v1/videos/{video_id}/view"
    with httpx.Client(base_url=api.url) as browser:  # keeps cookies the way a browser does (path, max-age)
        first = browser.get(link["view_url"])
        assert first.status_code == 303 and first.headers["location"] == page, "the token leaves the URL"
        cookie = _set_cookie(first)
        assert cookie.value == token and cookie["httponly"] and cookie["path"] == f"/v1/videos/{video_id}"
        assert 0 < int(cookie["max-age"]) <= TTL_S and not cookie["secure"]  # public URL is http here
        loads = 0
        while time.time() < expires - 0.3:
            shown = browser.get(page)
            assert shown.status_code == 200, shown.text
            assert "set-cookie" not in shown.headers or _set_cookie(shown).value == token, "never a fresh token"
            assert "token=" not in shown.text, "the page does not put the token in its own URLs"
            track = browser.get(f"/v1/videos/{video_id}/transcript", params={"format": "vtt"})
            assert track.status_code == 409, track.text  # authenticated by the cookie; not processed yet
            loads += 1
            time.sleep(0.2)
        assert loads >= 3
        time.sleep(max(0.0, expires + 1.1 - time.time()))
        assert browser.get(page).status_code == 401
    # The old token itself, replayed as the cookie or in the URL, is refused too.
    for response in (
        httpx.get(f"{api.url}{page}", cookies={VIEW_COOKIE: token}),
        httpx.get(f"{api.url}{link['view_url']}"),
        httpx.get(f"{api.url}/v1/videos/{video_id}/transcript", params={"token": token}),
    ):
        assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_revoking_the_key_kills_its_tokens_at_once(api):
    key, other_key = api.key("wes"), api.key("wes")
    video_id = api.upload(key)["video_id"]
    link = _link(api, key, video_id)
    page = f"/v1/videos/{video_id}/view"
    with httpx.Client(base_url=api.url, follow_redirects=True) as browser:
        assert browser.get(link["view_url"]).status_code == 200
        assert browser.get(page).status_code == 200
        revoke_key(engine_for(api.db_url), key)
        refused = browser.get(page)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    for response in (httpx.get(f"{api.url}{link['view_url']}"),
                     httpx.get(f"{api.url}/v1/videos/{video_id}/transcript", params={"token": _token(link)})):
        assert response.status_code == 401 and "revoked" in response.json()["detail"]
    # Revocation is per key: a link minted with the user's other key still works.
    assert httpx.get(f"{api.url}{_link(api, other_key, video_id)['view_url']}",
                     follow_redirects=True).status_code == 200


def test_page_and_results_are_sent_with_browser_protections(api):
    key = api.key("xena")
    video_id = api.upload(key)["video_id"]
    with httpx.Client(base_url=api.url, follow_redirects=True) as browser:
        page = browser.get(_link(api, key, video_id)["view_url"])
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy and "unsafe-eval" not in policy
    [nonce] = re.findall(r"'nonce-([^']+)'", policy)
    assert f'<script nonce="{nonce}">' in page.text and page.text.count("<script") == 1
    results = [
        httpx.get(f"{api.url}/v1/videos/{video_id}", headers=auth(key)),
        httpx.get(f"{api.url}/v1/videos/{video_id}/transcript", params={"format": "vtt"}, headers=auth(key)),
        httpx.get(f"{api.url}/v1/videos/{video_id}/summary", headers=auth(key)),
    ]
    for response in [page, *results]:
        assert response.headers["x-frame-options"] == "DENY", response.url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert results[0].status_code == 200 and results[1].status_code == 409


def test_the_cookie_is_secure_when_the_public_url_is_https(s3_server, tmp_path):
    """uvicorn behind a TLS proxy sees http; the public URL setting decides."""
    with api_process(tmp_path, s3_server, "sec-view-https",
                     {"VIDASSETS_API_PUBLIC_URL": "https://videos.example.com"}) as server:
        key = server.key("yuri")
        video_id = server.upload(key)["video_id"]
        first = httpx.get(f"{server.url}{_link(server, key, video_id)['view_url']}")
        assert first.status_code == 303 and _set_cookie(first)["secure"]
