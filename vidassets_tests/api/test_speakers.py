"""`/v1/speakers` on the API's platform (real SeaweedFS, Dagster instance, API database and server): a user sees
and names only voices in their own videos, and a voice both users have keeps each user's name to that user."""

from __future__ import annotations

import httpx
import pytest

from vidassets.analytics import voice_registry as registry
from vidassets.api.db import engine_for
from vidassets.api.objects import upload_owner
from vidassets.api.uploads import upload_record
from vidassets_tests.analytics.voice_corpus import person_vectors, write_video
from vidassets_tests.api.conftest import API_BUCKET
from vidassets_tests.stores import store as store_for

PEOPLE = person_vectors(["ada", "bob", "cyd"], seed=11)


@pytest.fixture(scope="module")
def tenants(platform):
    """alice's video has ada and bob, bert's has ada and cyd; the registry has both videos. The platform is shared
    with the other API tests (whose users have videos with voices of their own): these two users are this module's."""
    store = store_for(platform.settings.storage_root)
    engine = engine_for(platform.settings.db_url)
    users = {}
    for user, cast in (("alice", ("ada", "bob")), ("bert", ("ada", "cyd"))):
        name = f"speakers-{user}"
        headers = {"Authorization": f"Bearer {platform.key_for(name)}"}
        ticket = httpx.post(f"{platform.url}/v1/uploads", headers=headers,
                            json={"filename": "meeting.mp4", "size": 1000, "content_type": "video/mp4"})
        assert ticket.status_code == 201, ticket.text
        video_id = ticket.json()["video_id"]
        record = upload_record(engine, video_id)
        write_video(store, video_id, cast, PEOPLE, key=record.object_key, bucket=API_BUCKET)
        users[user] = {"headers": headers, "video_id": video_id}
    prefix = platform.settings.prefix
    registry.update_registry(store, registry.owners_by_source(
        store, lambda bucket, key: upload_owner(prefix, key) if bucket == API_BUCKET else None))
    registry.apply_labels(store)
    return users


def _speakers(platform, who) -> list[dict]:
    response = httpx.get(f"{platform.url}/v1/speakers", headers=who["headers"])
    assert response.status_code == 200, response.text
    return response.json()["speakers"]


def _voice_at(speakers: list[dict], video_id: str, speaker: str) -> dict:
    return next(v for v in speakers if any(a["video_id"] == video_id and a["speaker"] == speaker
                                           for a in v["appearances"]))


def test_each_user_sees_only_their_videos_and_their_own_ids(platform, tenants):
    alice, bert = tenants["alice"], tenants["bert"]
    mine, theirs = _speakers(platform, alice), _speakers(platform, bert)
    assert len(mine) == len(theirs) == 2
    assert {a["video_id"] for v in mine for a in v["appearances"]} == {alice["video_id"]}
    assert {a["video_id"] for v in theirs for a in v["appearances"]} == {bert["video_id"]}
    ada_for_alice = _voice_at(mine, alice["video_id"], "SPEAKER_00")["voice_id"]
    ada_for_bert = _voice_at(theirs, bert["video_id"], "SPEAKER_00")["voice_id"]
    assert ada_for_alice != ada_for_bert  # the same corpus voice, unrelated ids per user
    assert httpx.get(f"{platform.url}/v1/speakers").status_code == 401


def test_another_users_voice_is_not_found_and_cannot_be_named(platform, tenants):
    alice, bert = tenants["alice"], tenants["bert"]
    bob = _voice_at(_speakers(platform, alice), alice["video_id"], "SPEAKER_01")["voice_id"]
    assert httpx.get(f"{platform.url}/v1/speakers/{bob}", headers=bert["headers"]).status_code == 404
    named = httpx.put(f"{platform.url}/v1/speakers/{bob}/name", headers=bert["headers"], json={"name": "Mallory"})
    assert named.status_code == 404
    assert _voice_at(_speakers(platform, alice), alice["video_id"], "SPEAKER_01")["name"] is None


def test_a_shared_voice_keeps_each_users_name_to_that_user(platform, tenants):
    alice, bert = tenants["alice"], tenants["bert"]
    ada = _voice_at(_speakers(platform, alice), alice["video_id"], "SPEAKER_00")["voice_id"]
    named = httpx.put(f"{platform.url}/v1/speakers/{ada}/name", headers=alice["headers"],
                      json={"name": "Ada <b>Lovelace</b>"})
    assert named.status_code == 200, named.text
    assert named.json()["videos_updated"] == 1
    txt = httpx.get(f"{platform.url}/v1/videos/{alice['video_id']}/transcript?format=txt", headers=alice["headers"])
    assert "[Ada <b>Lovelace</b>]: " in txt.text
    as_json = httpx.get(f"{platform.url}/v1/videos/{alice['video_id']}/transcript", headers=alice["headers"]).json()
    assert {s.get("voice_id") for s in as_json["segments"] if s["speaker"] == "SPEAKER_00"} == {ada}
    page = httpx.get(f"{platform.url}/v1/videos/{alice['video_id']}/view", headers=alice["headers"])
    assert page.status_code == 200
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in page.text and "<b>Lovelace" not in page.text
    # bert has the same person in his video: he sees neither the name nor alice's id
    for fmt in ("txt", "json", "srt"):
        body = httpx.get(f"{platform.url}/v1/videos/{bert['video_id']}/transcript?format={fmt}",
                         headers=bert["headers"]).text
        assert "Ada" not in body and ada not in body
    assert all(v["name"] is None for v in _speakers(platform, bert))
    # and his own name for the voice stays his
    his = _voice_at(_speakers(platform, bert), bert["video_id"], "SPEAKER_00")["voice_id"]
    assert httpx.put(f"{platform.url}/v1/speakers/{his}/name", headers=bert["headers"],
                     json={"name": "A. King"}).status_code == 200
    assert _voice_at(_speakers(platform, alice), alice["video_id"], "SPEAKER_00")["name"] == "Ada <b>Lovelace</b>"
    assert "A. King" not in httpx.get(f"{platform.url}/v1/videos/{alice['video_id']}/transcript?format=txt",
                                      headers=alice["headers"]).text


@pytest.mark.parametrize("bad", ["", "x" * 81, "two\nlines", "bidi\u202eoverride", "nul\x00"])
def test_bad_names_are_refused(platform, tenants, bad):
    alice = tenants["alice"]
    bob = _voice_at(_speakers(platform, alice), alice["video_id"], "SPEAKER_01")["voice_id"]
    response = httpx.put(f"{platform.url}/v1/speakers/{bob}/name", headers=alice["headers"], json={"name": bad})
    assert response.status_code == 422
    assert _voice_at(_speakers(platform, alice), alice["video_id"], "SPEAKER_01")["name"] is None
