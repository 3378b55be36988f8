"""API keys (only their sha256 is stored), user names, and short-lived signed view tokens for the transcript page.

A key is `vak_<key id>_<secret>`: the key id is shown in listings and used to revoke; the whole key is hashed.
Keys never reach logs or metadata: they are printed once by `vidassets keys create` and compared by hash.
A view token names the key that minted it and is only good while that key is active.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from vidassets.api.db import api_keys, api_secrets, key_limits
from vidassets.workers.queues import MAX_PRIORITY, MIN_PRIORITY

KEY_PREFIX = "vak_"
_USER_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # fullmatch: `$` would accept a trailing newline
VIEW_SECRET_NAME = "view-token"


class AuthError(ValueError):
    """A missing, unknown or revoked key, or a bad view token (always answered with 401)."""


def check_user_name(user: str) -> str:
    """User names become an S3 key segment, so only `[a-z0-9][a-z0-9_-]{0,39}`."""
    if not isinstance(user, str) or not _USER_RE.fullmatch(user):
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
    max_priority: int | None = None  # the highest run priority this key may ask for; None: the API's default


def check_max_priority(value: int | None) -> int | None:
    if value is not None and not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ValueError(f"max priority {value}: must be in {MIN_PRIORITY}..{MAX_PRIORITY}")
    return value


def create_key(engine: sa.Engine, user: str, max_priority: int | None = None) -> tuple[str, KeyInfo]:
    """A new key for `user` (allowed run priorities up to `max_priority`); the key itself is returned once and
    only its hash stored."""
    check_user_name(user)
    check_max_priority(max_priority)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = time.time()
    with engine.begin() as conn:
        conn.execute(api_keys.insert().values(user=user, key_id=key_id, key_hash=hash_key(key), created_at=now))
        if max_priority is not None:
            conn.execute(key_limits.insert().values(key_id=key_id, max_priority=max_priority))
    return key, KeyInfo(key_id, user, now, None, max_priority)


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


def _keys_query() -> sa.Select:
    return sa.select(api_keys, key_limits.c.max_priority).select_from(
        api_keys.outerjoin(key_limits, key_limits.c.key_id == api_keys.c.key_id)
    )


def _key_info(row: sa.Row) -> KeyInfo:
    return KeyInfo(row.key_id, row.user, row.created_at, row.revoked_at, row.max_priority)


def list_keys(engine: sa.Engine, user: str | None = None) -> list[KeyInfo]:
    query = _keys_query().order_by(api_keys.c.id)
    if user:
        query = query.where(api_keys.c.user == user)
    with engine.connect() as conn:
        return [_key_info(r) for r in conn.execute(query)]


def key_for(engine: sa.Engine, key: str) -> KeyInfo:
    """The active key `key` (its id, user and limits), or AuthError."""
    if not key.startswith(KEY_PREFIX):
        raise AuthError("malformed API key (expected `Authorization: Bearer vak_…`)")
    with engine.connect() as conn:
        row = conn.execute(_keys_query().where(api_keys.c.key_hash == hash_key(key))).first()
    if row is None:
        raise AuthError("unknown API key")
    if row.revoked_at is not None:
        raise AuthError("this API key was revoked")
    return _key_info(row)


def user_for_key(engine: sa.Engine, key: str) -> str:
    """The user owning an active key, or AuthError."""
    return key_for(engine, key).user


def active_key(engine: sa.Engine, key_id: str, user: str) -> bool:
    """True while key `key_id` of `user` exists and is not revoked (a view token dies with its key)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_keys.c.revoked_at).where(
            api_keys.c.key_id == key_id, api_keys.c.user == user)).first()
    return row is not None and row.revoked_at is None


# ------------------------------------------------------------------------------------------ view tokens

def server_secret(engine: sa.Engine, name: str = VIEW_SECRET_NAME) -> bytes:
    """A random secret kept in the API database, shared by every API process using it.

    The insert has its own transaction: when another process inserts first, PostgreSQL aborts the loser's
    transaction, so the winner's value is read in a fresh one.
    """
    query = sa.select(api_secrets.c.value).where(api_secrets.c.name == name)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        try:
            with engine.begin() as conn:
                conn.execute(api_secrets.insert().values(name=name, value=secrets.token_hex(32)))
        except sa.exc.IntegrityError:
            pass  # another process created it first
        with engine.connect() as conn:
            row = conn.execute(query).one()
    return bytes.fromhex(row.value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class ViewGrant:
    """What a valid view token allows: `user`'s video `video_id`, until `expires`, while key `key_id` lives."""

    user: str
    video_id: str
    key_id: str
    expires: int
    token: str


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def make_view_token(
    secret: bytes, user: str, video_id: str, ttl_s: int, now: float | None = None, *, key_id: str
) -> tuple[str, int]:
    """`<user>.<video_id>.<key id>.<expiry>.<hmac>`: lets a browser view one video of one user until it expires
    or key `key_id` is revoked. The expiry is fixed here: nothing ever extends a token."""
    expires = int((now or time.time()) + ttl_s)
    body = f"{user}.{video_id}.{key_id}.{expires}"
    return f"{body}.{_sign(secret, body)}", expires


def check_view_token(secret: bytes, token: str, video_id: str, now: float | None = None) -> ViewGrant:
    """What a valid, unexpired token for `video_id` grants (its key still has to be checked: `active_key`), or
    AuthError."""
    parts = token.split(".")
    if len(parts) != 5:
        raise AuthError("malformed view token")
    user, token_video, key_id, expires, signature = parts
    if not hmac.compare_digest(signature.encode(), _sign(secret, ".".join(parts[:4])).encode()):
        raise AuthError("invalid view token")
    if token_video != video_id:
        raise AuthError("this view token is for another video")
    if not expires.isdigit() or int(expires) < (now or time.time()):
        raise AuthError("view token expired; ask the API for a new one (POST /v1/videos/{id}/view-token)")
    return ViewGrant(user, token_video, key_id, int(expires), token)
