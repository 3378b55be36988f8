"""Presigned uploads against real SeaweedFS: keys, ownership, and bad inputs that must create nothing."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import urlparse

import httpx
import pytest

from vidassets.api.app import create_app
from vidassets.api.auth import revoke_key
from vidassets.api.db import engine_for
from vidassets.api.objects import owner_of
from vidassets.api.settings import ApiSettings
from vidassets.api.uploads import UploadRequest, presign_upload
from vidassets.video_ids import is_video_id, video_id_for
from vidassets_tests.api.conftest import API_BUCKET
from vidassets_tests.api.harness import ApiServer

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000  # bytes only; these tests never process them


def _post(platform, key: str | None, body=None, content: bytes | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if content is not None:
        headers["Content-Type"] = "application/json"
        return httpx.post(f"{platform.url}/v1/uploads", content=content, headers=headers)
    return httpx.post(f"{platform.url}/v1/uploads", json=body, headers=headers)


def _put(ticket: dict, data: bytes, **extra_headers: str) -> httpx.Response:
    return httpx.put(ticket["upload_url"], content=data, headers={**ticket["headers"], **extra_headers})


def test_keys_are_required_and_revocable(platform):
    body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 10}
    assert _post(platform, None, body).status_code == 401
    assert "missing API key" in _post(platform, None, body).json()["detail"]
    assert _post(platform, "vak_nothing_here", body).status_code == 401
    key = platform.key_for("carol")
    assert _post(platform, key, body).status_code == 201
    revoke_key(engine_for(platform.settings.db_url), key)
    response = _post(platform, key, body)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_upload_goes_under_the_users_prefix_and_is_owned(platform):
    alice, bob = platform.key_for("alice-u", max_priority=7), platform.key_for("bob-u")
    response = _post(platform, alice, {"filename": "Zoë's talk (final).MP4", "content_type": "video/mp4",
                                       "size": len(VIDEO), "priority": 7})
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["filename"] == "zoe-s-talk-final.mp4" and ticket["method"] == "PUT"
    assert ticket["headers"] == {"Content-Type": "video/mp4", "Content-Length": str(len(VIDEO)),
                                 "x-amz-meta-priority": "7"}
    assert _put(ticket, VIDEO).status_code == 200
    [key] = [k for k in platform.bucket_keys() if k.endswith("zoe-s-talk-final.mp4")]
    assert key.startswith("uploads/alice-u/") and owner_of(platform.settings, API_BUCKET, key) == "alice-u"
    assert ticket["video_id"] == video_id_for(API_BUCKET, key) and is_video_id(ticket["video_id"])
    head = platform.s3_server.client().head_object(Bucket=API_BUCKET, Key=key)
    assert head["Metadata"] == {"priority": "7"} and head["ContentType"] == "video/mp4"

    video = httpx.get(f"{platform.url}/v1/videos/{ticket['video_id']}", headers={"Authorization": f"Bearer {alice}"})
    assert video.status_code == 200 and video.json()["status"] == "uploaded"
    assert video.json()["size"] == len(VIDEO)
    # Another user sees nothing: 404 like an unknown id, and an empty listing.
    as_bob = {"Authorization": f"Bearer {bob}"}
    for path in ("", "/transcript?format=srt", "/summary"):
        other = httpx.get(f"{platform.url}/v1/videos/{ticket['video_id']}{path}", headers=as_bob)
        assert other.status_code == 404, path
    assert httpx.post(f"{platform.url}/v1/videos/{ticket['video_id']}/reprocess", headers=as_bob).status_code == 404
    assert httpx.get(f"{platform.url}/v1/videos", headers=as_bob).json() == {"videos": [], "next_cursor": None}
    mine = httpx.get(f"{platform.url}/v1/videos", headers={"Authorization": f"Bearer {alice}"}).json()
    assert [v["video_id"] for v in mine["videos"]] == [ticket["video_id"]]


def test_bad_inputs_get_clear_errors_and_create_nothing(platform):
    key = platform.key_for("mallory")
    before = platform.bucket_keys()
    ok = {"filename": "talk.mp4", "content_type": "video/mp4", "size": 1000}
    cases = [
        ({**ok, "size": 51 * 1024 * 1024}, 413, "over the limit"),
        ({**ok, "size": 0}, 422, "size 0"),
        ({**ok, "content_type": "image/png"}, 415, "not a video type"),
        ({**ok, "filename": "notes.txt"}, 422, "video extension"),
        ({**ok, "filename": "../../etc/passwd.mp4"}, 422, "looks like a path"),
        ({**ok, "filename": "..\\windows\\talk.mp4"}, 422, "looks like a path"),
        ({**ok, "filename": ".hidden.mp4"}, 422, "looks like a path"),
        ({**ok, "filename": "invoice\u202e4pm.mp4"}, 422, "U+202E"),
        ({**ok, "filename": "tab\there.mp4"}, 422, "U+0009"),
        ({**ok, "filename": ""}, 422, "filename is empty"),
        ({**ok, "bucket": "elsewhere"}, 422, "bucket: Extra inputs are not permitted"),
        ({"filename": "talk.mp4", "size": 5}, 422, "content_type: Field required"),
        ({**ok, "size": "big"}, 422, "size:"),
    ]
    for body, code, message in cases:
        response = _post(platform, key, body)
        assert response.status_code == code, (body, response.text)
        assert message in response.json()["detail"], (body, response.text)
    malformed = _post(platform, key, content=b'{"filename": "talk.mp4", "size": ')
    assert malformed.status_code == 422 and "JSON decode error" in malformed.json()["detail"]
    assert platform.bucket_keys() == before


def test_expired_or_altered_upload_urls_are_refused_by_s3(platform):
    before = platform.bucket_keys()
    request = UploadRequest(filename="late.mp4", content_type="video/mp4", size=len(VIDEO))
    short = dataclasses.replace(platform.settings, upload_url_ttl_s=1)
    from vidassets.storage.s3 import s3_client

    ticket = presign_upload(s3_client(platform.settings.s3), short, "late-user", request, "late.mp4")
    time.sleep(2.5)
    expired = _put(ticket, VIDEO)
    assert expired.status_code == 403, expired.text
    fresh = presign_upload(s3_client(platform.settings.s3), platform.settings, "late-user", request, "late.mp4")
    altered = httpx.put(fresh["upload_url"].replace("late-user", "other-user"), content=VIDEO,
                        headers=fresh["headers"])
    assert altered.status_code == 403, altered.text
    assert "X-Amz-Signature=" in fresh["upload_url"], "SigV4: AWS refuses SigV2 URLs in newer regions"
    for other_size in (VIDEO + VIDEO, VIDEO[:100]):  # the signed length binds the declared size
        wrong = httpx.put(fresh["upload_url"], content=other_size,
                          headers={**fresh["headers"], "Content-Length": str(len(other_size))})
        assert wrong.status_code == 403, (len(other_size), wrong.text)
    assert platform.bucket_keys() == before


def test_cli_upload_without_an_api_goes_straight_to_the_watched_prefix(platform, tmp_path, monkeypatch, capsys):
    from vidassets.cli.api import upload_main

    monkeypatch.delenv("VIDASSETS_API_URL", raising=False)
    monkeypatch.delenv("VIDASSETS_API_KEY", raising=False)
    clip = tmp_path / "Straight Upload.webm"
    clip.write_bytes(VIDEO)
    assert upload_main([str(clip), "--priority", "2"]) == 0
    video_id = capsys.readouterr().out.strip()
    assert video_id == video_id_for(API_BUCKET, "uploads/straight-upload.webm")
    head = platform.s3_server.client().head_object(Bucket=API_BUCKET, Key="uploads/straight-upload.webm")
    assert head["Metadata"] == {"priority": "2"} and head["ContentType"] == "video/webm"
    platform.s3_server.client().delete_object(Bucket=API_BUCKET, Key="uploads/straight-upload.webm")
    assert upload_main([str(tmp_path / "missing.mp4")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_upload_urls_use_the_public_s3_endpoint_when_set(platform, monkeypatch):
    """The API reaches S3 at one address (compose: http://s3:8333) and clients at another: the URLs it hands out
    are signed for VIDASSETS_S3_PUBLIC_URL, and a PUT there lands in the bucket."""
    port = urlparse(platform.s3_server.endpoint_url).port
    public = f"http://localhost:{port}"
    monkeypatch.setenv("VIDASSETS_S3_PUBLIC_URL", public + "/")
    settings = ApiSettings.from_env()
    assert settings.s3_public_url == public
    key = platform.key_for("public-s3")
    with ApiServer(create_app(settings, platform.instance)) as api:
        ticket = httpx.post(f"{api.url}/v1/uploads", headers={"Authorization": f"Bearer {key}"},
                            json={"filename": "outside.mp4", "content_type": "video/mp4", "size": len(VIDEO)}).json()
    assert ticket["upload_url"].startswith(public + "/")
    assert _put(ticket, VIDEO).status_code == 200
    assert any(k.endswith("/outside.mp4") for k in platform.bucket_keys())
    monkeypatch.setenv("VIDASSETS_S3_PUBLIC_URL", "s3.example.com")
    with pytest.raises(ValueError, match="VIDASSETS_S3_PUBLIC_URL"):
        ApiSettings.from_env()
