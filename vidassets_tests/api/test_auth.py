"""Keys are stored only as hashes, view tokens are bound to user, video and time, and logs never show tokens."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from vidassets.api.auth import (
    AuthError,
    check_view_token,
    create_key,
    list_keys,
    make_view_token,
    revoke_key,
    user_for_key,
)
from vidassets.api.db import engine_for
from vidassets.api.objects import BadFileName, owner_of, safe_file_name
from vidassets.api.serve import RedactTokens
from vidassets.api.settings import ApiSettings
from vidassets.cli.api import keys_main


def test_keys_cli_prints_the_key_once_and_stores_only_its_hash(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv("VIDASSETS_API_DB_URL", raising=False)
    assert keys_main(["create", "--user", "dana"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("vak_")
    engine = engine_for(f"sqlite:///{tmp_path / 'vidassets_api.sqlite'}")
    assert user_for_key(engine, key) == "dana"
    dump = "\n".join(str(tuple(row)) for row in engine.connect().execute(sa.text("select * from vidassets_api_keys")))
    assert key not in dump and key.split("_", 2)[2] not in dump
    assert keys_main(["list"]) == 0 and key not in capsys.readouterr().out
    assert keys_main(["revoke", key.split("_")[1]]) == 0
    with pytest.raises(AuthError, match="revoked"):
        user_for_key(engine, key)
    assert keys_main(["create", "--user", "../etc"]) == 1
    assert "user name" in capsys.readouterr().err


def test_revoke_by_key_and_list(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'keys.sqlite'}")
    key, info = create_key(engine, "erin")
    assert revoke_key(engine, key).key_id == info.key_id
    assert revoke_key(engine, "vak_000000000000") is None
    assert [k.revoked_at is not None for k in list_keys(engine, "erin")] == [True]


def test_view_tokens_are_bound_to_video_user_and_time():
    secret = b"s" * 32
    token, expires = make_view_token(secret, "alice", "talk-0123456789ab", ttl_s=60, now=1000, key_id="0a1b2c3d4e5f")
    assert expires == 1060
    grant = check_view_token(secret, token, "talk-0123456789ab", now=1059)
    assert (grant.user, grant.key_id, grant.expires) == ("alice", "0a1b2c3d4e5f", 1060)
    for bad, video, now, message in [
        (token, "talk-0123456789ab", 1061, "expired"),
        (token, "other-0123456789ab", 1000, "another video"),
        (token.replace("alice", "mallory"), "talk-0123456789ab", 1000, "invalid"),
        (token.replace("0a1b2c3d4e5f", "ffffffffffff"), "talk-0123456789ab", 1000, "invalid"),
        (token.rsplit(".", 1)[0] + ".\u00e9t\u00e9", "talk-0123456789ab", 1000, "invalid"),  # non-ASCII: no 500
        ("nonsense", "talk-0123456789ab", 1000, "malformed"),
    ]:
        with pytest.raises(AuthError, match=message):
            check_view_token(secret, bad, video, now=now)


def test_safe_file_names_and_owners():
    assert safe_file_name("Café Ünïcode talk.MOV") == "cafe-unicode-talk.mov"
    assert safe_file_name("日本語.mp4") == "video.mp4"
    for bad in ("a/b.mp4", "..", "x\u200b.mp4", "clip.exe", "\x00.mp4"):
        with pytest.raises(BadFileName):
            safe_file_name(bad)
    settings = ApiSettings(bucket="b", prefix="uploads/")
    assert owner_of(settings, "b", "uploads/alice/20260101000000-0a1b2c3d/talk.mp4") == "alice"
    assert owner_of(settings, "b", "uploads/talk.mp4") is None
    assert owner_of(settings, "b", "uploads/alice/x/talk.mp4") is None
    assert owner_of(settings, "other", "uploads/alice/20260101000000-0a1b2c3d/talk.mp4") is None


def test_access_log_redacts_view_tokens():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1", "GET", "/v1/videos/x/view?token=alice.x.99.SIG&a=1", "1.1", 200), None)
    RedactTokens().filter(record)
    assert "SIG" not in record.getMessage() and "token=[redacted]&a=1" in record.getMessage()
