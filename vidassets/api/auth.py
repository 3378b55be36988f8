"""API keys (only their sha256 is stored), user names, and short-lived signed view tokens for the transcript page.

A key is `vak_<key id>_<secret>`: the key id is shown in listings and used to revoke; the whole key is hashed.
Keys never reach logs or metadata: they are printed once by `vidassets keys create` and compared by hash.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from vidassets.api.db import api_keys, api_secrets

KEY_PREFIX = "vak_"
_USER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
VIEW_SECRET_NAME = "view-token"


class AuthError(ValueError):
    """A missing, unknown or revoked key, or a bad view token (always answered with 401)."""


def check_user_name(user: str) -> str:
    """User names become an S3 key segment, so only `[a-z0-9][a-z0-9_-]{0,39}`."""
    if not _USER_RE.match(user):
        raise ValueError(f"user name {user!r}: use 1-40 lower-case letters, digits, '-' or '_', starting alphanumeric")
    return user


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    user: str
    created_at: float
    revoked_at: float | None


def create_key(engine: sa.Engine, user: str) -> tuple[str, KeyInfo]:
    """A new key for `user`; the key itself is returned once and only its hash stored."""
    check_user_name(user)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = time.time()
    with engine.begin() as conn:
        conn.execute(api_keys.insert().values(user=user, key_id=key_id, key_hash=hash_key(key), created_at=now))
    return key, KeyInfo(key_id, user, now, None)


def key_id_of(key_or_id: str) -> str:
    """`vak_<id>_<secret>` or `vak_<id>` or `<id>` -> `<id>`."""
    value = key_or_id.removeprefix(KEY_PREFIX)
    return value.split("_", 1)[0]


def revoke_key(engine: sa.Engine, key_or_id: str) -> KeyInfo | None:
    """Revoke by key id (as listed) or by the key itself; None when no such key."""
    key_id = key_id_of(key_or_id)
    with engine.begin() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            return None
        revoked_at = row.revoked_at or time.time()
        conn.execute(api_keys.update().where(api_keys.c.key_id == key_id).values(revoked_at=revoked_at))
    return KeyInfo(row.key_id, row.user, row.created_at, revoked_at)


def list_keys(engine: sa.Engine, user: str | None = None) -> list[KeyInfo]:
    query = sa.select(api_keys).order_by(api_keys.c.id)
    if user:
        query = query.where(api_keys.c.user == user)
    with engine.connect() as conn:
        return [KeyInfo(r.key_id, r.user, r.created_at, r.revoked_at) for r in conn.execute(query)]


def user_for_key(engine: sa.Engine, key: str) -> str:
    """The user owning an active key, or AuthError."""
    if not key.startswith(KEY_PREFIX):
        raise AuthError("malformed API key (expected `Authorization: Bearer vak_…`)")
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_hash == hash_key(key))).first()
    if row is None:
        raise AuthError("unknown API key")
    if row.revoked_at is not None:
        raise AuthError("this API key was revoked")
    return str(row.user)


# ------------------------------------------------------------------------------------------ view tokens

def server_secret(engine: sa.Engine, name: str = VIEW_SECRET_NAME) -> bytes:
    """A random secret kept in the API database, shared by every API process using it."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(api_secrets.c.value).where(api_secrets.c.name == name)).first()
        if row is None:
            with contextlib.suppress(sa.exc.IntegrityError):
                conn.execute(api_secrets.insert().values(name=name, value=secrets.token_hex(32)))
            row = conn.execute(sa.select(api_secrets.c.value).where(api_secrets.c.name == name)).first()
    return bytes.fromhex(row.value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_view_token(secret: bytes, user: str, video_id: str, ttl_s: int, now: float | None = None) -> tuple[str, int]:
    """`<user>.<video_id>.<expiry>.<hmac>`: lets a browser view one video of one user until it expires."""
    expires = int((now or time.time()) + ttl_s)
    body = f"{user}.{video_id}.{expires}"
    signature = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}", expires


def check_view_token(secret: bytes, token: str, video_id: str, now: float | None = None) -> str:
    """The user a valid, unexpired token for `video_id` was issued to, or AuthError."""
    parts = token.split(".")
    if len(parts) != 4:
        raise AuthError("malformed view token")
    user, token_video, expires, signature = parts
    expected = _b64(hmac.new(secret, f"{user}.{token_video}.{expires}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        raise AuthError("invalid view token")
    if token_video != video_id:
        raise AuthError("this view token is for another video")
    if not expires.isdigit() or int(expires) < (now or time.time()):
        raise AuthError("view token expired; ask the API for a new one (POST /v1/videos/{id}/view-token)")
    return user
